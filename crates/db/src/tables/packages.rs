//! `packages`: one row per (ecosystem, normalized name), with registry metadata and the
//! dependents counts the edge writers keep ([`crate::edges`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, Integer, Jsonb, Nullable, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::{Ecosystem, FundingLink};

use crate::{funding::funding_json, schema::packages};

/// A package known to wump, with its stored dependents counts.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = packages, check_for_backend(diesel::pg::Pg))]
pub struct Package {
    pub id: Uuid,
    pub ecosystem: Ecosystem,
    pub name: String,
    pub normalized_name: String,
    pub description: Option<String>,
    pub homepage_url: Option<String>,
    pub repository_url: Option<String>,
    pub latest_version: Option<String>,
    pub funding: serde_json::Value,
    /// Repositories (neither archived nor forks) that depend on it.
    pub dependents_count: i32,
    /// Organizations owning those repositories.
    pub organizations_count: i32,
    pub metadata_refreshed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The package `name` in `ecosystem`, matched by its normalized name.
pub async fn by_name(
    conn: &mut AsyncPgConnection,
    ecosystem: Ecosystem,
    name: &str,
) -> QueryResult<Option<Package>> {
    packages::table
        .filter(packages::ecosystem.eq(ecosystem))
        .filter(packages::normalized_name.eq(ecosystem.normalize_name(name)))
        .select(Package::as_select())
        .first(conn)
        .await
        .optional()
}

/// The packages an organization publishes, as far as their registries say: those whose
/// repository URL (normalised by the providers to `https://{host}/{owner}/{repo}`) is
/// under `login` on `host`, compared case-insensitively; at most `limit`.
pub async fn owned_by(
    conn: &mut AsyncPgConnection,
    host: &str,
    login: &str,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    use packages::dsl as p;

    // LIKE wildcards in a login would widen the match: escape them.
    let login = login
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let prefix = format!("https://{}/{login}/%", host.to_ascii_lowercase());
    p::packages
        .filter(p::repository_url.ilike(prefix))
        .select(p::id)
        .order(p::id)
        .limit(limit)
        .load(conn)
        .await
}

/// `(ecosystem, normalized name)` of each package in `ids` (unknown ids are left out).
pub async fn keys(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(Ecosystem, String)>> {
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

#[derive(Insertable)]
#[diesel(table_name = packages)]
struct NewPackage<'a> {
    id: Uuid,
    ecosystem: Ecosystem,
    name: &'a str,
    normalized_name: String,
}

/// Makes sure every `(ecosystem, name)` has a package row; returns ids in input order.
/// Names are matched by their normalized form; an existing row keeps its spelling.
///
/// One multi-row `INSERT … ON CONFLICT DO NOTHING` per batch, then one query for the ids.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    input: &[(Ecosystem, &str)],
) -> QueryResult<Vec<Uuid>> {
    use packages::dsl as p;

    if input.is_empty() {
        return Ok(Vec::new());
    }
    let keyed: Vec<(Ecosystem, String)> = input
        .iter()
        .map(|(e, name)| (*e, e.normalize_name(name)))
        .collect();
    let mut seen = HashMap::new();
    let rows: Vec<NewPackage<'_>> = input
        .iter()
        .zip(&keyed)
        .filter(|(_, k)| seen.insert((*k).clone(), ()).is_none())
        .map(|((ecosystem, name), (_, normalized))| NewPackage {
            id: Uuid::now_v7(),
            ecosystem: *ecosystem,
            name,
            normalized_name: normalized.clone(),
        })
        .collect();
    diesel::insert_into(p::packages)
        .values(&rows)
        .on_conflict((p::ecosystem, p::normalized_name))
        .do_nothing()
        .execute(conn)
        .await?;

    let ecosystems: Vec<Ecosystem> = rows.iter().map(|r| r.ecosystem).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.normalized_name.as_str()).collect();
    let ids: HashMap<(Ecosystem, String), Uuid> = p::packages
        .filter(p::ecosystem.eq_any(&ecosystems))
        .filter(p::normalized_name.eq_any(&names))
        .select((p::ecosystem, p::normalized_name, p::id))
        .load::<(Ecosystem, String, Uuid)>(conn)
        .await?
        .into_iter()
        .map(|(e, n, id)| ((e, n), id))
        .collect();
    keyed
        .iter()
        .map(|k| ids.get(k).copied().ok_or(diesel::result::Error::NotFound))
        .collect()
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
pub async fn lacking_metadata(
    conn: &mut AsyncPgConnection,
    ecosystems: &[Ecosystem],
    limit: i64,
) -> QueryResult<Vec<Package>> {
    if ecosystems.is_empty() {
        return Ok(Vec::new());
    }
    packages::table
        .filter(packages::metadata_refreshed_at.is_null())
        .filter(packages::ecosystem.eq_any(ecosystems))
        .select(Package::as_select())
        .order((packages::dependents_count.desc(), packages::id.asc()))
        .limit(limit)
        .load(conn)
        .await
}

/// Stores a package's metadata, or with `None` records that the registry has none (so it is
/// not asked again). Writes only when a value changed or it was never refreshed, so
/// enriching twice leaves an identical row; returns whether the row was written.
pub async fn update_metadata(
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

/// Adds the deltas to the stored counts of each package, in one statement (for the edge
/// writers only: the counts must move in the transaction that changes the edges).
pub(crate) async fn apply_count_deltas(
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
    packages::table
        .filter(packages::id.eq_any(&packages))
        .order(packages::id)
        .select(packages::id)
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

/// `(id, ecosystem, name)` of the packages among `ids` that exist, in no particular order
/// (a webhook subscription shows the packages it follows).
pub async fn names_of(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, Ecosystem, String)>> {
    packages::table
        .filter(packages::id.eq_any(ids))
        .select((packages::id, packages::ecosystem, packages::name))
        .load(conn)
        .await
}
