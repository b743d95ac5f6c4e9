//! The repositories depending on a package (`dependencies` joined with `repositories` and
//! the owner's login), filtered and keyset-paged over the edges' copies of the
//! repositories' stars and push times.

use chrono::{DateTime, Utc};
use diesel::{
    expression::SqlLiteral,
    pg::Pg,
    prelude::*,
    query_builder::{QueryFragment, QueryId},
    sql_types::{Bool, Timestamptz},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl, methods::LoadQuery};
use uuid::Uuid;
use wump_core::DependencyKind;

use crate::{
    schema::{dependencies, organizations, repositories},
    tables::{dependencies::Dependency, repositories::Repository},
};

/// How a dependents listing is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DependentsSort {
    /// Most-starred repositories first.
    #[default]
    Stars,
    /// Most recently pushed first; never-pushed last.
    PushedAt,
}

/// Where the previous page of dependents ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependentsCursor {
    Stars {
        stars: i32,
        repository_id: Uuid,
    },
    PushedAt {
        pushed_at: Option<DateTime<Utc>>,
        repository_id: Uuid,
    },
}

/// Filters and page of a dependents listing.
#[derive(Debug, Clone, Default)]
pub struct DependentsQuery {
    /// Only repositories using the package as this kind (among others).
    pub kind: Option<DependencyKind>,
    pub min_stars: Option<i32>,
    pub include_archived: bool,
    pub include_forks: bool,
    pub organization_id: Option<Uuid>,
    pub direct: Option<bool>,
    /// Only edges first seen at or after this time ("who started using it this month").
    pub since: Option<DateTime<Utc>>,
    pub sort: DependentsSort,
    pub after: Option<DependentsCursor>,
    pub limit: i64,
}

/// A repository that depends on the package, with the edge that says how.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct Dependent {
    pub edge: Dependency,
    pub repository: Repository,
    pub organization_login: String,
}

impl Dependent {
    /// The cursor that continues a listing after this row.
    pub fn cursor(&self, sort: DependentsSort) -> DependentsCursor {
        match sort {
            DependentsSort::Stars => DependentsCursor::Stars {
                stars: self.edge.repo_stars,
                repository_id: self.edge.repository_id,
            },
            DependentsSort::PushedAt => DependentsCursor::PushedAt {
                pushed_at: self.edge.repo_pushed_at,
                repository_id: self.edge.repository_id,
            },
        }
    }
}

/// The pushed-at order's key, `coalesce(repo_pushed_at, '-infinity')`: most recent first
/// and never-pushed last without NULLs, the expression `dependencies_package_pushed_key`
/// indexes (a cursor is then one index range).
fn pushed_key() -> SqlLiteral<Timestamptz> {
    diesel::dsl::sql::<Timestamptz>(
        "coalesce(\"dependencies\".\"repo_pushed_at\", '-infinity'::timestamptz)",
    )
}

/// [`pushed_key`] of a repository never pushed.
fn never_pushed() -> SqlLiteral<Timestamptz> {
    diesel::dsl::sql::<Timestamptz>("'-infinity'::timestamptz")
}

/// A page of the repositories depending on a package.
pub async fn dependents(
    conn: &mut AsyncPgConnection,
    package_id: Uuid,
    query: &DependentsQuery,
) -> QueryResult<Vec<Dependent>> {
    dependents_query(package_id, query).load(conn).await
}

