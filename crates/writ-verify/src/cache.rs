//! Tokens verified before, so a token presented again costs a hash lookup instead of a signature
//! check. Bounded; an entry never outlives its token's `exp`; cleared whenever the key set changes.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use writ_token::AccessClaims;

#[derive(Debug)]
pub(crate) struct TokenCache {
    capacity: usize,
    map: RwLock<HashMap<Box<str>, Arc<AccessClaims>>>,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity, map: RwLock::new(HashMap::new()) }
    }

    /// The claims of `token` if it was verified before and is still unexpired at `now` (with the
    /// same leeway as a fresh check).
    pub(crate) fn get(&self, token: &str, now: i64, leeway: i64) -> Option<Arc<AccessClaims>> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        map.get(token).filter(|c| c.exp > now - leeway).cloned()
    }

    pub(crate) fn insert(&self, token: &str, claims: Arc<AccessClaims>, now: i64, leeway: i64) {
        if self.capacity == 0 {
            return;
        }
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.capacity {
            map.retain(|_, c| c.exp > now - leeway);
        }
        if map.len() >= self.capacity {
            // Still full of live tokens: drop an eighth, whichever the map yields first.
            let drop: Vec<Box<str>> = map.keys().take(self.capacity / 8 + 1).cloned().collect();
            for k in drop {
                map.remove(&k);
            }
        }
        map.insert(token.into(), claims);
    }

    pub(crate) fn clear(&self) {
        self.map.write().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use writ_token::Audience;

    fn claims(jti: &str, exp: i64) -> Arc<AccessClaims> {
        Arc::new(AccessClaims {
            iss: "i".into(),
            sub: "s".into(),
            client_id: "s".into(),
            aud: Audience::One("a".into()),
            scope: String::new(),
            iat: 0,
            nbf: 0,
            exp,
            jti: jti.into(),
            oid: None,
            uid: None,
            cred: None,
        })
    }

    #[test]
    fn bounded_and_never_past_exp() {
        let cache = TokenCache::new(16);
        cache.insert("t", claims("t", 100), 50, 0);
        assert!(cache.get("t", 99, 0).is_some());
        assert!(cache.get("t", 100, 0).is_none(), "gone at exp");
        assert!(cache.get("t", 105, 10).is_some(), "within the leeway, like a fresh check");
        for i in 0..1000 {
            cache.insert(&format!("k{i}"), claims("k", 1_000), 50, 0);
        }
        assert!(cache.len() <= 16);
        cache.clear();
        assert_eq!(cache.len(), 0);
    }
}
