//! Cache-aside for JSON responses, namespaced by the cache versions the worker bumps.
//!
//! CONTRACT (handlers call only this):
//! - [`ResponseCache::get_or_load`] answers from Valkey when it can, else runs `load`
//!   (single-flight per key) and stores its answer for the [`CacheClass`]'s TTL.
//! - Keys are namespaced by the [`Scope`]'s version counter
//!   ([`Keys::package_version`] / [`Keys::organization_version`]), so one
//!   increment by the worker invalidates every filter and page of a package.
//! - [`Cached::respond`] writes the body with `ETag`, `Cache-Control`, `X-Cache` and the
//!   `Link` header, and answers `304` to a matching `If-None-Match`.
//!
//! How: the key is [`Keys::cache_entry`], `prefix + "wump:cache:v1:" + scope + ":" + version
//! + ":" + class + ":" + sha256(variant)`. An entry carries its own expiry (the class's TTL) and Valkey keeps it
//! `[api.cache] stale_secs` longer: when `load` then fails with [`ApiError::Unavailable`]
//! (the database is down) the expired answer is served as `STALE` instead of a 503. When
//! Valkey is down every request is a `MISS` answered by `load` (see [`store`]).

mod entry;
mod flight;
mod local;
mod store;
mod versions;
mod warm;

use std::{
    future::Future,
    sync::{Arc, Weak},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, HeaderValue},
    web::Bytes,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use wump_core::{Ecosystem, settings::CacheSettings};
use wump_db::{Keys, ValkeyPool};

use self::{
    entry::Entry,
    flight::Flights,
    local::Local,
    store::{Store, Unreachable},
    versions::Versions,
    warm::{HotScope, Render, Warmer},
};
use crate::{breaker::CircuitBreaker, metrics::Metrics, problem::ApiError};

/// Whose data a response shows: decides which version counter namespaces its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Package {
        ecosystem: Ecosystem,
        normalized_name: String,
    },
    Organization {
        host: String,
        login: String,
    },
    /// Search and stats: no version counter; they live for their TTL.
    Global,
}

/// Kinds of response, each with its own TTL (from `[api.cache]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheClass {
    Package,
    Dependents,
    Organizations,
    Organization,
    Repository,
    Search,
    Stats,
    /// A package's badge counts (`/badges/...`).
    Badge,
}

/// Where an answer came from, as the `X-Cache` header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    Miss,
    /// Expired, served because the database could not answer.
    Stale,
}

impl CacheStatus {
    /// The `X-Cache` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Stale => "STALE",
        }
    }
}

/// A freshly loaded answer: the body and, for pages, the `Link` header to the next one.
#[derive(Debug)]
pub struct Fresh<T> {
    pub body: T,
    pub link: Option<String>,
}

impl<T> From<T> for Fresh<T> {
    fn from(body: T) -> Self {
        Fresh { body, link: None }
    }
}

/// An answer serialized, before it becomes an entry with its expiry.
#[derive(Debug)]
pub(crate) struct Rendered {
    body: Bytes,
    link: Option<String>,
}

/// A JSON answer ready to send.
#[derive(Debug, Clone)]
pub struct Cached {
    pub body: Bytes,
    /// Strong validator over the body, quoted as the header wants it.
    pub etag: String,
    pub link: Option<String>,
    pub status: CacheStatus,
    /// How long shared caches (CDNs) may keep it.
    pub max_age: Duration,
    /// How long past `max_age` shared caches may still serve it when we answer with an error.
    pub stale_if_error: Duration,
}

/// The response cache (cheap to clone).
#[derive(Clone)]
pub struct ResponseCache {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// Fresh entries in process memory (`local_bytes`).
    local: Local,
    /// Versions remembered in memory (`track_versions`).
    versions: Option<Versions>,
    /// The hot answers rendered again when their version is bumped (`warm`).
    warmer: Option<Arc<Warmer>>,
    keys: Keys,
    settings: CacheSettings,
    flights: Flights<Outcome>,
    breaker: CircuitBreaker,
    metrics: Metrics,
}

