//! Who is calling: API keys (`X-API-Key`), tiers, and the client address behind proxies.
//!
//! - No `X-API-Key`: the anonymous tier, counted by client address ([`client_ip`]).
//! - A key that is malformed, unknown, expired or revoked: 401, never a silent fallback to
//!   anonymous (a client with a broken key should learn it at once).
//! - Keys are looked up by their visible prefix and their SHA-256 compared in constant
//!   time; the result is remembered in-process for `[api.auth] key_cache_ttl_secs`, keyed
//!   by the hash, so PostgreSQL sees one query per key and instance per TTL. A revocation
//!   therefore takes effect within that TTL on other instances (at once on the instance
//!   that revoked it through the admin API); expiry is checked on every request.
//! - `[api] admin_key` is a bootstrap key of the admin tier, held only as its hash.
//!
//! The resolved [`Caller`] sits in the request's extensions; handlers take it as an
//! extractor, or [`RequireTier`] for a minimum tier.

mod caller;
pub mod client_ip;
pub mod key;
pub mod manage;
mod tier;
pub mod usage;

use std::{net::IpAddr, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use moka::future::Cache;
use secrecy::ExposeSecret;
use uuid::Uuid;
use wump_core::settings::ApiSettings;
use wump_db::{DbError, DbPool, api_keys};

pub use self::{
    caller::{Admin, Caller, Free, MinTier, RequireTier},
    client_ip::TrustedProxies,
    key::KeyHash,
    tier::{Tier, UnknownTier},
    usage::UsageRecorder,
};
use crate::problem::ApiError;

/// The header that carries a key.
pub const API_KEY_HEADER: &str = "x-api-key";
/// Shortest accepted `[api] admin_key`.
pub const MIN_ADMIN_KEY_LEN: usize = 32;

/// A stored key as far as requests care.
#[derive(Debug, Clone)]
struct KnownKey {
    id: Uuid,
    prefix: String,
    tier: Tier,
    rate_limit: Option<u32>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

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
    /// Hash → the key, or `None` for a hash no stored key has.
    cache: Cache<KeyHash, Option<KnownKey>>,
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
    /// An authenticator from `[api]`; invalid entries (refused by [`validate_settings`] at
    /// startup) are logged and ignored. Starts the `last_used_at` flusher when called
    /// inside a Tokio runtime.
    pub fn new(settings: &ApiSettings, db: DbPool) -> Self {
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
        Self {
            db,
            cache,
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

    /// Forgets what this instance remembers about a key (after revoking it here).
    pub async fn forget(&self, hash: &[u8]) {
        if let Ok(hash) = KeyHash::try_from(hash) {
            self.cache.invalidate(&hash).await;
        }
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
        let known = self
            .cache
            .try_get_with(hash, self.load(presented.prefix(), hash))
            .await
            .map_err(|e: Arc<DbError>| match &*e {
                DbError::Unavailable(cause) => DbError::Unavailable(cause.clone()).into(),
                other => ApiError::Internal(anyhow::anyhow!("looking up an API key: {other}")),
            })?
            .ok_or_else(|| unauthenticated("unknown API key"))?;
        let now = Utc::now();
        if known.revoked_at.is_some_and(|at| at <= now) {
            return Err(unauthenticated("this API key has been revoked"));
        }
        if known.expires_at.is_some_and(|at| at <= now) {
            return Err(unauthenticated("this API key has expired"));
        }
        self.usage.record(known.id);
        Ok(Caller {
            tier: known.tier,
            key_id: Some(known.id),
            key_prefix: Some(known.prefix),
            limit: known.rate_limit,
            ip,
        })
    }

    async fn load(&self, prefix: &str, hash: KeyHash) -> Result<Option<KnownKey>, DbError> {
        let mut conn = wump_db::pool::checkout(&self.db).await?;
        let Some(stored) = api_keys::find_by_prefix(&mut conn, prefix).await? else {
            return Ok(None);
        };
        if !key::hashes_equal(&stored.key_hash, &hash) {
            return Ok(None);
        }
        let Ok(tier) = stored.tier.parse() else {
            tracing::error!(
                key.prefix = prefix,
                tier = stored.tier,
                "stored key has an unknown tier"
            );
            return Ok(None);
        };
        Ok(Some(KnownKey {
            id: stored.id,
            prefix: stored.prefix,
            tier,
            rate_limit: stored.rate_limit.and_then(|l| u32::try_from(l).ok()),
            expires_at: stored.expires_at,
            revoked_at: stored.revoked_at,
        }))
    }
}

fn unauthenticated(detail: &str) -> ApiError {
    ApiError::Unauthenticated(detail.to_owned())
}

/// Adds the `api_key` security scheme (`X-API-Key` header) that the guarded handlers'
/// `security(("api_key" = []))` refers to: `#[openapi(modifiers(&ApiKeySecurity))]`.
#[derive(Debug)]
pub struct ApiKeySecurity;

impl utoipa::Modify for ApiKeySecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            crate::openapi::API_KEY_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key (`wump_<prefix>_<secret>`); without one, anonymous limits apply",
            ))),
        );
    }
}
