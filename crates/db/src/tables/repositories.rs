//! `repositories`: one row per (host, full name), the repositories whose manifests wump
//! reads, with what the host says about them and when they were parsed or found gone.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::{dsl::now, prelude::*, upsert::excluded};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::{dependencies, repositories};

/// A repository whose manifests wump reads.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = repositories, check_for_backend(diesel::pg::Pg))]
pub struct Repository {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub host: String,
    pub full_name: String,
    pub description: Option<String>,
    pub language: Option<String>,
    pub default_branch: Option<String>,
    pub stars: i32,
    pub forks: i32,
    pub archived: bool,
    pub fork: bool,
    pub pushed_at: Option<DateTime<Utc>>,
    pub change_token: Option<String>,
    pub parsed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When a parse last found it gone from its host; `None` while it exists.
    pub gone_at: Option<DateTime<Utc>>,
}

/// The repository `full_name` on `host` (case-insensitive).
pub async fn find(
    conn: &mut AsyncPgConnection,
    host: &str,
    full_name: &str,
) -> QueryResult<Option<Repository>> {
    repositories::table
        .filter(repositories::host.eq(host))
        .filter(repositories::full_name_key.eq(full_name.to_lowercase()))
        .select(Repository::as_select())
        .first(conn)
        .await
        .optional()
}

/// Records that the repository's manifests were just read (its edges are current) and
/// that it exists.
pub async fn mark_parsed(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    let updated = diesel::update(repositories::table.find(id))
        .set((
            repositories::parsed_at.eq(now),
            repositories::gone_at.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    if updated == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(())
}

/// Those of `ids` whose manifests were never read.
pub async fn never_parsed(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    repositories::table
        .filter(repositories::id.eq_any(ids))
        .filter(repositories::parsed_at.is_null())
        .select(repositories::id)
        .order(repositories::id)
        .load(conn)
        .await
}

/// A page of an organization's repository ids, in id order after `after`.
pub async fn ids_of_organization(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    let mut q = repositories::table
        .filter(repositories::organization_id.eq(organization_id))
        .select(repositories::id)
        .order(repositories::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(repositories::id.gt(after));
    }
    q.load(conn).await
}

/// How many repositories an organization has and their star total, as stored.
pub async fn totals_of_organization(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
) -> QueryResult<(i64, i64)> {
    use diesel::dsl::{count_star, sum};
    let (count, stars): (i64, Option<i64>) = repositories::table
        .filter(repositories::organization_id.eq(organization_id))
        .select((count_star(), sum(repositories::stars)))
        .first(conn)
        .await?;
    Ok((count, stars.unwrap_or(0)))
}

/// The most-starred repositories of an organization (full names), at most `limit`.
pub async fn top_of_organization(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    limit: i64,
) -> QueryResult<Vec<String>> {
    repositories::table
        .filter(repositories::organization_id.eq(organization_id))
        .select(repositories::full_name)
        .order((repositories::stars.desc(), repositories::id.asc()))
        .limit(limit)
        .load(conn)
        .await
}

/// Records that the host no longer has the repository (its edges are already gone); a
/// repository already marked keeps the time it was first found gone. `parsed_at` is
/// cleared, so a scrape that lists the repository again has it parsed again (its token may
/// not have moved, but its edges are gone).
pub async fn mark_gone(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    let updated = diesel::update(repositories::table.find(id))
        .set((
            repositories::parsed_at.eq(None::<DateTime<Utc>>),
            repositories::gone_at.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
            >("coalesce(gone_at, now())")),
        ))
        .execute(conn)
        .await?;
    if updated == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(())
}

/// Up to `limit` repositories found gone before `cutoff`, oldest first: `(id,
/// organization_id)`.
pub async fn gone_before(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<(Uuid, Uuid)>> {
    repositories::table
        .filter(repositories::gone_at.lt(cutoff))
        .select((repositories::id, repositories::organization_id))
        .order((repositories::gone_at.asc(), repositories::id.asc()))
        .limit(limit)
        .load(conn)
        .await
}

/// Deletes a repository that is still marked gone and has no edges left (remove them first
/// with [`crate::edges::replace_repository_edges`]`(.., &[])`, which keeps the counts exact); returns
/// whether it went. One that came back or gained edges meanwhile stays.
pub async fn delete_gone(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    let deleted = diesel::delete(
        repositories::table
            .filter(repositories::id.eq(id))
            .filter(repositories::gone_at.is_not_null())
            .filter(diesel::dsl::not(diesel::dsl::exists(
                dependencies::table.filter(dependencies::repository_id.eq(id)),
            ))),
    )
    .execute(conn)
    .await?;
    Ok(deleted == 1)
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
///
/// One multi-row `INSERT … ON CONFLICT` per batch that rewrites a row only when a value
/// actually changed, so the same input twice leaves identical rows (`updated_at`
/// included), then one query for the ids.
pub async fn upsert(
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

/// A page of an organization's repositories, most-starred first, after `(stars, id)`.
pub async fn of_organization(
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

/// What the edges of a repository copy from it.
pub(crate) struct EdgeCopies {
    pub organization_id: Uuid,
    pub stars: i32,
    pub pushed_at: Option<DateTime<Utc>>,
    pub archived: bool,
    pub fork: bool,
}

/// Locks the repository row (`FOR UPDATE`) and reads what its edges copy (for the edge
/// writers, inside their transaction). Fails with `NotFound` when it does not exist.
pub(crate) async fn lock_for_edges(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<EdgeCopies> {
    let (organization_id, stars, pushed_at, archived, fork) = repositories::table
        .find(id)
        .select((
            repositories::organization_id,
            repositories::stars,
            repositories::pushed_at,
            repositories::archived,
            repositories::fork,
        ))
        .for_update()
        .first::<(Uuid, i32, Option<DateTime<Utc>>, bool, bool)>(conn)
        .await?;
    Ok(EdgeCopies {
        organization_id,
        stars,
        pushed_at,
        archived,
        fork,
    })
}

/// Locks those of `ids` that exist (`FOR UPDATE`, in id order, so concurrent writers
/// queue instead of deadlocking); returns them in that order.
pub(crate) async fn lock(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    repositories::table
        .filter(repositories::id.eq_any(ids))
        .order(repositories::id)
        .select(repositories::id)
        .for_update()
        .load(conn)
        .await
}
