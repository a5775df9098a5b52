//! A map of bounded size for caches that strangers can fill: every operation is O(1), and entries in
//! use outlive a flood of new ones. Two generations of at most `capacity` entries each: inserts go
//! to the young one; when it is full it becomes the old one and the previous old generation is
//! handed back to the caller to drop (outside its lock). A hit in the old generation moves the
//! entry back to the young one. So an entry survives while it is used at least once every
//! `capacity` inserts, and the map never holds more than twice `capacity`.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug)]
pub struct BoundedMap<K, V> {
    young: HashMap<K, V>,
    old: HashMap<K, V>,
    capacity: usize,
}

/// A generation the map let go of: drop it once the map's lock is released.
#[must_use = "drop it outside the lock"]
pub struct Retired<K, V>(#[allow(dead_code)] Option<HashMap<K, V>>);

impl<K: Hash + Eq, V> BoundedMap<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self { young: HashMap::new(), old: HashMap::new(), capacity: capacity.max(1) }
    }

    /// The entry of `key`, wherever it is (a look that does not protect it from eviction).
    pub fn peek<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.young.get(key).or_else(|| self.old.get(key))
    }

    /// Whether `key` is in the old generation, so that using it should [`Self::touch`] it.
    pub fn is_old<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        !self.young.contains_key(key) && self.old.contains_key(key)
    }

    /// Moves `key` to the young generation, if it is in the old one: it was used.
    pub fn touch<Q>(&mut self, key: &Q) -> Retired<K, V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.old.remove_entry(key) {
            Some((k, v)) => self.insert(k, v),
            None => Retired(None),
        }
    }

    /// Inserts or replaces the entry of `key`, in the young generation.
    pub fn insert(&mut self, key: K, value: V) -> Retired<K, V> {
        self.old.remove(&key);
        let retired = if self.young.len() >= self.capacity && !self.young.contains_key(&key) {
            let young = std::mem::replace(&mut self.young, HashMap::with_capacity(self.capacity));
            Some(std::mem::replace(&mut self.old, young))
        } else {
            None
        };
        self.young.insert(key, value);
        Retired(retired)
    }

    /// The value of `key`, to change in place (it stays where it is).
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.young.contains_key(key) { self.young.get_mut(key) } else { self.old.get_mut(key) }
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let young = self.young.remove(key);
        let old = self.old.remove(key);
        young.or(old)
    }

    /// Keeps the entries `keep` accepts (O(n): for invalidations, not for every request).
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.young.retain(&mut keep);
        self.old.retain(&mut keep);
    }

    /// Empties the map, handing both generations back.
    pub fn clear(&mut self) -> Retired<K, V> {
        let mut young = std::mem::take(&mut self.young);
        young.extend(std::mem::take(&mut self.old));
        Retired(Some(young))
    }

    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_entries_in_use_survive_a_flood() {
        let mut map = BoundedMap::new(100);
        let _ = map.insert("real".to_owned(), 1);
        for i in 0..10_000 {
            let _ = map.insert(format!("flood-{i}"), 0);
            if map.is_old("real") {
                let _ = map.touch("real");
            }
            assert!(map.len() <= 200);
        }
        assert_eq!(map.peek("real"), Some(&1), "used once per generation, so kept");
        assert_eq!(map.peek("flood-0"), None, "the flood's old entries are gone");
        assert_eq!(map.peek("flood-9999"), Some(&0));
        *map.get_mut("real").unwrap() = 2;
        assert_eq!(map.remove("real"), Some(2));
        assert_eq!(map.peek("real"), None);
        let _ = map.clear();
        assert!(map.is_empty());
    }

    #[test]
    fn replacing_an_entry_keeps_one_copy() {
        let mut map = BoundedMap::new(2);
        let _ = map.insert(1, "a");
        let _ = map.insert(2, "b");
        let _ = map.insert(3, "c"); // 1 and 2 are old now
        let _ = map.insert(1, "a2");
        assert_eq!(map.len(), 3);
        assert_eq!(map.peek(&1), Some(&"a2"));
        map.retain(|k, _| *k != 2);
        assert_eq!(map.peek(&2), None);
    }
}