/// What one lookup came to, shared by every request that waited on it.
type Outcome = Result<(Arc<Entry>, CacheStatus), SharedError>;

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache").finish_non_exhaustive()
    }
}

impl ResponseCache {
    /// A cache over `valkey` whose keys are spelled by `keys`; loads go through `breaker`.
    /// With `tracking` (a RESP3 connection of its own, see [`versions`]) the cache versions
    /// are remembered in memory.
    pub fn new(
        valkey: ValkeyPool,
        keys: impl Into<Keys>,
        settings: CacheSettings,
        breaker: CircuitBreaker,
        tracking: Option<fred::clients::Client>,
    ) -> Self {
        let cooldown = Duration::from_millis(settings.valkey_cooldown_ms);
        let keys = keys.into();
        // Warming starts from invalidation messages: without tracking there are none.
        let (warmer, bumps) = match (&tracking, settings.warm) {
            (Some(_), true) => {
                let (warmer, bumps) = Warmer::new(settings.warm_scopes);
                (Some(Arc::new(warmer)), Some(bumps))
            }
            _ => (None, None),
        };
        let versions = tracking.map(|client| {
            let warmer = warmer.clone();
            Versions::start(
                client,
                keys.cache_versions(),
                settings.tracked_versions,
                move |key| {
                    if let Some(warmer) = &warmer {
                        warmer.bumped(key);
                    }
                },
            )
        });
        let cache = Self {
            inner: Arc::new(Inner {
                store: Store::new(valkey, cooldown),
                local: Local::new(settings.local_bytes),
                versions,
                warmer,
                keys,
                settings,
                flights: Flights::default(),
                breaker,
                metrics: Metrics::new(),
            }),
        };
        if let Some(bumps) = bumps {
            tokio::spawn(warm(Arc::downgrade(&cache.inner), bumps));
        }
        cache
    }

    /// The cached answer for (`scope`, `class`, `variant`), or `load`'s. `variant` names
    /// everything else the answer depends on (route, filters, sort, cursor, page size).
    pub async fn get_or_load<T, F, Fut>(
        &self,
        scope: &Scope,
        class: CacheClass,
        variant: &str,
        load: F,
    ) -> Result<Cached, ApiError>
    where
        T: Encode,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fresh<T>, ApiError>>,
    {
        let version_key = scope.version_key(&self.inner.keys);
        let (entry, status) = self
            .lookup(scope, version_key.as_deref(), class, variant, || async {
                render(load().await?)
            })
            .await?;
        Ok(self.answer(&entry, status))
    }

    /// [`ResponseCache::get_or_load`] for an answer worth warming: `load` can run again
    /// after the request (`'static`), and is kept for the answers asked for most, to render
    /// them again as soon as the worker bumps their version (see [`warm`]).
    pub async fn get_or_load_warm<T, F, Fut>(
        &self,
        scope: &Scope,
        class: CacheClass,
        variant: &str,
        load: F,
    ) -> Result<Cached, ApiError>
    where
        T: Encode + 'static,
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Fresh<T>, ApiError>> + Send + 'static,
    {
        let load = Arc::new(load);
        let version_key = scope.version_key(&self.inner.keys);
        if let (Some(warmer), Some(version_key)) = (&self.inner.warmer, &version_key) {
            warmer.asked(version_key, scope, class, variant, || {
                let load = load.clone();
                let render: Render = Arc::new(move || {
                    let load = load.clone();
                    Box::pin(async move { render(load().await?) })
                });
                render
            });
        }
        let (entry, status) = self
            .lookup(scope, version_key.as_deref(), class, variant, || async {
                render(load().await?)
            })
            .await?;
        Ok(self.answer(&entry, status))
    }

