//! Revocation state (docs/tokens.md, "Revocation and introspection"): one [`GuardStore`] trait, with a Redis implementation for
//! deployments of several instances and an in-memory one for the embedded default.
//!
//! Invariants: every entry expires by itself once no token it could concern is still valid (a
//! revoked `jti` at the token's `exp`, a watermark after the longest token lifetime); every Redis key
//! is under the configured prefix; checking a token is one round trip; every live entry is in the
//! snapshot, so a follower that fell behind the feed's window can start over without missing any.
//! This crate knows no HTTP, database or token format: callers pass the facts of a token.

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
    /// The credential that authenticated the client when the token was minted (a secret id).
    pub credential: Option<&'a str>,
    pub iat: i64,
    pub exp: i64,
}

impl TokenFacts<'_> {
    /// Every entry that would revoke this token, as (kind, within, id).
    fn candidates(&self) -> impl Iterator<Item = (Kind, Option<&str>, &str)> {
        [
            Some((Kind::Token, None, self.jti)),
            self.org_id.map(|org| (Kind::Token, Some(org), self.jti)),
            Some((Kind::Client, None, self.client_id)),
            self.org_id.map(|org| (Kind::Org, None, org)),
            self.credential.map(|c| (Kind::Credential, Some(self.client_id), c)),
        ]
        .into_iter()
        .flatten()
    }

    /// Whether an entry of `kind` holding `at` revokes this token: a token entry always, a
    /// watermark when the token was issued at or before it.
    fn revoked_by(&self, kind: Kind, at: i64) -> bool {
        kind == Kind::Token || self.iat <= at
    }
}

/// What a revocation covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// One token, by `jti`.
    Token,
    /// Every token of a client issued at or before `at`.
    Client,
    /// Every token of an org issued at or before `at`.
    Org,
    /// Every token minted with one credential of a client (a secret) at or before `at`.
    Credential,
}

impl Kind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Client => "client",
            Self::Org => "org",
            Self::Credential => "credential",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Token, Self::Client, Self::Org, Self::Credential].into_iter().find(|k| k.as_str() == s)
    }
}

/// Whose tokens a watermark revokes: every token of the client, of the org, or minted with the
/// client's credential, issued at or before its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watermark<'a> {
    Client(&'a str),
    Org(&'a str),
    Credential { client: &'a str, id: &'a str },
}

impl Watermark<'_> {
    /// The entry revoking what was issued at or before `at`, kept for the longest token lifetime.
    pub fn at(self, at: i64, now: i64) -> Revoked {
        let (kind, within, id) = match self {
            Self::Client(id) => (Kind::Client, None, id),
            Self::Org(id) => (Kind::Org, None, id),
            Self::Credential { client, id } => (Kind::Credential, Some(client), id),
        };
        Revoked {
            kind,
            id: id.to_owned(),
            within: within.map(str::to_owned),
            at,
            expires_at: now + WATERMARK_LIFETIME_SECONDS,
        }
    }
}

/// One revocation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Revoked {
    #[serde(with = "kind_name")]
    pub kind: Kind,
    /// The jti, client, org or credential id.
    pub id: String,
    /// Whose tokens alone it concerns: for a token a tenant admin revoked, its org (another org's
    /// token with that jti stays valid); for a credential, its client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    /// For a watermark, tokens issued at or before this time are revoked; for a token, when it
    /// was revoked.
    pub at: i64,
    /// When the entry stops mattering (the token's `exp` plus leeway, or the watermark's end).
    pub expires_at: i64,
}

impl Revoked {
    /// One token, until it would have expired everywhere: `exp` (unix seconds) plus the clock
    /// leeway verifiers allow. With `org`, only that org's token with this jti.
    pub fn token(jti: &str, org: Option<&str>, exp: i64, now: i64) -> Self {
        Self {
            kind: Kind::Token,
            id: jti.to_owned(),
            within: org.map(str::to_owned),
            at: now,
            expires_at: exp + writ_core::CLOCK_LEEWAY_SECONDS,
        }
    }

