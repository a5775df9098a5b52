//! The Redis store, standalone or Redis Cluster. Every key starts with the configured prefix.
//!
//! Revocations live under `{prefix}{guard}:`: `rev:<kind>:[<within>:]<id>` (a unix time, expiring
//! when the entry stops mattering: a token's `exp`, a watermark after the longest token lifetime),
//! the `feed` stream, the newest id trimmed from it (`dropped`) and the `live` sorted set the
//! snapshot reads. They share the `{guard}` hash tag, so checking a token stays one `MGET` and
//! every script runs on one shard of a cluster too; they are small and rarely written, so one
//! shard holds them.
//! Rate limits, the hot path, live under `{prefix}rl:{<shard>}:` — a client's limits on the
//! shard its id hashes to, so a cluster spreads clients over its shards.

use std::time::Duration;

use crate::{
    Check, Decision, FeedEntry, FeedRead, GuardError, GuardStore, Kind, Limit, RedisConn, RedisTarget,
    Result, Revoked, Snapshot, TokenFacts,
};

/// How long a Redis call may take before the caller's fallback policy applies.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// Records a revocation: raises its entry (never lowers it, nor its expiry), appends it to the feed
/// (trimmed to its length exactly, remembering the newest id it dropped) and adds it to the live
/// set, a sorted set by expiry that the snapshot reads (trimmed of what is over).
/// KEYS = [entry, feed, live, dropped]; ARGV = [at, expires_at, kind, id, within ('' for none),
/// feed length, live member, now].
const RECORD: &str = r#"
local at, expires = tonumber(ARGV[1]), tonumber(ARGV[2])
local current = redis.call('GET', KEYS[1])
if current then
  if at > tonumber(current) then redis.call('SET', KEYS[1], at, 'KEEPTTL') end
  redis.call('EXPIREAT', KEYS[1], expires, 'GT')
else
  redis.call('SET', KEYS[1], at, 'EXAT', expires)
end
local fields = {'kind', ARGV[3], 'id', ARGV[4], 'at', ARGV[1], 'exp', ARGV[2]}
if ARGV[5] ~= '' then
  table.insert(fields, 'within')
  table.insert(fields, ARGV[5])
end
redis.call('XADD', KEYS[2], '*', unpack(fields))
local over = redis.call('XLEN', KEYS[2]) - tonumber(ARGV[6])
if over > 0 then
  local gone = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', over)
  redis.call('SET', KEYS[4], gone[#gone][1])
  redis.call('XTRIM', KEYS[2], 'MAXLEN', ARGV[6])
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[8])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[7])
return 1
"#;

/// Reads the feed and the newest id dropped from it, so a reader knows whether it missed entries:
/// KEYS = [feed, dropped]; ARGV = [start, count].
const READ: &str = r#"
return {redis.call('GET', KEYS[2]) or '0-0', redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])}
"#;

/// The live set and the id of the newest feed entry, read at one instant: KEYS = [feed, live];
/// ARGV = [now].
const SNAPSHOT: &str = r#"
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local cursor = '0-0'
if newest[1] then cursor = newest[1][1] end
return {cursor, redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')}
"#;

/// A stream id (`<ms>-<seq>`) as numbers, to compare; ids that are not count as the start.
fn stream_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

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
    /// How many entries the feed keeps.
    feed_length: usize,
    record: redis::Script,
    read: redis::Script,
    snapshot: redis::Script,
    throttle: redis::Script,
    round_trips: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.prefix).finish()
    }
}

