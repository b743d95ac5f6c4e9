//! `wump-bench history`: what history costs on a generated dataset — the daily snapshot job
//! (first run, and again with nothing changed), the migration's backfill of
//! `package_organizations.first_seen_at`, and a package's series and events read back (a
//! year of them written for the top package first) —
//! each against one plain scan of the counted edges measured in the same run.
//!
//! The dataset is left as it was: the history rows written are deleted at the end.

use std::{fmt::Write as _, time::Instant};

use anyhow::Context as _;
use clap::Args as ClapArgs;
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;
use wump_db::{
    history::{self, Interval},
    tables::dependency_events::{self, EventFilter},
};

use crate::{
    data::{Size, database_name},
    report::{Provenance, write_section},
};

/// Arguments of `wump-bench history`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The dataset (`small` or `large`), made by `just bench-data SIZE`.
    #[arg(long, default_value = "small")]
    size: String,
    /// Runs of each measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Where the figures go.
    #[arg(long, default_value = "docs/benchmarks.md")]
    report: std::path::PathBuf,
    /// The PostgreSQL server (its database name is replaced by `wump_bench_<size>`).
    #[arg(long, env = "WUMP__DATABASE__URL", hide_env_values = true)]
    database_url: String,
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = BigInt)]
    edges: i64,
}

#[derive(QueryableByName)]
struct Top {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// One measured statement: its median over the runs, in seconds.
struct Figure {
    what: &'static str,
    seconds: f64,
    rows: usize,
}

/// The median of `runs` timings of `op` (which returns the rows it touched).
async fn median(
    runs: usize,
    mut op: impl AsyncFnMut() -> anyhow::Result<usize>,
) -> anyhow::Result<(f64, usize)> {
    let mut times = Vec::with_capacity(runs);
    let mut rows = 0;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        rows = op().await?;
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], rows))
}

