//! Who is calling: API keys (`X-API-Key`), tiers, and the client address behind proxies.
//!
//! - No `X-API-Key`: the anonymous tier, counted by client address ([`client_ip`]).
//! - A key that is malformed, unknown, expired or revoked: 401, never a silent fallback to
//!   anonymous (a client with a broken key should learn it at once).
//! - Keys are looked up by their visible prefix and their SHA-256 compared in constant
//!   time; the result is remembered in-process for `[api.auth] key_cache_ttl_secs`, keyed
//!   by the hash, so PostgreSQL sees one query per key and instance per TTL. A revocation
//!   therefore takes effect within that TTL on other instances (at once on the instance
//!   that revoked it through the admin API); expiry is checked on every request. Lookups go
//!   through the database's circuit breaker.
//! - While PostgreSQL cannot be asked (unavailable, breaker open, pool exhausted), a key
//!   PostgreSQL confirmed valid within `[api.auth] outage_grace_secs` is accepted on that
//!   last known validity ([`last_known`], in-process and in Valkey); revocations written to
//!   Valkey and expiry are honoured on every such request. A key nobody knows, or known
//!   too long ago, gets 503 + `Retry-After`: it is not proven invalid, only unverifiable.
//! - `[api] admin_key` is a bootstrap key of the admin tier, held only as its hash.
//!
//! The resolved [`Caller`] sits in the request's extensions; handlers take it as an
//! extractor, or [`RequireTier`] for a minimum tier.

mod caller;
pub mod client_ip;
pub mod key;
pub mod last_known;
pub mod manage;
mod tier;
pub mod usage;

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use chrono::Utc;
use moka::future::Cache;
use opentelemetry::{KeyValue, metrics::Counter};
use secrecy::ExposeSecret;
use wump_core::settings::ApiSettings;
use wump_db::{DbError, DbPool, Keys, ValkeyPool, tables::api_keys};

pub use self::{
    caller::{Admin, Caller, Free, MinTier, RequireTier},
    client_ip::TrustedProxies,
    key::KeyHash,
    last_known::{KnownKey, LastKnown},
    tier::{Tier, UnknownTier},
    usage::UsageRecorder,
};
use crate::{breaker::CircuitBreaker, problem::ApiError};

/// The header that carries a key.
pub const API_KEY_HEADER: &str = "x-api-key";
/// Shortest accepted `[api] admin_key`.
pub const MIN_ADMIN_KEY_LEN: usize = 32;

/// Settings that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthSettingsError {
    #[error("api.auth.trusted_proxies: {0}")]
    TrustedProxies(String),
    #[error("api.admin_key must be at least {MIN_ADMIN_KEY_LEN} characters")]
    ShortAdminKey,
}

/// Checks `[api]`'s auth settings (call at startup, before serving).
pub fn validate_settings(settings: &ApiSettings) -> Result<(), AuthSettingsError> {
    TrustedProxies::parse(&settings.auth.trusted_proxies)
        .map_err(AuthSettingsError::TrustedProxies)?;
    if settings
        .admin_key
        .as_ref()
        .is_some_and(|k| k.expose_secret().len() < MIN_ADMIN_KEY_LEN)
    {
        return Err(AuthSettingsError::ShortAdminKey);
    }
    Ok(())
}