    /// The entry for (`scope`, `class`, `variant`) and where it came from: Valkey, or
    /// `load` (single-flight per key) stored for the class's TTL.
    async fn lookup<F, Fut>(
        &self,
        scope: &Scope,
        version_key: Option<&str>,
        class: CacheClass,
        variant: &str,
        load: F,
    ) -> Result<(Arc<Entry>, CacheStatus), ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Rendered, ApiError>>,
    {
        let settings = &self.inner.settings;
        let ttl = Duration::from_secs(class_ttl(settings, class));
        if !settings.enabled || ttl.is_zero() {
            let rendered = self.inner.breaker.call(load()).await?;
            let entry = Entry::fresh(rendered, now_ms(), Duration::ZERO);
            return Ok((Arc::new(entry), CacheStatus::Miss));
        }
        let store = &self.inner.store;
        // Without the version the key cannot be known: load, share the load, store nothing.
        let version = self.version(version_key).await;
        let key = self.key(scope, version.ok(), class, variant);
        let local = &self.inner.local;
        if version.is_ok()
            && let Some(entry) = local.fresh(&key, now_ms())
        {
            return Ok((entry, CacheStatus::Hit));
        }
        let outcome = self
            .inner
            .flights
            .run(&key, || async {
                let cached = match version {
                    Ok(_) => store.get(&key).await.ok().flatten(),
                    Err(_) => None,
                };
                let now = now_ms();
                if let Some(entry) = cached.as_ref().filter(|e| e.is_fresh(now)) {
                    let entry = Arc::new(entry.clone());
                    local.keep(&key, &entry);
                    return Ok((entry, CacheStatus::Hit));
                }
                match self.inner.breaker.call(load()).await {
                    Ok(rendered) => {
                        let entry = Arc::new(Entry::fresh(rendered, now, ttl));
                        if version.is_ok() {
                            let keep = ttl + Duration::from_secs(settings.stale_secs);
                            store.put(&key, &entry, keep).await;
                            local.keep(&key, &entry);
                        }
                        Ok((entry, CacheStatus::Miss))
                    }
                    Err(ApiError::Unavailable { what, retry_after }) => match cached {
                        Some(entry) => {
                            tracing::debug!(what, "serving a stale cached answer");
                            Ok((Arc::new(entry), CacheStatus::Stale))
                        }
                        None => Err(SharedError::Unavailable { what, retry_after }),
                    },
                    Err(err) => Err(SharedError::from(err)),
                }
            })
            .await;
        outcome.map_err(ApiError::from)
    }

    /// Renders `hot`'s answers under their scope's new version, round after round while
    /// bumps keep arriving during one.
    async fn warm_scope(&self, hot: &HotScope) {
        let version_key = hot.scope.version_key(&self.inner.keys);
        let version_key = version_key.as_deref();
        loop {
            for answer in hot.hottest() {
                let render = answer.render.clone();
                let result = self
                    .lookup(
                        &hot.scope,
                        version_key,
                        answer.class,
                        &answer.variant,
                        || render(),
                    )
                    .await;
                self.inner.metrics.cache_warmed(match result {
                    Ok((_, CacheStatus::Miss)) => "rendered",
                    Ok(_) => "present",
                    Err(_) => "failed",
                });
            }
            if !hot.release() {
                return;
            }
        }
    }

    /// The current version under `key` (a scope's, see [`Scope::version_key`]; none: the
    /// global scope, 0): from memory when tracked, else Valkey.
    async fn version(&self, key: Option<&str>) -> Result<u64, Unreachable> {
        let Some(key) = key else {
            return Ok(0);
        };
        let versions = self.inner.versions.as_ref();
        if let Some(version) = versions.and_then(|v| v.known(key)) {
            return Ok(version);
        }
        let ticket = versions.and_then(|v| v.reading(key));
        let version = self.inner.store.version(key).await?;
        if let (Some(versions), Some(ticket)) = (versions, ticket) {
            versions.read(key, ticket, version);
        }
        Ok(version)
    }

    /// The version of `scope` this instance would read under now (`None`: Valkey cannot
    /// say). A bump reaches an instance that tracks versions through an invalidation
    /// message, within milliseconds of the `INCR`, not with it.
    pub async fn current_version(&self, scope: &Scope) -> Option<u64> {
        let key = scope.version_key(&self.inner.keys);
        self.version(key.as_deref()).await.ok()
    }

