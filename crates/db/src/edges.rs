//! Writers of dependency edges and of everything derived from them.
//!
//! A module of its own rather than part of [`crate::tables::dependencies`]: each writer is
//! one transaction over four tables (`dependencies`, `package_organizations`, `packages`,
//! `repositories`), and what a reader comes here for is the invariant that transaction
//! keeps. The single-table statements it runs live with their tables, crate-private.
//!
//! Invariant, kept in the same transaction as every edge change: for each package,
//! `dependents_count` is the number of its *counted* edges (the repository is neither
//! archived nor a fork, according to the edge's copies), `organizations_count` the number
//! of its `package_organizations` rows, and each roll-up row holds the count and star sum
//! of the counted edges of one (package, organization), existing only when that count is
//! positive.
//!
//! History, in the same transaction: every counted edge that appears or goes, and every
//! roll-up row that appears or goes, is a row of `dependency_events`
//! ([`crate::tables::dependency_events`]). A write that changes nothing writes no event.
//!
//! Concurrency: a writer locks the repository rows it changes (`FOR UPDATE`, in id order)
//! and then a transaction-scoped advisory lock per organization involved (in id order), so
//! two writers never recompute the same roll-up row from different snapshots.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Bool, Integer, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::{DependencyKind, EventKind};

use crate::tables::{
    dependencies::{self, Dependency, NewEdge, primary_kind},
    dependency_events::{self, NewEvent},
    package_organizations::{self, RollupRow},
    packages, repositories,
};

/// One edge as a parse of a repository produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeInput {
    pub package_id: Uuid,
    /// Every kind the repository uses the package as (at least one).
    pub kinds: BTreeSet<DependencyKind>,
    pub requirement: String,
    pub resolved_version: Option<String>,
    pub direct: Option<bool>,
    /// The manifests that declare it, sorted.
    pub manifest_paths: Vec<String>,
}

/// What a write changed, for logs and cache invalidation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeChanges {
    pub inserted: usize,
    pub updated: usize,
    pub deleted: usize,
    /// Rows written to `dependency_events` (dependents and organizations gained or lost).
    pub events: usize,
    /// Packages whose edges, counts or roll-ups changed: their cached answers are stale.
    pub touched_packages: Vec<Uuid>,
    /// Organizations whose roll-ups changed.
    pub touched_organizations: Vec<Uuid>,
}

impl EdgeChanges {
    /// Whether anything was written.
    pub fn is_empty(&self) -> bool {
        self.inserted == 0 && self.updated == 0 && self.deleted == 0
    }
}

/// Replaces every dependency edge of a repository with `edges`, in one transaction of its
/// own: inserts new edges, updates changed ones, deletes vanished ones, and keeps roll-ups
/// and package counts exact. An unchanged set of edges writes nothing.
///
/// Fails with `NotFound` when the repository does not exist.
pub async fn replace_repository_edges(
    conn: &mut AsyncPgConnection,
    repository_id: Uuid,
    edges: &[EdgeInput],
) -> QueryResult<EdgeChanges> {
    conn.transaction(async |conn| replace_in_transaction(conn, repository_id, edges).await)
        .await
}

