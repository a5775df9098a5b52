//! The Redis store, standalone or Redis Cluster. Every key starts with the configured prefix.
//!
//! Revocations live under `{prefix}{guard}:`: `rev:jti:<jti>` (expiring at the token's `exp`),
//! `rev:client:<id>` and `rev:org:<id>` (a unix time, expiring after the longest token lifetime)
//! and the `feed` stream. They share the `{guard}` hash tag, so checking a token stays one `MGET`
//! on a cluster too; they are small and rarely written, so one shard holds them.
//! Rate limits, the hot path, live under `{prefix}rl:{<shard>}:` — a client's limits on the
//! shard its id hashes to, so a cluster spreads clients over its shards.

use std::time::Duration;

use crate::{
    Check, Decision, FeedEntry, GuardError, GuardStore, Limit, RedisConn, RedisTarget, Result, TokenFacts,
    WATERMARK_LIFETIME_SECONDS, Watermark,
};

/// How long a Redis call may take before the caller's fallback policy applies.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// Raises a watermark (never lowers it), keeps it until `expires_at`, and appends to the feed:
/// KEYS = [watermark, feed]; ARGV = [at, expires_at, kind, id, feed length].
const RAISE: &str = r#"
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('EXPIREAT', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'kind', ARGV[3], 'id', ARGV[4], 'at', ARGV[1], 'exp', ARGV[2])
return 1
"#;

/// Revokes one jti until `exp` and appends to the feed: KEYS = [jti key, feed];
/// ARGV = [exp, jti, now, feed length].
const REVOKE: &str = r#"
redis.call('SET', KEYS[1], 1, 'EXAT', ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'kind', 'token', 'id', ARGV[2], 'at', ARGV[3], 'exp', ARGV[1])
return 1
"#;

/// Rate-limit checks, all or nothing, the same arithmetic as `limit::decide_all`: KEYS = the storage
/// keys; ARGV = now (ms), then per key (kind `r` or `q`, interval_ms or limit, burst or window end,
/// cost, enforced). Returns per key {allowed, remaining, retry_after, reset}.
const THROTTLE: &str = r#"
local now = tonumber(ARGV[1])
local out, writes, refused = {}, {}, false
for i, key in ipairs(KEYS) do
  local j = 2 + (i - 1) * 5
  local a, b = tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2])
  local cost, enforced = tonumber(ARGV[j + 3]), ARGV[j + 4] == '1'
  local stored = tonumber(redis.call('GET', key))
  local allowed, remaining, retry, reset
  if ARGV[j] == 'r' then
    local capacity = a * math.max(b, 1)
    local tat = math.max(stored or now, now)
    local probe = tat + a * math.max(cost, 1)
    allowed = probe - now <= capacity
    local base = tat
    if allowed and cost > 0 then
      base = tat + a * cost
      table.insert(writes, {key, base, base})
    end
    remaining = math.max(0, math.min(math.floor((capacity - (base - now)) / a), b))
    retry = allowed and 0 or probe - now - capacity
    reset = base - now
  else
    local used = math.max(stored or 0, 0)
    allowed = used + math.max(cost, 1) <= a
    if allowed and cost > 0 then
      used = used + cost
      table.insert(writes, {key, used, b})
    end
    remaining = math.max(0, a - used)
    retry = allowed and 0 or b - now
    reset = b - now
  end
  if enforced and not allowed then refused = true end
  table.insert(out, {allowed and 1 or 0, remaining, retry, reset})
end
if not refused then
  for _, w in ipairs(writes) do redis.call('SET', w[1], w[2], 'PXAT', w[3]) end
end
return out
"#;

pub struct RedisStore {
    conn: RedisConn,
    /// The configured prefix.
    base: String,
    /// Where revocations live: the prefix and the `{guard}` hash tag.
    prefix: String,
    raise: redis::Script,
    revoke: redis::Script,
    throttle: redis::Script,
    round_trips: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.prefix).finish()
    }
}

impl RedisStore {
    /// Connects to standalone Redis or a Redis Cluster.
    pub async fn connect(target: &RedisTarget, prefix: &str) -> Result<Self> {
        let conn = target.connect(CALL_TIMEOUT).await?;
        Ok(Self {
            conn,
            base: prefix.to_owned(),
            prefix: format!("{prefix}{{guard}}:"),
            raise: redis::Script::new(RAISE),
            revoke: redis::Script::new(REVOKE),
            throttle: redis::Script::new(THROTTLE),
            round_trips: Default::default(),
        })
    }

    fn key(&self, rest: std::fmt::Arguments<'_>) -> String {
        format!("{}{rest}", self.prefix)
    }

    /// Every call goes through here: one command or script, one round trip (a script Redis does not
    /// know yet costs one more, once per node).
    async fn timed<T>(&self, call: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<T> {
        self.round_trips.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(GuardError::Timeout),
        }
    }
}

