//! `webhook_subscriptions`: who wants to hear about which packages' dependents, at which
//! URL. Each belongs to the API key that created it: every owner-facing query takes that
//! key's id, so one key never sees, changes or deletes another's subscription.
//!
//! The signing secret is stored encrypted (`secret_ciphertext`, by
//! `wump_core::webhooks::SecretCipher`); these queries never see it in clear.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Integer, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::EventKind;

use crate::schema::webhook_subscriptions;

/// A stored subscription (with its secret still encrypted).
#[derive(Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = webhook_subscriptions, check_for_backend(diesel::pg::Pg))]
pub struct Subscription {
    pub id: Uuid,
    /// The owner.
    pub api_key_id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub events: Vec<EventKind>,
    pub min_stars: i64,
    /// The packages it follows, or `None` when it follows an organization's packages.
    pub package_ids: Option<Vec<Uuid>>,
    pub organization_host: Option<String>,
    pub organization_login: Option<String>,
    /// The signing secret, encrypted (`SecretCipher`).
    pub secret_ciphertext: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it was disabled (too many failed deliveries in a row, or the receiver said
    /// 410 Gone); disabled subscriptions get no deliveries until enabled again.
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    /// Deliveries failed in a row (each after its last attempt).
    pub consecutive_failures: i32,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The ciphertext is useless without the key, but keep it out of logs anyway.
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("api_key_id", &self.api_key_id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("min_stars", &self.min_stars)
            .field("package_ids", &self.package_ids)
            .field("organization_host", &self.organization_host)
            .field("organization_login", &self.organization_login)
            .field("disabled_at", &self.disabled_at)
            .field("consecutive_failures", &self.consecutive_failures)
            .finish_non_exhaustive()
    }
}

/// What a subscription follows: some packages, or everything an organization's packages
/// get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Packages(Vec<Uuid>),
    Organization { host: String, login: String },
}

/// A subscription to store.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub id: Uuid,
    pub api_key_id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub events: Vec<EventKind>,
    pub min_stars: i64,
    pub scope: Scope,
    pub secret_ciphertext: Vec<u8>,
}

/// Stores `new` unless its owner already holds `max` subscriptions: `None` then. Creates of
/// one owner serialise on its `api_keys` row, so two at once cannot both pass the limit.
pub async fn create(
    conn: &mut AsyncPgConnection,
    new: &NewSubscription,
    max: u32,
) -> QueryResult<Option<Subscription>> {
    let (package_ids, host, login) = match &new.scope {
        Scope::Packages(ids) => (Some(ids.clone()), None, None),
        Scope::Organization { host, login } => (None, Some(host.clone()), Some(login.clone())),
    };
    conn.transaction(async |conn| {
        // Serialise one owner's creates so the limit holds.
        diesel::sql_query("SELECT 1 FROM api_keys WHERE id = $1 FOR UPDATE")
            .bind::<SqlUuid, _>(new.api_key_id)
            .execute(conn)
            .await?;
        let held: i64 = webhook_subscriptions::table
            .filter(webhook_subscriptions::api_key_id.eq(new.api_key_id))
            .count()
            .get_result(conn)
            .await?;
        if held >= i64::from(max) {
            return Ok(None);
        }
        diesel::insert_into(webhook_subscriptions::table)
            .values((
                webhook_subscriptions::id.eq(new.id),
                webhook_subscriptions::api_key_id.eq(new.api_key_id),
                webhook_subscriptions::url.eq(&new.url),
                webhook_subscriptions::description.eq(&new.description),
                webhook_subscriptions::events.eq(&new.events),
                webhook_subscriptions::min_stars.eq(new.min_stars),
                webhook_subscriptions::package_ids.eq(&package_ids),
                webhook_subscriptions::organization_host.eq(&host),
                webhook_subscriptions::organization_login.eq(&login),
                webhook_subscriptions::secret_ciphertext.eq(&new.secret_ciphertext),
            ))
            .returning(Subscription::as_returning())
            .get_result(conn)
            .await
            .map(Some)
    })
    .await
}

/// The subscription `id` if `owner` holds it.
pub async fn owned(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    id: Uuid,
) -> QueryResult<Option<Subscription>> {
    webhook_subscriptions::table
        .filter(webhook_subscriptions::id.eq(id))
        .filter(webhook_subscriptions::api_key_id.eq(owner))
        .select(Subscription::as_select())
        .first(conn)
        .await
        .optional()
}

