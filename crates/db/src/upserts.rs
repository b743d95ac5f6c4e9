//! Batch upserts of organizations, repositories and packages.
//!
//! Each is one multi-row `INSERT … ON CONFLICT` per batch that rewrites a row only when a
//! value actually changed, so the same input twice leaves identical rows (`updated_at`
//! included), followed by one query for the ids.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::{dsl::now, prelude::*, upsert::excluded};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::{Ecosystem, OrganizationKind};

use crate::schema::{organizations, packages, repositories};

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
    kind: &'a str,
}

/// Inserts or updates organizations; returns their ids in input order.
pub async fn upsert_organizations(
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
            kind: o.kind.as_str(),
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

/// A repository as a provider reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryInput {
    pub host: String,
    pub full_name: String,
    pub organization_id: Uuid,
    pub description: Option<String>,
    pub language: Option<String>,
    pub default_branch: Option<String>,
    pub stars: i32,
    pub forks: i32,
    pub archived: bool,
    pub fork: bool,
    pub pushed_at: Option<DateTime<Utc>>,
    /// Moves whenever the repository's files may have changed (see the schema).
    pub change_token: Option<String>,
}

/// What an upsert found for one repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepositoryChange {
    /// Not known before.
    New,
    /// Known, and its change token moved: its manifests need parsing again.
    TokenMoved,
    /// Known, same change token.
    Unchanged,
}

/// The outcome of upserting one repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpsertedRepository {
    pub id: Uuid,
    pub change: RepositoryChange,
}

#[derive(Insertable)]
#[diesel(table_name = repositories)]
struct NewRepository<'a> {
    id: Uuid,
    organization_id: Uuid,
    host: &'a str,
    full_name: &'a str,
    description: Option<&'a str>,
    language: Option<&'a str>,
    default_branch: Option<&'a str>,
    stars: i32,
    forks: i32,
    archived: bool,
    fork: bool,
    pushed_at: Option<DateTime<Utc>>,
    change_token: Option<&'a str>,
}

