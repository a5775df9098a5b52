//! The in-memory store of the embedded default: one process, so a map under a mutex suffices.
//! Expired entries are purged as the map is written to.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use writ_core::bounded::BoundedMap;

use crate::{
    Check, Decision, FEED_LENGTH, FeedEntry, FeedRead, GuardStore, Result, Revoked, Snapshot, TokenFacts,
};

/// At most this many rate-limit keys in memory (about 100 bytes each).
pub const RATE_KEYS: usize = 200_000;

/// At most this many live replay entries in memory; past it, new ones are refused.
pub const ONCE_KEYS: usize = 200_000;

#[derive(Debug)]
pub struct MemoryStore {
    /// Live revocations by [`Revoked::key`].
    entries: Mutex<HashMap<String, Revoked>>,
    feed: Mutex<Feed>,
    /// Rate-limit state by key: a rate's arrival time or a quota's count, and when it may be
    /// forgotten (ms). Bounded, O(1) per check: a flood of new keys retires the keys nobody
    /// counted against for the longest, never the whole map at once.
    rates: Mutex<BoundedMap<String, (i64, i64)>>,
    /// Replay entries (`scope`, `id`) and until when they hold.
    once: Mutex<HashMap<(String, String), i64>>,
}

#[derive(Debug, Default)]
struct Feed {
    entries: VecDeque<FeedEntry>,
    /// How many entries it keeps.
    length: usize,
    /// The sequence number of the newest entry (0: none yet).
    last: u64,
    /// The cursor of the newest entry dropped from the window.
    dropped: Option<String>,
}

/// Zero-padded, so cursors compare as strings in feed order.
fn cursor(seq: u64) -> String {
    format!("{seq:020}")
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_feed_length(FEED_LENGTH)
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store whose feed keeps `length` entries.
    pub fn with_feed_length(length: usize) -> Self {
        Self {
            entries: Mutex::default(),
            feed: Mutex::new(Feed { length: length.max(1), ..Feed::default() }),
            rates: Mutex::new(BoundedMap::new(RATE_KEYS / 2)),
            once: Mutex::default(),
        }
    }

    fn live(&self, key: &str, now: i64) -> Option<i64> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).filter(|r| r.expires_at > now).map(|r| r.at)
    }
}

#[async_trait::async_trait]
impl GuardStore for MemoryStore {
    async fn revoke(&self, revoked: &Revoked, now: i64) -> Result<()> {
        if revoked.expires_at <= now {
            return Ok(()); // already over everywhere: nothing to remember
        }
        {
            let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if map.len().is_multiple_of(1024) {
                map.retain(|_, r| r.expires_at > now);
            }
            let slot = map.entry(revoked.key()).or_insert_with(|| revoked.clone());
            slot.at = slot.at.max(revoked.at);
            slot.expires_at = slot.expires_at.max(revoked.expires_at);
        }
        let mut feed = self.feed.lock().unwrap_or_else(|p| p.into_inner());
        feed.last += 1;
        let entry = FeedEntry { cursor: cursor(feed.last), revoked: revoked.clone() };
        feed.entries.push_back(entry);
        if feed.entries.len() > feed.length {
            feed.dropped = feed.entries.pop_front().map(|e| e.cursor);
        }
        Ok(())
    }

    async fn is_token_revoked(&self, jti: &str, org: Option<&str>, now: i64) -> Result<bool> {
        let scopes = [None, org];
        Ok(scopes
            .iter()
            .any(|within| self.live(&crate::key(crate::Kind::Token, *within, jti), now).is_some()))
    }

    async fn feed(&self, after: Option<&str>, limit: usize) -> Result<FeedRead> {
        let feed = self.feed.lock().unwrap_or_else(|p| p.into_inner());
        let entries = feed
            .entries
            .iter()
            .filter(|e| after.is_none_or(|a| e.cursor.as_str() > a))
            .take(limit)
            .cloned()
            .collect();
        let behind = feed.dropped.as_deref().is_some_and(|d| after.is_none_or(|a| d > a));
        Ok(FeedRead { entries, behind })
    }