async fn replace_in_transaction(
    conn: &mut AsyncPgConnection,
    repository_id: Uuid,
    edges: &[EdgeInput],
) -> QueryResult<EdgeChanges> {
    let repositories::EdgeCopies {
        organization_id,
        stars,
        pushed_at,
        archived,
        fork,
    } = repositories::lock_for_edges(conn, repository_id).await?;

    let existing: HashMap<Uuid, Dependency> = dependencies::of_repository(conn, repository_id)
        .await?
        .into_iter()
        .map(|d| (d.package_id, d))
        .collect();
    let wanted: BTreeMap<Uuid, &EdgeInput> = edges.iter().map(|e| (e.package_id, e)).collect();

    let mut organizations: BTreeSet<Uuid> = existing.values().map(|d| d.organization_id).collect();
    organizations.insert(organization_id);
    lock_organizations(conn, &organizations).await?;

    let rows: Vec<NewEdge<'_>> = wanted
        .values()
        .filter(|e| {
            existing
                .get(&e.package_id)
                .is_none_or(|old| !same_edge(old, e))
        })
        .map(|e| NewEdge {
            package_id: e.package_id,
            repository_id,
            kind: primary_kind(&e.kinds),
            kinds: e.kinds.iter().copied().collect(),
            requirement: &e.requirement,
            resolved_version: e.resolved_version.as_deref(),
            direct: e.direct,
            manifest_paths: &e.manifest_paths,
            organization_id,
            repo_stars: stars,
            repo_pushed_at: pushed_at,
            repo_archived: archived,
            repo_fork: fork,
        })
        .collect();
    let vanished: Vec<&Dependency> = existing
        .values()
        .filter(|d| !wanted.contains_key(&d.package_id))
        .collect();

    let mut changes = EdgeChanges::default();
    if rows.is_empty() && vanished.is_empty() {
        return Ok(changes);
    }

    if !rows.is_empty() {
        dependencies::upsert(conn, &rows).await?;
    }
    if !vanished.is_empty() {
        let ids: Vec<Uuid> = vanished.iter().map(|d| d.package_id).collect();
        dependencies::delete(conn, repository_id, &ids).await?;
    }

    let counted_new = !archived && !fork;
    let mut dependents_delta: BTreeMap<Uuid, i32> = BTreeMap::new();
    let mut pairs: BTreeSet<(Uuid, Uuid)> = BTreeSet::new();
    let mut events = Vec::new();
    for row in &rows {
        if existing.contains_key(&row.package_id) {
            changes.updated += 1;
        } else {
            changes.inserted += 1;
            if counted_new {
                *dependents_delta.entry(row.package_id).or_default() += 1;
                pairs.insert((row.package_id, organization_id));
                events.push(NewEvent {
                    package_id: row.package_id,
                    event: EventKind::DependentAdded,
                    organization_id,
                    repository: Some((repository_id, row.kind)),
                    stars: stars.into(),
                });
            }
        }
    }
    for old in &vanished {
        changes.deleted += 1;
        if old.is_counted() {
            *dependents_delta.entry(old.package_id).or_default() -= 1;
            pairs.insert((old.package_id, old.organization_id));
            events.push(NewEvent {
                package_id: old.package_id,
                event: EventKind::DependentRemoved,
                organization_id: old.organization_id,
                repository: Some((repository_id, old.kind)),
                stars: old.repo_stars.into(),
            });
        }
    }

    let organizations_delta = recompute_rollups(conn, &pairs, &mut events).await?;
    packages::apply_count_deltas(conn, &dependents_delta, &organizations_delta).await?;
    dependency_events::record(conn, &events).await?;
    changes.events = events.len();

    let mut touched: BTreeSet<Uuid> = rows.iter().map(|r| r.package_id).collect();
    touched.extend(vanished.iter().map(|d| d.package_id));
    changes.touched_packages = touched.into_iter().collect();
    changes.touched_organizations = pairs
        .iter()
        .map(|(_, org)| *org)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(changes)
}

/// Whether a stored edge already says what `wanted` says.
fn same_edge(old: &Dependency, wanted: &EdgeInput) -> bool {
    old.kind == primary_kind(&wanted.kinds)
        && old.kinds.iter().eq(wanted.kinds.iter())
        && old.requirement == wanted.requirement
        && old.resolved_version == wanted.resolved_version
        && old.direct == wanted.direct
        && old.manifest_paths == wanted.manifest_paths
}

/// Copies stars, push time, archived/fork flags and owner from repositories onto their
/// edges, for a batch of repositories, in one transaction of its own; keeps roll-ups and
/// counts exact when an edge enters or leaves the counted set or its stars change.
pub async fn sync_repository_attributes(
    conn: &mut AsyncPgConnection,
    repository_ids: &[Uuid],
) -> QueryResult<EdgeChanges> {
    if repository_ids.is_empty() {
        return Ok(EdgeChanges::default());
    }
    let mut ids = repository_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    conn.transaction(async |conn| sync_in_transaction(conn, ids).await)
        .await
}

