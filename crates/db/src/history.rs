//! Daily counts: what the snapshot job writes once a day for every package and
//! organization whose counts changed, and the time series read back from them.
//!
//! Rows are kept compactly: a package's row for a day exists only when something differs
//! from its previous row, so a day without a row has the counts of the latest row before
//! it (the series reader carries them forward). Retention deletes old rows but keeps, for
//! each package, the latest row before the cutoff: the series still starts right.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Date, Integer, Jsonb, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Writes `day`'s row for every package whose counts differ from its latest row (or that
/// has dependents and no row yet); returns how many rows were written. Running it again
/// the same day rewrites only what changed since.
pub async fn snapshot_packages(conn: &mut AsyncPgConnection, day: NaiveDate) -> QueryResult<usize> {
    // One pass over the counted edges for the per-kind counts and star sums; the stored
    // package counts are exact already (crate::edges).
    diesel::sql_query(
        "WITH by_kind AS (
             SELECT package_id, kind, count(*) AS n, sum(repo_stars) AS stars
               FROM dependencies
              WHERE NOT repo_archived AND NOT repo_fork
              GROUP BY package_id, kind
         ), edges AS (
             SELECT package_id, sum(stars)::int8 AS stars_sum, jsonb_object_agg(kind, n) AS kinds
               FROM by_kind GROUP BY package_id
         ), current AS (
             SELECT p.id AS package_id, p.dependents_count, p.organizations_count,
                    coalesce(e.stars_sum, 0) AS stars_sum, coalesce(e.kinds, '{}'::jsonb) AS kinds
               FROM packages p LEFT JOIN edges e ON e.package_id = p.id
         )
         INSERT INTO package_daily_counts
                (package_id, day, dependents_count, organizations_count, stars_sum, kinds)
         SELECT c.package_id, $1, c.dependents_count, c.organizations_count, c.stars_sum, c.kinds
           FROM current c
           LEFT JOIN LATERAL (
                SELECT h.dependents_count, h.organizations_count, h.stars_sum, h.kinds
                  FROM package_daily_counts h
                 WHERE h.package_id = c.package_id AND h.day <= $1
                 ORDER BY h.day DESC LIMIT 1) last ON true
          WHERE CASE WHEN last.dependents_count IS NULL
                     THEN c.dependents_count > 0 OR c.organizations_count > 0
                     ELSE (last.dependents_count, last.organizations_count, last.stars_sum, last.kinds)
                          IS DISTINCT FROM
                          (c.dependents_count, c.organizations_count, c.stars_sum, c.kinds) END
         ON CONFLICT (package_id, day) DO UPDATE
            SET dependents_count = excluded.dependents_count,
                organizations_count = excluded.organizations_count,
                stars_sum = excluded.stars_sum, kinds = excluded.kinds",
    )
    .bind::<Date, _>(day)
    .execute(conn)
    .await
}

/// [`snapshot_packages`] for organizations: their repositories, stars and how many
/// packages their counted repositories use.
pub async fn snapshot_organizations(
    conn: &mut AsyncPgConnection,
    day: NaiveDate,
) -> QueryResult<usize> {
    diesel::sql_query(
        "WITH used AS (
             SELECT organization_id, count(*)::int4 AS n
               FROM package_organizations GROUP BY organization_id
         ), current AS (
             SELECT o.id AS organization_id, o.repositories_count, o.stars_total,
                    coalesce(u.n, 0) AS packages_count
               FROM organizations o LEFT JOIN used u ON u.organization_id = o.id
         )
         INSERT INTO organization_daily_counts
                (organization_id, day, repositories_count, stars_total, packages_count)
         SELECT c.organization_id, $1, c.repositories_count, c.stars_total, c.packages_count
           FROM current c
           LEFT JOIN LATERAL (
                SELECT h.repositories_count, h.stars_total, h.packages_count
                  FROM organization_daily_counts h
                 WHERE h.organization_id = c.organization_id AND h.day <= $1
                 ORDER BY h.day DESC LIMIT 1) last ON true
          WHERE CASE WHEN last.repositories_count IS NULL
                     THEN c.repositories_count > 0 OR c.packages_count > 0
                     ELSE (last.repositories_count, last.stars_total, last.packages_count)
                          IS DISTINCT FROM
                          (c.repositories_count, c.stars_total, c.packages_count) END
         ON CONFLICT (organization_id, day) DO UPDATE
            SET repositories_count = excluded.repositories_count,
                stars_total = excluded.stars_total, packages_count = excluded.packages_count",
    )
    .bind::<Date, _>(day)
    .execute(conn)
    .await
}

