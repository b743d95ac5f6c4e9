//! `webhook_deliveries`: one row per (subscription, event) the dispatch job matched, with
//! the exact body sent and how its attempts went. Its id is the `webhook-id` header, the
//! same on every attempt.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Jsonb, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::EventKind;

use crate::schema::webhook_deliveries;

/// Where a delivery stands (`webhook_deliveries.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not delivered yet: its deliver job is queued or retrying.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed, or one failed in a way retrying cannot fix.
    Failed,
    /// Not sent: the subscription was disabled before its turn came.
    Skipped,
}

impl DeliveryStatus {
    /// The stored id.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Skipped => "skipped",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
            DeliveryStatus::Skipped,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub struct Delivery {
    /// Also the `webhook-id` header.
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub event_id: i64,
    pub event: EventKind,
    /// The body sent.
    pub payload: serde_json::Value,
    #[diesel(deserialize_as = String)]
    pub status: StatusText,
    pub attempts: i32,
    pub response_status: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: Option<i32>,
    pub enqueued_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// `status` as read: the enum (a value the code does not know reads as failed rather
/// than failing the listing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusText(pub DeliveryStatus);

impl From<String> for StatusText {
    fn from(s: String) -> Self {
        StatusText(DeliveryStatus::parse(&s).unwrap_or(DeliveryStatus::Failed))
    }
}

impl Delivery {
    /// Where it stands.
    pub fn status(&self) -> DeliveryStatus {
        self.status.0
    }
}

/// A delivery the dispatch job matched.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub event_id: i64,
    pub event: EventKind,
    pub payload: serde_json::Value,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Stores `deliveries`, skipping any (subscription, event) already stored (a dispatch run
/// again after a crash); returns the ids stored now.
pub async fn insert_new(
    conn: &mut AsyncPgConnection,
    deliveries: &[NewDelivery],
) -> QueryResult<Vec<Uuid>> {
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = deliveries.iter().map(|d| d.id).collect();
    let subscriptions: Vec<Uuid> = deliveries.iter().map(|d| d.subscription_id).collect();
    let events: Vec<i64> = deliveries.iter().map(|d| d.event_id).collect();
    let kinds: Vec<&str> = deliveries.iter().map(|d| d.event.as_str()).collect();
    let payloads: Vec<serde_json::Value> = deliveries.iter().map(|d| d.payload.clone()).collect();
    let stored: Vec<Id> = diesel::sql_query(
        "INSERT INTO webhook_deliveries (id, subscription_id, event_id, event, payload)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int8[], $4::text[], $5::jsonb[])
         ON CONFLICT (subscription_id, event_id) DO NOTHING
         RETURNING id",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<SqlUuid>, _>(&subscriptions)
    .bind::<Array<BigInt>, _>(&events)
    .bind::<Array<Text>, _>(&kinds)
    .bind::<Array<Jsonb>, _>(&payloads)
    .load(conn)
    .await?;
    Ok(stored.into_iter().map(|r| r.id).collect())
}

/// The delivery `id`.
pub async fn by_id(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Delivery>> {
    webhook_deliveries::table
        .find(id)
        .select(Delivery::as_select())
        .first(conn)
        .await
        .optional()
}

/// Notes that the deliver jobs of `ids` are on the queue.
pub async fn mark_enqueued(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<usize> {
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(ids)))
        .set(webhook_deliveries::enqueued_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
}

/// Up to `limit` pending deliveries created before `before` whose deliver job was never
/// enqueued (the process stopped between the commit and the enqueue).
pub async fn unqueued(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_deliveries::enqueued_at.is_null())
        .filter(webhook_deliveries::created_at.lt(before))
        .select(webhook_deliveries::id)
        .order(webhook_deliveries::created_at)
        .limit(limit)
        .load(conn)
        .await
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Its number, from 1.
    pub attempt: i32,
    /// The receiver's HTTP status, when it answered.
    pub response_status: Option<i32>,
    /// What went wrong, when something did.
    pub error: Option<String>,
    pub latency_ms: i32,
}

/// Records `attempt` of pending delivery `id`, and `status` (`Pending` while attempts
/// remain; anything else finishes it). Returns whether the delivery was still pending.
pub async fn record_attempt(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    attempt: &Attempt,
    status: DeliveryStatus,
) -> QueryResult<bool> {
    let finished_at = (status != DeliveryStatus::Pending).then(Utc::now);
    diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set((
        webhook_deliveries::status.eq(status.as_str()),
        webhook_deliveries::attempts.eq(attempt.attempt),
        webhook_deliveries::response_status.eq(attempt.response_status),
        webhook_deliveries::error.eq(&attempt.error),
        webhook_deliveries::latency_ms.eq(attempt.latency_ms),
        webhook_deliveries::finished_at.eq(finished_at),
    ))
    .execute(conn)
    .await
    .map(|n| n > 0)
}

/// Marks pending delivery `id` skipped (its subscription was disabled), with why.
pub async fn skip(conn: &mut AsyncPgConnection, id: Uuid, why: &str) -> QueryResult<bool> {
    diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Skipped.as_str()),
        webhook_deliveries::error.eq(why),
        webhook_deliveries::finished_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await
    .map(|n| n > 0)
}

/// Deletes up to `limit` finished (not pending) deliveries created before `before`, oldest
/// first (the retention); returns how many.
pub async fn prune(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM webhook_deliveries
          WHERE id IN (SELECT id FROM webhook_deliveries
                        WHERE status <> 'pending' AND created_at < $1
                        ORDER BY created_at LIMIT $2)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(before)
    .bind::<BigInt, _>(limit)
    .execute(conn)
    .await
}

/// Up to `limit` deliveries of `subscription_id`, newest first, after the cursor
/// `(created_at, id)` of the previous page's last row.
pub async fn of_subscription(
    conn: &mut AsyncPgConnection,
    subscription_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(subscription_id))
        .select(Delivery::as_select())
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.asc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some((created_at, id)) = after {
        query = query.filter(
            webhook_deliveries::created_at
                .lt(created_at)
                .or(webhook_deliveries::created_at
                    .eq(created_at)
                    .and(webhook_deliveries::id.gt(id))),
        );
    }
    query.load(conn).await
}
