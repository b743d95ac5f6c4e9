//! Readers behind the API: a package and its dependents, the organizations using it, an
//! organization and what it depends on, a repository, search and global statistics.
//!
//! Listings are keyset-paginated: each takes the sort key of the last row it returned
//! (`after`) and a limit, and reads an index range from there. Sorts are descending by a
//! value with the id ascending as tie-breaker, matching the indexes in the schema.

use chrono::{DateTime, Utc};
use diesel::{
    dsl::{count_star, max},
    prelude::*,
    sql_types::{BigInt, Float, Nullable, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::{DependencyKind, Ecosystem};

use crate::{
    models::{Dependency, Organization, Package, Repository},
    schema::{
        dependencies, job_executions, organizations, package_organizations, packages, repositories,
    },
};

/// The package `name` in `ecosystem`, matched by its normalized name.
pub async fn package_by_name(
    conn: &mut AsyncPgConnection,
    ecosystem: Ecosystem,
    name: &str,
) -> QueryResult<Option<Package>> {
    packages::table
        .filter(packages::ecosystem.eq(ecosystem.as_str()))
        .filter(packages::normalized_name.eq(ecosystem.normalize_name(name)))
        .select(Package::as_select())
        .first(conn)
        .await
        .optional()
}

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

/// A page of the repositories depending on a package.
pub async fn dependents(
    conn: &mut AsyncPgConnection,
    package_id: Uuid,
    query: &DependentsQuery,
) -> QueryResult<Vec<Dependent>> {
    use dependencies::dsl as d;

    let mut q = d::dependencies
        .inner_join(repositories::table)
        .inner_join(organizations::table.on(organizations::id.eq(d::organization_id)))
        .filter(d::package_id.eq(package_id))
        .select((
            Dependency::as_select(),
            Repository::as_select(),
            organizations::login,
        ))
        .limit(query.limit)
        .into_boxed();
    if let Some(kind) = query.kind {
        q = q.filter(d::kinds.contains(vec![kind.as_str().to_owned()]));
    }
    if let Some(min) = query.min_stars {
        q = q.filter(d::repo_stars.ge(min));
    }
    if !query.include_archived {
        q = q.filter(d::repo_archived.eq(false));
    }
    if !query.include_forks {
        q = q.filter(d::repo_fork.eq(false));
    }
    if let Some(org) = query.organization_id {
        q = q.filter(d::organization_id.eq(org));
    }
    if let Some(direct) = query.direct {
        q = q.filter(d::direct.eq(direct));
    }
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
            match after {
                Some(DependentsCursor::PushedAt {
                    pushed_at: Some(at),
                    repository_id,
                }) => {
                    q = q.filter(
                        d::repo_pushed_at
                            .lt(at)
                            .or(d::repo_pushed_at
                                .eq(at)
                                .and(d::repository_id.gt(repository_id)))
                            .or(d::repo_pushed_at.is_null()),
                    );
                }
                Some(DependentsCursor::PushedAt {
                    pushed_at: None,
                    repository_id,
                }) => {
                    q = q
                        .filter(d::repo_pushed_at.is_null())
                        .filter(d::repository_id.gt(repository_id));
                }
                _ => {}
            }
            q.order((
                d::repo_pushed_at.desc().nulls_last(),
                d::repository_id.asc(),
            ))
        }
    };
    q.load(conn).await
}

/// How organizations using a package are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrganizationsSort {
    /// By the stars of their repositories that use the package.
    #[default]
    Stars,
    /// By how many of their repositories use it.
    Repositories,
}

/// An organization using a package, with the roll-up for that pair.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct OrganizationUsage {
    pub organization: Organization,
    pub repositories_count: i32,
    pub stars_sum: i64,
}

impl OrganizationUsage {
    /// The sort value of this row (for cursors).
    pub fn sort_value(&self, sort: OrganizationsSort) -> i64 {
        match sort {
            OrganizationsSort::Stars => self.stars_sum,
            OrganizationsSort::Repositories => i64::from(self.repositories_count),
        }
    }
}