/// Deletes daily rows older than `cutoff`, keeping each package's and organization's
/// latest row before it (the value the series carries into the retained range); returns
/// how many rows went.
pub async fn prune(conn: &mut AsyncPgConnection, cutoff: NaiveDate) -> QueryResult<usize> {
    let packages = diesel::sql_query(
        "DELETE FROM package_daily_counts h
          WHERE h.day < $1
            AND EXISTS (SELECT 1 FROM package_daily_counts n
                         WHERE n.package_id = h.package_id AND n.day > h.day AND n.day <= $1)",
    )
    .bind::<Date, _>(cutoff)
    .execute(conn)
    .await?;
    let organizations = diesel::sql_query(
        "DELETE FROM organization_daily_counts h
          WHERE h.day < $1
            AND EXISTS (SELECT 1 FROM organization_daily_counts n
                         WHERE n.organization_id = h.organization_id
                           AND n.day > h.day AND n.day <= $1)",
    )
    .bind::<Date, _>(cutoff)
    .execute(conn)
    .await?;
    Ok(packages + organizations)
}

/// The width of one point of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interval {
    #[default]
    Day,
    /// Weeks start on Monday (ISO 8601).
    Week,
    Month,
}

impl Interval {
    /// The unit `date_trunc` and `interval` understand.
    fn unit(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
        }
    }
}

/// A package's counts at the end of one period.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct PackagePoint {
    /// The period's first day.
    #[diesel(sql_type = Date)]
    pub period: NaiveDate,
    #[diesel(sql_type = Integer)]
    pub dependents_count: i32,
    #[diesel(sql_type = Integer)]
    pub organizations_count: i32,
    #[diesel(sql_type = BigInt)]
    pub stars_sum: i64,
    #[diesel(sql_type = Jsonb)]
    kinds: serde_json::Value,
}

impl PackagePoint {
    /// Counted dependents per kind (the edge's primary kind).
    pub fn kinds(&self) -> BTreeMap<String, i64> {
        serde_json::from_value(self.kinds.clone()).unwrap_or_default()
    }
}

/// An organization's counts at the end of one period.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct OrganizationPoint {
    #[diesel(sql_type = Date)]
    pub period: NaiveDate,
    #[diesel(sql_type = Integer)]
    pub repositories_count: i32,
    #[diesel(sql_type = BigInt)]
    pub stars_total: i64,
    #[diesel(sql_type = Integer)]
    pub packages_count: i32,
}

/// One point per `interval` from `from` to `to` (inclusive): the counts of the latest row
/// at or before the period's last day (or `to`). Periods before the first recorded row
/// are left out.
pub async fn package_series(
    conn: &mut AsyncPgConnection,
    package_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    interval: Interval,
) -> QueryResult<Vec<PackagePoint>> {
    diesel::sql_query(
        "SELECT p.start::date AS period, h.dependents_count, h.organizations_count,
                h.stars_sum, h.kinds
           FROM generate_series(date_trunc($2, $3::timestamp), $4::timestamp,
                                ('1 ' || $2)::interval) AS p(start)
           JOIN LATERAL (
                SELECT dependents_count, organizations_count, stars_sum, kinds
                  FROM package_daily_counts
                 WHERE package_id = $1
                   AND day <= least((p.start + ('1 ' || $2)::interval)::date - 1, $4)
                 ORDER BY day DESC LIMIT 1) h ON true
          ORDER BY p.start",
    )
    .bind::<SqlUuid, _>(package_id)
    .bind::<Text, _>(interval.unit())
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)
    .await
}

/// [`package_series`] for an organization.
pub async fn organization_series(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    interval: Interval,
) -> QueryResult<Vec<OrganizationPoint>> {
    diesel::sql_query(
        "SELECT p.start::date AS period, h.repositories_count, h.stars_total, h.packages_count
           FROM generate_series(date_trunc($2, $3::timestamp), $4::timestamp,
                                ('1 ' || $2)::interval) AS p(start)
           JOIN LATERAL (
                SELECT repositories_count, stars_total, packages_count
                  FROM organization_daily_counts
                 WHERE organization_id = $1
                   AND day <= least((p.start + ('1 ' || $2)::interval)::date - 1, $4)
                 ORDER BY day DESC LIMIT 1) h ON true
          ORDER BY p.start",
    )
    .bind::<SqlUuid, _>(organization_id)
    .bind::<Text, _>(interval.unit())
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)
    .await
}

/// The first day a package has counts recorded for, if any.
pub async fn package_recorded_from(
    conn: &mut AsyncPgConnection,
    package_id: Uuid,
) -> QueryResult<Option<NaiveDate>> {
    use crate::schema::package_daily_counts::dsl as h;

    h::package_daily_counts
        .filter(h::package_id.eq(package_id))
        .select(diesel::dsl::min(h::day))
        .get_result(conn)
        .await
}

/// Today in UTC: the day a snapshot taken now is recorded under.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}
