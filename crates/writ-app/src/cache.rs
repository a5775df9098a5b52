//! The token endpoint's client cache (docs/tokens.md, "The hot path"): credentials by client id,
//! including the answer "no such client", so a known and an unknown id take the same path once
//! cached. Invalidated by change events; a TTL is the safety net: 5 minutes while every change
//! reaches this process (the Redis subscription is live, or it is the embedded default on SQLite),
//! 30 seconds while not. Expiry times are spread over the second half of the TTL, so a cache filled
//! at once is not refilled at once. Bounded in size.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use writ_core::ClientId;
use writ_store::ClientCredentials;

use crate::changes::Change;

/// `None` caches that the client does not exist.
pub type Cached = Option<Arc<ClientCredentials>>;

pub struct ClientCache {
    map: RwLock<HashMap<ClientId, (Cached, Instant)>>,
    /// Bumped by every invalidation. A value loaded from the database is stored only if no
    /// invalidation happened since the load started, so a slow load cannot resurrect stale data.
    generation: AtomicU64,
    ttl: Duration,
    /// Whether every other instance's changes reach this one (set by the change feed).
    following: Arc<AtomicBool>,
    capacity: usize,
}

/// How long an entry lives while the change feed is followed.
pub const FOLLOWED_TTL: Duration = Duration::from_secs(300);

impl std::fmt::Debug for ClientCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCache").field("len", &self.len()).field("ttl", &self.ttl).finish()
    }
}

impl ClientCache {
    /// A cache whose entries live `ttl`, or [`FOLLOWED_TTL`] while `following` is true.
    pub fn new(ttl: Duration, capacity: usize, following: Arc<AtomicBool>) -> Self {
        let generation = AtomicU64::new(0);
        Self { map: RwLock::default(), generation, ttl, following, capacity: capacity.max(1) }
    }

    /// How long the entry of `id` lives now: the TTL less up to a half, by a hash of the id.
    fn ttl_of(&self, id: &ClientId) -> Duration {
        let ttl = if self.following.load(Ordering::Relaxed) { FOLLOWED_TTL.max(self.ttl) } else { self.ttl };
        let spread =
            id.as_str().bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 1000;
        ttl - ttl / 2 * spread / 1000
    }

    /// The cached answer for `id`, if fresh.
    pub fn get(&self, id: &ClientId) -> Option<Cached> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        map.get(id).filter(|(_, at)| at.elapsed() < self.ttl_of(id)).map(|(v, _)| v.clone())
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores `value` unless an invalidation happened after `generation` was read.
    pub fn insert(&self, generation: u64, id: ClientId, value: Cached) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if map.len() >= self.capacity {
            // Expired entries go first; if that frees nothing, an arbitrary tenth of the entries.
            map.retain(|id, (_, at)| at.elapsed() < self.ttl_of(id));
            if map.len() >= self.capacity {
                let drop: Vec<ClientId> = map.keys().take(self.capacity / 10 + 1).cloned().collect();
                for k in drop {
                    map.remove(&k);
                }
            }
        }
        map.insert(id, (value, Instant::now()));
    }

    pub fn invalidate(&self, change: &Change) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        match change {
            Change::Client(id) => {
                map.remove(id);
            }
            Change::Org(org) => {
                map.retain(|_, (v, _)| v.as_ref().is_none_or(|c| c.client.kind.org_id() != Some(org)))
            }
            Change::User(user) => {
                map.retain(|_, (v, _)| v.as_ref().is_none_or(|c| c.client.kind.user_id() != Some(user)))
            }
            Change::Resource(_) | Change::All => map.clear(),
            Change::Keys => {}
        }
    }

    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_that_raced_an_invalidation_is_not_stored() {
        let cache = ClientCache::new(Duration::from_secs(30), 10, Arc::default());
        let id = ClientId::generate();
        let generation = cache.generation();
        cache.invalidate(&Change::Client(id.clone()));
        cache.insert(generation, id.clone(), None);
        assert!(cache.get(&id).is_none());
        cache.insert(cache.generation(), id.clone(), None);
        assert!(matches!(cache.get(&id), Some(None)));
        cache.invalidate(&Change::Client(id.clone()));
        assert!(cache.get(&id).is_none());
    }

    #[test]
    fn entries_expire_and_size_stays_bounded() {
        let following = Arc::new(AtomicBool::new(true));
        let cache = ClientCache::new(Duration::from_millis(20), 10, following.clone());
        let id = ClientId::generate();
        cache.insert(cache.generation(), id.clone(), None);
        std::thread::sleep(Duration::from_millis(30));
        assert!(cache.get(&id).is_some(), "alive while the change feed is followed");
        following.store(false, Ordering::Relaxed);
        assert!(cache.get(&id).is_none(), "expired once it is not");
        let cache = ClientCache::new(Duration::from_secs(30), 10, Arc::default());
        for _ in 0..100 {
            cache.insert(cache.generation(), ClientId::generate(), None);
        }
        assert!(cache.len() <= 10);
    }

    #[test]
    fn expiry_times_spread_over_half_the_ttl() {
        let cache = ClientCache::new(Duration::from_secs(30), 10, Arc::default());
        let ttls: std::collections::BTreeSet<Duration> =
            (0..200).map(|_| cache.ttl_of(&ClientId::generate())).collect();
        assert!(ttls.len() > 100, "{} distinct expiry times", ttls.len());
        assert!(ttls.iter().all(|t| *t > Duration::from_secs(15) && *t <= Duration::from_secs(30)));
    }
}