/// Resolves requests to callers.
pub struct Authenticator {
    db: DbPool,
    breaker: CircuitBreaker,
    /// Hash → the key, or `None` for a hash no stored key has.
    cache: Cache<KeyHash, Option<KnownKey>>,
    /// What PostgreSQL last said about keys, for when it cannot be asked.
    last_known: LastKnown,
    /// Whether the last key decision relied on [`Self::last_known`] (logged once per switch).
    on_last_known: AtomicBool,
    grace_accepts: Counter<u64>,
    grace_refusals: Counter<u64>,
    admin: Option<KeyHash>,
    proxies: TrustedProxies,
    usage: Arc<UsageRecorder>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("proxies", &self.proxies)
            .field("admin_key", &self.admin.is_some())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator from `[api]` whose lookups go through `breaker`, with last known
    /// validity in `valkey` spelled by `keys`; invalid entries (refused by
    /// [`validate_settings`] at startup) are logged and ignored. Starts the `last_used_at`
    /// flusher when called inside a Tokio runtime. Create after telemetry is initialised.
    pub fn new(
        settings: &ApiSettings,
        db: DbPool,
        breaker: CircuitBreaker,
        valkey: ValkeyPool,
        keys: impl Into<Keys>,
    ) -> Self {
        let proxies = TrustedProxies::parse(&settings.auth.trusted_proxies).unwrap_or_else(|e| {
            tracing::error!(error = e, "ignoring api.auth.trusted_proxies");
            TrustedProxies::default()
        });
        let admin = settings
            .admin_key
            .as_ref()
            .map(|k| k.expose_secret())
            .filter(|k| {
                let long_enough = k.len() >= MIN_ADMIN_KEY_LEN;
                if !long_enough {
                    tracing::error!("ignoring api.admin_key: shorter than {MIN_ADMIN_KEY_LEN}");
                }
                long_enough
            })
            .map(key::hash);
        let cache = Cache::builder()
            .max_capacity(settings.auth.key_cache_capacity.max(1))
            .time_to_live(Duration::from_secs(settings.auth.key_cache_ttl_secs))
            .build();
        let usage = Arc::new(UsageRecorder::default());
        if tokio::runtime::Handle::try_current().is_ok() {
            let every = Duration::from_secs(settings.auth.last_used_flush_secs.max(1));
            UsageRecorder::spawn_flusher(&usage, db.clone(), every);
        }
        let meter = opentelemetry::global::meter("wump-api");
        let grace_accepts = meter
            .u64_counter("wump.api.auth.grace_accepts")
            .with_description(
                "API key requests accepted on last known validity while PostgreSQL was unavailable, by tier",
            )
            .build();
        let grace_refusals = meter
            .u64_counter("wump.api.auth.grace_refusals")
            .with_description(
                "API key requests refused while PostgreSQL was unavailable, by reason",
            )
            .build();
        Self {
            db,
            breaker,
            cache,
            last_known: LastKnown::new(&settings.auth, valkey, keys),
            on_last_known: AtomicBool::new(false),
            grace_accepts,
            grace_refusals,
            admin,
            proxies,
            usage,
        }
    }

    /// The keys used since the last `last_used_at` flush.
    pub fn usage(&self) -> &Arc<UsageRecorder> {
        &self.usage
    }

    /// The trusted proxies.
    pub fn proxies(&self) -> &TrustedProxies {
        &self.proxies
    }

    /// Records what PostgreSQL just said about a key (after revoking or rotating it here):
    /// this instance forgets its cached answer, and the key's state, revocation included,
    /// goes to the last known validity every instance reads while PostgreSQL is away.
    pub async fn confirmed(&self, stored: &api_keys::ApiKey) {
        if let Ok(hash) = KeyHash::try_from(stored.key_hash.as_slice()) {
            self.cache.invalidate(&hash).await;
        }
        self.last_known.remember_stored(stored).await;
    }

    /// The caller presenting `api_key` (raw header bytes, `None` when absent) from `ip`.
    pub async fn caller(&self, api_key: Option<&[u8]>, ip: IpAddr) -> Result<Caller, ApiError> {
        let Some(raw) = api_key else {
            return Ok(Caller::anonymous(ip));
        };
        let raw = std::str::from_utf8(raw)
            .map_err(|_| unauthenticated("the X-API-Key header is not a valid key"))?;
        if let Some(admin) = &self.admin
            && key::hashes_equal(admin, &key::hash(raw))
        {
            return Ok(Caller {
                tier: Tier::Admin,
                key_id: None,
                key_prefix: None,
                limit: None,
                ip,
            });
        }
        let presented = key::PresentedKey::parse(raw)
            .ok_or_else(|| unauthenticated("the X-API-Key header is not a valid key"))?;
        let hash = presented.hash();
        let looked_up = self
            .cache
            .try_get_with(hash, self.look_up(presented.prefix(), hash))
            .await;
        let now = Utc::now();
        let known = match looked_up {
            Ok(known) => known.ok_or_else(|| unauthenticated("unknown API key"))?,
            Err(error) => match &*error {
                ApiError::Unavailable { retry_after, .. } => {
                    return self.caller_on_last_known(hash, *retry_after, ip).await;
                }
                ApiError::Internal(cause) => {
                    return Err(ApiError::Internal(anyhow::anyhow!("{cause:#}")));
                }
                other => {
                    return Err(ApiError::Internal(anyhow::anyhow!(
                        "looking up an API key: {other}"
                    )));
                }
            },
        };
        if known.is_revoked_at(now) {
            return Err(unauthenticated("this API key has been revoked"));
        }
        if known.is_expired_at(now) {
            return Err(unauthenticated("this API key has expired"));
        }
        Ok(self.accepted(known, ip))
    }