    /// Where it is stored: one entry per kind, scope and id.
    pub fn key(&self) -> String {
        key(self.kind, self.within.as_deref(), &self.id)
    }
}

/// `jti:` for tokens, as before scopes existed, so an upgrade keeps the revocations it finds.
fn key(kind: Kind, within: Option<&str>, id: &str) -> String {
    let name = if kind == Kind::Token { "jti" } else { kind.as_str() };
    match within {
        Some(w) => format!("{name}:{w}:{id}"),
        None => format!("{name}:{id}"),
    }
}

mod kind_name {
    pub fn serialize<S: serde::Serializer>(k: &super::Kind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k.as_str())
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<super::Kind, D::Error> {
        let name = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        super::Kind::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown kind {name}")))
    }
}

/// One entry of the revocation feed that resource servers follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// Opaque and increasing: pass the last one seen as `after` to get what came since.
    pub cursor: String,
    pub revoked: Revoked,
}

/// A read of the feed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FeedRead {
    pub entries: Vec<FeedEntry>,
    /// Entries after the cursor were dropped from the feed's window: the reader missed some and
    /// must start over from a [`Snapshot`].
    pub behind: bool,
}

/// Every live revocation, and the feed cursor to follow on from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub cursor: String,
    pub entries: Vec<Revoked>,
}

/// How many entries the feed keeps by default; a follower further behind resyncs from a snapshot.
pub const FEED_LENGTH: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer in time")]
    Timeout,
    /// The in-memory replay store holds as many live entries as it may: it refuses rather than
    /// forget one early.
    #[error("the replay store is full")]
    Full,
}

pub type Result<T, E = GuardError> = std::result::Result<T, E>;

#[async_trait::async_trait]
pub trait GuardStore: Send + Sync + std::fmt::Debug {
    /// Records a revocation, appends it to the feed and keeps it in the snapshot until it stops
    /// mattering; a watermark only ever rises. One already over is not recorded.
    async fn revoke(&self, revoked: &Revoked, now: i64) -> Result<()>;