    /// Whether cache versions are being remembered in memory right now.
    pub fn tracks_versions(&self) -> bool {
        self.inner.versions.as_ref().is_some_and(Versions::is_live)
    }

    /// The Valkey key of one answer; `version` is `None` when Valkey could not say (the
    /// key then only names the in-process single-flight).
    fn key(&self, scope: &Scope, version: Option<u64>, class: CacheClass, variant: &str) -> String {
        let hex = wump_core::hex::encode(&Sha256::digest(variant.as_bytes()));
        self.inner
            .keys
            .cache_entry(&scope.key_part(), version, class.as_str(), &hex)
    }

    fn answer(&self, entry: &Entry, status: CacheStatus) -> Cached {
        self.inner.metrics.cache_lookup(status);
        let max_age = match status {
            CacheStatus::Hit | CacheStatus::Miss => {
                Duration::from_millis(entry.fresh_until_ms.saturating_sub(now_ms()))
            }
            CacheStatus::Stale => Duration::ZERO,
        };
        Cached {
            body: entry.body.clone(),
            etag: entry.etag.clone(),
            link: entry.link.clone(),
            status,
            max_age,
            stale_if_error: Duration::from_secs(self.inner.settings.stale_secs),
        }
    }
}

impl Scope {
    /// The worker's version counter for this scope.
    fn version_key(&self, keys: &Keys) -> Option<String> {
        match self {
            Scope::Package {
                ecosystem,
                normalized_name,
            } => Some(keys.package_version(*ecosystem, normalized_name)),
            Scope::Organization { host, login } => Some(keys.organization_version(host, login)),
            Scope::Global => None,
        }
    }

    fn key_part(&self) -> String {
        match self {
            Scope::Package {
                ecosystem,
                normalized_name,
            } => format!("package:{ecosystem}:{normalized_name}"),
            Scope::Organization { host, login } => {
                format!("organization:{host}:{}", login.to_lowercase())
            }
            Scope::Global => "global".to_owned(),
        }
    }
}

impl CacheClass {
    fn as_str(self) -> &'static str {
        match self {
            CacheClass::Package => "package",
            CacheClass::Dependents => "dependents",
            CacheClass::Organizations => "organizations",
            CacheClass::Organization => "organization",
            CacheClass::Repository => "repository",
            CacheClass::Search => "search",
            CacheClass::Stats => "stats",
            CacheClass::Badge => "badge",
        }
    }
}