#[async_trait::async_trait]
impl GuardStore for RedisStore {
    async fn revoke_token(&self, jti: &str, exp: i64, now: i64) -> Result<()> {
        // Verifiers accept a token until `exp` plus their clock leeway: remember it that long.
        let until = exp + writ_core::CLOCK_LEEWAY_SECONDS;
        if until <= now {
            return Ok(()); // already dead everywhere: nothing to remember
        }
        let mut conn = self.conn.clone();
        let mut call = self.revoke.key(self.key(format_args!("rev:jti:{jti}")));
        call.key(self.key(format_args!("feed"))).arg(until).arg(jti).arg(now).arg(crate::FEED_LENGTH);
        self.timed(call.invoke_async::<i64>(&mut conn)).await.map(drop)
    }

    async fn revoke_before(&self, whose: Watermark<'_>, at: i64, now: i64) -> Result<()> {
        let (key, kind, id) = match whose {
            Watermark::Client(id) => (self.key(format_args!("rev:client:{id}")), "client", id),
            Watermark::Org(id) => (self.key(format_args!("rev:org:{id}")), "org", id),
        };
        let mut conn = self.conn.clone();
        let mut call = self.raise.key(key);
        call.key(self.key(format_args!("feed")))
            .arg(at)
            .arg(now + WATERMARK_LIFETIME_SECONDS)
            .arg(kind)
            .arg(id)
            .arg(crate::FEED_LENGTH);
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

    async fn is_token_revoked(&self, jti: &str, _now: i64) -> Result<bool> {
        let mut conn = self.conn.clone();
        let key = self.key(format_args!("rev:jti:{jti}"));
        self.timed(redis::cmd("EXISTS").arg(key).query_async::<bool>(&mut conn)).await
    }

    async fn feed(&self, after: Option<&str>, limit: usize) -> Result<Vec<FeedEntry>> {
        let mut conn = self.conn.clone();
        // `(id` is exclusive in XRANGE (Redis ≥ 6.2).
        let start = after.map_or_else(|| "-".to_owned(), |a| format!("({a}"));
        let key = self.key(format_args!("feed"));
        let reply: redis::streams::StreamRangeReply = self
            .timed(
                redis::cmd("XRANGE")
                    .arg(key)
                    .arg(start)
                    .arg("+")
                    .arg("COUNT")
                    .arg(limit)
                    .query_async(&mut conn),
            )
            .await?;
        Ok(reply
            .ids
            .into_iter()
            .map(|e| {
                let text = |f: &str| e.get::<String>(f).unwrap_or_default();
                let num = |f: &str| e.get::<i64>(f).unwrap_or_default();
                FeedEntry {
                    kind: text("kind"),
                    id: text("id"),
                    at: num("at"),
                    expires_at: num("exp"),
                    cursor: e.id,
                }
            })
            .collect())
    }

    async fn throttle(&self, shard: &str, checks: &[Check], now_ms: i64) -> Result<Vec<Decision>> {
        if checks.is_empty() {
            return Ok(Vec::new());
        }
        let mut call = self.throttle.prepare_invoke();
        call.arg(now_ms);
        for c in checks {
            call.key(format!("{}rl:{{{shard}}}:{}", self.base, c.storage_key(now_ms)));
            match c.limit {
                Limit::Rate(r) => call.arg("r").arg(r.interval_ms()).arg(r.burst),
                Limit::Quota { limit, window_ms } => {
                    call.arg("q").arg(limit).arg(crate::limit::window_start(now_ms, window_ms) + window_ms)
                }
            };
            call.arg(c.cost).arg(u8::from(c.enforced));
        }
        let mut conn = self.conn.clone();
        let rows: Vec<(i64, i64, i64, i64)> = self.timed(call.invoke_async(&mut conn)).await?;
        Ok(rows
            .into_iter()
            .zip(checks)
            .map(|((allowed, remaining, retry, reset), c)| Decision {
                allowed: allowed == 1,
                limit: match c.limit {
                    Limit::Rate(r) => r.burst,
                    Limit::Quota { limit, .. } => limit,
                },
                remaining: u32::try_from(remaining).unwrap_or(0),
                retry_after_ms: retry,
                reset_ms: reset,
            })
            .collect())
    }

    async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        self.timed(redis::cmd("PING").query_async::<String>(&mut conn)).await.map(drop)
    }

