//! `api_keys`: who may call the API with more than the anonymous limits. Only the SHA-256
//! of a key is stored, next to its visible prefix (how keys are found and told apart).
//!
//! Generating, hashing and checking keys is the api's business (`wump_api::auth`); these
//! are the queries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::Tier;

use crate::schema::api_keys;

/// A stored key (never the key itself).
#[derive(Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    /// SHA-256 of the whole key.
    pub key_hash: Vec<u8>,
    /// The visible start of the key, unique.
    pub prefix: String,
    /// `Free`, `Standard`, `Premium` or `Admin` (never `Anonymous`).
    pub tier: Tier,
    /// Requests per minute overriding the tier's; `None` takes the tier's.
    pub rate_limit: Option<i32>,
    pub expires_at: Option<DateTime<Utc>>,
    /// From this moment on the key is refused (it may lie in the future: a rotation's
    /// grace period).
    pub revoked_at: Option<DateTime<Utc>>,
    /// Written in batches: can lag the last use by the flush interval.
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The hash is not the key, but it identifies it: keep it out of logs anyway.
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("tier", &self.tier)
            .field("rate_limit", &self.rate_limit)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("last_used_at", &self.last_used_at)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl ApiKey {
    /// Whether the key is revoked at `now`.
    pub fn is_revoked_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_some_and(|at| at <= now)
    }

    /// Whether the key has expired at `now`.
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A key to store.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub key_hash: &'a [u8],
    pub prefix: &'a str,
    pub tier: Tier,
    pub rate_limit: Option<i32>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Stores a new key; returns it as stored.
pub async fn insert(conn: &mut AsyncPgConnection, key: &NewApiKey<'_>) -> QueryResult<ApiKey> {
    diesel::insert_into(api_keys::table)
        .values(key)
        .returning(ApiKey::as_returning())
        .get_result(conn)
        .await
}

/// The key with this prefix.
pub async fn find_by_prefix(
    conn: &mut AsyncPgConnection,
    prefix: &str,
) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .filter(api_keys::prefix.eq(prefix))
        .select(ApiKey::as_select())
        .first(conn)
        .await
        .optional()
}

/// Every key, newest first.
pub async fn list(conn: &mut AsyncPgConnection) -> QueryResult<Vec<ApiKey>> {
    api_keys::table
        .select(ApiKey::as_select())
        .order((api_keys::created_at.desc(), api_keys::id.desc()))
        .load(conn)
        .await
}

/// Revokes the key with this prefix from `at` on (an earlier revocation stands); returns
/// it, or `None` when no key has this prefix.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    prefix: &str,
    at: DateTime<Utc>,
) -> QueryResult<Option<ApiKey>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Nullable, Timestamptz};

    diesel::update(api_keys::table.filter(api_keys::prefix.eq(prefix)))
        .set(
            api_keys::revoked_at.eq(sql::<Nullable<Timestamptz>>("LEAST(revoked_at, ")
                .bind::<Timestamptz, _>(at)
                .sql(")")),
        )
        .returning(ApiKey::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Sets `last_used_at = at` on every key in `ids`, in one statement; returns how many rows
/// changed.
pub async fn touch(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::update(api_keys::table.filter(api_keys::id.eq_any(ids)))
        .set(api_keys::last_used_at.eq(at))
        .execute(conn)
        .await
}
