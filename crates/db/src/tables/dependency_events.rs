//! `dependency_events`: the history of each package's counted dependents, one row per
//! repository or organization gained or lost.
//!
//! Rows are written only by [`crate::edges`], in the transaction that changes the edges
//! (so an event exists exactly when the counts moved); the insert here is crate-private for
//! that reason. Readers page them newest first by id.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Nullable, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::{DependencyKind, EventKind};

use crate::schema::dependency_events;

/// One stored event.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = dependency_events, check_for_backend(diesel::pg::Pg))]
pub struct Event {
    pub id: i64,
    pub package_id: Uuid,
    pub event: EventKind,
    pub host: String,
    pub organization_id: Uuid,
    /// The organization's login when it happened.
    pub organization: String,
    /// Dependent events: the repository and its full name when it happened.
    pub repository_id: Option<Uuid>,
    pub repository: Option<String>,
    /// Dependent events: the kind the repository used the package as.
    pub kind: Option<DependencyKind>,
    /// The repository's stars, or the organization's star sum over its repositories using
    /// the package, when it happened.
    pub stars: i64,
    pub occurred_at: DateTime<Utc>,
}

/// An event as a writer observed it; the names are filled in from the rows it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewEvent {
    pub package_id: Uuid,
    pub event: EventKind,
    pub organization_id: Uuid,
    /// For dependent events: the repository and the kind.
    pub repository: Option<(Uuid, DependencyKind)>,
    pub stars: i64,
}

/// Stores `events`, copying host, organization login and repository name from the rows
/// they name (which exist: the writer holds their locks).
pub(crate) async fn record(conn: &mut AsyncPgConnection, events: &[NewEvent]) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let packages: Vec<Uuid> = events.iter().map(|e| e.package_id).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    let organizations: Vec<Uuid> = events.iter().map(|e| e.organization_id).collect();
    let repositories: Vec<Option<Uuid>> =
        events.iter().map(|e| e.repository.map(|r| r.0)).collect();
    let dependency_kinds: Vec<Option<&str>> = events
        .iter()
        .map(|e| e.repository.map(|r| r.1.as_str()))
        .collect();
    let stars: Vec<i64> = events.iter().map(|e| e.stars.max(0)).collect();
    // WITH ORDINALITY keeps the writer's order in the ids, so a feed shows what one parse
    // did in the order it did it.
    diesel::sql_query(
        "INSERT INTO dependency_events
                (package_id, event, host, organization_id, organization, repository_id,
                 repository, kind, stars)
         SELECT e.package_id, e.event, o.host, e.organization_id, o.login, e.repository_id,
                r.full_name, e.kind, e.stars
           FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::text[], $6::int8[])
                WITH ORDINALITY AS e(package_id, event, organization_id, repository_id, kind, stars, n)
           JOIN organizations o ON o.id = e.organization_id
           LEFT JOIN repositories r ON r.id = e.repository_id
          ORDER BY e.n",
    )
    .bind::<Array<SqlUuid>, _>(&packages)
    .bind::<Array<Text>, _>(&kinds)
    .bind::<Array<SqlUuid>, _>(&organizations)
    .bind::<Array<Nullable<SqlUuid>>, _>(&repositories)
    .bind::<Array<Nullable<Text>>, _>(&dependency_kinds)
    .bind::<Array<BigInt>, _>(&stars)
    .execute(conn)
    .await?;
    Ok(())
}

/// Which of a package's events a reader wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only these events (all when empty).
    pub events: Vec<EventKind>,
    /// Only events whose stars are at least this.
    pub min_stars: i64,
    /// Only events older than this id (the keyset cursor of the previous page).
    pub before_id: Option<i64>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
}

/// Up to `limit` events of `package_ids`, newest first.
pub async fn of_packages(
    conn: &mut AsyncPgConnection,
    package_ids: &[Uuid],
    filter: &EventFilter,
    limit: i64,
) -> QueryResult<Vec<Event>> {
    let mut query = dependency_events::table
        .filter(dependency_events::package_id.eq_any(package_ids))
        .filter(dependency_events::stars.ge(filter.min_stars))
        .select(Event::as_select())
        .order(dependency_events::id.desc())
        .limit(limit)
        .into_boxed();
    if !filter.events.is_empty() {
        query = query.filter(dependency_events::event.eq_any(filter.events.clone()));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(dependency_events::id.lt(before));
    }
    if let Some(since) = filter.since {
        query = query.filter(dependency_events::occurred_at.ge(since));
    }
    query.load(conn).await
}

/// Deletes events older than `cutoff` (the history retention); returns how many.
pub async fn prune(conn: &mut AsyncPgConnection, cutoff: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(dependency_events::table.filter(dependency_events::occurred_at.lt(cutoff)))
        .execute(conn)
        .await
}