    fn backend(&self) -> &'static str {
        match self.conn {
            RedisConn::Single(_) => "redis",
            RedisConn::Cluster(_) => "redis-cluster",
        }
    }

    fn round_trips(&self) -> u64 {
        self.round_trips.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store on `WRIT_TEST_REDIS_URL` (CI sets it) under a prefix of its own; `None` when unset.
    async fn store(name: &str) -> Option<(RedisStore, String)> {
        let Ok(url) = std::env::var("WRIT_TEST_REDIS_URL") else {
            eprintln!("WRIT_TEST_REDIS_URL is not set: not run");
            return None;
        };
        let prefix = format!("writ-test-{name}-{}:", std::process::id());
        let store = RedisStore::connect(&RedisTarget::new(&url, false), &prefix)
            .await
            .expect("WRIT_TEST_REDIS_URL is set but unreachable");
        Some((store, prefix))
    }

    /// The keys under `prefix`, deleted.
    async fn delete_all(conn: &mut impl redis::aio::ConnectionLike, prefix: &str) -> Vec<String> {
        let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}*")).query_async(conn).await.unwrap();
        for key in &keys {
            let _: i64 = redis::cmd("DEL").arg(key).query_async(conn).await.unwrap();
        }
        keys
    }

    #[tokio::test]
    async fn keeps_the_contract_on_real_redis() {
        let Some((store, prefix)) = store("contract").await else { return };
        crate::contract::check(&store).await;
        // Entries carry expiries: the jti at the token's exp, watermarks after the longest TTL.
        let mut conn = store.conn.clone();
        let ttl: i64 = redis::cmd("TTL")
            .arg(store.key(format_args!("rev:client:cli_b")))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0, "watermarks expire");
        let keys = delete_all(&mut conn, &prefix).await;
        assert!(!keys.is_empty() && keys.iter().all(|k| k.starts_with(&prefix)), "{keys:?}");
    }

    /// Runs against the three-master cluster of `WRIT_TEST_REDIS_CLUSTER_URL` (`.ci/redis-cluster`).
    #[tokio::test]
    async fn keeps_the_contract_on_a_redis_cluster_and_spreads_clients_over_it() {
        let Ok(urls) = std::env::var("WRIT_TEST_REDIS_CLUSTER_URL") else {
            eprintln!("WRIT_TEST_REDIS_CLUSTER_URL is not set: not run");
            return;
        };
        let prefix = format!("writ-test-cluster-{}:", std::process::id());
        let target = RedisTarget::new(&urls, true);
        let store = RedisStore::connect(&target, &prefix).await.expect("the Redis Cluster is unreachable");
        crate::contract::check(&store).await;
        for shard in (0..30).map(|i| format!("cli_{i}")) {
            let check = Check::rate("client", crate::Rate::per_second(10, 10), 1);
            assert!(store.throttle(&shard, &[check], 1_800_000_000_000).await.unwrap()[0].allowed);
        }
        // Ask each node alone what it holds: revocations on one, rate limits on all three.
        let mut holding = Vec::new();
        for node in target.nodes() {
            let mut conn =
                redis::Client::open(node).unwrap().get_multiplexed_async_connection().await.unwrap();
            let keys = delete_all(&mut conn, &prefix).await;
            let revocations = keys.iter().filter(|k| k.contains("{guard}")).count();
            holding.push((revocations > 0, keys.len() - revocations));
        }
        assert_eq!(holding.len(), 3, "three masters");
        assert_eq!(
            holding.iter().filter(|(rev, _)| *rev).count(),
            1,
            "revocations share a shard: {holding:?}"
        );
        assert!(
            holding.iter().all(|(_, limits)| *limits > 0),
            "clients spread over every shard: {holding:?}"
        );
    }

    /// The Lua script and the Rust arithmetic decide alike, over rates, quotas, looks and
    /// unenforced checks, across window boundaries.
    #[tokio::test]
    async fn lua_and_rust_decide_alike() {
        let Some((redis, prefix)) = store("lua").await else { return };
        let memory = crate::MemoryStore::new();
        let checks = [
            Check::rate("a", crate::Rate::per_second(3, 5), 1),
            Check::rate("a", crate::Rate::per_second(3, 5), 0),
            Check {
                key: "q".into(),
                limit: Limit::Quota { limit: 4, window_ms: 2000 },
                cost: 1,
                enforced: true,
            },
            Check {
                key: "q".into(),
                limit: Limit::Quota { limit: 4, window_ms: 2000 },
                cost: 2,
                enforced: false,
            },
        ];
        let mut now = 1_800_000_000_000_i64;
        for step in 0..200_usize {
            // A fixed pseudo-random walk: groups of one to three checks, time moving 0 to 450 ms.
            let pick: Vec<Check> =
                (0..1 + step % 3).map(|i| checks[(step * 7 + i * 3) % checks.len()].clone()).collect();
            let expected = memory.throttle("s", &pick, now).await.unwrap();
            let got = redis.throttle("s", &pick, now).await.unwrap();
            assert_eq!(got, expected, "step {step} at {now}: {pick:?}");
            now += i64::try_from((step * 37) % 450).unwrap();
        }
        delete_all(&mut redis.conn.clone(), &prefix).await;
    }
}
