//! Fresh entries kept in process memory under their full key, so a hot answer costs no
//! Valkey round trip at all once its version is remembered (see [`super::versions`]).
//!
//! It needs no invalidation: a key names one version of one answer, and what is stored
//! under it does not change. A bump moves readers to another key; an entry is served only
//! while fresh (its own expiry, as in Valkey), and never when the version could not be
//! read. Bounded by bytes (`api.cache.local_bytes`), moka's TinyLFU keeping the hot ones.

use std::sync::Arc;

use super::entry::Entry;

/// The in-process entries; `None` inside when `local_bytes` is 0.
pub(crate) struct Local {
    entries: Option<moka::sync::Cache<String, Arc<Entry>>>,
}

impl Local {
    /// Keeps at most about `bytes` of keys and bodies.
    pub(crate) fn new(bytes: u64) -> Self {
        let entries = (bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(bytes)
                .weigher(|key: &String, entry: &Arc<Entry>| {
                    let size = key.len()
                        + entry.body.len()
                        + entry.etag.len()
                        + entry.link.as_ref().map_or(0, String::len);
                    u32::try_from(size).unwrap_or(u32::MAX)
                })
                .build()
        });
        Self { entries }
    }

    /// The entry under `key` if it is kept and still fresh at `now_ms`.
    pub(crate) fn fresh(&self, key: &str, now_ms: u64) -> Option<Arc<Entry>> {
        self.entries
            .as_ref()?
            .get(key)
            .filter(|entry| entry.is_fresh(now_ms))
    }

    /// Keeps `entry` under `key`.
    pub(crate) fn keep(&self, key: &str, entry: &Arc<Entry>) {
        if let Some(entries) = &self.entries {
            entries.insert(key.to_owned(), entry.clone());
        }
    }
}
