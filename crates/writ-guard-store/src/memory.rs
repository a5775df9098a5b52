//! The in-memory store of the embedded default: one process, so a map under a mutex suffices.
//! Expired entries are purged as the map is written to.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::{
    Check, Decision, FEED_LENGTH, FeedEntry, GuardStore, Result, TokenFacts, WATERMARK_LIFETIME_SECONDS,
    Watermark,
};

#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Key → (value, expires at).
    entries: Mutex<HashMap<String, (i64, i64)>>,
    /// The feed, and the sequence number of its next entry.
    feed: Mutex<(VecDeque<FeedEntry>, u64)>,
    /// Rate-limit state by key: a rate's arrival time or a quota's count, and when it may be
    /// forgotten (ms).
    rates: Mutex<HashMap<String, (i64, i64)>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn set_max(&self, key: String, value: i64, expires_at: i64, now: i64) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len().is_multiple_of(1024) {
            map.retain(|_, (_, exp)| *exp > now);
        }
        let slot = map.entry(key).or_insert((value, expires_at));
        slot.0 = slot.0.max(value);
        slot.1 = slot.1.max(expires_at);
    }

    fn append(&self, kind: &str, id: &str, at: i64, expires_at: i64) {
        let mut feed = self.feed.lock().unwrap_or_else(|p| p.into_inner());
        let seq = feed.1;
        feed.1 += 1;
        // Zero-padded, so cursors compare as strings in feed order.
        let entry =
            FeedEntry { cursor: format!("{seq:020}"), kind: kind.into(), id: id.into(), at, expires_at };
        feed.0.push_back(entry);
        if feed.0.len() > FEED_LENGTH {
            feed.0.pop_front();
        }
    }

    fn get(&self, key: &str, now: i64) -> Option<i64> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).filter(|(_, exp)| *exp > now).map(|(v, _)| *v)
    }
}

fn watermark_key(w: Watermark<'_>) -> String {
    match w {
        Watermark::Client(id) => format!("client:{id}"),
        Watermark::Org(id) => format!("org:{id}"),
    }
}

#[async_trait::async_trait]
impl GuardStore for MemoryStore {
    async fn revoke_token(&self, jti: &str, exp: i64, now: i64) -> Result<()> {
        let until = exp + writ_core::CLOCK_LEEWAY_SECONDS;
        self.set_max(format!("jti:{jti}"), 1, until, now);
        self.append("token", jti, now, until);
        Ok(())
    }

    async fn revoke_before(&self, whose: Watermark<'_>, at: i64, now: i64) -> Result<()> {
        let expires_at = now + WATERMARK_LIFETIME_SECONDS;
        self.set_max(watermark_key(whose), at, expires_at, now);
        let (kind, id) = match whose {
            Watermark::Client(id) => ("client", id),
            Watermark::Org(id) => ("org", id),
        };
        self.append(kind, id, at, expires_at);
        Ok(())
    }

    async fn is_token_revoked(&self, jti: &str, now: i64) -> Result<bool> {
        Ok(self.get(&format!("jti:{jti}"), now).is_some())
    }

    async fn feed(&self, after: Option<&str>, limit: usize) -> Result<Vec<FeedEntry>> {
        let feed = self.feed.lock().unwrap_or_else(|p| p.into_inner());
        Ok(feed
            .0
            .iter()
            .filter(|e| after.is_none_or(|a| e.cursor.as_str() > a))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn is_revoked(&self, t: &TokenFacts<'_>, now: i64) -> Result<bool> {
        let by_jti = self.get(&format!("jti:{}", t.jti), now).is_some();
        let by_client =
            self.get(&watermark_key(Watermark::Client(t.client_id)), now).is_some_and(|at| t.iat <= at);
        let by_org = t
            .org_id
            .and_then(|o| self.get(&watermark_key(Watermark::Org(o)), now))
            .is_some_and(|at| t.iat <= at);
        Ok(by_jti || by_client || by_org)
    }

    async fn throttle(&self, shard: &str, checks: &[Check], now_ms: i64) -> Result<Vec<Decision>> {
        let mut rates = self.rates.lock().unwrap_or_else(|p| p.into_inner());
        if rates.len() >= 100_000 {
            rates.retain(|_, (_, until)| *until > now_ms);
        }
        let (decisions, writes) = crate::limit::decide_all(checks, now_ms, |key| {
            rates.get(&format!("{shard}:{key}")).filter(|(_, until)| *until > now_ms).map(|(value, _)| *value)
        });
        for (key, value, until) in writes {
            rates.insert(format!("{shard}:{key}"), (value, until));
        }
        Ok(decisions)
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

    #[tokio::test]
    async fn keeps_the_contract() {
        crate::contract::check(&MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn entries_expire_with_their_tokens() {
        let store = MemoryStore::new();
        let now = 1_000;
        let t = TokenFacts { jti: "j", client_id: "c", org_id: None, iat: now, exp: now + 10 };
        store.revoke_token("j", t.exp, now).await.unwrap();
        let leeway = writ_core::CLOCK_LEEWAY_SECONDS;
        assert!(
            store.is_revoked(&t, now + 10 + leeway - 1).await.unwrap(),
            "kept while a verifier may accept it"
        );
        assert!(
            !store.is_revoked(&t, now + 10 + leeway).await.unwrap(),
            "gone once no verifier would accept it"
        );
        store.revoke_before(Watermark::Client("c"), now, now).await.unwrap();
        assert!(store.is_revoked(&t, now + WATERMARK_LIFETIME_SECONDS - 1).await.unwrap());
        assert!(!store.is_revoked(&t, now + WATERMARK_LIFETIME_SECONDS).await.unwrap());
    }
}
