//! The token endpoint's client cache (docs/tokens.md, "The hot path"): credentials by client id,
//! including the answer "no such client", so a known and an unknown id take the same path once
//! cached. Invalidated by change events; a TTL is the safety net: 5 minutes while every change
//! reaches this process (the Redis subscription is live, or it is the embedded default on SQLite),
//! 30 seconds while not. Expiry times are spread over the second half of the TTL, so a cache filled
//! at once is not refilled at once. Bounded in size.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use writ_core::ClientId;
use writ_core::bounded::BoundedMap;
use writ_store::ClientCredentials;

use crate::changes::Change;

/// `None` caches that the client does not exist.
pub type Cached = Option<Arc<ClientCredentials>>;

type Entries<V> = RwLock<BoundedMap<ClientId, (V, Instant)>>;

/// Clients that exist and ids that do not live apart, each in a [`BoundedMap`] (O(1) per request,
/// entries in use kept): a flood of made-up ids churns only the second, so real clients keep their
/// entries, and neither grows past its bound.
pub struct ClientCache {
    known: Entries<Arc<ClientCredentials>>,
    unknown: Entries<()>,
    /// Bumped by every invalidation. A value loaded from the database is stored only if no
    /// invalidation happened since the load started, so a slow load cannot resurrect stale data.
    generation: AtomicU64,
    ttl: Duration,
    /// Whether every other instance's changes reach this one (set by the change feed).
    following: Arc<AtomicBool>,
    /// Lookups, by whether the client exists and whether the cache answered.
    counts: [[AtomicU64; 2]; 2],
}

/// How long an entry lives while the change feed is followed.
pub const FOLLOWED_TTL: Duration = Duration::from_secs(300);

/// Lookups the cache answered and lookups that went to the database, for clients that exist
/// (`known`) and ids that do not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lookups {
    pub known_hits: u64,
    pub known_misses: u64,
    pub unknown_hits: u64,
    pub unknown_misses: u64,
}

impl std::fmt::Debug for ClientCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCache").field("len", &self.len()).field("ttl", &self.ttl).finish()
    }
}

impl ClientCache {
    /// A cache of at most `capacity` clients and `capacity / 4` unknown ids, whose entries live
    /// `ttl`, or [`FOLLOWED_TTL`] while `following` is true.
    pub fn new(ttl: Duration, capacity: usize, following: Arc<AtomicBool>) -> Self {
        Self {
            known: RwLock::new(BoundedMap::new(capacity / 2)),
            unknown: RwLock::new(BoundedMap::new(capacity / 8)),
            generation: AtomicU64::new(0),
            ttl,
            following,
            counts: Default::default(),
        }
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
        let hit = match fresh(&self.known, id, self.ttl_of(id)) {
            Some(client) => Some(Some(client)),
            None => fresh(&self.unknown, id, self.ttl_of(id)).map(|()| None),
        };
        if let Some(found) = &hit {
            self.counts[usize::from(found.is_none())][0].fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores `value`, loaded from the database, unless an invalidation happened after
    /// `generation` was read.
    pub fn insert(&self, generation: u64, id: ClientId, value: Cached) {
        self.counts[usize::from(value.is_none())][1].fetch_add(1, Ordering::Relaxed);
        match value {
            Some(client) => self.store(&self.known, generation, id, client),
            None => self.store(&self.unknown, generation, id, ()),
        }
    }

    fn store<V>(&self, entries: &Entries<V>, generation: u64, id: ClientId, value: V) {
        let retired = {
            let mut map = write(entries);
            if self.generation.load(Ordering::Acquire) != generation {
                return;
            }
            map.insert(id, (value, Instant::now()))
        };
        drop(retired);
    }

    pub fn invalidate(&self, change: &Change) {
        let mut known = write(&self.known);
        let mut unknown = write(&self.unknown);
        self.generation.fetch_add(1, Ordering::AcqRel);
        let _retired = match change {
            Change::Client(id) => {
                known.remove(id);
                unknown.remove(id);
                None
            }
            Change::Org(org) => {
                known.retain(|_, (c, _)| c.client.kind.org_id() != Some(org));
                None
            }
            Change::User(user) => {
                known.retain(|_, (c, _)| c.client.kind.user_id() != Some(user));
                None
            }
            Change::Resource(_) | Change::All => Some((known.clear(), unknown.clear())),
            Change::Keys => None,
        };
        drop((known, unknown));
    }

    /// Entries of clients that exist.
    pub fn len(&self) -> usize {
        read(&self.known).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries of ids that do not exist.
    pub fn unknown_len(&self) -> usize {
        read(&self.unknown).len()
    }

    /// The lookups so far.
    pub fn lookups(&self) -> Lookups {
        let n = |known: bool, hit: bool| {
            self.counts[usize::from(!known)][usize::from(!hit)].load(Ordering::Relaxed)
        };
        Lookups {
            known_hits: n(true, true),
            known_misses: n(true, false),
            unknown_hits: n(false, true),
            unknown_misses: n(false, false),
        }
    }
}

/// The fresh entry of `id` in `entries`; one in the old generation is moved to the young one, as it
/// is in use.
fn fresh<V: Clone>(entries: &Entries<V>, id: &ClientId, ttl: Duration) -> Option<V> {
    let map = read(entries);
    let (value, _) = map.peek(id).filter(|(_, at)| at.elapsed() < ttl)?;
    let value = value.clone();
    if map.is_old(id) {
        drop(map);
        let retired = write(entries).touch(id);
        drop(retired);
    }
    Some(value)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
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

    fn real_client() -> (ClientId, Arc<ClientCredentials>) {
        let now = time::OffsetDateTime::now_utc();
        let client = writ_core::Client {
            id: ClientId::generate(),
            kind: writ_core::ClientKind::Service,
            name: writ_core::Name::parse("real").unwrap(),
            status: writ_core::Status::Active,
            token_ttl: writ_core::TokenTtl::default(),
            grants: writ_core::Grants::new(),
            metadata: writ_core::Metadata::default(),
            rate_limits: writ_core::RateLimits::default(),
            auth_methods: writ_core::AuthMethods::default(),
            keys: None,
            delegation: Default::default(),
            created_at: now,
            updated_at: now,
        };
        let id = client.id.clone();
        (
            id,
            Arc::new(ClientCredentials {
                client,
                secrets: Vec::new(),
                federated: Vec::new(),
                org: None,
                user: None,
            }),
        )
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
        let cache = ClientCache::new(Duration::from_secs(30), 100, Arc::default());
        for _ in 0..1000 {
            cache.insert(cache.generation(), ClientId::generate(), None);
            cache.insert(cache.generation(), real_client().0, Some(real_client().1));
        }
        assert!(cache.len() <= 100 && cache.unknown_len() <= 25, "{} {}", cache.len(), cache.unknown_len());
    }

    #[test]
    fn a_flood_of_made_up_ids_leaves_real_clients_cached() {
        let cache = ClientCache::new(Duration::from_secs(30), 1000, Arc::default());
        let (id, real) = real_client();
        cache.insert(cache.generation(), id.clone(), Some(real));
        for _ in 0..100_000 {
            let made_up = ClientId::generate();
            assert!(cache.get(&made_up).is_none());
            cache.insert(cache.generation(), made_up, None);
        }
        assert!(matches!(cache.get(&id), Some(Some(_))), "the real client is still cached");
        let lookups = cache.lookups();
        assert_eq!((lookups.known_hits, lookups.known_misses), (1, 1));
        assert_eq!((lookups.unknown_hits, lookups.unknown_misses), (0, 100_000));
        assert!(cache.unknown_len() <= 250);
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
