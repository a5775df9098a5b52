//! Revocation state (docs/tokens.md, "Revocation and introspection"): one [`GuardStore`] trait, with a Redis implementation for
//! deployments of several instances and an in-memory one for the embedded default.
//!
//! Invariants: every entry expires by itself once no token it could concern is still valid (a
//! revoked `jti` at the token's `exp`, a watermark after the longest token lifetime); every Redis key
//! is under the configured prefix; checking a token is one round trip. This crate knows no HTTP,
//! database or token format: callers pass the facts of a token.

mod conn;
pub mod limit;
mod memory;
mod redis_store;

pub use conn::{RedisConn, RedisTarget};
pub use limit::{Check, Decision, Limit, Rate};
pub use memory::MemoryStore;
pub use redis_store::RedisStore;

/// How long a watermark matters: as long as any token it covers can (`writ_core`).
pub const WATERMARK_LIFETIME_SECONDS: i64 = writ_core::TOKEN_RELEVANCE_SECONDS;

/// What revocation needs to know about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFacts<'a> {
    pub jti: &'a str,
    pub client_id: &'a str,
    pub org_id: Option<&'a str>,
    pub iat: i64,
    pub exp: i64,
}

/// Whose tokens a watermark revokes: every token of the client, or of the org, issued at or before
/// its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watermark<'a> {
    Client(&'a str),
    Org(&'a str),
}

/// One entry of the revocation feed that resource servers follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// Opaque and increasing: pass the last one seen as `after` to get what came since.
    pub cursor: String,
    /// `token` (one jti), `client` or `org` (a watermark).
    pub kind: String,
    pub id: String,
    /// For a watermark, tokens issued at or before this time are revoked; for a token, when it
    /// was revoked.
    pub at: i64,
    /// When the entry stops mattering (the token's `exp`, or the watermark's end).
    pub expires_at: i64,
}

/// How many entries the feed keeps; a follower further behind starts over from the newest.
pub const FEED_LENGTH: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer in time")]
    Timeout,
}

pub type Result<T, E = GuardError> = std::result::Result<T, E>;

#[async_trait::async_trait]
pub trait GuardStore: Send + Sync + std::fmt::Debug {
    /// Revokes one token until it would have expired everywhere: `exp` (unix seconds) plus the
    /// clock leeway verifiers allow.
    async fn revoke_token(&self, jti: &str, exp: i64, now: i64) -> Result<()>;

