//! Trigram search over package names or organization logins, keyset-paged by similarity.

use diesel::{
    pg::Pg,
    prelude::*,
    query_builder::{BoxedSqlQuery, SqlQuery},
    sql_types::{BigInt, Float, Nullable, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// A search hit with its trigram similarity to the query (0–1).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct SearchHit {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    /// The package's ecosystem, or the organization's host.
    #[diesel(sql_type = Text)]
    pub scope: String,
    #[diesel(sql_type = Float)]
    pub similarity: f32,
    #[diesel(sql_type = BigInt)]
    pub weight: i64,
}

/// What to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchTarget {
    Packages,
    Organizations,
}

/// Packages or organizations whose name resembles `text`, most similar first (ties: most
/// used, then id). `after` is the last hit's `(similarity, weight, id)`.
pub async fn search(
    conn: &mut AsyncPgConnection,
    target: SearchTarget,
    text: &str,
    after: Option<(f32, i64, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<SearchHit>> {
    search_query(target, text, after, limit).load(conn).await
}

/// The statement [`search`] runs, for [`crate::explain`].
pub fn search_query(
    target: SearchTarget,
    text: &str,
    after: Option<(f32, i64, Uuid)>,
    limit: i64,
) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
    let needle = text.trim().to_lowercase();
    let pattern = format!("%{}%", escape_like(&needle));
    let (source, weight) = match target {
        SearchTarget::Packages => (
            "SELECT id, name, ecosystem AS scope, normalized_name AS key,
                    dependents_count::int8 AS weight FROM packages",
            "weight",
        ),
        SearchTarget::Organizations => (
            "SELECT id, login AS name, host AS scope, login_key AS key,
                    stars_total AS weight FROM organizations",
            "weight",
        ),
    };
    let sql = format!(
        "SELECT id, name, scope, similarity(key, $1) AS similarity, {weight} AS weight
           FROM ({source}) s
          WHERE (key % $1 OR key LIKE $2)
            AND ($3::float4 IS NULL OR (similarity(key, $1), {weight}, id) < ($3, $4, $5))
          ORDER BY similarity(key, $1) DESC, {weight} DESC, id DESC
          LIMIT $6"
    );
    let (sim, w, id) = match after {
        Some((s, w, id)) => (Some(s), Some(w), Some(id)),
        None => (None, None, None),
    };
    diesel::sql_query(sql)
        .into_boxed()
        .bind::<Text, _>(needle)
        .bind::<Text, _>(pattern)
        .bind::<Nullable<Float>, _>(sim)
        .bind::<Nullable<BigInt>, _>(w)
        .bind::<Nullable<SqlUuid>, _>(id)
        .bind::<BigInt, _>(limit)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