    /// Whether the token is revoked: by its `jti` (everywhere, or within its org), or by a
    /// watermark of its client, org or credential.
    async fn is_revoked(&self, token: &TokenFacts<'_>, now: i64) -> Result<bool>;

    /// Whether one token is revoked by its `jti` (the feed's single-token lookup); `org` is the
    /// token's org, whose own revocations count too.
    async fn is_token_revoked(&self, jti: &str, org: Option<&str>, now: i64) -> Result<bool>;

    /// Feed entries after `after` (from the oldest kept when `None`), at most `limit`, and
    /// whether some after `after` were dropped.
    async fn feed(&self, after: Option<&str>, limit: usize) -> Result<FeedRead>;

    /// Every live revocation, with the cursor of the newest feed entry they include.
    async fn snapshot(&self, now: i64) -> Result<Snapshot>;

    /// Applies rate-limit checks, all in one round trip, all or nothing; returns a decision for
    /// each. A check's state is known by `shard` and its key; on a Redis Cluster one call's keys
    /// live on the shard `shard` hashes to (pass the client id, so clients spread over the
    /// cluster). `now_ms` is the caller's clock in milliseconds.
    async fn throttle(&self, shard: &str, checks: &[Check], now_ms: i64) -> Result<Vec<Decision>>;

    /// Records that `id` was used within `scope` (an assertion's `jti` under its client, say)
    /// until `until` (seconds), and says whether this was its first use. A replay store: an entry
    /// is never forgotten before `until`. One already over (`until <= now`) is not recorded.
    async fn first_use(&self, scope: &str, id: &str, until: i64, now: i64) -> Result<bool>;

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
        // Replays: once per id and scope, until it expires.
        let scope = format!("cli_replay_{}", std::process::id());
        assert!(store.first_use(&scope, "jti-a", now + 300, now).await.unwrap());
        assert!(!store.first_use(&scope, "jti-a", now + 300, now + 1).await.unwrap(), "a replay");
        assert!(store.first_use(&scope, "jti-b", now + 300, now).await.unwrap());
        assert!(store.first_use(&format!("{scope}-other"), "jti-a", now + 300, now).await.unwrap());
        assert!(store.first_use(&scope, "jti-c", now - 1, now).await.unwrap(), "over: nothing kept");
        assert!(store.first_use(&scope, "jti-c", now + 300, now).await.unwrap());

        let token = TokenFacts {
            jti: "jti-1",
            client_id: "cli_a",
            org_id: Some("org_a"),
            credential: None,
            iat: now - 10,
            exp: now + 300,
        };
        let other = TokenFacts { jti: "jti-2", client_id: "cli_b", org_id: Some("org_b"), ..token.clone() };
        assert!(!store.is_revoked(&token, now).await.unwrap());
        let revoke = |w: Watermark<'_>, at: i64| w.at(at, now);

        store.revoke(&Revoked::token("jti-1", None, token.exp, now), now).await.unwrap();
        assert!(store.is_revoked(&token, now).await.unwrap());
        assert!(!store.is_revoked(&other, now).await.unwrap(), "only that token");

        // A client watermark revokes what was issued before it, not what comes after.
        store.revoke(&revoke(Watermark::Client("cli_b"), now - 5), now).await.unwrap();
        assert!(store.is_revoked(&other, now).await.unwrap());
        let later = TokenFacts { jti: "jti-3", iat: now - 1, ..other.clone() };
        assert!(!store.is_revoked(&later, now).await.unwrap());

        let org_token = TokenFacts {
            jti: "jti-4",
            client_id: "cli_c",
            org_id: Some("org_c"),
            credential: None,
            iat: now,
            exp: now + 60,
        };
        store.revoke(&revoke(Watermark::Org("org_c"), now), now).await.unwrap();
        assert!(store.is_revoked(&org_token, now).await.unwrap());
        let service = TokenFacts { jti: "jti-5", client_id: "cli_d", org_id: None, ..org_token.clone() };
        assert!(!store.is_revoked(&service, now).await.unwrap());

        // A later watermark replaces an earlier one; an earlier one never lowers it.
        store.revoke(&revoke(Watermark::Client("cli_b"), now - 100), now).await.unwrap();
        assert!(store.is_revoked(&other, now).await.unwrap());
        store.ping().await.unwrap();
        assert!(store.is_token_revoked("jti-1", None, now).await.unwrap());
        assert!(!store.is_token_revoked("jti-2", None, now).await.unwrap());

        // A jti revoked within an org revokes only that org's token with it.
        store.revoke(&Revoked::token("jti-6", Some("org_e"), now + 60, now), now).await.unwrap();
        let in_org =
            TokenFacts { jti: "jti-6", client_id: "cli_e", org_id: Some("org_e"), ..org_token.clone() };
        let elsewhere = TokenFacts { org_id: Some("org_f"), ..in_org.clone() };
        assert!(store.is_revoked(&in_org, now).await.unwrap());
        assert!(!store.is_revoked(&elsewhere, now).await.unwrap(), "another org's jti stays valid");
        assert!(!store.is_revoked(&TokenFacts { org_id: None, ..in_org.clone() }, now).await.unwrap());
        assert!(store.is_token_revoked("jti-6", Some("org_e"), now).await.unwrap());
        assert!(!store.is_token_revoked("jti-6", Some("org_f"), now).await.unwrap());

        // A credential watermark revokes what that credential of that client minted.
        let minted = TokenFacts { jti: "jti-7", credential: Some("sec_1"), ..in_org.clone() };
        let sibling = TokenFacts { jti: "jti-8", credential: Some("sec_2"), ..in_org.clone() };
        let credential = |client| Watermark::Credential { client, id: "sec_1" };
        store.revoke(&revoke(credential("cli_other"), now), now).await.unwrap();
        assert!(!store.is_revoked(&minted, now).await.unwrap(), "only the named client's credential");
        store.revoke(&revoke(credential("cli_e"), now), now).await.unwrap();
        assert!(store.is_revoked(&minted, now).await.unwrap());
        assert!(!store.is_revoked(&sibling, now).await.unwrap(), "another secret's tokens stay valid");

        // Every revocation is in the feed, in order, and a cursor resumes after itself.
        let read = store.feed(None, 100).await.unwrap();
        assert!(!read.behind);
        let feed = read.entries;
        let kinds: Vec<(&str, &str)> =
            feed.iter().map(|e| (e.revoked.kind.as_str(), e.revoked.id.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                ("token", "jti-1"),
                ("client", "cli_b"),
                ("org", "org_c"),
                ("client", "cli_b"),
                ("token", "jti-6"),
                ("credential", "sec_1"),
                ("credential", "sec_1"),
            ]
        );
        assert_eq!(feed[4].revoked.within.as_deref(), Some("org_e"));
        assert_eq!(feed[6].revoked.within.as_deref(), Some("cli_e"));
        // A revoked token is remembered as long as a verifier may accept it: `exp` plus leeway.
        assert_eq!(feed[0].revoked.expires_at, token.exp + writ_core::CLOCK_LEEWAY_SECONDS);
        let at_the_edge = token.exp + writ_core::CLOCK_LEEWAY_SECONDS - 1;
        assert!(
            store.is_token_revoked("jti-1", None, at_the_edge).await.unwrap(),
            "revoked through the leeway"
        );
        assert_eq!(feed[1].revoked.at, now - 5);
        let rest = store.feed(Some(&feed[1].cursor), 100).await.unwrap().entries;
        assert_eq!(rest, feed[2..].to_vec());
        assert!(store.feed(Some(&feed[6].cursor), 100).await.unwrap().entries.is_empty());
        assert_eq!(store.feed(None, 2).await.unwrap().entries.len(), 2);

        // The snapshot holds every live entry once (a watermark at its highest) and the cursor of
        // the newest; what is already over is neither recorded nor in it.
        store.revoke(&Revoked::token("jti-dead", None, now - 100, now), now).await.unwrap();
        let snapshot = store.snapshot(now).await.unwrap();
        assert_eq!(snapshot.cursor, feed[6].cursor);
        let mut live: Vec<String> = snapshot.entries.iter().map(Revoked::key).collect();
        live.sort();
        live.dedup();
        assert_eq!((live.len(), snapshot.entries.len()), (6, 6), "{live:?}");
        let client_b = snapshot.entries.iter().find(|r| r.key() == "client:cli_b").map(|r| r.at);
        assert_eq!(client_b, Some(now - 5));
        let later_snapshot = store.snapshot(token.exp + writ_core::CLOCK_LEEWAY_SECONDS).await.unwrap();
        assert!(later_snapshot.entries.iter().all(|r| r.key() != "jti:jti-1"), "expired entries leave");

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

    /// The feed's window, for a store keeping 3 entries: a reader whose cursor fell out of it is
    /// told so, and the snapshot still holds everything.
    pub async fn window(store: &dyn GuardStore) {
        let now = 1_800_000_000;
        assert!(!store.feed(None, 10).await.unwrap().behind, "nothing dropped yet");
        let empty = store.snapshot(now).await.unwrap();
        assert!(empty.entries.is_empty());
        for i in 0..5 {
            store.revoke(&Revoked::token(&format!("jti-{i}"), None, now + 60, now), now).await.unwrap();
        }
        let read = store.feed(None, 10).await.unwrap();
        let ids: Vec<&str> = read.entries.iter().map(|e| e.revoked.id.as_str()).collect();
        assert_eq!(ids, ["jti-2", "jti-3", "jti-4"]);
        assert!(read.behind, "a reader from the start missed two");
        let from_empty = store.feed(Some(&empty.cursor), 10).await.unwrap();
        assert!(from_empty.behind, "so did a reader from the empty snapshot");
        let in_window = store.feed(Some(&read.entries[0].cursor), 10).await.unwrap();
        assert!(!in_window.behind && in_window.entries.len() == 2, "{in_window:?}");
        let snapshot = store.snapshot(now).await.unwrap();
        assert_eq!(snapshot.entries.len(), 5, "the snapshot has them all");
        assert_eq!(snapshot.cursor, read.entries[2].cursor);
        let after = store.feed(Some(&snapshot.cursor), 10).await.unwrap();
        assert!(!after.behind && after.entries.is_empty());
    }
}