    /// Revokes every token of a client or org issued at or before `at`.
    async fn revoke_before(&self, whose: Watermark<'_>, at: i64, now: i64) -> Result<()>;

    /// Whether the token is revoked, by its `jti` or by a watermark of its client or org.
    async fn is_revoked(&self, token: &TokenFacts<'_>, now: i64) -> Result<bool>;

    /// Whether one token is revoked by its `jti` (the feed's single-token lookup).
    async fn is_token_revoked(&self, jti: &str, now: i64) -> Result<bool>;

    /// Feed entries after `after` (from the oldest kept when `None`), at most `limit`.
    async fn feed(&self, after: Option<&str>, limit: usize) -> Result<Vec<FeedEntry>>;

    /// Applies rate-limit checks, all in one round trip, all or nothing; returns a decision for
    /// each. A check's state is known by `shard` and its key; on a Redis Cluster one call's keys
    /// live on the shard `shard` hashes to (pass the client id, so clients spread over the
    /// cluster). `now_ms` is the caller's clock in milliseconds.
    async fn throttle(&self, shard: &str, checks: &[Check], now_ms: i64) -> Result<Vec<Decision>>;

    /// Whether the store answers (for `/readyz`).
    async fn ping(&self) -> Result<()>;

    /// `memory`, `redis` or `redis-cluster`.
    fn backend(&self) -> &'static str;

    /// Round trips to Redis so far (0 in memory): each call above is at most one.
    fn round_trips(&self) -> u64 {
        0
    }
}

#[cfg(test)]
pub(crate) mod contract {
    //! The behaviour every implementation must have; each implementation's tests run it.
    use super::*;

    pub async fn check(store: &dyn GuardStore) {
        let now = 1_800_000_000;
        let token = TokenFacts {
            jti: "jti-1",
            client_id: "cli_a",
            org_id: Some("org_a"),
            iat: now - 10,
            exp: now + 300,
        };
        let other = TokenFacts { jti: "jti-2", client_id: "cli_b", org_id: Some("org_b"), ..token.clone() };
        assert!(!store.is_revoked(&token, now).await.unwrap());

        store.revoke_token("jti-1", token.exp, now).await.unwrap();
        assert!(store.is_revoked(&token, now).await.unwrap());
        assert!(!store.is_revoked(&other, now).await.unwrap(), "only that token");

        // A client watermark revokes what was issued before it, not what comes after.
        store.revoke_before(Watermark::Client("cli_b"), now - 5, now).await.unwrap();
        assert!(store.is_revoked(&other, now).await.unwrap());
        let later = TokenFacts { jti: "jti-3", iat: now - 1, ..other.clone() };
        assert!(!store.is_revoked(&later, now).await.unwrap());

        let org_token =
            TokenFacts { jti: "jti-4", client_id: "cli_c", org_id: Some("org_c"), iat: now, exp: now + 60 };
        store.revoke_before(Watermark::Org("org_c"), now, now).await.unwrap();
        assert!(store.is_revoked(&org_token, now).await.unwrap());
        let service = TokenFacts { jti: "jti-5", client_id: "cli_d", org_id: None, iat: now, exp: now + 60 };
        assert!(!store.is_revoked(&service, now).await.unwrap());

        // A later watermark replaces an earlier one; an earlier one never lowers it.
        store.revoke_before(Watermark::Client("cli_b"), now - 100, now).await.unwrap();
        assert!(store.is_revoked(&other, now).await.unwrap());
        store.ping().await.unwrap();
        assert!(store.is_token_revoked("jti-1", now).await.unwrap());
        assert!(!store.is_token_revoked("jti-2", now).await.unwrap());

        // Every revocation is in the feed, in order, and a cursor resumes after itself.
        let feed = store.feed(None, 100).await.unwrap();
        let kinds: Vec<(&str, &str)> = feed.iter().map(|e| (e.kind.as_str(), e.id.as_str())).collect();
        assert_eq!(
            kinds,
            vec![("token", "jti-1"), ("client", "cli_b"), ("org", "org_c"), ("client", "cli_b")]
        );
        // A revoked token is remembered as long as a verifier may accept it: `exp` plus leeway.
        assert_eq!(feed[0].expires_at, token.exp + writ_core::CLOCK_LEEWAY_SECONDS);
        let at_the_edge = token.exp + writ_core::CLOCK_LEEWAY_SECONDS - 1;
        assert!(store.is_token_revoked("jti-1", at_the_edge).await.unwrap(), "revoked through the leeway");
        assert_eq!(feed[1].at, now - 5);
        let rest = store.feed(Some(&feed[1].cursor), 100).await.unwrap();
        assert_eq!(rest, feed[2..].to_vec());
        assert!(store.feed(Some(&feed[3].cursor), 100).await.unwrap().is_empty());
        assert_eq!(store.feed(None, 2).await.unwrap().len(), 2);

        // Rate limits: a burst of three, then one a second; a look costs nothing.
        let rate = Rate::per_second(1, 3);
        let check = |key: &str, cost| Check::rate(key, rate, cost);
        let t0 = now * 1000;
        let mut allowed = Vec::new();
        for _ in 0..4 {
            allowed.push(store.throttle("s", &[check("client-a", 1)], t0).await.unwrap()[0].allowed);
        }
        assert_eq!(allowed, vec![true, true, true, false]);
        let both = store.throttle("s", &[check("client-a", 0), check("client-b", 1)], t0).await.unwrap();
        assert!(!both[0].allowed && both[0].retry_after_ms == 1000);
        assert!(both[1].allowed && both[1].remaining == 2, "keys are independent: {both:?}");
        assert!(store.throttle("s", &[check("client-a", 1)], t0 + 1000).await.unwrap()[0].allowed);

        // A quota counts per window; with a rate, a refusal by either counts against neither.
        let day = |cost, enforced| Check {
            key: "quota-a".into(),
            limit: Limit::Quota { limit: 2, window_ms: Limit::DAY_MS },
            cost,
            enforced,
        };
        let both = |cost, enforced| [check("client-c", 1), day(cost, enforced)];
        for _ in 0..2 {
            assert!(store.throttle("s", &both(1, true), t0).await.unwrap().iter().all(|d| d.allowed));
        }
        let refused = store.throttle("s", &both(1, true), t0).await.unwrap();
        assert!(refused[0].allowed && !refused[1].allowed);
        assert_eq!(refused[1].retry_after_ms, Limit::DAY_MS - t0.rem_euclid(Limit::DAY_MS));
        let rate_left = store.throttle("s", &[check("client-c", 0)], t0).await.unwrap()[0].remaining;
        assert_eq!(rate_left, 1, "the refused request spent nothing");
        let logged = store.throttle("s", &both(1, false), t0).await.unwrap();
        assert!(logged[0].allowed && !logged[1].allowed, "log-only: reported over, not refused");
        assert_eq!(store.throttle("s", &[check("client-c", 0)], t0).await.unwrap()[0].remaining, 0);
        let next_day = t0 + Limit::DAY_MS;
        assert!(store.throttle("s", &[day(1, true)], next_day).await.unwrap()[0].allowed, "a new window");
    }
}