impl RedisStore {
    /// Connects to standalone Redis or a Redis Cluster; the feed keeps `feed_length` entries.
    pub async fn connect(target: &RedisTarget, prefix: &str, feed_length: usize) -> Result<Self> {
        let conn = target.connect(CALL_TIMEOUT).await?;
        Ok(Self {
            conn,
            base: prefix.to_owned(),
            prefix: format!("{prefix}{{guard}}:"),
            feed_length: feed_length.max(1),
            record: redis::Script::new(RECORD),
            read: redis::Script::new(READ),
            snapshot: redis::Script::new(SNAPSHOT),
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
    async fn revoke(&self, revoked: &Revoked, now: i64) -> Result<()> {
        if revoked.expires_at <= now {
            return Ok(()); // already over everywhere: nothing to remember
        }
        let member = serde_json::to_string(revoked).unwrap_or_default();
        let mut call = self.record.key(self.key(format_args!("rev:{}", revoked.key())));
        call.key(self.key(format_args!("feed")))
            .key(self.key(format_args!("live")))
            .key(self.key(format_args!("dropped")))
            .arg(revoked.at)
            .arg(revoked.expires_at)
            .arg(revoked.kind.as_str())
            .arg(&revoked.id)
            .arg(revoked.within.as_deref().unwrap_or(""))
            .arg(self.feed_length)
            .arg(member)
            .arg(now);
        let mut conn = self.conn.clone();
        self.timed(call.invoke_async::<i64>(&mut conn)).await.map(drop)
    }

    async fn is_revoked(&self, t: &TokenFacts<'_>, _now: i64) -> Result<bool> {
        let candidates: Vec<_> = t.candidates().collect();
        let keys: Vec<String> = candidates
            .iter()
            .map(|(kind, within, id)| self.key(format_args!("rev:{}", crate::key(*kind, *within, id))))
            .collect();
        let mut conn = self.conn.clone();
        let values: Vec<Option<i64>> =
            self.timed(redis::cmd("MGET").arg(&keys).query_async(&mut conn)).await?;
        Ok(candidates.iter().zip(values).any(|((kind, ..), at)| at.is_some_and(|at| t.revoked_by(*kind, at))))
    }

    async fn is_token_revoked(&self, jti: &str, org: Option<&str>, _now: i64) -> Result<bool> {
        let keys: Vec<String> = [None, org]
            .iter()
            .map(|within| self.key(format_args!("rev:{}", crate::key(Kind::Token, *within, jti))))
            .collect();
        let mut conn = self.conn.clone();
        let values: Vec<Option<i64>> =
            self.timed(redis::cmd("MGET").arg(&keys).query_async(&mut conn)).await?;
        Ok(values.iter().any(Option::is_some))
    }

    async fn feed(&self, after: Option<&str>, limit: usize) -> Result<FeedRead> {
        // `(id` is exclusive in XRANGE (Redis ≥ 6.2).
        let start = after.map_or_else(|| "-".to_owned(), |a| format!("({a}"));
        let mut call = self.read.key(self.key(format_args!("feed")));
        call.key(self.key(format_args!("dropped"))).arg(start).arg(limit);
        let mut conn = self.conn.clone();
        let (dropped, rows): (String, Vec<(String, Vec<String>)>) =
            self.timed(call.invoke_async(&mut conn)).await?;
        let entries = rows
            .into_iter()
            .filter_map(|(cursor, fields)| {
                let field = |name: &str| {
                    fields.chunks(2).find(|pair| pair[0] == name).and_then(|pair| pair.get(1)).cloned()
                };
                let num = |name: &str| field(name).and_then(|v| v.parse().ok()).unwrap_or_default();
                let revoked = Revoked {
                    kind: Kind::parse(&field("kind")?)?,
                    id: field("id")?,
                    within: field("within"),
                    at: num("at"),
                    expires_at: num("exp"),
                };
                Some(FeedEntry { cursor, revoked })
            })
            .collect();
        let behind = stream_id(&dropped) > after.map_or((0, 0), stream_id);
        Ok(FeedRead { entries, behind })
    }

    async fn snapshot(&self, now: i64) -> Result<Snapshot> {
        let mut call = self.snapshot.key(self.key(format_args!("feed")));
        call.key(self.key(format_args!("live"))).arg(now);
        let mut conn = self.conn.clone();
        let (cursor, members): (String, Vec<String>) = self.timed(call.invoke_async(&mut conn)).await?;
        // A watermark raised several times is in the set once per raise: keep its highest.
        let mut live: std::collections::HashMap<String, Revoked> = std::collections::HashMap::new();
        for r in members.iter().filter_map(|m| serde_json::from_str::<Revoked>(m).ok()) {
            let slot = live.entry(r.key()).or_insert_with(|| r.clone());
            slot.at = slot.at.max(r.at);
            slot.expires_at = slot.expires_at.max(r.expires_at);
        }
        Ok(Snapshot { cursor, entries: live.into_values().collect() })
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

    async fn first_use(&self, scope: &str, id: &str, until: i64, now: i64) -> Result<bool> {
        if until <= now {
            return Ok(true);
        }
        // A scope's entries live together, like a client's limits.
        let key = format!("{}once:{{{scope}}}:{id}", self.base);
        let set = redis::cmd("SET").arg(key).arg(1).arg("NX").arg("EXAT").arg(until).clone();
        let mut conn = self.conn.clone();
        let stored: Option<String> = self.timed(set.query_async(&mut conn)).await?;
        Ok(stored.is_some())
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
        let store = RedisStore::connect(&RedisTarget::new(&url, false), &prefix, crate::FEED_LENGTH)
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

        let url = std::env::var("WRIT_TEST_REDIS_URL").unwrap_or_default();
        let prefix = format!("writ-test-window-{}:", std::process::id());
        let small = RedisStore::connect(&RedisTarget::new(&url, false), &prefix, 3).await.unwrap();
        crate::contract::window(&small).await;
        delete_all(&mut conn, &prefix).await;
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
        let store = RedisStore::connect(&target, &prefix, crate::FEED_LENGTH)
            .await
            .expect("the Redis Cluster is unreachable");
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
