//! Writers of dependency edges and of everything derived from them.
//!
//! Invariant, kept in the same transaction as every edge change: for each package,
//! `dependents_count` is the number of its *counted* edges (the repository is neither
//! archived nor a fork, according to the edge's copies), `organizations_count` the number
//! of its `package_organizations` rows, and each roll-up row holds the count and star sum
//! of the counted edges of one (package, organization), existing only when that count is
//! positive.
//!
//! Concurrency: a writer locks the repository rows it changes (`FOR UPDATE`, in id order)
//! and then a transaction-scoped advisory lock per organization involved (in id order), so
//! two writers never recompute the same roll-up row from different snapshots.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use diesel::{
    dsl::now,
    prelude::*,
    sql_types::{Array, BigInt, Bool, Integer, Uuid as SqlUuid},
    upsert::excluded,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::DependencyKind;

use crate::{
    models::Dependency,
    schema::{dependencies, package_organizations, repositories},
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

/// The kind shown when a repository uses a package in several ways: the one that says most
/// about how much the repository relies on it.
pub fn primary_kind(kinds: &BTreeSet<DependencyKind>) -> DependencyKind {
    const PRECEDENCE: [DependencyKind; 6] = [
        DependencyKind::Runtime,
        DependencyKind::Peer,
        DependencyKind::Optional,
        DependencyKind::Build,
        DependencyKind::Development,
        DependencyKind::Test,
    ];
    PRECEDENCE
        .into_iter()
        .find(|k| kinds.contains(k))
        .unwrap_or(DependencyKind::Runtime)
}

#[derive(Insertable)]
#[diesel(table_name = dependencies)]
struct NewEdge<'a> {
    package_id: Uuid,
    repository_id: Uuid,
    kind: &'static str,
    kinds: Vec<&'static str>,
    requirement: &'a str,
    resolved_version: Option<&'a str>,
    direct: Option<bool>,
    manifest_paths: &'a [String],
    organization_id: Uuid,
    repo_stars: i32,
    repo_pushed_at: Option<DateTime<Utc>>,
    repo_archived: bool,
    repo_fork: bool,
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
    let (organization_id, stars, pushed_at, archived, fork) = repositories::table
        .find(repository_id)
        .select((
            repositories::organization_id,
            repositories::stars,
            repositories::pushed_at,
            repositories::archived,
            repositories::fork,
        ))
        .for_update()
        .first::<(Uuid, i32, Option<DateTime<Utc>>, bool, bool)>(conn)
        .await?;

    let existing: HashMap<Uuid, Dependency> = dependencies::table
        .filter(dependencies::repository_id.eq(repository_id))
        .select(Dependency::as_select())
        .load(conn)
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
            kind: primary_kind(&e.kinds).as_str(),
            kinds: e.kinds.iter().map(|k| k.as_str()).collect(),
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
        // Existing edges keep their copies of the repository's attributes: only the
        // attribute sync changes those, so an update never moves an edge in or out of
        // the counted set.
        diesel::insert_into(dependencies::table)
            .values(&rows)
            .on_conflict((dependencies::repository_id, dependencies::package_id))
            .do_update()
            .set((
                dependencies::kind.eq(excluded(dependencies::kind)),
                dependencies::kinds.eq(excluded(dependencies::kinds)),
                dependencies::requirement.eq(excluded(dependencies::requirement)),
                dependencies::resolved_version.eq(excluded(dependencies::resolved_version)),
                dependencies::direct.eq(excluded(dependencies::direct)),
                dependencies::manifest_paths.eq(excluded(dependencies::manifest_paths)),
                dependencies::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
    }
    if !vanished.is_empty() {
        let ids: Vec<Uuid> = vanished.iter().map(|d| d.package_id).collect();
        diesel::delete(
            dependencies::table
                .filter(dependencies::repository_id.eq(repository_id))
                .filter(dependencies::package_id.eq_any(&ids)),
        )
        .execute(conn)
        .await?;
    }

    let counted_new = !archived && !fork;
    let mut dependents_delta: BTreeMap<Uuid, i32> = BTreeMap::new();
    let mut pairs: BTreeSet<(Uuid, Uuid)> = BTreeSet::new();
    for row in &rows {
        if existing.contains_key(&row.package_id) {
            changes.updated += 1;
        } else {
            changes.inserted += 1;
            if counted_new {
                *dependents_delta.entry(row.package_id).or_default() += 1;
                pairs.insert((row.package_id, organization_id));
            }
        }
    }
    for old in &vanished {
        changes.deleted += 1;
        if is_counted(old) {
            *dependents_delta.entry(old.package_id).or_default() -= 1;
            pairs.insert((old.package_id, old.organization_id));
        }
    }

    let organizations_delta = recompute_rollups(conn, &pairs).await?;
    apply_count_deltas(conn, &dependents_delta, &organizations_delta).await?;

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
    let kinds: Vec<&str> = wanted.kinds.iter().map(|k| k.as_str()).collect();
    old.kind == primary_kind(&wanted.kinds).as_str()
        && old.kinds == kinds
        && old.requirement == wanted.requirement
        && old.resolved_version == wanted.resolved_version
        && old.direct == wanted.direct
        && old.manifest_paths == wanted.manifest_paths
}

fn is_counted(edge: &Dependency) -> bool {
    !edge.repo_archived && !edge.repo_fork
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
    let locked: Vec<Uuid> = repositories::table
        .filter(repositories::id.eq_any(&ids))
        .order(repositories::id)
        .select(repositories::id)
        .for_update()
        .load(conn)
        .await?;
    if locked.is_empty() {
        return Ok(EdgeChanges::default());
    }

    let stale: Vec<StaleEdge> = diesel::sql_query(
        "SELECT d.package_id, d.organization_id AS old_organization_id,
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
    for edge in &stale {
        let delta = i32::from(edge.new_counted) - i32::from(edge.old_counted);
        if delta != 0 {
            *dependents_delta.entry(edge.package_id).or_default() += delta;
        }
        if edge.old_counted {
            pairs.insert((edge.package_id, edge.old_organization_id));
        }
        if edge.new_counted {
            pairs.insert((edge.package_id, edge.new_organization_id));
        }
    }
    let organizations_delta = recompute_rollups(conn, &pairs).await?;
    apply_count_deltas(conn, &dependents_delta, &organizations_delta).await?;

    Ok(EdgeChanges {
        updated,
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
    #[diesel(sql_type = Bool)]
    existed: bool,
}

#[derive(Insertable)]
#[diesel(table_name = package_organizations)]
struct RollupRow {
    package_id: Uuid,
    organization_id: Uuid,
    repositories_count: i32,
    stars_sum: i64,
}

/// Recomputes the roll-up rows of `pairs` from their counted edges; returns, per package,
/// how many roll-up rows appeared minus how many vanished.
async fn recompute_rollups(
    conn: &mut AsyncPgConnection,
    pairs: &BTreeSet<(Uuid, Uuid)>,
) -> QueryResult<BTreeMap<Uuid, i32>> {
    if pairs.is_empty() {
        return Ok(BTreeMap::new());
    }
    let (packages, organizations): (Vec<Uuid>, Vec<Uuid>) = pairs.iter().copied().unzip();
    let totals: Vec<RollupTotals> = diesel::sql_query(
        "SELECT p.package_id, p.organization_id,
                count(d.repository_id)::int4 AS repositories_count,
                coalesce(sum(d.repo_stars), 0)::int8 AS stars_sum,
                EXISTS (SELECT 1 FROM package_organizations po
                         WHERE po.package_id = p.package_id
                           AND po.organization_id = p.organization_id) AS existed
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
            if t.existed {
                *delta.entry(t.package_id).or_default() -= 1;
                gone_packages.push(t.package_id);
                gone_organizations.push(t.organization_id);
            }
        } else {
            if !t.existed {
                *delta.entry(t.package_id).or_default() += 1;
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
        diesel::sql_query(
            "DELETE FROM package_organizations po
              USING unnest($1::uuid[], $2::uuid[]) AS g(package_id, organization_id)
              WHERE po.package_id = g.package_id AND po.organization_id = g.organization_id",
        )
        .bind::<Array<SqlUuid>, _>(&gone_packages)
        .bind::<Array<SqlUuid>, _>(&gone_organizations)
        .execute(conn)
        .await?;
    }
    if !present.is_empty() {
        use package_organizations::dsl as po;
        let upsert = diesel::insert_into(po::package_organizations)
            .values(&present)
            .on_conflict((po::package_id, po::organization_id))
            .do_update()
            .set((
                po::repositories_count.eq(excluded(po::repositories_count)),
                po::stars_sum.eq(excluded(po::stars_sum)),
                po::last_seen_at.eq(now),
            ));
        // `ON CONFLICT … DO UPDATE … WHERE`: rewrite a row only when a value changed.
        diesel::query_dsl::methods::FilterDsl::filter(
            upsert,
            po::repositories_count
                .is_distinct_from(excluded(po::repositories_count))
                .or(po::stars_sum.is_distinct_from(excluded(po::stars_sum))),
        )
        .execute(conn)
        .await?;
    }
    Ok(delta)
}

/// Adds the deltas to the stored counts of each package, in one statement.
async fn apply_count_deltas(
    conn: &mut AsyncPgConnection,
    dependents: &BTreeMap<Uuid, i32>,
    organizations: &BTreeMap<Uuid, i32>,
) -> QueryResult<()> {
    let packages: BTreeSet<Uuid> = dependents
        .keys()
        .chain(organizations.keys())
        .copied()
        .collect();
    let packages: Vec<Uuid> = packages
        .into_iter()
        .filter(|p| {
            dependents.get(p).copied().unwrap_or(0) != 0
                || organizations.get(p).copied().unwrap_or(0) != 0
        })
        .collect();
    if packages.is_empty() {
        return Ok(());
    }
    // Lock the package rows in id order first: concurrent writers touching overlapping
    // packages then queue up instead of deadlocking. NO KEY UPDATE, not UPDATE: every
    // writer already holds KEY SHARE locks on these rows (the foreign-key checks of the
    // edges it inserted), and FOR UPDATE would wait on the other writer's, which waits on
    // ours — a deadlock between parses of two organizations sharing packages.
    crate::schema::packages::table
        .filter(crate::schema::packages::id.eq_any(&packages))
        .order(crate::schema::packages::id)
        .select(crate::schema::packages::id)
        .for_no_key_update()
        .load::<Uuid>(conn)
        .await?;
    let dependents_delta: Vec<i32> = packages
        .iter()
        .map(|p| dependents.get(p).copied().unwrap_or(0))
        .collect();
    let organizations_delta: Vec<i32> = packages
        .iter()
        .map(|p| organizations.get(p).copied().unwrap_or(0))
        .collect();
    diesel::sql_query(
        "UPDATE packages p
            SET dependents_count = p.dependents_count + d.dependents,
                organizations_count = p.organizations_count + d.organizations,
                updated_at = now()
           FROM unnest($1::uuid[], $2::int4[], $3::int4[]) AS d(id, dependents, organizations)
          WHERE p.id = d.id",
    )
    .bind::<Array<SqlUuid>, _>(&packages)
    .bind::<Array<Integer>, _>(&dependents_delta)
    .bind::<Array<Integer>, _>(&organizations_delta)
    .execute(conn)
    .await?;
    Ok(())
}
