//! A small time-bounded map, driven by the `Clock` port so that expiry is
//! deterministic in tests. Warm Lambda instances keep group specs, app
//! claims and fleets in these for a second or a few.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (OffsetDateTime, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// A zero `ttl` disables the cache.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()) }
    }

    pub fn get(&self, key: &K, now: OffsetDateTime) -> Option<V> {
        let entries = self.entries.lock().expect("cache lock is never poisoned");
        entries.get(key).filter(|(at, _)| now - *at < self.ttl).map(|(_, value)| value.clone())
    }

    pub fn insert(&self, key: K, value: V, now: OffsetDateTime) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("cache lock is never poisoned");
        // Expired entries go when the map grows, so it never outgrows what
        // one TTL window touches.
        if entries.len() >= 1024 {
            entries.retain(|_, (at, _)| now - *at < self.ttl);
        }
        entries.insert(key, (now, value));
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn entries_live_for_the_ttl_only() {
        let cache = TtlCache::new(Duration::from_secs(1));
        let t0 = datetime!(2026-11-21 06:00 UTC);
        cache.insert("a", 1, t0);
        assert_eq!(cache.get(&"a", t0 + Duration::from_millis(999)), Some(1));
        assert_eq!(cache.get(&"a", t0 + Duration::from_secs(1)), None);
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = TtlCache::new(Duration::ZERO);
        let t0 = datetime!(2026-11-21 06:00 UTC);
        cache.insert("a", 1, t0);
        assert_eq!(cache.get(&"a", t0), None);
    }
}
