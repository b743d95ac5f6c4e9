//! What every handler can reach: settings, the database pool, Valkey and the response
//! cache. Built once in `main` (or a test) and shared by every worker thread.

use std::sync::Arc;

use wump_core::Settings;
use wump_db::{DbPool, ValkeyPool};

use crate::{auth::Authenticator, cache::ResponseCache, limits::RateLimiter, queues::LazyQueues};

/// The API's shared state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: DbPool,
    /// Cache, rate limits and the cache versions the worker bumps.
    pub valkey: ValkeyPool,
    pub cache: ResponseCache,
    /// Prepended to every Valkey key this API reads or writes: empty in production, one
    /// per test so tests sharing a server stay apart (the worker takes the same prefix).
    pub key_prefix: String,
    /// Resolves `X-API-Key` to a caller (keys cached in-process).
    pub auth: Arc<Authenticator>,
    /// Rate limits per caller, in Valkey with an in-process fallback.
    pub limiter: Arc<RateLimiter>,
    /// The job queues, connected on first use (refresh, dead letters).
    pub queues: Arc<LazyQueues>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over the given connections, with the production key prefix (none).
    pub fn new(settings: Settings, db: DbPool, valkey: ValkeyPool) -> Self {
        Self::with_prefix(settings, db, valkey, String::new())
    }

    /// State whose Valkey keys all start with `key_prefix` (tests).
    pub fn with_prefix(
        settings: Settings,
        db: DbPool,
        valkey: ValkeyPool,
        key_prefix: String,
    ) -> Self {
        let settings = Arc::new(settings);
        let cache = ResponseCache::new(valkey.clone(), key_prefix.clone());
        let auth = Arc::new(Authenticator::new(&settings.api, db.clone()));
        let limiter = Arc::new(RateLimiter::new(
            valkey.clone(),
            key_prefix.clone(),
            settings.api.rate_limits.clone(),
        ));
        let queues = Arc::new(LazyQueues::new(
            settings.valkey.clone(),
            settings.queues.clone(),
            &key_prefix,
        ));
        Self {
            settings,
            db,
            valkey,
            cache,
            key_prefix,
            auth,
            limiter,
            queues,
        }
    }
}
