//! A statement's plan as PostgreSQL ran it: `EXPLAIN (ANALYZE, BUFFERS)` in front of the
//! very statement diesel builds, with its bound parameters, so a benchmark reports the
//! plan of what the API runs and not of a hand-copied SQL text.

use diesel::{
    pg::Pg,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    sql_types::Text,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// `statement` run under `EXPLAIN (ANALYZE, BUFFERS)`; loads the plan's lines.
#[derive(Debug, Clone)]
pub struct Explain<Q>(pub Q);

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = Text;
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql("EXPLAIN (ANALYZE, BUFFERS) ");
        self.0.walk_ast(out.reborrow())
    }
}

/// Runs `statement` under `EXPLAIN (ANALYZE, BUFFERS)` and returns the plan's text.
pub async fn explain<Q>(conn: &mut AsyncPgConnection, statement: Q) -> diesel::QueryResult<String>
where
    Q: QueryFragment<Pg> + Send + 'static,
{
    let lines: Vec<String> = Explain(statement).load(conn).await?;
    Ok(lines.join("\n"))
}

/// The SQL text of `statement` with its bound parameters listed after it, as
/// `diesel::debug_query` prints them.
pub fn sql<Q: QueryFragment<Pg>>(statement: &Q) -> String {
    diesel::debug_query::<Pg, _>(statement).to_string()
}
