//! The cache's Valkey commands, and what happens when Valkey is away: every failure is
//! logged and treated as "nothing cached", and for a short cooldown afterwards the cache
//! does not even try, so requests go straight to PostgreSQL instead of each waiting for
//! the command timeout.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use actix_web::web::Bytes;
use fred::prelude::*;
use wump_db::ValkeyPool;

use super::entry::Entry;

/// Valkey as the cache sees it.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    valkey: ValkeyPool,
    cooldown: Duration,
    /// Process start, the clock `skip_until_ms` counts on.
    epoch: Instant,
    /// While `elapsed < skip_until_ms`, Valkey is treated as down without asking it.
    skip_until_ms: Arc<AtomicU64>,
}

/// Valkey did not answer (or is in its cooldown): nothing cached can be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unreachable;

impl Store {
    pub(crate) fn new(valkey: ValkeyPool, cooldown: Duration) -> Self {
        Self {
            valkey,
            cooldown,
            epoch: Instant::now(),
            skip_until_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a recent failure says not to try Valkey now.
    fn cooling_down(&self) -> bool {
        self.elapsed_ms() < self.skip_until_ms.load(Ordering::Relaxed)
    }

    fn failed(&self, what: &str, err: &Error) -> Unreachable {
        let until = self.elapsed_ms() + u64::try_from(self.cooldown.as_millis()).unwrap_or(0);
        let previous = self.skip_until_ms.swap(until, Ordering::Relaxed);
        // One line per outage, not one per request.
        if previous <= self.elapsed_ms() {
            tracing::warn!(
                error = %err,
                cooldown_ms = self.cooldown.as_millis() as u64,
                "valkey {what} failed: serving from the database without the cache"
            );
        }
        Unreachable
    }

    /// A cache-version counter (0 when the worker never bumped it).
    pub(crate) async fn version(&self, key: &str) -> Result<u64, Unreachable> {
        if self.cooling_down() {
            return Err(Unreachable);
        }
        match self.valkey.get::<Option<u64>, _>(key).await {
            Ok(version) => Ok(version.unwrap_or(0)),
            Err(err) => Err(self.failed("GET of a cache version", &err)),
        }
    }

    /// The entry under `key`, if any (an unreadable value counts as none).
    pub(crate) async fn get(&self, key: &str) -> Result<Option<Entry>, Unreachable> {
        if self.cooling_down() {
            return Err(Unreachable);
        }
        match self.valkey.get::<Option<Bytes>, _>(key).await {
            Ok(stored) => Ok(stored.and_then(Entry::decode)),
            Err(err) => Err(self.failed("GET of a cache entry", &err)),
        }
    }

    /// Stores `entry` under `key` for `keep` (its TTL plus the stale window).
    pub(crate) async fn put(&self, key: &str, entry: &Entry, keep: Duration) {
        if self.cooling_down() {
            return;
        }
        let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX).max(1);
        let value = Bytes::from(entry.encode());
        if let Err(err) = self
            .valkey
            .set::<(), _, _>(key, value, Some(Expiration::PX(keep_ms)), None, false)
            .await
        {
            self.failed("SET of a cache entry", &err);
        }
    }
}
