//! The webhook outbox: `dependency_events` not yet `dispatched`, matched against the
//! enabled `webhook_subscriptions`. The edge writers record events in the transaction that
//! changes the counts; the dispatch job claims them here (`FOR UPDATE SKIP LOCKED`, so two
//! dispatchers never take the same event), stores a delivery per match
//! (`tables::webhook_deliveries::insert_new`) and marks them dispatched, in one transaction
//! of its own. A crash before the commit leaves the events undispatched for the next run;
//! a delivery is never stored twice for one (subscription, event).

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::{DependencyKind, Ecosystem, EventKind};

use crate::schema::dependency_events;

/// One event matched to one subscription, with what its payload names.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Match {
    #[diesel(sql_type = BigInt)]
    pub event_id: i64,
    #[diesel(sql_type = Text)]
    pub event: EventKind,
    #[diesel(sql_type = SqlUuid)]
    pub subscription_id: Uuid,
    #[diesel(sql_type = Text)]
    pub ecosystem: Ecosystem,
    #[diesel(sql_type = Text)]
    pub package: String,
    #[diesel(sql_type = Text)]
    pub host: String,
    #[diesel(sql_type = Text)]
    pub organization: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub repository: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub kind: Option<DependencyKind>,
    #[diesel(sql_type = BigInt)]
    pub stars: i64,
    #[diesel(sql_type = Timestamptz)]
    pub occurred_at: DateTime<Utc>,
}

/// Locks up to `limit` undispatched events, oldest first, skipping those another
/// dispatcher holds; returns their ids. Call inside a transaction.
pub async fn claim(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<i64>> {
    dependency_events::table
        .filter(dependency_events::dispatched.eq(false))
        .select(dependency_events::id)
        .order(dependency_events::id)
        .limit(limit)
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

/// Every (event, enabled subscription) pair among `event_ids`: the subscription wants the
/// event, the stars reach its `min_stars`, it follows the event's package (named, or
/// through the organization its repository URL is under, compared case-insensitively), and
/// the API key owning it still works (a revoked or expired key's subscriptions hear
/// nothing; a key deleted takes them with it).
pub async fn matches(conn: &mut AsyncPgConnection, event_ids: &[i64]) -> QueryResult<Vec<Match>> {
    if event_ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::sql_query(
        "SELECT e.id AS event_id, e.event, s.id AS subscription_id, p.ecosystem,
                p.name AS package, e.host, e.organization, e.repository, e.kind, e.stars,
                e.occurred_at
           FROM dependency_events e
           JOIN packages p ON p.id = e.package_id
           JOIN webhook_subscriptions s
             ON s.disabled_at IS NULL
            AND e.event = ANY (s.events)
            AND e.stars >= s.min_stars
            AND (s.package_ids @> ARRAY[e.package_id]
                 OR (s.organization_login IS NOT NULL
                     AND starts_with(lower(p.repository_url),
                                     'https://' || lower(s.organization_host) || '/'
                                     || lower(s.organization_login) || '/')))
           JOIN api_keys k
             ON k.id = s.api_key_id
            AND (k.revoked_at IS NULL OR k.revoked_at > now())
            AND (k.expires_at IS NULL OR k.expires_at > now())
          WHERE e.id = ANY ($1)
          ORDER BY e.id, s.id",
    )
    .bind::<Array<BigInt>, _>(event_ids)
    .load(conn)
    .await
}

/// Marks `event_ids` dispatched.
pub async fn mark_dispatched(
    conn: &mut AsyncPgConnection,
    event_ids: &[i64],
) -> QueryResult<usize> {
    diesel::update(dependency_events::table.filter(dependency_events::id.eq_any(event_ids)))
        .set(dependency_events::dispatched.eq(true))
        .execute(conn)
        .await
}

/// How many events wait for dispatch (for tests and the operator).
pub async fn undispatched(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    dependency_events::table
        .filter(dependency_events::dispatched.eq(false))
        .count()
        .get_result(conn)
        .await
}

/// One dispatch step, in a transaction of its own: claims up to `limit` undispatched
/// events, stores a delivery per match as `make` builds it (skipping pairs already
/// stored) and marks the events dispatched. Returns how many events it claimed and the
/// ids of the deliveries stored; fewer than `limit` claimed means none are left.
pub async fn dispatch_batch<F>(
    conn: &mut AsyncPgConnection,
    limit: i64,
    make: F,
) -> QueryResult<(usize, Vec<Uuid>)>
where
    F: Fn(Match) -> crate::tables::webhook_deliveries::NewDelivery + Send + Sync,
{
    use diesel_async::AsyncConnection;
    conn.transaction(async |conn| {
        let ids = claim(conn, limit).await?;
        let new: Vec<_> = matches(conn, &ids).await?.into_iter().map(&make).collect();
        let stored = crate::tables::webhook_deliveries::insert_new(conn, &new).await?;
        mark_dispatched(conn, &ids).await?;
        Ok((ids.len(), stored))
    })
    .await
}

/// How a delivery attempt ended, recorded with its consequences for the subscription in
/// one transaction: the attempt on the delivery (see
/// `tables::webhook_deliveries::record_attempt`), then — when it finished the delivery —
/// a success ends the subscription's run of failures; a failure counts one more and may
/// disable it (`disable_now` first disables it outright with that reason: a 410 Gone).
/// Returns the run of failures after a failure, `None` otherwise or when the delivery was
/// no longer pending.
pub async fn record_delivery_outcome(
    conn: &mut AsyncPgConnection,
    delivery_id: Uuid,
    subscription_id: Uuid,
    attempt: &crate::tables::webhook_deliveries::Attempt,
    status: crate::tables::webhook_deliveries::DeliveryStatus,
    disable_after: u32,
    disable_now: Option<&str>,
) -> QueryResult<Option<crate::tables::webhook_subscriptions::Failures>> {
    use diesel_async::AsyncConnection;

    use crate::tables::{
        webhook_deliveries as deliveries, webhook_deliveries::DeliveryStatus,
        webhook_subscriptions as subscriptions,
    };
    conn.transaction(async |conn| {
        if !deliveries::record_attempt(conn, delivery_id, attempt, status).await? {
            return Ok(None);
        }
        match status {
            DeliveryStatus::Delivered => {
                subscriptions::record_success(conn, subscription_id).await?;
                Ok(None)
            }
            DeliveryStatus::Failed => {
                if let Some(reason) = disable_now {
                    subscriptions::disable(conn, subscription_id, reason).await?;
                }
                let last = attempt.error.as_deref().unwrap_or("failed");
                subscriptions::record_failure(conn, subscription_id, disable_after, last).await
            }
            DeliveryStatus::Pending | DeliveryStatus::Skipped => Ok(None),
        }
    })
    .await
}
