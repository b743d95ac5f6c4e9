//! `wump-bench data SIZE`: a realistic dataset of SIZE generated straight into its own
//! database (`wump_bench_<size>` on the development server), checked against the API's
//! listings, and measured on disk.

pub mod check;
pub mod copy;
pub mod load;
pub mod shape;

use std::{sync::Arc, time::Instant};

use anyhow::Context as _;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};

pub use self::shape::{Dataset, Size};

/// What a run produced, for the report.
#[derive(Debug)]
pub struct Outcome {
    pub size: Size,
    pub seed: u64,
    pub database: String,
    pub loaded: load::Loaded,
    pub seconds: f64,
    pub checked: Vec<check::Checked>,
    pub relations: Vec<Relation>,
    /// The most dependents any package has, and the median over packages with any.
    pub top_dependents: i64,
    pub median_dependents: i64,
}

/// Bytes on disk of one table (heap and TOAST) or one of its indexes.
#[derive(Debug)]
pub struct Relation {
    pub table: String,
    /// `None` for the table itself.
    pub index: Option<String>,
    pub bytes: i64,
}

/// The database `just bench-data SIZE` writes and `just bench` reads.
pub fn database_name(size: Size) -> String {
    format!("wump_bench_{}", size.name)
}

/// Generates `size` from `seed` into `database` (dropped first if it exists; its name must
/// start with `wump_bench_`) on the server of `server_url`.
pub async fn generate(
    server_url: &SecretString,
    database: &str,
    size: Size,
    seed: u64,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let url = wump_db::test_support::with_database(server_url.expose_secret(), database);
    recreate(server_url.expose_secret(), database).await?;
    let mut settings = wump_db::test_support::server_settings();
    settings.url = SecretString::from(url.clone());
    wump_db::migrations::migrate(&settings)
        .await
        .context("migrating the bench database")?;

    let planned = Instant::now();
    let dataset = Arc::new(Dataset::plan(size, seed));
    eprintln!(
        "[bench] planned {} packages, {} organizations, {} repositories in {:.1} s",
        dataset.packages.len(),
        dataset.organizations.len(),
        dataset.repositories.len(),
        planned.elapsed().as_secs_f64()
    );
    let loaded = load::load(&url, Arc::clone(&dataset)).await?;
    let seconds = started.elapsed().as_secs_f64();

    let mut conn = AsyncPgConnection::establish(&url).await?;
    let checked = check::check(&mut conn, &dataset).await?;
    let client = load::connect(&url).await?;
    let relations = relations(&client).await?;
    let spread = client
        .query_one(
            "SELECT max(dependents_count)::int8,
                    (percentile_disc(0.5) WITHIN GROUP (ORDER BY dependents_count)
                       FILTER (WHERE dependents_count > 0))::int8
               FROM packages",
            &[],
        )
        .await?;
    Ok(Outcome {
        size,
        seed,
        database: database.to_owned(),
        loaded,
        seconds,
        checked,
        relations,
        top_dependents: spread.get(0),
        median_dependents: spread.get(1),
    })
}

/// Drops `database` (the bench's own, never the development one).
pub async fn drop_database(server_url: &str, database: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        database.starts_with("wump_bench_"),
        "refusing to drop {database}"
    );
    load::connect(server_url)
        .await?
        .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .await?;
    Ok(())
}

/// Drops and creates `database` (the bench's own, never the development one).
async fn recreate(server_url: &str, database: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        database.starts_with("wump_bench_"),
        "refusing to recreate {database}"
    );
    let admin = load::connect(server_url).await?;
    // Two statements, two round trips: neither may run inside a transaction block, which
    // is what one multi-statement query would be.
    for statement in [
        format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
        format!("CREATE DATABASE {database}"),
    ] {
        admin
            .batch_execute(&statement)
            .await
            .with_context(|| format!("recreating database {database}: {statement}"))?;
    }
    Ok(())
}

async fn relations(client: &tokio_postgres::Client) -> anyhow::Result<Vec<Relation>> {
    let tables: Vec<String> = load::TABLES.iter().map(|t| (*t).to_owned()).collect();
    let rows = client
        .query(
            "SELECT t.relname::text, NULL::text, pg_table_size(t.oid)
               FROM pg_class t WHERE t.relname = ANY($1) AND t.relkind = 'r'
             UNION ALL
             SELECT t.relname::text, i.relname::text, pg_relation_size(i.oid)
               FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid
               JOIN pg_class i ON i.oid = x.indexrelid
              WHERE t.relname = ANY($1)
              ORDER BY 1, 2 NULLS FIRST",
            &[&tables],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| Relation {
            table: row.get(0),
            index: row.get(1),
            bytes: row.get(2),
        })
        .collect())
}