/// Whether the listing `query` describes (from its start; `sort`, `after` and `limit`
/// ignored) has more than `n` rows: one row read at offset `n` over the package's edges
/// alone, with the listing's filters (all on the edges' own copies) and none of its joins,
/// so it costs what skipping `n` index entries does (measured: about 20 ms at 100,000 on
/// the development machine; the joined listing row at that offset, ten times more).
/// Exports decide with it, before their headers, whether a tier's bound cuts them.
pub async fn dependents_exceed(
    conn: &mut AsyncPgConnection,
    package_id: Uuid,
    query: &DependentsQuery,
    n: i64,
) -> QueryResult<bool> {
    use dependencies::dsl as d;

    let found = d::dependencies
        .filter(edge_filter(package_id, query))
        .select(d::repository_id)
        .offset(n)
        .limit(1)
        .first::<Uuid>(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}

/// The listing's filters, all on the edge's own columns: one predicate for
/// [`dependents_query`] (over the edges joined with their repositories) and
/// [`dependents_exceed`] (over the edges alone), so the two cannot disagree.
fn edge_filter<QS>(
    package_id: Uuid,
    query: &DependentsQuery,
) -> Box<dyn BoxableExpression<QS, Pg, SqlType = Bool>>
where
    QS: 'static,
    dependencies::package_id: SelectableExpression<QS>,
    dependencies::kinds: SelectableExpression<QS>,
    dependencies::repo_stars: SelectableExpression<QS>,
    dependencies::repo_archived: SelectableExpression<QS>,
    dependencies::repo_fork: SelectableExpression<QS>,
    dependencies::organization_id: SelectableExpression<QS>,
    dependencies::direct: SelectableExpression<QS>,
    dependencies::created_at: SelectableExpression<QS>,
{
    use dependencies::dsl as d;

    let mut filter: Box<dyn BoxableExpression<QS, Pg, SqlType = Bool>> =
        Box::new(d::package_id.eq(package_id));
    if let Some(kind) = query.kind {
        filter = Box::new(filter.and(d::kinds.contains(vec![kind])));
    }
    if let Some(min) = query.min_stars {
        filter = Box::new(filter.and(d::repo_stars.ge(min)));
    }
    if !query.include_archived {
        filter = Box::new(filter.and(d::repo_archived.eq(false)));
    }
    if !query.include_forks {
        filter = Box::new(filter.and(d::repo_fork.eq(false)));
    }
    if let Some(org) = query.organization_id {
        filter = Box::new(filter.and(d::organization_id.eq(org)));
    }
    if let Some(direct) = query.direct {
        // Edges whose directness is unknown (NULL) match neither value, as `= direct` did.
        filter = Box::new(filter.and(d::direct.is_not_distinct_from(direct)));
    }
    if let Some(since) = query.since {
        filter = Box::new(filter.and(d::created_at.ge(since)));
    }
    filter
}

/// The statement [`dependents`] runs, for [`crate::explain`] (benchmarks show its plan).
pub fn dependents_query(
    package_id: Uuid,
    query: &DependentsQuery,
) -> impl for<'q> LoadQuery<'q, AsyncPgConnection, Dependent>
+ QueryFragment<Pg>
+ QueryId
+ Send
+ 'static {
    use dependencies::dsl as d;

    let mut q = d::dependencies
        .inner_join(repositories::table)
        .inner_join(organizations::table.on(organizations::id.eq(d::organization_id)))
        .filter(edge_filter(package_id, query))
        .select((
            Dependency::as_select(),
            Repository::as_select(),
            organizations::login,
        ))
        .limit(query.limit)
        .into_boxed();
    q = match (query.sort, query.after) {
        (DependentsSort::Stars, after) => {
            if let Some(DependentsCursor::Stars {
                stars,
                repository_id,
            }) = after
            {
                // `<=` bounds the index range; the rest skips the ties already returned.
                q = q.filter(d::repo_stars.le(stars)).filter(
                    d::repo_stars
                        .lt(stars)
                        .or(d::repository_id.gt(repository_id)),
                );
            }
            q.order((d::repo_stars.desc(), d::repository_id.asc()))
        }
        (DependentsSort::PushedAt, after) => {
            if let Some(DependentsCursor::PushedAt {
                pushed_at,
                repository_id,
            }) = after
            {
                // As for stars: `<=` is the index range, the rest skips the ties.
                q = match pushed_at {
                    Some(at) => q
                        .filter(pushed_key().le(at))
                        .filter(pushed_key().lt(at).or(d::repository_id.gt(repository_id))),
                    // Past the last pushed one: the never-pushed, by id.
                    None => q
                        .filter(pushed_key().eq(never_pushed()))
                        .filter(d::repository_id.gt(repository_id)),
                };
            }
            q.order((pushed_key().desc(), d::repository_id.asc()))
        }
    };
    q
}
