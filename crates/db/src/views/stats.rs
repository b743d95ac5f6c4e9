//! Totals across the whole database, for `/api/v1/stats`.

use chrono::{DateTime, Utc};
use diesel::{
    dsl::{count_star, max},
    prelude::*,
    sql_types::BigInt,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use wump_core::Ecosystem;

use crate::{
    schema::{dependencies, job_executions, organizations, packages, repositories},
    tables::{job_executions::JobStatus, packages::Package},
};

/// Totals across the whole database.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// `(ecosystem, packages, packages with at least one dependent)`, by ecosystem id.
    pub packages_by_ecosystem: Vec<(Ecosystem, i64, i64)>,
    pub repositories: i64,
    pub organizations: i64,
    pub dependencies: i64,
    /// `(status, count)` of job executions.
    pub jobs_by_status: Vec<(JobStatus, i64)>,
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

/// The `per_ecosystem` most depended-upon packages of each ecosystem that has any, most
/// first: one query per ecosystem, each a scan of its packages (there is no index on the
/// counts, which the edge writers update all the time), so callers cache the answer.
pub async fn most_depended_upon(
    conn: &mut AsyncPgConnection,
    per_ecosystem: i64,
) -> QueryResult<Vec<(Ecosystem, Vec<Package>)>> {
    let mut top = Vec::new();
    for ecosystem in Ecosystem::ALL {
        let packages: Vec<Package> = packages::table
            .filter(packages::ecosystem.eq(ecosystem))
            .filter(packages::dependents_count.gt(0))
            .order((packages::dependents_count.desc(), packages::id))
            .limit(per_ecosystem)
            .select(Package::as_select())
            .load(conn)
            .await?;
        if !packages.is_empty() {
            top.push((ecosystem, packages));
        }
    }
    Ok(top)
}
