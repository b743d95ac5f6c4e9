//! Remembered responses for conditional requests: a provider stores a body with its ETag,
//! sends `If-None-Match` next time and, on `304 Not Modified`, serves the stored body.
//! GitHub does not count such a 304 against the primary rate limit.
//!
//! [`HttpCache`] is the seam: [`MemoryHttpCache`] keeps entries in-process; the worker can
//! plug in a shared store (Valkey) behind the same trait.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
};

use async_trait::async_trait;

/// A stored response: its validator and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedResponse {
    pub etag: String,
    pub body: Vec<u8>,
}

/// Where conditional-request validators and bodies are kept. Keys are opaque strings
/// chosen by the provider (method, URL and media type). Implementations must not fail
/// loudly: a cache that cannot answer answers `None`, and a failed `put` is forgotten.
#[async_trait]
pub trait HttpCache: Send + Sync + std::fmt::Debug {
    async fn get(&self, key: &str) -> Option<CachedResponse>;
    async fn put(&self, key: &str, etag: &str, body: &[u8]);
}

/// An in-process, bounded, least-recently-used [`HttpCache`]: at most `max_entries`
/// entries and `max_bytes` of bodies; a body larger than an eighth of `max_bytes` is not
/// kept, so one big file cannot flush everything else.
#[derive(Debug)]
pub struct MemoryHttpCache {
    max_entries: usize,
    max_bytes: usize,
    inner: Mutex<Lru>,
}

#[derive(Debug, Default)]
struct Lru {
    entries: HashMap<String, (CachedResponse, u64)>,
    /// Last use → key; the first entry is the least recently used.
    by_use: BTreeMap<u64, String>,
    clock: u64,
    bytes: usize,
}

impl Default for MemoryHttpCache {
    /// 10,000 entries, 64 MiB.
    fn default() -> Self {
        Self::new(10_000, 64 * 1024 * 1024)
    }
}

impl MemoryHttpCache {
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            max_entries,
            max_bytes,
            inner: Mutex::new(Lru::default()),
        }
    }

    /// How many responses are kept.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        // A panic while holding the lock cannot leave the LRU inconsistent in a way that
        // matters more than losing the cache: keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Lru {
    fn touch(&mut self, key: &str) -> Option<&CachedResponse> {
        self.clock += 1;
        let clock = self.clock;
        let (_, used) = self.entries.get_mut(key)?;
        self.by_use.remove(used);
        *used = clock;
        self.by_use.insert(clock, key.to_owned());
        self.entries.get(key).map(|(r, _)| r)
    }

    fn remove(&mut self, key: &str) {
        if let Some((old, used)) = self.entries.remove(key) {
            self.by_use.remove(&used);
            self.bytes -= old.body.len();
        }
    }

    fn evict_oldest(&mut self) {
        if let Some((_, key)) = self.by_use.pop_first()
            && let Some((old, _)) = self.entries.remove(&key)
        {
            self.bytes -= old.body.len();
        }
    }
}

#[async_trait]
impl HttpCache for MemoryHttpCache {
    async fn get(&self, key: &str) -> Option<CachedResponse> {
        self.lock().touch(key).cloned()
    }

    async fn put(&self, key: &str, etag: &str, body: &[u8]) {
        let mut lru = self.lock();
        lru.remove(key);
        if self.max_entries == 0 || body.len() > self.max_bytes / 8 {
            return;
        }
        while lru.entries.len() >= self.max_entries || lru.bytes + body.len() > self.max_bytes {
            lru.evict_oldest();
        }
        lru.clock += 1;
        let clock = lru.clock;
        lru.bytes += body.len();
        lru.by_use.insert(clock, key.to_owned());
        lru.entries.insert(
            key.to_owned(),
            (
                CachedResponse {
                    etag: etag.to_owned(),
                    body: body.to_vec(),
                },
                clock,
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_most_recently_used_entries_within_the_bounds() {
        let cache = MemoryHttpCache::new(2, 1024);
        cache.put("a", "\"1\"", b"alpha").await;
        cache.put("b", "\"2\"", b"beta").await;
        assert_eq!(cache.get("a").await.unwrap().etag, "\"1\"");
        cache.put("c", "\"3\"", b"gamma").await;
        assert!(cache.get("b").await.is_none(), "b was least recently used");
        assert_eq!(cache.get("a").await.unwrap().body, b"alpha");
        assert_eq!(cache.get("c").await.unwrap().body, b"gamma");
        assert_eq!(cache.len(), 2);
    }

    #[tokio::test]
    async fn bounds_the_bytes_and_skips_bodies_too_big_to_share() {
        let cache = MemoryHttpCache::new(100, 80);
        cache.put("big", "e", &[0; 11]).await;
        assert!(cache.is_empty(), "over an eighth of the budget");
        for key in ["a", "b", "c", "d", "e", "f", "g", "h", "i"] {
            cache.put(key, "e", &[0; 10]).await;
        }
        assert_eq!(cache.len(), 8);
        assert!(cache.get("a").await.is_none());
        cache.put("i", "e2", &[1; 5]).await;
        assert_eq!(cache.get("i").await.unwrap().etag, "e2");
        assert_eq!(cache.len(), 8);
    }
}
