//! The roll-ups read both ways (`package_organizations` joined with `organizations` or
//! `packages`): the organizations using a package, and the packages an organization uses.

use chrono::{DateTime, Utc};
use diesel::{
    pg::Pg,
    prelude::*,
    query_builder::{QueryFragment, QueryId},
    sql_types::Bool,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl, methods::LoadQuery};
use uuid::Uuid;

use crate::{
    schema::{organizations, package_organizations, packages},
    tables::{organizations::Organization, packages::Package},
};

/// How organizations using a package are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrganizationsSort {
    /// By the stars of their repositories that use the package.
    #[default]
    Stars,
    /// By how many of their repositories use it.
    Repositories,
}

/// Which organizations using a package a listing shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrganizationsFilter {
    /// Only organizations with a sponsors listing or funding links.
    pub has_funding: bool,
    /// Only organizations that started using the package at or after this time (their
    /// first counted repository using it was first seen then).
    pub since: Option<DateTime<Utc>>,
}

/// The roll-up rows of `package_id` that `filter` keeps, as far as the roll-up's own
/// columns decide (funding is the organization's, joined by the callers that need it).
fn rollup_filter<QS>(
    package_id: Uuid,
    filter: &OrganizationsFilter,
) -> Box<dyn BoxableExpression<QS, Pg, SqlType = Bool>>
where
    QS: 'static,
    package_organizations::package_id: SelectableExpression<QS>,
    package_organizations::first_seen_at: SelectableExpression<QS>,
{
    use package_organizations::dsl as po;

    match filter.since {
        Some(since) => Box::new(
            po::package_id
                .eq(package_id)
                .and(po::first_seen_at.ge(since)),
        ),
        None => Box::new(po::package_id.eq(package_id)),
    }
}

/// An organization using a package, with the roll-up for that pair.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct OrganizationUsage {
    pub organization: Organization,
    pub repositories_count: i32,
    pub stars_sum: i64,
    /// When its first counted repository using the package was first seen.
    pub first_seen_at: DateTime<Utc>,
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
    filter: &OrganizationsFilter,
    after: Option<(i64, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<OrganizationUsage>> {
    organizations_using_query(package_id, sort, filter, after, limit)
        .load(conn)
        .await
}

/// Whether the organizations listing of `package_id` (from its start) has more than `n`
/// rows: one row read at offset `n` of the package's roll-up rows, joined with the
/// organizations only to filter by funding (see [`super::dependents::dependents_exceed`]).
pub async fn organizations_exceed(
    conn: &mut AsyncPgConnection,
    package_id: Uuid,
    filter: &OrganizationsFilter,
    n: i64,
) -> QueryResult<bool> {
    use package_organizations::dsl as po;

    let found = if filter.has_funding {
        po::package_organizations
            .inner_join(organizations::table)
            .filter(rollup_filter(package_id, filter))
            .filter(
                organizations::sponsors_listing_url
                    .is_not_null()
                    .or(organizations::funding.ne(serde_json::json!([]))),
            )
            .select(po::organization_id)
            .offset(n)
            .first::<Uuid>(conn)
            .await
    } else {
        po::package_organizations
            .filter(rollup_filter(package_id, filter))
            .select(po::organization_id)
            .offset(n)
            .first::<Uuid>(conn)
            .await
    };
    Ok(found.optional()?.is_some())
}

/// The statement [`organizations_using`] runs, for [`crate::explain`].
pub fn organizations_using_query(
    package_id: Uuid,
    sort: OrganizationsSort,
    filter: &OrganizationsFilter,
    after: Option<(i64, Uuid)>,
    limit: i64,
) -> impl for<'q> LoadQuery<'q, AsyncPgConnection, OrganizationUsage>
+ QueryFragment<Pg>
+ QueryId
+ Send
+ 'static {
    use package_organizations::dsl as po;

    let mut q = po::package_organizations
        .inner_join(organizations::table)
        .filter(rollup_filter(package_id, filter))
        .select((
            Organization::as_select(),
            po::repositories_count,
            po::stars_sum,
            po::first_seen_at,
        ))
        .limit(limit)
        .into_boxed();
    if filter.has_funding {
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
    q
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