/// Measures and writes the `bench-history` section.
pub async fn main(args: Args) -> anyhow::Result<std::process::ExitCode> {
    let size = Size::named(&args.size).with_context(|| format!("unknown size `{}`", args.size))?;
    let server = SecretString::from(args.database_url);
    let url = wump_db::test_support::with_database(server.expose_secret(), &database_name(size));
    let mut conn = AsyncPgConnection::establish(&url).await.with_context(|| {
        format!(
            "no {} database: run `just bench-data {}` first",
            database_name(size),
            size.name
        )
    })?;
    let runs = args.runs;
    let today = history::today();
    let mut figures = Vec::new();

    let (seconds, edges) = median(runs, async || {
        let counted: Counted = diesel::sql_query(
            "SELECT count(*)::int8 AS edges FROM dependencies
              WHERE NOT repo_archived AND NOT repo_fork",
        )
        .get_result(&mut conn)
        .await?;
        Ok(usize::try_from(counted.edges).unwrap_or(0))
    })
    .await?;
    let baseline = seconds;
    figures.push(Figure {
        what: "baseline: count the counted edges (one scan)",
        seconds,
        rows: edges,
    });

    // The first snapshot writes every used package; later ones the same day, nothing.
    clear(&mut conn).await?;
    let started = Instant::now();
    let written = history::snapshot_packages(&mut conn, today).await?;
    figures.push(Figure {
        what: "snapshot: packages, first run (a row per used package)",
        seconds: started.elapsed().as_secs_f64(),
        rows: written,
    });
    let (seconds, rows) = median(runs, async || {
        Ok(history::snapshot_packages(&mut conn, today).await?)
    })
    .await?;
    figures.push(Figure {
        what: "snapshot: packages, nothing changed",
        seconds,
        rows,
    });
    let started = Instant::now();
    let written = history::snapshot_organizations(&mut conn, today).await?;
    figures.push(Figure {
        what: "snapshot: organizations, first run",
        seconds: started.elapsed().as_secs_f64(),
        rows: written,
    });
    let (seconds, rows) = median(runs, async || {
        Ok(history::snapshot_organizations(&mut conn, today).await?)
    })
    .await?;
    figures.push(Figure {
        what: "snapshot: organizations, nothing changed",
        seconds,
        rows,
    });

    // The backfill migration 2026-12-06-000005 runs once on an existing database.
    let (seconds, rows) = median(runs, async || {
        Ok(diesel::sql_query(
            "UPDATE package_organizations po
                SET first_seen_at = first.seen
               FROM (SELECT package_id, organization_id, min(created_at) AS seen
                       FROM dependencies
                      WHERE NOT repo_archived AND NOT repo_fork
                      GROUP BY package_id, organization_id) first
              WHERE first.package_id = po.package_id
                AND first.organization_id = po.organization_id",
        )
        .execute(&mut conn)
        .await?)
    })
    .await?;
    figures.push(Figure {
        what: "migration: backfill package_organizations.first_seen_at",
        seconds,
        rows,
    });

    let top: Top =
        diesel::sql_query("SELECT id FROM packages ORDER BY dependents_count DESC LIMIT 1")
            .get_result(&mut conn)
            .await?;
    // A year of history for the top package: a row every day, and 100,000 events (the
    // dataset is generated without any), spread over the year with the dataset's stars.
    diesel::sql_query(
        "INSERT INTO package_daily_counts
                (package_id, day, dependents_count, organizations_count, stars_sum)
         SELECT $1, current_date - d, 100000 - d, 50000 - d, 1000000 - d
           FROM generate_series(1, 365) d",
    )
    .bind::<SqlUuid, _>(top.id)
    .execute(&mut conn)
    .await?;
    diesel::sql_query(
        "INSERT INTO dependency_events
                (package_id, event, host, organization_id, organization, repository_id,
                 repository, kind, stars, occurred_at)
         SELECT $1, CASE WHEN n % 5 = 0 THEN 'dependent.removed' ELSE 'dependent.added' END,
                'github.com', d.organization_id, 'org', d.repository_id, 'org/repo', d.kind,
                d.repo_stars, now() - (n % 365) * interval '1 day'
           FROM (SELECT row_number() OVER () AS n, * FROM dependencies
                  WHERE package_id = $1 LIMIT 100000) d
          ORDER BY n DESC",
    )
    .bind::<SqlUuid, _>(top.id)
    .execute(&mut conn)
    .await?;
    let (seconds, rows) = median(runs, async || {
        let from = today - chrono::Duration::days(364);
        Ok(
            history::package_series(&mut conn, top.id, from, today, Interval::Day)
                .await?
                .len(),
        )
    })
    .await?;
    figures.push(Figure {
        what: "read: the top package's daily series over a year (a row a day)",
        seconds,
        rows,
    });
    let (seconds, rows) = median(runs, async || {
        let filter = EventFilter {
            min_stars: 100,
            ..EventFilter::default()
        };
        Ok(
            dependency_events::of_packages(&mut conn, &[top.id], &filter, 31)
                .await?
                .len(),
        )
    })
    .await?;
    figures.push(Figure {
        what: "read: a page of 30 of the top package's events with min_stars=100 (of 100,000)",
        seconds,
        rows,
    });
    clear(&mut conn).await?;
    diesel::sql_query("DELETE FROM dependency_events WHERE package_id = $1")
        .bind::<SqlUuid, _>(top.id)
        .execute(&mut conn)
        .await?;

    let body = render(size, &figures, baseline, &Provenance::detect());
    write_section(&args.report, "bench-history", "just bench-history", &body)?;
    eprintln!("{body}");
    eprintln!("[bench] written to {}", args.report.display());
    Ok(std::process::ExitCode::SUCCESS)
}

/// Leaves the dataset without history rows.
async fn clear(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    diesel::sql_query("TRUNCATE package_daily_counts, organization_daily_counts")
        .execute(conn)
        .await?;
    Ok(())
}

fn render(size: Size, figures: &[Figure], baseline: f64, provenance: &Provenance) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## History (`just bench-history`)\n\n\
         On `{}` ({}; {}; commit {}). Each figure is the median of the runs (the first \
         snapshot runs once), with its ratio to one plain scan of the counted edges measured \
         in the same run.\n",
        database_name(size),
        provenance.date,
        provenance.machine,
        provenance.commit,
    );
    let _ = writeln!(
        out,
        "| what | rows | seconds | × one scan |\n|---|---:|---:|---:|"
    );
    for f in figures {
        let _ = writeln!(
            out,
            "| {} | {} | {:.3} | {:.1} |",
            f.what,
            f.rows,
            f.seconds,
            f.seconds / baseline.max(f64::EPSILON)
        );
    }
    out
}