    async fn snapshot(&self, now: i64) -> Result<Snapshot> {
        // The feed's lock first, as `revoke` takes them: nothing lands between the two reads.
        let feed = self.feed.lock().unwrap_or_else(|p| p.into_inner());
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entries = map.values().filter(|r| r.expires_at > now).cloned().collect();
        Ok(Snapshot { cursor: cursor(feed.last), entries })
    }

    async fn is_revoked(&self, t: &TokenFacts<'_>, now: i64) -> Result<bool> {
        Ok(t.candidates().any(|(kind, within, id)| {
            self.live(&crate::key(kind, within, id), now).is_some_and(|at| t.revoked_by(kind, at))
        }))
    }

    async fn throttle(&self, shard: &str, checks: &[Check], now_ms: i64) -> Result<Vec<Decision>> {
        let mut retired = Vec::new();
        let decisions = {
            let mut rates = self.rates.lock().unwrap_or_else(|p| p.into_inner());
            let (decisions, writes) = crate::limit::decide_all(checks, now_ms, |key| {
                rates
                    .peek(&format!("{shard}:{key}"))
                    .filter(|(_, until)| *until > now_ms)
                    .map(|(value, _)| *value)
            });
            for (key, value, until) in writes {
                retired.push(rates.insert(format!("{shard}:{key}"), (value, until)));
            }
            decisions
        };
        drop(retired);
        Ok(decisions)
    }

    async fn first_use(&self, scope: &str, id: &str, until: i64, now: i64) -> Result<bool> {
        if until <= now {
            return Ok(true);
        }
        let mut once = self.once.lock().unwrap_or_else(|p| p.into_inner());
        let key = (scope.to_owned(), id.to_owned());
        if once.get(&key).is_some_and(|u| *u > now) {
            return Ok(false);
        }
        if once.len() >= ONCE_KEYS || once.len().is_multiple_of(1024) {
            once.retain(|_, u| *u > now);
            if once.len() >= ONCE_KEYS {
                return Err(crate::GuardError::Full);
            }
        }
        once.insert(key, until);
        Ok(true)
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{WATERMARK_LIFETIME_SECONDS, Watermark};

    #[tokio::test]
    async fn keeps_the_contract() {
        crate::contract::check(&MemoryStore::new()).await;
        // In memory an entry is forgotten once over, and the id may be used again.
        let store = MemoryStore::new();
        assert!(store.first_use("s", "j", 110, 100).await.unwrap());
        assert!(!store.first_use("s", "j", 110, 109).await.unwrap());
        assert!(store.first_use("s", "j", 130, 111).await.unwrap());
        crate::contract::window(&MemoryStore::with_feed_length(3)).await;
    }

    #[tokio::test]
    async fn entries_expire_with_their_tokens() {
        let store = MemoryStore::new();
        let now = 1_000;
        let t =
            TokenFacts { jti: "j", client_id: "c", org_id: None, credential: None, iat: now, exp: now + 10 };
        store.revoke(&Revoked::token("j", None, t.exp, now), now).await.unwrap();
        let leeway = writ_core::CLOCK_LEEWAY_SECONDS;
        assert!(
            store.is_revoked(&t, now + 10 + leeway - 1).await.unwrap(),
            "kept while a verifier may accept it"
        );
        assert!(
            !store.is_revoked(&t, now + 10 + leeway).await.unwrap(),
            "gone once no verifier would accept it"
        );
        store.revoke(&Watermark::Client("c").at(now, now), now).await.unwrap();
        assert!(store.is_revoked(&t, now + WATERMARK_LIFETIME_SECONDS - 1).await.unwrap());
        assert!(!store.is_revoked(&t, now + WATERMARK_LIFETIME_SECONDS).await.unwrap());
    }
}
