//! `package_organizations`: the roll-up of counted edges per (package, organization) —
//! how many of the organization's repositories use the package and their star sum.
//!
//! Rows are recomputed only by [`crate::edges`], in the transaction that changes the edges
//! they sum: the writes here are crate-private for that reason.

use diesel::{dsl::now, prelude::*, sql_types::Uuid as SqlUuid, upsert::excluded};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::package_organizations;

/// Every package an organization's counted repositories depend on.
pub async fn package_ids_of_organization(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    package_organizations::table
        .filter(package_organizations::organization_id.eq(organization_id))
        .select(package_organizations::package_id)
        .order(package_organizations::package_id)
        .load(conn)
        .await
}

/// The stars of a package's counted dependents: the sum of its roll-up rows (an
/// index-only range of `package_organizations_by_stars`, one entry per organization).
pub async fn stars_of_package(conn: &mut AsyncPgConnection, package_id: Uuid) -> QueryResult<i64> {
    package_organizations::table
        .filter(package_organizations::package_id.eq(package_id))
        .select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "coalesce(sum(stars_sum), 0)::int8",
        ))
        .get_result(conn)
        .await
}

/// A roll-up row as recomputed from its edges.
#[derive(Insertable)]
#[diesel(table_name = package_organizations)]
pub(crate) struct RollupRow {
    pub package_id: Uuid,
    pub organization_id: Uuid,
    pub repositories_count: i32,
    pub stars_sum: i64,
}

/// Writes `rows`, rewriting an existing row only when its count or star sum changed.
pub(crate) async fn upsert(conn: &mut AsyncPgConnection, rows: &[RollupRow]) -> QueryResult<()> {
    use package_organizations::dsl as po;

    let upsert = diesel::insert_into(po::package_organizations)
        .values(rows)
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
    Ok(())
}

/// Deletes the rows of the pairs `(packages[i], organizations[i])`.
pub(crate) async fn delete_pairs(
    conn: &mut AsyncPgConnection,
    packages: &[Uuid],
    organizations: &[Uuid],
) -> QueryResult<()> {
    diesel::sql_query(
        "DELETE FROM package_organizations po
          USING unnest($1::uuid[], $2::uuid[]) AS g(package_id, organization_id)
          WHERE po.package_id = g.package_id AND po.organization_id = g.organization_id",
    )
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(packages)
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(organizations)
    .execute(conn)
    .await?;
    Ok(())
}
