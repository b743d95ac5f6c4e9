//! Admin: create, list, revoke and rotate API keys.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use wump_db::tables::api_keys::ApiKey;

use super::query;
use crate::{
    auth::{
        Admin, RequireTier, Tier,
        manage::{self, CreatedKey, KeyError, KeySpec},
    },
    body::JsonBody,
    openapi::AlsoUnprocessable,
    problem::ApiError,
    state::AppState,
};

/// A stored key as admins see it (never the key or its hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ApiKeyBody {
    /// The visible start of the key (`wump_<prefix>_…`): how keys are told apart.
    prefix: String,
    name: String,
    tier: String,
    /// Requests per minute overriding the tier's.
    rate_limit: Option<i32>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    /// Written in batches: may lag the last use by the flush interval.
    last_used_at: Option<DateTime<Utc>>,
    /// When the key stops (or stopped) working; in the future during a rotation's grace.
    revoked_at: Option<DateTime<Utc>>,
    /// Whether the key works now.
    active: bool,
}

impl From<&ApiKey> for ApiKeyBody {
    fn from(key: &ApiKey) -> Self {
        let now = Utc::now();
        Self {
            prefix: key.prefix.clone(),
            name: key.name.clone(),
            tier: key.tier.to_string(),
            rate_limit: key.rate_limit,
            created_at: key.created_at,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
            active: !key.is_revoked_at(now) && !key.is_expired_at(now),
        }
    }
}

/// A new key: the key itself appears here once and is never shown again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CreatedKeyBody {
    /// The key (`X-API-Key`). Store it now: wump keeps only its hash.
    key: String,
    api_key: ApiKeyBody,
    /// After a rotation: the key it replaces, with its revocation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces: Option<ApiKeyBody>,
}

impl CreatedKeyBody {
    fn new(created: &CreatedKey, replaces: Option<&ApiKey>) -> Self {
        Self {
            key: created.key.expose_secret().to_owned(),
            api_key: (&created.stored).into(),
            replaces: replaces.map(Into::into),
        }
    }
}

/// What a new key should be.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateKeyRequest {
    /// Who or what the key is for (1 to 200 characters).
    name: String,
    /// `free`, `standard`, `premium` or `admin`.
    tier: Tier,
    /// Days until the key expires (1 to 3650); absent: never.
    #[serde(default)]
    expires_in_days: Option<u32>,
    /// Requests per minute instead of the tier's.
    #[serde(default)]
    rate_limit: Option<u32>,
}

/// Rotation options.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RotateQuery {
    /// Minutes during which the old key keeps working (default 0: revoked at once).
    #[serde(default)]
    grace_minutes: u32,
}

impl From<KeyError> for ApiError {
    fn from(err: KeyError) -> Self {
        match err {
            KeyError::Invalid { field, reason } => ApiError::Unprocessable {
                field: field.to_owned(),
                reason,
            },
            KeyError::UnknownPrefix(prefix) => {
                ApiError::NotFound(format!("no API key with prefix `{prefix}`"))
            }
            inactive @ KeyError::Inactive { .. } => ApiError::Unprocessable {
                field: "prefix".to_owned(),
                reason: inactive.to_string(),
            },
            KeyError::Db(db) => db.into(),
            other @ KeyError::Randomness(_) => ApiError::Internal(other.into()),
        }
    }
}

/// Create an API key (admin). The response holds the key itself, once.
#[utoipa::path(
    tag = "admin",
    request_body = CreateKeyRequest,
    responses(
        (status = 201, description = "The key was created", body = CreatedKeyBody),
    ),
    security(("api_key" = ["admin"]))
)]
#[post("/api/v1/admin/keys")]
pub(crate) async fn create_key(
    state: web::Data<AppState>,
    admin: RequireTier<Admin>,
    body: JsonBody<CreateKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let spec = KeySpec {
        name: request.name,
        tier: request.tier,
        expires_in_days: request.expires_in_days,
        rate_limit: request.rate_limit,
    };
    let mut conn = wump_db::pool::checkout(&state.db).await?;
    let created = manage::create(&mut conn, &spec).await?;
    state.auth.confirmed(&created.stored).await;
    tracing::info!(
        key.prefix = created.stored.prefix,
        key.tier = created.stored.tier.as_str(),
        by = admin.caller().key_prefix.as_deref().unwrap_or("admin_key"),
        "api key created"
    );
    Ok(HttpResponse::Created().json(CreatedKeyBody::new(&created, None)))
}

/// List every API key, newest first (admin).
#[utoipa::path(
    tag = "admin",
    responses(
        (status = 200, description = "Every key", body = Vec<ApiKeyBody>),
    ),
    security(("api_key" = ["admin"]))
)]
#[get("/api/v1/admin/keys")]
pub(crate) async fn list_keys(
    state: web::Data<AppState>,
    _admin: RequireTier<Admin>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = wump_db::pool::checkout(&state.db).await?;
    let keys = manage::list(&mut conn).await?;
    Ok(HttpResponse::Ok().json(keys.iter().map(ApiKeyBody::from).collect::<Vec<_>>()))
}

/// Revoke an API key now (admin). Other instances refuse it within
/// `[api.auth] key_cache_ttl_secs`, and at once while PostgreSQL is unavailable to them
/// (the revocation is written to Valkey too).
#[utoipa::path(
    tag = "admin",
    params(("prefix" = String, Path, description = "The key's prefix")),
    responses(
        (status = 200, description = "The revoked key", body = ApiKeyBody),
    ),
    security(("api_key" = ["admin"]))
)]
#[delete("/api/v1/admin/keys/{prefix}")]
pub(crate) async fn revoke_key(
    state: web::Data<AppState>,
    _admin: RequireTier<Admin>,
    prefix: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = wump_db::pool::checkout(&state.db).await?;
    let revoked = manage::revoke(&mut conn, &prefix).await?;
    state.auth.confirmed(&revoked).await;
    tracing::info!(key.prefix = revoked.prefix, "api key revoked");
    Ok(HttpResponse::Ok().json(ApiKeyBody::from(&revoked)))
}

/// Rotate an API key (admin): a new key with the same name, tier, limit and expiry; the
/// old one is revoked now, or after `grace_minutes`.
#[utoipa::path(
    tag = "admin",
    params(("prefix" = String, Path, description = "The key's prefix"), RotateQuery),
    responses(
        (status = 201, description = "The new key, and the one it replaces", body = CreatedKeyBody),
        AlsoUnprocessable,
    ),
    security(("api_key" = ["admin"]))
)]
#[post("/api/v1/admin/keys/{prefix}/rotate")]
pub(crate) async fn rotate_key(
    state: web::Data<AppState>,
    _admin: RequireTier<Admin>,
    prefix: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let options: RotateQuery = query(&req)?;
    let mut conn = wump_db::pool::checkout(&state.db).await?;
    let (created, old) = manage::rotate(&mut conn, &prefix, options.grace_minutes).await?;
    state.auth.confirmed(&old).await;
    state.auth.confirmed(&created.stored).await;
    tracing::info!(
        key.prefix = created.stored.prefix,
        replaces = old.prefix,
        "api key rotated"
    );
    Ok(HttpResponse::Created().json(CreatedKeyBody::new(&created, Some(&old))))
}
