//! `dependencies`: the edges, one row per (repository, package), with copies of the
//! repository's attributes so listings are index range scans.
//!
//! Edges are written only by [`crate::edges`], in the transaction that also keeps the
//! counts derived from them exact: the writes here are crate-private for that reason.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use diesel::{dsl::now, prelude::*, upsert::excluded};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::DependencyKind;

use crate::schema::dependencies;

/// An edge: a repository depends on a package.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = dependencies, check_for_backend(diesel::pg::Pg))]
pub struct Dependency {
    pub package_id: Uuid,
    pub repository_id: Uuid,
    /// The most significant of `kinds` ([`primary_kind`]).
    pub kind: DependencyKind,
    /// Every kind the repository uses the package as, in [`DependencyKind`] order.
    pub kinds: Vec<DependencyKind>,
    pub requirement: String,
    pub resolved_version: Option<String>,
    pub direct: Option<bool>,
    pub manifest_paths: Vec<String>,
    pub organization_id: Uuid,
    pub repo_stars: i32,
    pub repo_pushed_at: Option<DateTime<Utc>>,
    pub repo_archived: bool,
    pub repo_fork: bool,
    /// When wump first saw the repository use the package (kept while the edge lives).
    #[diesel(column_name = created_at)]
    pub first_seen_at: DateTime<Utc>,
}

impl Dependency {
    /// Whether the edge counts towards the package's dependents: its repository copy says
    /// neither archived nor fork.
    pub fn is_counted(&self) -> bool {
        !self.repo_archived && !self.repo_fork
    }
}

/// The kind shown when a repository uses a package in several ways (`dependencies.kind`):
/// the one that says most about how much the repository relies on it.
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

/// Every edge of a repository.
pub(crate) async fn of_repository(
    conn: &mut AsyncPgConnection,
    repository_id: Uuid,
) -> QueryResult<Vec<Dependency>> {
    dependencies::table
        .filter(dependencies::repository_id.eq(repository_id))
        .select(Dependency::as_select())
        .load(conn)
        .await
}

/// An edge to insert or to update in place.
#[derive(Insertable)]
#[diesel(table_name = dependencies)]
pub(crate) struct NewEdge<'a> {
    pub package_id: Uuid,
    pub repository_id: Uuid,
    pub kind: DependencyKind,
    pub kinds: Vec<DependencyKind>,
    pub requirement: &'a str,
    pub resolved_version: Option<&'a str>,
    pub direct: Option<bool>,
    pub manifest_paths: &'a [String],
    pub organization_id: Uuid,
    pub repo_stars: i32,
    pub repo_pushed_at: Option<DateTime<Utc>>,
    pub repo_archived: bool,
    pub repo_fork: bool,
}

/// Inserts `rows`, or updates what a parse says (kinds, requirement, version, paths) of
/// those that exist. Existing edges keep their copies of the repository's attributes:
/// only the attribute sync changes those, so an update never moves an edge in or out of
/// the counted set.
pub(crate) async fn upsert(conn: &mut AsyncPgConnection, rows: &[NewEdge<'_>]) -> QueryResult<()> {
    diesel::insert_into(dependencies::table)
        .values(rows)
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
    Ok(())
}

/// Deletes the edges of a repository to `package_ids`.
pub(crate) async fn delete(
    conn: &mut AsyncPgConnection,
    repository_id: Uuid,
    package_ids: &[Uuid],
) -> QueryResult<()> {
    diesel::delete(
        dependencies::table
            .filter(dependencies::repository_id.eq(repository_id))
            .filter(dependencies::package_id.eq_any(package_ids)),
    )
    .execute(conn)
    .await?;
    Ok(())
}