/// A page of the organizations whose repositories depend on a package.
pub async fn organizations_using(
    conn: &mut AsyncPgConnection,
    package_id: Uuid,
    sort: OrganizationsSort,
    has_funding: bool,
    after: Option<(i64, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<OrganizationUsage>> {
    use package_organizations::dsl as po;

    let mut q = po::package_organizations
        .inner_join(organizations::table)
        .filter(po::package_id.eq(package_id))
        .select((
            Organization::as_select(),
            po::repositories_count,
            po::stars_sum,
        ))
        .limit(limit)
        .into_boxed();
    if has_funding {
        q = q.filter(
            organizations::sponsors_listing_url
                .is_not_null()
                .or(organizations::funding.ne(serde_json::json!([]))),
        );
    }
    q = match sort {
        OrganizationsSort::Stars => {
            if let Some((stars, id)) = after {
                q = q
                    .filter(po::stars_sum.le(stars))
                    .filter(po::stars_sum.lt(stars).or(po::organization_id.gt(id)));
            }
            q.order((po::stars_sum.desc(), po::organization_id.asc()))
        }
        OrganizationsSort::Repositories => {
            if let Some((count, id)) = after {
                let count = i32::try_from(count).unwrap_or(i32::MAX);
                q = q.filter(po::repositories_count.le(count)).filter(
                    po::repositories_count
                        .lt(count)
                        .or(po::organization_id.gt(id)),
                );
            }
            q.order((po::repositories_count.desc(), po::organization_id.asc()))
        }
    };
    q.load(conn).await
}

/// The organization `login` on `host` (case-insensitive).
pub async fn organization_by_login(
    conn: &mut AsyncPgConnection,
    host: &str,
    login: &str,
) -> QueryResult<Option<Organization>> {
    organizations::table
        .filter(organizations::host.eq(host))
        .filter(organizations::login_key.eq(login.to_lowercase()))
        .select(Organization::as_select())
        .first(conn)
        .await
        .optional()
}

/// A page of an organization's repositories, most-starred first.
pub async fn organization_repositories(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    after: Option<(i32, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<Repository>> {
    use repositories::dsl as r;

    let mut q = r::repositories
        .filter(r::organization_id.eq(organization_id))
        .select(Repository::as_select())
        .order((r::stars.desc(), r::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some((stars, id)) = after {
        q = q
            .filter(r::stars.le(stars))
            .filter(r::stars.lt(stars).or(r::id.gt(id)));
    }
    q.load(conn).await
}

/// A package an organization depends on, with how many of its repositories use it.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct OrganizationDependency {
    pub package: Package,
    pub repositories_count: i32,
    pub stars_sum: i64,
}

/// A page of the packages an organization's repositories depend on, most-used first.
pub async fn organization_dependencies(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    after: Option<(i32, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<OrganizationDependency>> {
    use package_organizations::dsl as po;

    let mut q = po::package_organizations
        .inner_join(packages::table)
        .filter(po::organization_id.eq(organization_id))
        .select((Package::as_select(), po::repositories_count, po::stars_sum))
        .order((po::repositories_count.desc(), po::package_id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some((count, id)) = after {
        q = q
            .filter(po::repositories_count.le(count))
            .filter(po::repositories_count.lt(count).or(po::package_id.gt(id)));
    }
    q.load(conn).await
}

/// A repository and every package it depends on (by package name).
pub async fn repository_by_full_name(
    conn: &mut AsyncPgConnection,
    host: &str,
    full_name: &str,
) -> QueryResult<Option<(Repository, Vec<(Dependency, Package)>)>> {
    let Some(repository) = repositories::table
        .filter(repositories::host.eq(host))
        .filter(repositories::full_name_key.eq(full_name.to_lowercase()))
        .select(Repository::as_select())
        .first(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let edges = dependencies::table
        .inner_join(packages::table)
        .filter(dependencies::repository_id.eq(repository.id))
        .select((Dependency::as_select(), Package::as_select()))
        .order((packages::ecosystem, packages::normalized_name))
        .load(conn)
        .await?;
    Ok(Some((repository, edges)))
}

/// A search hit with its trigram similarity to the query (0–1).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct SearchHit {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    /// The package's ecosystem, or the organization's host.
    #[diesel(sql_type = Text)]
    pub scope: String,
    #[diesel(sql_type = Float)]
    pub similarity: f32,
    #[diesel(sql_type = BigInt)]
    pub weight: i64,
}

/// What to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchTarget {
    Packages,
    Organizations,
}

/// Packages or organizations whose name resembles `text`, most similar first (ties: most
/// used, then id). `after` is the last hit's `(similarity, weight, id)`.
pub async fn search(
    conn: &mut AsyncPgConnection,
    target: SearchTarget,
    text: &str,
    after: Option<(f32, i64, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<SearchHit>> {
    let needle = text.trim().to_lowercase();
    let pattern = format!("%{}%", escape_like(&needle));
    let (source, weight) = match target {
        SearchTarget::Packages => (
            "SELECT id, name, ecosystem AS scope, normalized_name AS key,
                    dependents_count::int8 AS weight FROM packages",
            "weight",
        ),
        SearchTarget::Organizations => (
            "SELECT id, login AS name, host AS scope, login_key AS key,
                    stars_total AS weight FROM organizations",
            "weight",
        ),
    };
    let sql = format!(
        "SELECT id, name, scope, similarity(key, $1) AS similarity, {weight} AS weight
           FROM ({source}) s
          WHERE (key % $1 OR key LIKE $2)
            AND ($3::float4 IS NULL OR (similarity(key, $1), {weight}, id) < ($3, $4, $5))
          ORDER BY similarity(key, $1) DESC, {weight} DESC, id DESC
          LIMIT $6"
    );
    let (sim, w, id) = match after {
        Some((s, w, id)) => (Some(s), Some(w), Some(id)),
        None => (None, None, None),
    };
    diesel::sql_query(sql)
        .bind::<Text, _>(&needle)
        .bind::<Text, _>(&pattern)
        .bind::<Nullable<Float>, _>(sim)
        .bind::<Nullable<BigInt>, _>(w)
        .bind::<Nullable<SqlUuid>, _>(id)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Totals across the whole database.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// `(ecosystem, packages, packages with at least one dependent)`, by ecosystem id.
    pub packages_by_ecosystem: Vec<(String, i64, i64)>,
    pub repositories: i64,
    pub organizations: i64,
    pub dependencies: i64,
    /// `(status, count)` of job executions.
    pub jobs_by_status: Vec<(String, i64)>,
    pub last_parsed_at: Option<DateTime<Utc>>,
    pub last_enriched_at: Option<DateTime<Utc>>,
}

/// Global statistics. Counts whole tables: callers cache the answer.
pub async fn stats(conn: &mut AsyncPgConnection) -> QueryResult<Stats> {
    let packages_by_ecosystem = packages::table
        .group_by(packages::ecosystem)
        .select((
            packages::ecosystem,
            count_star(),
            diesel::dsl::sql::<BigInt>("count(*) FILTER (WHERE dependents_count > 0)"),
        ))
        .order(packages::ecosystem)
        .load(conn)
        .await?;
    let repositories = repositories::table.count().get_result(conn).await?;
    let organizations = organizations::table.count().get_result(conn).await?;
    let dependencies = dependencies::table.count().get_result(conn).await?;
    let jobs_by_status = job_executions::table
        .group_by(job_executions::status)
        .select((job_executions::status, count_star()))
        .order(job_executions::status)
        .load(conn)
        .await?;
    let last_parsed_at = repositories::table
        .select(max(repositories::parsed_at))
        .get_result(conn)
        .await?;
    let last_enriched_at = organizations::table
        .select(max(organizations::enriched_at))
        .get_result(conn)
        .await?;
    Ok(Stats {
        packages_by_ecosystem,
        repositories,
        organizations,
        dependencies,
        jobs_by_status,
        last_parsed_at,
        last_enriched_at,
    })
}
