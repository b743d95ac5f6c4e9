//! `api_keys.last_used_at`, written in batches: requests only add their key's id to an
//! in-process set; a background task writes the set with one `UPDATE … WHERE id = ANY($1)`
//! every `[api.auth] last_used_flush_secs`. A key's `last_used_at` therefore lags its last
//! use by up to that interval (and a crash loses at most one interval of it).

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use chrono::Utc;
use uuid::Uuid;
use wump_db::{DbError, DbPool, tables::api_keys};

/// The ids of the keys used since the last flush.
#[derive(Debug, Default)]
pub struct UsageRecorder {
    used: Mutex<HashSet<Uuid>>,
}

impl UsageRecorder {
    /// Notes that the key `id` was used.
    pub fn record(&self, id: Uuid) {
        self.lock().insert(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Uuid>> {
        // A panic while holding the lock leaves a set of ids, which is still fine to use.
        self.used
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes `last_used_at = now` for every key used since the last flush; returns how
    /// many. On failure the ids are kept for the next flush.
    pub async fn flush(&self, db: &DbPool) -> Result<usize, DbError> {
        let ids: Vec<Uuid> = std::mem::take(&mut *self.lock()).into_iter().collect();
        if ids.is_empty() {
            return Ok(0);
        }
        let result = wump_db::pool::bounded(db, async {
            let mut conn = wump_db::pool::checkout(db).await?;
            Ok::<_, DbError>(api_keys::touch(&mut conn, &ids, Utc::now()).await?)
        })
        .await;
        if result.is_err() {
            self.lock().extend(ids);
        }
        result
    }

    /// Flushes every `interval` until `recorder` is dropped. Call from within a runtime.
    pub fn spawn_flusher(recorder: &Arc<Self>, db: DbPool, interval: Duration) {
        let recorder: Weak<Self> = Arc::downgrade(recorder);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(recorder) = recorder.upgrade() else {
                    return;
                };
                match recorder.flush(&db).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(keys = n, "api key last_used_at written"),
                    Err(err) => {
                        tracing::warn!(error = %err, "writing api key last_used_at failed")
                    }
                }
            }
        });
    }
}
