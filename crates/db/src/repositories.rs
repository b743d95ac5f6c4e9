//! Reads and small writes of repositories that the jobs need besides the batch upserts.

use chrono::{DateTime, Utc};
use diesel::{dsl::now, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{models::Repository, schema::repositories};

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
pub async fn organization_repository_ids(
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
pub async fn organization_totals(
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
pub async fn organization_top_repositories(
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
/// with `edges::replace_repository_edges(.., &[])`, which keeps the counts exact); returns
/// whether it went. One that came back or gained edges meanwhile stays.
pub async fn delete_gone(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    use crate::schema::dependencies;
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

/// Deletes organizations with no repositories that were created before `cutoff` (younger
/// ones may be about to receive the repositories a scrape is writing); returns their
/// `(host, login)`.
pub async fn delete_empty_organizations(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
) -> QueryResult<Vec<(String, String)>> {
    use crate::schema::organizations;
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
