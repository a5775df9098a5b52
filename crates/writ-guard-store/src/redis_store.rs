//! The Redis store. Keys live under `{prefix}`: `rev:jti:<jti>` (expiring at the token's `exp`),
//! `rev:client:<id>` and `rev:org:<id>` (a unix time; expiring after the longest token lifetime).
//! A check is one `MGET`. Every key of the guard shares one hash tag, so the `MGET` stays valid on a
//! Redis Cluster (at the price of putting revocations on one shard, which is small data).

use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::{GuardError, GuardStore, Result, TokenFacts, WATERMARK_LIFETIME_SECONDS, Watermark};

/// How long a Redis call may take before the caller's fallback policy applies.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// Raises a watermark, never lowers it, and keeps it until `expires_at`.
const RAISE: &str = r#"
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return 1
"#;

pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    raise: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.prefix).finish()
    }
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str) -> Result<Self> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(CALL_TIMEOUT));
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self { conn, prefix: format!("{prefix}{{guard}}:"), raise: redis::Script::new(RAISE) })
    }

    fn key(&self, rest: std::fmt::Arguments<'_>) -> String {
        format!("{}{rest}", self.prefix)
    }

    async fn timed<T>(&self, call: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<T> {
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(GuardError::Timeout),
        }
    }
}

#[async_trait::async_trait]
impl GuardStore for RedisStore {
    async fn revoke_token(&self, jti: &str, exp: i64, now: i64) -> Result<()> {
        if exp <= now {
            return Ok(()); // already dead: nothing to remember
        }
        let key = self.key(format_args!("rev:jti:{jti}"));
        let mut conn = self.conn.clone();
        self.timed(redis::cmd("SET").arg(&key).arg(1).arg("EXAT").arg(exp).query_async::<()>(&mut conn)).await
    }

    async fn revoke_before(&self, whose: Watermark<'_>, at: i64, now: i64) -> Result<()> {
        let key = match whose {
            Watermark::Client(id) => self.key(format_args!("rev:client:{id}")),
            Watermark::Org(id) => self.key(format_args!("rev:org:{id}")),
        };
        let mut conn = self.conn.clone();
        let mut call = self.raise.key(key);
        call.arg(at).arg(now + WATERMARK_LIFETIME_SECONDS);
        self.timed(call.invoke_async::<i64>(&mut conn)).await.map(drop)
    }

    async fn is_revoked(&self, t: &TokenFacts<'_>, _now: i64) -> Result<bool> {
        let mut keys = vec![
            self.key(format_args!("rev:jti:{}", t.jti)),
            self.key(format_args!("rev:client:{}", t.client_id)),
        ];
        if let Some(org) = t.org_id {
            keys.push(self.key(format_args!("rev:org:{org}")));
        }
        let mut conn = self.conn.clone();
        let values: Vec<Option<i64>> =
            self.timed(redis::cmd("MGET").arg(&keys).query_async(&mut conn)).await?;
        let by_jti = values.first().copied().flatten().is_some();
        let by_watermark = values.iter().skip(1).flatten().any(|at| t.iat <= *at);
        Ok(by_jti || by_watermark)
    }

    async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        self.timed(redis::cmd("PING").query_async::<String>(&mut conn)).await.map(drop)
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs against `WRIT_TEST_REDIS_URL` when set (CI sets it).
    #[tokio::test]
    async fn keeps_the_contract_on_real_redis() {
        let Ok(url) = std::env::var("WRIT_TEST_REDIS_URL") else {
            eprintln!("WRIT_TEST_REDIS_URL is not set: not run");
            return;
        };
        let prefix = format!("writ-test-{}:", std::process::id());
        let store =
            RedisStore::connect(&url, &prefix).await.expect("WRIT_TEST_REDIS_URL is set but unreachable");
        crate::contract::check(&store).await;
        // Entries carry expiries: the jti at the token's exp, watermarks after the longest TTL.
        let mut conn = store.conn.clone();
        let ttl: i64 = redis::cmd("TTL")
            .arg(store.key(format_args!("rev:client:cli_b")))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0, "watermarks expire");
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{prefix}*")).query_async(&mut conn).await.unwrap();
        assert!(!keys.is_empty() && keys.iter().all(|k| k.starts_with(&prefix)), "{keys:?}");
        let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
    }
}
