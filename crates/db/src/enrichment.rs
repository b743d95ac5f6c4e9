//! Writers of what enrichment learns (organization profiles and funding, package metadata)
//! and the lookups the jobs need to invalidate cached answers.
//!
//! The writers rewrite a row only when a value changed, so enriching twice leaves identical
//! rows (`updated_at` and the `*_at` stamps included).

use diesel::{
    prelude::*,
    sql_types::{BigInt, Integer, Jsonb, Nullable, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::{Ecosystem, FundingLink};

use crate::{
    models::{Package, funding_json},
    schema::{organizations, package_organizations, packages},
};

/// What enrichment stores about an organization.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrganizationProfile {
    pub name: Option<String>,
    pub description: Option<String>,
    pub website_url: Option<String>,
    pub sponsors_listing_url: Option<String>,
    pub funding: Vec<FundingLink>,
    pub repositories_count: i32,
    pub stars_total: i64,
}

/// Stores an organization's profile; stamps `enriched_at` and `updated_at` only when a
/// value changed or it was never enriched. Returns whether the row was written; fails with
/// `NotFound` when the organization does not exist.
pub async fn update_organization_profile(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    profile: &OrganizationProfile,
) -> QueryResult<bool> {
    let exists: i64 = organizations::table
        .filter(organizations::id.eq(id))
        .count()
        .get_result(conn)
        .await?;
    if exists == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    let written = diesel::sql_query(
        "UPDATE organizations
            SET name = $2, description = $3, website_url = $4, sponsors_listing_url = $5,
                funding = $6, repositories_count = $7, stars_total = $8,
                enriched_at = now(), updated_at = now()
          WHERE id = $1
            AND (enriched_at IS NULL
                 OR (name, description, website_url, sponsors_listing_url, funding,
                     repositories_count, stars_total)
                    IS DISTINCT FROM ($2, $3, $4, $5, $6, $7, $8))",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Nullable<Text>, _>(profile.name.as_deref())
    .bind::<Nullable<Text>, _>(profile.description.as_deref())
    .bind::<Nullable<Text>, _>(profile.website_url.as_deref())
    .bind::<Nullable<Text>, _>(profile.sponsors_listing_url.as_deref())
    .bind::<Jsonb, _>(funding_json(&profile.funding))
    .bind::<Integer, _>(profile.repositories_count)
    .bind::<BigInt, _>(profile.stars_total)
    .execute(conn)
    .await?;
    Ok(written > 0)
}

/// Those of `ids` that were never enriched, as `(id, host, login)`.
pub async fn unenriched_organizations(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    organizations::table
        .filter(organizations::id.eq_any(ids))
        .filter(organizations::enriched_at.is_null())
        .select((organizations::id, organizations::host, organizations::login))
        .order(organizations::id)
        .load(conn)
        .await
}

/// Up to `limit` organizations with an id above `after`, as `(id, host, login)` in id order:
/// page through every organization by passing the last id back.
pub async fn organizations_after(
    conn: &mut AsyncPgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<(Uuid, String, String)>> {
    let mut query = organizations::table
        .select((organizations::id, organizations::host, organizations::login))
        .order(organizations::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(organizations::id.gt(after));
    }
    query.load(conn).await
}

/// What a registry says about a package, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackageMetadataInput {
    pub description: Option<String>,
    pub homepage_url: Option<String>,
    pub repository_url: Option<String>,
    pub latest_version: Option<String>,
    pub funding: Vec<FundingLink>,
}

/// Packages of `ecosystems` whose metadata was never fetched, most depended-on first.
pub async fn packages_lacking_metadata(
    conn: &mut AsyncPgConnection,
    ecosystems: &[Ecosystem],
    limit: i64,
) -> QueryResult<Vec<Package>> {
    if ecosystems.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = ecosystems.iter().map(|e| e.as_str()).collect();
    packages::table
        .filter(packages::metadata_refreshed_at.is_null())
        .filter(packages::ecosystem.eq_any(ids))
        .select(Package::as_select())
        .order((packages::dependents_count.desc(), packages::id.asc()))
        .limit(limit)
        .load(conn)
        .await
}

/// Stores a package's metadata, or with `None` records that the registry has none (so it is
/// not asked again). Writes only when a value changed or it was never refreshed; returns
/// whether the row was written.
pub async fn update_package_metadata(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    metadata: Option<&PackageMetadataInput>,
) -> QueryResult<bool> {
    let written = match metadata {
        Some(m) => {
            diesel::sql_query(
                "UPDATE packages
                    SET description = $2, homepage_url = $3, repository_url = $4,
                        latest_version = $5, funding = $6,
                        metadata_refreshed_at = now(), updated_at = now()
                  WHERE id = $1
                    AND (metadata_refreshed_at IS NULL
                         OR (description, homepage_url, repository_url, latest_version, funding)
                            IS DISTINCT FROM ($2, $3, $4, $5, $6))",
            )
            .bind::<SqlUuid, _>(id)
            .bind::<Nullable<Text>, _>(m.description.as_deref())
            .bind::<Nullable<Text>, _>(m.homepage_url.as_deref())
            .bind::<Nullable<Text>, _>(m.repository_url.as_deref())
            .bind::<Nullable<Text>, _>(m.latest_version.as_deref())
            .bind::<Jsonb, _>(funding_json(&m.funding))
            .execute(conn)
            .await?
        }
        None => {
            diesel::sql_query(
                "UPDATE packages SET metadata_refreshed_at = now(), updated_at = now()
                  WHERE id = $1 AND metadata_refreshed_at IS NULL",
            )
            .bind::<SqlUuid, _>(id)
            .execute(conn)
            .await?
        }
    };
    Ok(written > 0)
}

/// `(ecosystem, normalized name)` of each package in `ids` (unknown ids are left out).
pub async fn package_keys(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    packages::table
        .filter(packages::id.eq_any(ids))
        .select((packages::ecosystem, packages::normalized_name))
        .order(packages::id)
        .load(conn)
        .await
}

/// `(host, login)` of each organization in `ids` (unknown ids are left out).
pub async fn organization_keys(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    organizations::table
        .filter(organizations::id.eq_any(ids))
        .select((organizations::host, organizations::login))
        .order(organizations::id)
        .load(conn)
        .await
}

/// Every package an organization's counted repositories depend on.
pub async fn organization_package_ids(
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
