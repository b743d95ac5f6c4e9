//! GitHub's conditional-request cache in Valkey, shared by every worker: an ETag stored by
//! one replica lets any other revalidate with `If-None-Match`, and a `304` costs no quota.
//!
//! The cache never fails a job: when Valkey errors or is unreachable, `get` answers a miss
//! and `put` forgets the entry, and for a few seconds afterwards the cache is not asked at
//! all, so requests do not each wait out a command timeout while Valkey is away.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use fred::{
    bytes::Bytes,
    interfaces::KeysInterface,
    types::{Expiration, SetOptions},
};
use wump_db::ValkeyPool;
use wump_providers::{CachedResponse, HttpCache};

/// How long the cache stays quiet after a Valkey failure.
const BACKOFF_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// An [`HttpCache`] on the shared fred pool: one Valkey string per response holding its
/// ETag and body, expiring `ttl` after it was stored; bodies over `max_entry_bytes` are
/// not stored.
#[derive(Debug)]
pub struct ValkeyHttpCache {
    pool: ValkeyPool,
    prefix: String,
    ttl: Duration,
    max_entry_bytes: usize,
    /// Milliseconds after `epoch` before which Valkey is not asked (0: ask).
    quiet_until_ms: AtomicU64,
    epoch: Instant,
}

impl ValkeyHttpCache {
    /// Keys are `prefix` + the provider's key (e.g. `wump:http:` + method, URL, media type).
    pub fn new(
        pool: ValkeyPool,
        prefix: impl Into<String>,
        ttl: Duration,
        max_entry_bytes: usize,
    ) -> Self {
        Self {
            pool,
            prefix: prefix.into(),
            ttl,
            max_entry_bytes,
            quiet_until_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn quiet(&self) -> bool {
        self.now_ms() < self.quiet_until_ms.load(Ordering::Relaxed)
    }

    fn failed(&self, operation: &str, error: &fred::error::Error) {
        let until = self.now_ms() + BACKOFF_AFTER_FAILURE.as_millis() as u64;
        self.quiet_until_ms.store(until, Ordering::Relaxed);
        tracing::warn!(%error, operation, "http cache unavailable: treating as a miss");
    }
}

/// `etag length (4 bytes, big endian) ‖ etag ‖ body`: one value, so an entry is written and
/// expires as a whole.
fn encode(etag: &str, body: &[u8]) -> Option<Vec<u8>> {
    let length = u32::try_from(etag.len()).ok()?;
    let mut value = Vec::with_capacity(4 + etag.len() + body.len());
    value.extend_from_slice(&length.to_be_bytes());
    value.extend_from_slice(etag.as_bytes());
    value.extend_from_slice(body);
    Some(value)
}

fn decode(value: &[u8]) -> Option<CachedResponse> {
    let length = u32::from_be_bytes(value.get(..4)?.try_into().ok()?) as usize;
    let etag = std::str::from_utf8(value.get(4..4 + length)?).ok()?;
    Some(CachedResponse {
        etag: etag.to_owned(),
        body: value[4 + length..].to_vec(),
    })
}

#[async_trait]
impl HttpCache for ValkeyHttpCache {
    async fn get(&self, key: &str) -> Option<CachedResponse> {
        if self.quiet() {
            return None;
        }
        match self.pool.get::<Option<Bytes>, _>(self.key(key)).await {
            Ok(value) => value.and_then(|v| decode(&v)),
            Err(error) => {
                self.failed("get", &error);
                None
            }
        }
    }

    async fn put(&self, key: &str, etag: &str, body: &[u8]) {
        if body.len() > self.max_entry_bytes || self.quiet() {
            return;
        }
        let Some(value) = encode(etag, body) else {
            return;
        };
        let ttl = i64::try_from(self.ttl.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        let stored: Result<Option<String>, _> = self
            .pool
            .set(
                self.key(key),
                Bytes::from(value),
                Some(Expiration::PX(ttl)),
                None::<SetOptions>,
                false,
            )
            .await;
        if let Err(error) = stored {
            self.failed("put", &error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_garbage_is_a_miss() {
        let value = encode("W/\"abc\"", b"{\"sha\": 1}").unwrap();
        assert_eq!(
            decode(&value),
            Some(CachedResponse {
                etag: "W/\"abc\"".into(),
                body: b"{\"sha\": 1}".to_vec(),
            })
        );
        assert_eq!(decode(&encode("\"e\"", b"").unwrap()).unwrap().body, b"");
        assert_eq!(decode(b"\x00\x00"), None);
        assert_eq!(decode(b"\x00\x00\x00\x09short"), None);
    }
}
