//! What every handler can reach: settings, the database pool, Valkey and the response
//! cache. Built once in `main` (or a test) and shared by every worker thread.

use std::sync::Arc;

use wump_core::Settings;
use wump_db::{DbPool, Keys, ValkeyPool};

use crate::{
    auth::Authenticator,
    breaker::CircuitBreaker,
    cache::ResponseCache,
    limits::RateLimiter,
    metrics::{self, Metrics},
    queues::LazyQueues,
    webhooks::WebhookConfig,
};

/// The API's shared state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    /// The primary: writes, and reads that must see them.
    pub db: DbPool,
    /// A read replica's pool when `database.read_url` is set; see [`AppState::read_db`].
    pub read_db: Option<DbPool>,
    /// Opens when the database keeps failing, so requests fail fast instead of queueing.
    pub breaker: CircuitBreaker,
    /// The API's one Valkey client (cache, rate limits, last known keys, the cache
    /// versions the worker bumps); the job queues' connection belongs to apalis.
    pub valkey: ValkeyPool,
    pub cache: ResponseCache,
    /// Every Valkey key this API reads or writes, under a prefix: empty in production, one
    /// per test so tests sharing a server stay apart (the worker takes the same prefix).
    pub keys: Keys,
    /// Request and cache instruments.
    pub metrics: Metrics,
    /// Where `/metrics` reads from; `None` (404) when the process exports none.
    pub metrics_registry: Option<prometheus::Registry>,
    /// Resolves `X-API-Key` to a caller (keys cached in-process, last known validity in
    /// Valkey for database outages).
    pub auth: Arc<Authenticator>,
    /// Rate limits per caller, in Valkey with an in-process fallback.
    pub limiter: Arc<RateLimiter>,
    /// The job queues, connected on first use (refresh, dead letters, `/health/jobs`).
    pub queues: Arc<LazyQueues>,
    /// Webhook settings, the key subscription secrets are encrypted under, the address
    /// policy their URLs must pass.
    pub webhooks: Arc<WebhookConfig>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("keys", &self.keys)
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
        let keys = Keys::new(key_prefix);
        let probe_pool = db.clone();
        let breaker = CircuitBreaker::new(&settings.api.breaker, settings.database.query_timeout())
            .with_probe(Arc::new(move || {
                let pool = probe_pool.clone();
                Box::pin(async move { wump_db::pool::ping(&pool).await.is_ok() })
            }));
        let tracking = settings
            .api
            .cache
            .track_versions
            .then(|| wump_db::valkey::connect_tracking(&settings.valkey))
            .and_then(|client| {
                client
                    .inspect_err(|err| {
                        tracing::warn!(error = %err, "cache versions are not tracked in memory");
                    })
                    .ok()
            });
        let cache = ResponseCache::new(
            valkey.clone(),
            keys.clone(),
            settings.api.cache.clone(),
            breaker.clone(),
            tracking,
        );
        metrics::observe_pool(db.clone(), "primary");
        let auth = Arc::new(Authenticator::new(
            &settings.api,
            db.clone(),
            breaker.clone(),
            valkey.clone(),
            keys.clone(),
        ));
        let limiter = Arc::new(RateLimiter::new(
            valkey.clone(),
            keys.clone(),
            settings.api.rate_limits.clone(),
        ));
        let queues = Arc::new(LazyQueues::new(
            settings.valkey.clone(),
            settings.queues.clone(),
            keys.prefix(),
        ));
        let webhooks = Arc::new(WebhookConfig::new(&settings.webhooks));
        Self {
            settings,
            db,
            read_db: None,
            breaker,
            valkey,
            cache,
            keys,
            metrics: Metrics::new(),
            metrics_registry: None,
            auth,
            limiter,
            queues,
            webhooks,
        }
    }

    /// The same state with `/metrics` reading `registry`.
    pub fn with_metrics_registry(mut self, registry: prometheus::Registry) -> Self {
        self.metrics_registry = Some(registry);
        self
    }

    /// The same state with a read replica's pool for the read endpoints.
    pub fn with_read_db(mut self, read_db: DbPool) -> Self {
        metrics::observe_pool(read_db.clone(), "read");
        self.read_db = Some(read_db);
        self
    }

    /// The pool read endpoints use: the replica when configured, else the primary.
    pub fn read_db(&self) -> &DbPool {
        self.read_db.as_ref().unwrap_or(&self.db)
    }
}