    /// The caller of a key PostgreSQL cannot be asked about now, from what is last known
    /// of it. Revoked or expired: 401 (that much is proven). Unknown, or confirmed longer
    /// than the grace ago: 503, the key is not proven invalid, only unverifiable now.
    async fn caller_on_last_known(
        &self,
        hash: KeyHash,
        retry_after: Duration,
        ip: IpAddr,
    ) -> Result<Caller, ApiError> {
        let now = Utc::now();
        let unverifiable = || ApiError::Unavailable {
            what: "checking the API key",
            retry_after,
        };
        let known = match self.last_known.recall(&hash).await {
            Some(k) if k.is_revoked_at(now) => {
                return Err(
                    self.refused("revoked", unauthenticated("this API key has been revoked"))
                );
            }
            Some(k) if k.is_expired_at(now) => {
                return Err(self.refused("expired", unauthenticated("this API key has expired")));
            }
            Some(k) if self.last_known.within_grace(k.confirmed_at, now) => k,
            Some(_) => return Err(self.refused("grace_over", unverifiable())),
            None => return Err(self.refused("unknown", unverifiable())),
        };
        if !self.on_last_known.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                grace_secs = self.last_known.grace().as_secs(),
                "database unavailable: accepting API keys on their last known validity"
            );
        }
        self.grace_accepts
            .add(1, &[KeyValue::new("tier", known.tier.as_str())]);
        Ok(self.accepted(known, ip))
    }

    /// Counts a refusal made without PostgreSQL (`reason` is the metric attribute).
    fn refused(&self, reason: &'static str, error: ApiError) -> ApiError {
        self.grace_refusals
            .add(1, &[KeyValue::new("reason", reason)]);
        error
    }

    fn accepted(&self, known: KnownKey, ip: IpAddr) -> Caller {
        self.usage.record(known.id);
        Caller {
            tier: known.tier,
            key_id: Some(known.id),
            key_prefix: Some(known.prefix),
            limit: known.rate_limit,
            ip,
        }
    }

    /// Asks PostgreSQL (through the breaker) and remembers a confirmed key's state.
    async fn look_up(&self, prefix: &str, hash: KeyHash) -> Result<Option<KnownKey>, ApiError> {
        let known = self
            .breaker
            .call(async {
                self.load(prefix, hash).await.map_err(|e| match e {
                    DbError::Unavailable(_) => ApiError::from(e),
                    other => ApiError::Internal(anyhow::anyhow!("looking up an API key: {other}")),
                })
            })
            .await?;
        if self.on_last_known.swap(false, Ordering::Relaxed) {
            tracing::info!("database answers again: API keys are checked against it again");
        }
        if let Some(known) = &known {
            self.last_known.remember(hash, known).await;
        }
        Ok(known)
    }

    async fn load(&self, prefix: &str, hash: KeyHash) -> Result<Option<KnownKey>, DbError> {
        let mut conn = wump_db::pool::checkout(&self.db).await?;
        let Some(stored) = api_keys::find_by_prefix(&mut conn, prefix).await? else {
            return Ok(None);
        };
        if !key::hashes_equal(&stored.key_hash, &hash) {
            return Ok(None);
        }
        Ok(Some(KnownKey::confirmed(&stored, Utc::now())))
    }
}

fn unauthenticated(detail: &str) -> ApiError {
    ApiError::Unauthenticated(detail.to_owned())
}