/// The class's TTL from `[api.cache]`, in seconds.
fn class_ttl(settings: &CacheSettings, class: CacheClass) -> u64 {
    match class {
        CacheClass::Package => settings.package_ttl_secs,
        CacheClass::Dependents => settings.dependents_ttl_secs,
        CacheClass::Organizations => settings.organizations_ttl_secs,
        CacheClass::Organization => settings.organization_ttl_secs,
        CacheClass::Repository => settings.repository_ttl_secs,
        CacheClass::Search => settings.search_ttl_secs,
        CacheClass::Stats => settings.stats_ttl_secs,
        CacheClass::Badge => settings.badge_ttl_secs,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A loaded answer as JSON.
fn render<T: Encode>(fresh: Fresh<T>) -> Result<Rendered, ApiError> {
    Ok(Rendered {
        body: fresh.body.encode()?,
        link: fresh.link,
    })
}

/// What an answer is stored and sent as: JSON for every API value, the markup for a page.
pub trait Encode {
    /// The bytes of the body.
    fn encode(self) -> Result<Bytes, ApiError>;
}

impl<T: Serialize> Encode for T {
    fn encode(self) -> Result<Bytes, ApiError> {
        let json = serde_json::to_vec(&self).map_err(|e| ApiError::Internal(e.into()))?;
        Ok(Bytes::from(json))
    }
}

/// A rendered HTML page.
#[derive(Debug)]
pub struct Html(pub String);

impl Encode for Html {
    fn encode(self) -> Result<Bytes, ApiError> {
        Ok(Bytes::from(self.0))
    }
}

impl Entry {
    /// `rendered` as an entry fresh for `ttl` from `now`.
    fn fresh(rendered: Rendered, now: u64, ttl: Duration) -> Self {
        Entry {
            etag: etag_of(&rendered.body),
            body: rendered.body,
            link: rendered.link,
            stored_at_ms: now,
            fresh_until_ms: now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

/// Scopes rendered at once by one instance: warming takes a slice of the database pool,
/// never all of it, however many hot packages one crawl bumps.
const WARMING_AT_ONCE: usize = 4;

/// Warms each bumped hot scope, one task per scope at a time, while the cache lives.
async fn warm(cache: Weak<Inner>, mut bumps: tokio::sync::mpsc::Receiver<Arc<HotScope>>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(WARMING_AT_ONCE));
    while let Some(hot) = bumps.recv().await {
        let Some(inner) = cache.upgrade() else {
            return;
        };
        if hot.claim() {
            let cache = ResponseCache { inner };
            let slots = slots.clone();
            tokio::spawn(async move {
                let Ok(_slot) = slots.acquire().await else {
                    return;
                };
                cache.warm_scope(&hot).await;
            });
        }
    }
}

/// A failed load, in a form every request that waited on it can turn into its own
/// [`ApiError`] (which is not `Clone`: it may hold an `anyhow::Error`).
#[derive(Debug, Clone)]
enum SharedError {
    Unavailable {
        what: &'static str,
        retry_after: Duration,
    },
    NotFound(String),
    InvalidParameter {
        parameter: String,
        reason: String,
    },
    /// Anything else, kept as its message (the cause chain, for the log).
    Other(String),
}

impl From<ApiError> for SharedError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Unavailable { what, retry_after } => {
                SharedError::Unavailable { what, retry_after }
            }
            ApiError::NotFound(detail) => SharedError::NotFound(detail),
            ApiError::InvalidParameter { parameter, reason } => {
                SharedError::InvalidParameter { parameter, reason }
            }
            ApiError::Internal(cause) => SharedError::Other(format!("{cause:#}")),
            other => SharedError::Other(other.to_string()),
        }
    }
}

impl From<SharedError> for ApiError {
    fn from(err: SharedError) -> Self {
        match err {
            SharedError::Unavailable { what, retry_after } => {
                ApiError::Unavailable { what, retry_after }
            }
            SharedError::NotFound(detail) => ApiError::NotFound(detail),
            SharedError::InvalidParameter { parameter, reason } => {
                ApiError::InvalidParameter { parameter, reason }
            }
            SharedError::Other(message) => ApiError::Internal(anyhow::anyhow!(message)),
        }
    }
}

/// A strong ETag: the first 128 bits of the body's SHA-256, quoted.
pub fn etag_of(body: &[u8]) -> String {
    let hex = wump_core::hex::encode(&Sha256::digest(body)[..16]);
    format!("\"{hex}\"")
}

impl Cached {
    /// The JSON response: `304` when `If-None-Match` names this ETag, else `200` with the
    /// body.
    pub fn respond(self, request: &HttpRequest) -> HttpResponse {
        self.respond_as(request, "application/json")
    }

    /// [`Cached::respond`] for a body of `content_type`.
    pub fn respond_as(self, request: &HttpRequest, content_type: &'static str) -> HttpResponse {
        let not_modified = request
            .headers()
            .get_all(header::IF_NONE_MATCH)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|tag| {
                let tag = tag.trim();
                tag == "*" || tag.trim_start_matches("W/") == self.etag
            });
        let mut response = if not_modified {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        response
            .insert_header((header::ETAG, self.etag.as_str()))
            .insert_header((
                header::CACHE_CONTROL,
                format!(
                    "public, max-age={}, stale-if-error={}",
                    self.max_age.as_secs(),
                    self.stale_if_error.as_secs()
                ),
            ))
            .insert_header(("X-Cache", self.status.as_str()));
        if let Some(link) = self
            .link
            .as_deref()
            .and_then(|l| HeaderValue::from_str(l).ok())
        {
            response.insert_header((header::LINK, link));
        }
        if not_modified {
            response.finish()
        } else {
            response.content_type(content_type).body(self.body)
        }
    }
}
