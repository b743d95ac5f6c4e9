//! What the pipeline stored, against what the generated tree says it should: every edge,
//! every package's dependents and organizations, every repository parsed, and the roll-ups
//! equal to a from-scratch aggregate over the edges.

use std::collections::BTreeMap;

use diesel::{
    QueryableByName,
    sql_types::{BigInt, Integer, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use wump_db::test_support::stored_and_recomputed_counts;

use super::tree::Expected;

/// Stored against expected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    pub edges: (i64, usize),
    pub repositories_parsed: (i64, usize),
    pub organizations: (i64, usize),
    pub packages: (i64, usize),
    /// Packages whose stored (dependents, organizations) differ from the tree's, with
    /// both sides (at most 10 listed).
    pub wrong_packages: Vec<String>,
    /// How many packages differ in all.
    pub wrong_package_count: usize,
    /// The roll-ups and the packages' counts equal a recount over the edges.
    pub rollups_consistent: bool,
    /// `(table, row updates, dead row versions, size in bytes)` of the tables every parse
    /// updates: where PostgreSQL's time goes.
    pub churn: Vec<(String, i64, i64, i64)>,
}

impl Checked {
    /// Everything the tree declares is stored, with the right counts.
    pub fn agrees(&self) -> bool {
        self.edges.0 as usize == self.edges.1
            && self.repositories_parsed.0 as usize == self.repositories_parsed.1
            && self.organizations.0 as usize == self.organizations.1
            && self.packages.0 as usize == self.packages.1
            && self.wrong_package_count == 0
            && self.rollups_consistent
    }

    /// One line for logs and the report.
    pub fn summary(&self) -> String {
        format!(
            "edges {}/{}, repositories parsed {}/{}, organizations {}/{}, packages {}/{}, \
             packages with wrong counts {}, roll-ups consistent: {}{}",
            self.edges.0,
            self.edges.1,
            self.repositories_parsed.0,
            self.repositories_parsed.1,
            self.organizations.0,
            self.organizations.1,
            self.packages.0,
            self.packages.1,
            self.wrong_package_count,
            self.rollups_consistent,
            if self.wrong_packages.is_empty() {
                String::new()
            } else {
                format!(" (e.g. {})", self.wrong_packages.join("; "))
            }
        )
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Churn {
    #[diesel(sql_type = Text)]
    relname: String,
    #[diesel(sql_type = BigInt)]
    updates: i64,
    #[diesel(sql_type = BigInt)]
    dead: i64,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

#[derive(QueryableByName)]
struct PackageCounts {
    #[diesel(sql_type = Text)]
    ecosystem: String,
    #[diesel(sql_type = Text)]
    normalized_name: String,
    #[diesel(sql_type = Integer)]
    dependents_count: i32,
    #[diesel(sql_type = Integer)]
    organizations_count: i32,
}

async fn count(conn: &mut AsyncPgConnection, sql: &str) -> diesel::QueryResult<i64> {
    Ok(diesel::sql_query(sql).get_result::<Count>(conn).await?.n)
}

/// Compares the database behind `conn` with `expected`.
pub async fn check(
    conn: &mut AsyncPgConnection,
    expected: &Expected,
) -> diesel::QueryResult<Checked> {
    let edges = count(conn, "SELECT count(*) AS n FROM dependencies").await?;
    let parsed = count(
        conn,
        "SELECT count(*) AS n FROM repositories WHERE parsed_at IS NOT NULL",
    )
    .await?;
    let organizations = count(conn, "SELECT count(*) AS n FROM organizations").await?;
    let stored: Vec<PackageCounts> = diesel::sql_query(
        "SELECT ecosystem, normalized_name, dependents_count, organizations_count FROM packages",
    )
    .load(conn)
    .await?;
    let stored: BTreeMap<(String, String), (i64, i64)> = stored
        .into_iter()
        .map(|p| {
            (
                (p.ecosystem, p.normalized_name),
                (
                    i64::from(p.dependents_count),
                    i64::from(p.organizations_count),
                ),
            )
        })
        .collect();
    let mut wrong = Vec::new();
    for (key, want) in &expected.packages {
        let got = stored.get(key).copied();
        if got != Some(*want) {
            wrong.push(format!(
                "{}/{}: stored {got:?}, declared {want:?}",
                key.0, key.1
            ));
        }
    }
    let wrong_package_count = wrong.len();
    wrong.truncate(10);
    let churn: Vec<Churn> = diesel::sql_query(
        "SELECT relname::text AS relname, n_tup_upd AS updates, n_dead_tup AS dead,
                pg_total_relation_size(relid) AS bytes
           FROM pg_stat_user_tables
          WHERE relname IN ('packages', 'package_organizations', 'dependencies', 'repositories')
          ORDER BY relname",
    )
    .load(conn)
    .await?;
    let [(rollups, recomputed_rollups), (counts, recomputed_counts)] =
        stored_and_recomputed_counts(conn).await?;
    Ok(Checked {
        edges: (edges, expected.edges),
        repositories_parsed: (parsed, expected.repositories),
        organizations: (organizations, expected.organizations),
        packages: (stored.len() as i64, expected.packages.len()),
        wrong_packages: wrong,
        wrong_package_count,
        rollups_consistent: rollups == recomputed_rollups && counts == recomputed_counts,
        churn: churn
            .into_iter()
            .map(|c| (c.relname, c.updates, c.dead, c.bytes))
            .collect(),
    })
}