#[derive(QueryableByName)]
struct StaleEdge {
    #[diesel(sql_type = SqlUuid)]
    package_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    repository_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: DependencyKind,
    #[diesel(sql_type = Integer)]
    old_stars: i32,
    #[diesel(sql_type = Integer)]
    new_stars: i32,
    #[diesel(sql_type = SqlUuid)]
    old_organization_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    new_organization_id: Uuid,
    #[diesel(sql_type = Bool)]
    old_counted: bool,
    #[diesel(sql_type = Bool)]
    new_counted: bool,
}

async fn sync_in_transaction(
    conn: &mut AsyncPgConnection,
    ids: Vec<Uuid>,
) -> QueryResult<EdgeChanges> {
    let locked = repositories::lock(conn, &ids).await?;
    if locked.is_empty() {
        return Ok(EdgeChanges::default());
    }

    let stale: Vec<StaleEdge> = diesel::sql_query(
        "SELECT d.package_id, d.repository_id, d.kind, d.repo_stars AS old_stars,
                r.stars AS new_stars, d.organization_id AS old_organization_id,
                r.organization_id AS new_organization_id,
                NOT (d.repo_archived OR d.repo_fork) AS old_counted,
                NOT (r.archived OR r.fork) AS new_counted
           FROM dependencies d JOIN repositories r ON r.id = d.repository_id
          WHERE d.repository_id = ANY($1)
            AND (d.repo_stars, d.repo_pushed_at, d.repo_archived, d.repo_fork, d.organization_id)
                IS DISTINCT FROM (r.stars, r.pushed_at, r.archived, r.fork, r.organization_id)",
    )
    .bind::<Array<SqlUuid>, _>(&locked)
    .load(conn)
    .await?;
    if stale.is_empty() {
        return Ok(EdgeChanges::default());
    }

    let organizations: BTreeSet<Uuid> = stale
        .iter()
        .flat_map(|e| [e.old_organization_id, e.new_organization_id])
        .collect();
    lock_organizations(conn, &organizations).await?;

    let updated = diesel::sql_query(
        "UPDATE dependencies d
            SET repo_stars = r.stars, repo_pushed_at = r.pushed_at, repo_archived = r.archived,
                repo_fork = r.fork, organization_id = r.organization_id, updated_at = now()
           FROM repositories r
          WHERE r.id = d.repository_id AND d.repository_id = ANY($1)
            AND (d.repo_stars, d.repo_pushed_at, d.repo_archived, d.repo_fork, d.organization_id)
                IS DISTINCT FROM (r.stars, r.pushed_at, r.archived, r.fork, r.organization_id)",
    )
    .bind::<Array<SqlUuid>, _>(&locked)
    .execute(conn)
    .await?;

    let mut dependents_delta: BTreeMap<Uuid, i32> = BTreeMap::new();
    let mut pairs = BTreeSet::new();
    let mut events = Vec::new();
    for edge in &stale {
        let delta = i32::from(edge.new_counted) - i32::from(edge.old_counted);
        if delta != 0 {
            *dependents_delta.entry(edge.package_id).or_default() += delta;
            // Archived, forked, or restored: the repository left or rejoined the dependents.
            let (event, organization_id, stars) = if delta > 0 {
                (
                    EventKind::DependentAdded,
                    edge.new_organization_id,
                    edge.new_stars,
                )
            } else {
                (
                    EventKind::DependentRemoved,
                    edge.old_organization_id,
                    edge.old_stars,
                )
            };
            events.push(NewEvent {
                package_id: edge.package_id,
                event,
                organization_id,
                repository: Some((edge.repository_id, edge.kind)),
                stars: stars.into(),
            });
        }
        if edge.old_counted {
            pairs.insert((edge.package_id, edge.old_organization_id));
        }
        if edge.new_counted {
            pairs.insert((edge.package_id, edge.new_organization_id));
        }
    }
    let organizations_delta = recompute_rollups(conn, &pairs, &mut events).await?;
    packages::apply_count_deltas(conn, &dependents_delta, &organizations_delta).await?;
    dependency_events::record(conn, &events).await?;

    Ok(EdgeChanges {
        updated,
        events: events.len(),
        touched_packages: stale
            .iter()
            .map(|e| e.package_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        touched_organizations: pairs
            .iter()
            .map(|(_, o)| *o)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        ..EdgeChanges::default()
    })
}

/// Serializes roll-up recomputation per organization for the rest of the transaction.
async fn lock_organizations(
    conn: &mut AsyncPgConnection,
    organizations: &BTreeSet<Uuid>,
) -> QueryResult<()> {
    // One statement per lock, in id order: the order in which a single statement would
    // take several locks is not guaranteed, and a fixed order is what prevents deadlocks.
    for organization in organizations {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7367))")
            .bind::<SqlUuid, _>(organization)
            .execute(conn)
            .await?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct RollupTotals {
    #[diesel(sql_type = SqlUuid)]
    package_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    organization_id: Uuid,
    #[diesel(sql_type = Integer)]
    repositories_count: i32,
    #[diesel(sql_type = BigInt)]
    stars_sum: i64,
    /// The row's star sum before, `None` when there was no row.
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    previous_stars: Option<i64>,
}

/// Recomputes the roll-up rows of `pairs` from their counted edges; returns, per package,
/// how many roll-up rows appeared minus how many vanished, and adds an organization event
/// to `events` for each.
async fn recompute_rollups(
    conn: &mut AsyncPgConnection,
    pairs: &BTreeSet<(Uuid, Uuid)>,
    events: &mut Vec<NewEvent>,
) -> QueryResult<BTreeMap<Uuid, i32>> {
    if pairs.is_empty() {
        return Ok(BTreeMap::new());
    }
    let (packages, organizations): (Vec<Uuid>, Vec<Uuid>) = pairs.iter().copied().unzip();
    let totals: Vec<RollupTotals> = diesel::sql_query(
        "SELECT p.package_id, p.organization_id,
                count(d.repository_id)::int4 AS repositories_count,
                coalesce(sum(d.repo_stars), 0)::int8 AS stars_sum,
                (SELECT po.stars_sum FROM package_organizations po
                  WHERE po.package_id = p.package_id
                    AND po.organization_id = p.organization_id) AS previous_stars
           FROM unnest($1::uuid[], $2::uuid[]) AS p(package_id, organization_id)
           LEFT JOIN dependencies d
             ON d.package_id = p.package_id AND d.organization_id = p.organization_id
            AND NOT d.repo_archived AND NOT d.repo_fork
          GROUP BY p.package_id, p.organization_id",
    )
    .bind::<Array<SqlUuid>, _>(&packages)
    .bind::<Array<SqlUuid>, _>(&organizations)
    .load(conn)
    .await?;

    let mut delta: BTreeMap<Uuid, i32> = BTreeMap::new();
    let mut gone_packages = Vec::new();
    let mut gone_organizations = Vec::new();
    let mut present = Vec::new();
    for t in totals {
        if t.repositories_count == 0 {
            if let Some(stars) = t.previous_stars {
                *delta.entry(t.package_id).or_default() -= 1;
                gone_packages.push(t.package_id);
                gone_organizations.push(t.organization_id);
                events.push(NewEvent {
                    package_id: t.package_id,
                    event: EventKind::OrganizationRemoved,
                    organization_id: t.organization_id,
                    repository: None,
                    stars,
                });
            }
        } else {
            if t.previous_stars.is_none() {
                *delta.entry(t.package_id).or_default() += 1;
                events.push(NewEvent {
                    package_id: t.package_id,
                    event: EventKind::OrganizationAdded,
                    organization_id: t.organization_id,
                    repository: None,
                    stars: t.stars_sum,
                });
            }
            present.push(RollupRow {
                package_id: t.package_id,
                organization_id: t.organization_id,
                repositories_count: t.repositories_count,
                stars_sum: t.stars_sum,
            });
        }
    }
    if !gone_packages.is_empty() {
        package_organizations::delete_pairs(conn, &gone_packages, &gone_organizations).await?;
    }
    if !present.is_empty() {
        package_organizations::upsert(conn, &present).await?;
    }
    Ok(delta)
}