/// Inserts or updates repositories; returns, in input order, their ids and whether they
/// are new or their change token moved (the caller enqueues parses for those).
pub async fn upsert_repositories(
    conn: &mut AsyncPgConnection,
    input: &[RepositoryInput],
) -> QueryResult<Vec<UpsertedRepository>> {
    use repositories::dsl as r;

    if input.is_empty() {
        return Ok(Vec::new());
    }
    let key = |host: &str, full_name: &str| (host.to_owned(), full_name.to_lowercase());
    let hosts: Vec<&str> = input.iter().map(|i| i.host.as_str()).collect();
    let names: Vec<String> = input.iter().map(|i| i.full_name.to_lowercase()).collect();
    let before: HashMap<(String, String), Option<String>> = r::repositories
        .filter(r::host.eq_any(&hosts))
        .filter(r::full_name_key.eq_any(&names))
        .select((r::host, r::full_name_key, r::change_token))
        .load::<(String, String, Option<String>)>(conn)
        .await?
        .into_iter()
        .map(|(host, name, token)| ((host, name), token))
        .collect();

    let mut seen = HashMap::new();
    let rows: Vec<NewRepository<'_>> = input
        .iter()
        .filter(|i| seen.insert(key(&i.host, &i.full_name), ()).is_none())
        .map(|i| NewRepository {
            id: Uuid::now_v7(),
            organization_id: i.organization_id,
            host: &i.host,
            full_name: &i.full_name,
            description: i.description.as_deref(),
            language: i.language.as_deref(),
            default_branch: i.default_branch.as_deref(),
            stars: i.stars,
            forks: i.forks,
            archived: i.archived,
            fork: i.fork,
            pushed_at: i.pushed_at,
            change_token: i.change_token.as_deref(),
        })
        .collect();
    let upsert = diesel::insert_into(r::repositories)
        .values(&rows)
        .on_conflict((r::host, r::full_name_key))
        .do_update()
        .set((
            r::organization_id.eq(excluded(r::organization_id)),
            r::full_name.eq(excluded(r::full_name)),
            r::description.eq(excluded(r::description)),
            r::language.eq(excluded(r::language)),
            r::default_branch.eq(excluded(r::default_branch)),
            r::stars.eq(excluded(r::stars)),
            r::forks.eq(excluded(r::forks)),
            r::archived.eq(excluded(r::archived)),
            r::fork.eq(excluded(r::fork)),
            r::pushed_at.eq(excluded(r::pushed_at)),
            r::change_token.eq(excluded(r::change_token)),
            // Discovery just listed it: it exists again.
            r::gone_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            r::updated_at.eq(now),
        ));
    // `ON CONFLICT … DO UPDATE … WHERE`: rewrite a row only when a value changed.
    diesel::query_dsl::methods::FilterDsl::filter(
        upsert,
        r::organization_id
            .is_distinct_from(excluded(r::organization_id))
            .or(r::full_name.is_distinct_from(excluded(r::full_name)))
            .or(r::description.is_distinct_from(excluded(r::description)))
            .or(r::language.is_distinct_from(excluded(r::language)))
            .or(r::default_branch.is_distinct_from(excluded(r::default_branch)))
            .or(r::stars.is_distinct_from(excluded(r::stars)))
            .or(r::forks.is_distinct_from(excluded(r::forks)))
            .or(r::archived.is_distinct_from(excluded(r::archived)))
            .or(r::fork.is_distinct_from(excluded(r::fork)))
            .or(r::pushed_at.is_distinct_from(excluded(r::pushed_at)))
            .or(r::change_token.is_distinct_from(excluded(r::change_token)))
            .or(r::gone_at.is_not_null()),
    )
    .execute(conn)
    .await?;

    let ids: HashMap<(String, String), Uuid> = r::repositories
        .filter(r::host.eq_any(&hosts))
        .filter(r::full_name_key.eq_any(&names))
        .select((r::host, r::full_name_key, r::id))
        .load::<(String, String, Uuid)>(conn)
        .await?
        .into_iter()
        .map(|(host, name, id)| ((host, name), id))
        .collect();
    input
        .iter()
        .map(|i| {
            let k = key(&i.host, &i.full_name);
            let id = ids
                .get(&k)
                .copied()
                .ok_or(diesel::result::Error::NotFound)?;
            let change = match before.get(&k) {
                None => RepositoryChange::New,
                Some(token) if *token != i.change_token => RepositoryChange::TokenMoved,
                Some(_) => RepositoryChange::Unchanged,
            };
            Ok(UpsertedRepository { id, change })
        })
        .collect()
}

#[derive(Insertable)]
#[diesel(table_name = packages)]
struct NewPackage<'a> {
    id: Uuid,
    ecosystem: &'a str,
    name: &'a str,
    normalized_name: String,
}

/// Makes sure every `(ecosystem, name)` has a package row; returns ids in input order.
/// Names are matched by their normalized form; an existing row keeps its spelling.
pub async fn upsert_packages(
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
            ecosystem: ecosystem.as_str(),
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

    let ecosystems: Vec<&str> = rows.iter().map(|r| r.ecosystem).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.normalized_name.as_str()).collect();
    let ids: HashMap<(String, String), Uuid> = p::packages
        .filter(p::ecosystem.eq_any(&ecosystems))
        .filter(p::normalized_name.eq_any(&names))
        .select((p::ecosystem, p::normalized_name, p::id))
        .load::<(String, String, Uuid)>(conn)
        .await?
        .into_iter()
        .map(|(e, n, id)| ((e, n), id))
        .collect();
    keyed
        .iter()
        .map(|(e, n)| {
            ids.get(&(e.as_str().to_owned(), n.clone()))
                .copied()
                .ok_or(diesel::result::Error::NotFound)
        })
        .collect()
}
