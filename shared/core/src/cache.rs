//! A small time-bounded map, driven by the `Clock` port so that expiry is
//! deterministic in tests. Warm Lambda instances keep group specs, app
//! claims and fleets in these for a second or a few.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (OffsetDateTime, V)>>,
    /// One load in flight per key (`get_or_load`).
    loading: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// A zero `ttl` disables the cache.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()), loading: Mutex::new(HashMap::new()) }
    }

    /// The entry, or what `load` gives (then kept). Callers missing the
    /// same key at once wait for the first one's load and share it: a cold
    /// instance hit by a burst reads each key once, not once per request.
    pub async fn get_or_load<E, F>(&self, key: &K, now: OffsetDateTime, load: F) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        if let Some(value) = self.get(key, now) {
            return Ok(value);
        }
        if self.ttl.is_zero() {
            return load.await;
        }
        let gate = self
            .loading
            .lock()
            .expect("cache lock is never poisoned")
            .entry(key.clone())
            .or_default()
            .clone();
        let _turn = gate.lock().await;
        if let Some(value) = self.get(key, now) {
            return Ok(value);
        }
        let value = load.await?;
        self.insert(key.clone(), value.clone(), now);
        Ok(value)
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
            // Gates nobody waits at go with them.
            self.loading
                .lock()
                .expect("cache lock is never poisoned")
                .retain(|_, gate| Arc::strong_count(gate) > 1);
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_missing_one_key_at_once_share_one_load() {
        let cache = Arc::new(TtlCache::new(Duration::from_secs(1)));
        let loads = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let t0 = datetime!(2026-11-21 06:00 UTC);
        let callers = (0..16).map(|_| {
            let (cache, loads) = (cache.clone(), loads.clone());
            tokio::spawn(async move {
                cache
                    .get_or_load(&"group", t0, async {
                        loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>(7)
                    })
                    .await
            })
        });
        for caller in futures::future::join_all(callers).await {
            assert_eq!(caller.unwrap(), Ok(7));
        }
        assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = TtlCache::new(Duration::ZERO);
        let t0 = datetime!(2026-11-21 06:00 UTC);
        cache.insert("a", 1, t0);
        assert_eq!(cache.get(&"a", t0), None);
    }
}
