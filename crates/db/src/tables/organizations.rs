//! `organizations`: one row per (host, login), the owners of repositories (a GitHub
//! organization or user, or the owner folder of the local provider), with what enrichment
//! learned about them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::{
    dsl::now,
    prelude::*,
    sql_types::{Integer, Jsonb, Nullable, Text, Uuid as SqlUuid},
    upsert::excluded,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::{FundingLink, OrganizationKind};

use crate::{
    funding::funding_json,
    schema::{organizations, repositories},
};

/// A GitHub organization or user (or the owner folder of the local provider).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = organizations, check_for_backend(diesel::pg::Pg))]
pub struct Organization {
    pub id: Uuid,
    pub host: String,
    pub login: String,
    pub kind: OrganizationKind,
    pub name: Option<String>,
    pub description: Option<String>,
    pub website_url: Option<String>,
    pub sponsors_listing_url: Option<String>,
    pub funding: serde_json::Value,
    pub repositories_count: i32,
    pub stars_total: i64,
    pub enriched_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The organization `login` on `host` (case-insensitive).
pub async fn by_login(
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

/// The host preferred when a login exists on several.
pub const PREFERRED_HOST: &str = "github.com";

/// The host of the organization `login` (case-insensitive), for requests that name only a
/// login (a repository's host is its owner's): [`PREFERRED_HOST`] first, then by name.
/// Served by the trigram index on `login_key`, which answers equality too.
pub async fn host_of_login(
    conn: &mut AsyncPgConnection,
    login: &str,
) -> QueryResult<Option<String>> {
    organizations::table
        .filter(organizations::login_key.eq(login.to_lowercase()))
        .select(organizations::host)
        .order((
            organizations::host.eq(PREFERRED_HOST).desc(),
            organizations::host.asc(),
        ))
        .first(conn)
        .await
        .optional()
}

/// `(host, login)` of each organization in `ids` (unknown ids are left out).
pub async fn keys(
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

/// Up to `limit` organizations with an id above `after`, as `(id, host, login)` in id order:
/// page through every organization by passing the last id back.
pub async fn page_after(
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

/// Those of `ids` that were never enriched, as `(id, host, login)`.
pub async fn unenriched(
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

/// An organization as a provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationInput {
    pub host: String,
    pub login: String,
    pub kind: OrganizationKind,
}

#[derive(Insertable)]
#[diesel(table_name = organizations)]
struct NewOrganization<'a> {
    id: Uuid,
    host: &'a str,
    login: &'a str,
    kind: OrganizationKind,
}

/// Inserts or updates organizations; returns their ids in input order.
///
/// One multi-row `INSERT … ON CONFLICT` per batch that rewrites a row only when a value
/// actually changed, so the same input twice leaves identical rows (`updated_at`
/// included), then one query for the ids.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    input: &[OrganizationInput],
) -> QueryResult<Vec<Uuid>> {
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let key = |host: &str, login: &str| (host.to_owned(), login.to_lowercase());
    let mut seen = HashMap::new();
    let rows: Vec<NewOrganization<'_>> = input
        .iter()
        .filter(|o| seen.insert(key(&o.host, &o.login), ()).is_none())
        .map(|o| NewOrganization {
            id: Uuid::now_v7(),
            host: &o.host,
            login: &o.login,
            kind: o.kind,
        })
        .collect();
    let upsert = diesel::insert_into(organizations::table)
        .values(&rows)
        .on_conflict((organizations::host, organizations::login_key))
        .do_update()
        .set((
            organizations::login.eq(excluded(organizations::login)),
            organizations::kind.eq(excluded(organizations::kind)),
            organizations::updated_at.eq(now),
        ));
    // `ON CONFLICT … DO UPDATE … WHERE`: rewrite a row only when a value changed.
    diesel::query_dsl::methods::FilterDsl::filter(
        upsert,
        organizations::login
            .is_distinct_from(excluded(organizations::login))
            .or(organizations::kind.is_distinct_from(excluded(organizations::kind))),
    )
    .execute(conn)
    .await?;

    let hosts: Vec<&str> = rows.iter().map(|r| r.host).collect();
    let logins: Vec<String> = rows.iter().map(|r| r.login.to_lowercase()).collect();
    let ids: HashMap<(String, String), Uuid> = organizations::table
        .filter(organizations::host.eq_any(&hosts))
        .filter(organizations::login_key.eq_any(&logins))
        .select((
            organizations::host,
            organizations::login_key,
            organizations::id,
        ))
        .load::<(String, String, Uuid)>(conn)
        .await?
        .into_iter()
        .map(|(host, login, id)| ((host, login), id))
        .collect();
    input
        .iter()
        .map(|o| {
            ids.get(&key(&o.host, &o.login))
                .copied()
                .ok_or(diesel::result::Error::NotFound)
        })
        .collect()
}

/// What enrichment stores about an organization.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrganizationProfile {
    pub name: Option<String>,
    pub description: Option<String>,
    pub website_url: Option<String>,
    pub sponsors_listing_url: Option<String>,
    pub funding: Vec<FundingLink>,
    pub repositories_count: i32,
}

/// Stores an organization's profile, with `stars_total` summed over its stored
/// repositories as the row is written (see [`refresh_stars_totals`] for why then); stamps `enriched_at` and `updated_at` only when a
/// value changed or it was never enriched, so enriching twice leaves an identical row.
/// Returns whether the row was written; fails with `NotFound` when the organization does
/// not exist.
pub async fn update_profile(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    profile: &OrganizationProfile,
) -> QueryResult<bool> {
    conn.transaction(async |conn| {
        lock(conn, &[id]).await?;
        if !exists(conn, id).await? {
            return Err(diesel::result::Error::NotFound);
        }
        let written = diesel::sql_query(
            "WITH t AS (SELECT coalesce(sum(stars), 0)::int8 AS stars
                          FROM repositories WHERE organization_id = $1)
             UPDATE organizations
                SET name = $2, description = $3, website_url = $4, sponsors_listing_url = $5,
                    funding = $6, repositories_count = $7, stars_total = t.stars,
                    enriched_at = now(), updated_at = now()
               FROM t
              WHERE id = $1
                AND (enriched_at IS NULL
                     OR (name, description, website_url, sponsors_listing_url, funding,
                         repositories_count, stars_total)
                        IS DISTINCT FROM ($2, $3, $4, $5, $6, $7, t.stars))",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<Nullable<Text>, _>(profile.name.as_deref())
        .bind::<Nullable<Text>, _>(profile.description.as_deref())
        .bind::<Nullable<Text>, _>(profile.website_url.as_deref())
        .bind::<Nullable<Text>, _>(profile.sponsors_listing_url.as_deref())
        .bind::<Jsonb, _>(funding_json(&profile.funding))
        .bind::<Integer, _>(profile.repositories_count)
        .execute(conn)
        .await?;
        Ok(written > 0)
    })
    .await
}

/// Sets the `stars_total` of `ids` to the sum of their stored repositories' stars; returns
/// the organizations whose total changed.
///
/// Every writer of the total sums at the moment it writes, under the row's lock: a sum read
/// earlier (enrich reading while a scrape is still storing an organization's later
/// repositories) would be written over a newer one, and the total would stay short until
/// the next enrich. Taken in id order, the locks cannot deadlock; the sum runs after they
/// are held, so it sees every repository committed before.
pub async fn refresh_stars_totals(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    conn.transaction(async |conn| {
        lock(conn, ids).await?;
        diesel::sql_query(
            "UPDATE organizations o SET stars_total = t.stars, updated_at = now()
               FROM (SELECT i.id, coalesce(sum(r.stars), 0)::int8 AS stars
                       FROM unnest($1::uuid[]) AS i(id)
                       LEFT JOIN repositories r ON r.organization_id = i.id
                      GROUP BY i.id) t
              WHERE o.id = t.id AND o.stars_total IS DISTINCT FROM t.stars
             RETURNING o.id",
        )
        .bind::<diesel::sql_types::Array<SqlUuid>, _>(ids)
        .load::<ChangedId>(conn)
        .await
        .map(|rows| rows.into_iter().map(|r| r.id).collect())
    })
    .await
}

#[derive(QueryableByName)]
struct ChangedId {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Locks the rows of `ids` for this transaction, in id order.
async fn lock(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<()> {
    organizations::table
        .filter(organizations::id.eq_any(ids))
        .order(organizations::id)
        .select(organizations::id)
        .for_update()
        .load::<Uuid>(conn)
        .await
        .map(drop)
}

async fn exists(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        organizations::table.filter(organizations::id.eq(id)),
    ))
    .get_result(conn)
    .await
}

/// Deletes organizations with no repositories that were created before `cutoff` (younger
/// ones may be about to receive the repositories a scrape is writing); returns their
/// `(host, login)`.
pub async fn delete_empty(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
) -> QueryResult<Vec<(String, String)>> {
    diesel::delete(
        organizations::table
            .filter(organizations::created_at.lt(cutoff))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                repositories::table.filter(repositories::organization_id.eq(organizations::id)),
            ))),
    )
    .returning((organizations::host, organizations::login))
    .get_results(conn)
    .await
}