/// The subscription `id`, whoever holds it (the deliver job).
pub async fn by_id(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Subscription>> {
    webhook_subscriptions::table
        .find(id)
        .select(Subscription::as_select())
        .first(conn)
        .await
        .optional()
}

/// Up to `limit` of `owner`'s subscriptions after id `after`, by id (UUIDv7: creation
/// order).
pub async fn of_owner(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Subscription>> {
    let mut query = webhook_subscriptions::table
        .filter(webhook_subscriptions::api_key_id.eq(owner))
        .select(Subscription::as_select())
        .order(webhook_subscriptions::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(webhook_subscriptions::id.gt(after));
    }
    query.load(conn).await
}

/// Deletes `owner`'s subscription `id` (and its deliveries); whether it existed.
pub async fn delete(conn: &mut AsyncPgConnection, owner: Uuid, id: Uuid) -> QueryResult<bool> {
    diesel::delete(
        webhook_subscriptions::table
            .filter(webhook_subscriptions::id.eq(id))
            .filter(webhook_subscriptions::api_key_id.eq(owner)),
    )
    .execute(conn)
    .await
    .map(|n| n > 0)
}

/// Replaces the secret of `owner`'s subscription `id`; the subscription, if it exists.
pub async fn replace_secret(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    id: Uuid,
    secret_ciphertext: &[u8],
) -> QueryResult<Option<Subscription>> {
    diesel::update(
        webhook_subscriptions::table
            .filter(webhook_subscriptions::id.eq(id))
            .filter(webhook_subscriptions::api_key_id.eq(owner)),
    )
    .set((
        webhook_subscriptions::secret_ciphertext.eq(secret_ciphertext),
        webhook_subscriptions::updated_at.eq(diesel::dsl::now),
    ))
    .returning(Subscription::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Changes to a subscription (`PATCH`): fields left `None` stay.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = webhook_subscriptions)]
pub struct SubscriptionChanges {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub events: Option<Vec<EventKind>>,
    pub min_stars: Option<i64>,
}

/// Applies `changes` to `owner`'s subscription `id`; the subscription, if it exists.
pub async fn update(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    id: Uuid,
    changes: &SubscriptionChanges,
) -> QueryResult<Option<Subscription>> {
    diesel::update(
        webhook_subscriptions::table
            .filter(webhook_subscriptions::id.eq(id))
            .filter(webhook_subscriptions::api_key_id.eq(owner)),
    )
    .set((
        changes,
        webhook_subscriptions::updated_at.eq(diesel::dsl::now),
    ))
    .returning(Subscription::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Enables `owner`'s subscription `id` again, forgetting its failures; the subscription,
/// if it exists.
pub async fn enable(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    id: Uuid,
) -> QueryResult<Option<Subscription>> {
    diesel::update(
        webhook_subscriptions::table
            .filter(webhook_subscriptions::id.eq(id))
            .filter(webhook_subscriptions::api_key_id.eq(owner)),
    )
    .set((
        webhook_subscriptions::disabled_at.eq(None::<DateTime<Utc>>),
        webhook_subscriptions::disabled_reason.eq(None::<String>),
        webhook_subscriptions::consecutive_failures.eq(0),
        webhook_subscriptions::updated_at.eq(diesel::dsl::now),
    ))
    .returning(Subscription::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// A delivery to `id` succeeded: its run of failures is over.
pub async fn record_success(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(
        webhook_subscriptions::table
            .find(id)
            .filter(webhook_subscriptions::consecutive_failures.ne(0)),
    )
    .set(webhook_subscriptions::consecutive_failures.eq(0))
    .execute(conn)
    .await?;
    Ok(())
}

/// After a failed delivery: the run of failures, and whether this one disabled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Failures {
    #[diesel(sql_type = Integer)]
    pub consecutive_failures: i32,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub disabled_now: bool,
}

/// A delivery to `id` failed for good (`last` says how): counts the failure, and at
/// `disable_after` failures in a row (0: never) disables the subscription with a reason
/// naming the count and `last`. `None` when the subscription is gone.
pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    disable_after: u32,
    last: &str,
) -> QueryResult<Option<Failures>> {
    let disable_after = i32::try_from(disable_after).unwrap_or(i32::MAX);
    diesel::sql_query(
        "UPDATE webhook_subscriptions s
            SET consecutive_failures = s.consecutive_failures + 1,
                disabled_at = CASE WHEN f.disable THEN now() ELSE s.disabled_at END,
                disabled_reason = CASE WHEN f.disable
                    THEN format('disabled after %s consecutive failed deliveries; last: %s',
                                s.consecutive_failures + 1, $3::text)
                    ELSE s.disabled_reason END
           FROM (SELECT id, ($2 > 0 AND disabled_at IS NULL
                             AND consecutive_failures + 1 >= $2) AS disable
                   FROM webhook_subscriptions WHERE id = $1 FOR UPDATE) f
          WHERE s.id = f.id
      RETURNING s.consecutive_failures, f.disable AS disabled_now",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Integer, _>(disable_after)
    .bind::<Text, _>(last)
    .get_result(conn)
    .await
    .optional()
}

/// Disables `id` now with `reason` (a receiver that answered 410 Gone), unless it
/// already is.
pub async fn disable(conn: &mut AsyncPgConnection, id: Uuid, reason: &str) -> QueryResult<bool> {
    diesel::update(
        webhook_subscriptions::table
            .find(id)
            .filter(webhook_subscriptions::disabled_at.is_null()),
    )
    .set((
        webhook_subscriptions::disabled_at.eq(diesel::dsl::now),
        webhook_subscriptions::disabled_reason.eq(reason),
    ))
    .execute(conn)
    .await
    .map(|n| n > 0)
}
