//! `wump-bench pipeline`: the whole pipeline on a generated local-provider tree (registries
//! and every internet provider off): a scrape enqueued, then what it sets off — a parse per
//! repository, an enrichment per organization — run by one or more release
//! `wump-worker` processes, each run on a database and Valkey key prefix of its own on the
//! shared servers; then what was stored checked against what the tree declares.

pub mod check;
pub mod tree;

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use secrecy::ExposeSecret as _;
use wump_core::{
    jobs::{JobType, Priority, ScrapeJob},
    settings::QueueSettings,
};
use wump_db::{
    queue::Queues,
    test_support::{ProcessEnv, TestDatabase, TestValkey},
};

use crate::{
    report::Provenance,
    workers::{self, Worker, mib},
};
pub use check::Checked;
pub use tree::Expected;

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// Repositories in the generated tree.
    pub repositories: usize,
    /// Seed of the generator.
    pub seed: u64,
    /// Where the tree, and the worker logs, go.
    pub work: PathBuf,
    /// The `wump-worker` binary.
    pub worker: PathBuf,
    /// Settings every worker gets on top of the run's (e.g. other concurrency).
    pub env: Vec<(String, String)>,
}

/// One run with a number of worker processes.
#[derive(Debug, Clone)]
pub struct Run {
    pub workers: usize,
    /// From the scrape enqueued to the scrape and every parse done (every edge stored).
    pub edges_stored: Duration,
    /// From the scrape enqueued to every queue empty (enrichments included).
    pub all_done: Duration,
    /// Peak resident memory of each worker process (bytes).
    pub peak_rss: Vec<u64>,
    /// Jobs dead-lettered (must be 0).
    pub dead: u64,
    /// CPU seconds the worker processes used, all together.
    pub worker_cpu: f64,
    /// CPU seconds the PostgreSQL backends of the run's database used.
    pub postgres_cpu: f64,
    pub checked: Checked,
}

impl Run {
    /// Repositories per second until every edge was stored.
    pub fn repositories_per_sec(&self, repositories: usize) -> f64 {
        repositories as f64 / self.edges_stored.as_secs_f64()
    }
}

/// Generates the tree once (kept under `work` for the next run with the same size and
/// seed) and runs the pipeline once per entry of `worker_counts`.
pub async fn run(
    options: &Options,
    worker_counts: &[usize],
) -> anyhow::Result<(Expected, Vec<Run>)> {
    let root = options
        .work
        .join(format!("tree-{}-{}", options.repositories, options.seed));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root)?;
    let started = Instant::now();
    let expected = tree::write(&root, options.repositories, options.seed)
        .with_context(|| format!("writing the tree under {}", root.display()))?;
    eprintln!(
        "[bench] pipeline: tree of {} repositories, {} edges, {} packages written in {:.1} s",
        expected.repositories,
        expected.edges,
        expected.packages.len(),
        started.elapsed().as_secs_f64()
    );
    let mut runs = Vec::new();
    for &count in worker_counts {
        let run = one_run(options, &root, &expected, count).await?;
        eprintln!(
            "[bench] pipeline: {count} worker(s): edges stored in {:.1} s ({:.0} repositories/s), \
             all done in {:.1} s, CPU ms per repository: workers {:.2}, PostgreSQL {:.2}; \
             peak RSS {} MiB; {}",
            run.edges_stored.as_secs_f64(),
            run.repositories_per_sec(expected.repositories),
            run.all_done.as_secs_f64(),
            run.worker_cpu * 1e3 / expected.repositories as f64,
            run.postgres_cpu * 1e3 / expected.repositories as f64,
            run.peak_rss
                .iter()
                .map(|b| format!("{:.1}", mib(*b)))
                .collect::<Vec<_>>()
                .join(" / "),
            run.checked.summary()
        );
        runs.push(run);
    }
    let _ = std::fs::remove_dir_all(&root);
    Ok((expected, runs))
}

async fn one_run(
    options: &Options,
    root: &Path,
    expected: &Expected,
    count: usize,
) -> anyhow::Result<Run> {
    let db = TestDatabase::new().await;
    let valkey = TestValkey::new().await;
    let mut env = ProcessEnv::for_test(&db, &valkey)
        .set("WUMP__PROVIDERS__LOCAL__ROOT", root.to_string_lossy())
        .set("WUMP__TELEMETRY__LOG_FORMAT", "json")
        .set("RUST_LOG", "info");
    for (key, value) in &options.env {
        env = env.set(key, value);
    }
    let env = env.into_vars();
    let queues = Queues::connect(
        valkey.settings(),
        QueueSettings {
            key_prefix: valkey.prefix().to_owned(),
            ..QueueSettings::default()
        },
    )
    .await
    .context("connecting to the queues")?;

    let mut processes = Vec::new();
    for n in 1..=count {
        let log = options
            .work
            .join(format!("pipeline-{count}w-worker-{n}.log"));
        let _ = std::fs::remove_file(&log);
        processes.push((Worker::start(&options.worker, &env, &log)?, log));
    }
    for (worker, _) in &mut processes {
        worker.wait_healthy(Duration::from_secs(60)).await?;
    }

    let start = Instant::now();
    queues
        .enqueue(
            &ScrapeJob {
                provider: "local".into(),
                query: None,
            },
            Priority::High,
        )
        .await
        .context("enqueueing the scrape")?;
    let deadline = start + Duration::from_secs(1800);
    let mut edges_stored = None;
    let all_done = loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let depths = queues.depths().await?;
        let outstanding = |types: &[JobType]| -> u64 {
            types
                .iter()
                .flat_map(|t| Priority::ALL.map(|p| queues.name(*t, p)))
                .filter_map(|name| depths.iter().find(|(n, _)| *n == name))
                .map(|(_, d)| d.total())
                .sum()
        };
        let now = start.elapsed();
        if edges_stored.is_none() && outstanding(&[JobType::Scrape, JobType::Parse]) == 0 {
            edges_stored = Some(now);
        }
        if outstanding(&JobType::ALL) == 0 {
            break now;
        }
        for (worker, log) in &mut processes {
            if worker.exited() {
                bail!("a worker exited during the run; log: {}", log.display());
            }
        }
        if Instant::now() > deadline {
            bail!("the pipeline did not finish within 30 minutes");
        }
    };
    let dead = queues.dead_letters().len().await?;
    let worker_cpu = processes.iter().map(|(w, _)| w.cpu_seconds()).sum();
    let url = db.settings().url.expose_secret().to_owned();
    let database = url
        .split('?')
        .next()
        .and_then(|u| u.rsplit('/').next())
        .unwrap_or_default()
        .to_owned();
    let postgres_cpu = workers::postgres_cpu_seconds(&database);
    let mut peak_rss = Vec::new();
    for (worker, _) in processes {
        peak_rss.push(worker.stop(Duration::from_secs(30))?);
    }
    let mut conn = db.connection().await;
    let checked = check::check(&mut conn, expected).await?;
    Ok(Run {
        workers: count,
        edges_stored: edges_stored.unwrap_or(all_done),
        all_done,
        peak_rss,
        dead,
        worker_cpu,
        postgres_cpu,
        checked,
    })
}

/// The `bench-pipeline` section of the report.
pub fn section(expected: &Expected, runs: &[Run], provenance: &Provenance) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Measured {} at commit `{}` (`just bench-pipeline`): a scrape of a generated \
         local-provider tree of {} repositories under {} organizations ({} edges to {} \
         packages: a `package.json`, a `Cargo.toml` and a `requirements.txt` per repository, \
         about {:.0} dependencies each), registries and every internet provider off, run by \
         release `wump-worker` processes on the shared PostgreSQL and Valkey (a database and \
         key prefix of its own per run), default settings. *Edges stored*: from the scrape \
         enqueued until it and every parse it set off are done; *all done*: until every queue \
         is empty (the enrichments too). Then every stored edge and count is checked against \
         the tree. Goal: ≥ 500 repositories/s with one worker and with three; each worker's \
         peak RSS < 128 MiB.\n",
        provenance.date,
        provenance.commit,
        expected.repositories,
        expected.organizations,
        expected.edges,
        expected.packages.len(),
        expected.edges as f64 / expected.repositories.max(1) as f64,
    );
    out.push_str(
        "| workers | edges stored | repositories/s | all done | repositories/s (all done) | CPU ms per repository: workers / PostgreSQL | peak RSS per worker | dead jobs | stored = declared |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for run in runs {
        let _ = writeln!(
            out,
            "| {} | {:.1} s | {:.0} | {:.1} s | {:.0} | {:.2} / {:.2} | {} | {} | {} |",
            run.workers,
            run.edges_stored.as_secs_f64(),
            run.repositories_per_sec(expected.repositories),
            run.all_done.as_secs_f64(),
            expected.repositories as f64 / run.all_done.as_secs_f64(),
            run.worker_cpu * 1e3 / expected.repositories as f64,
            run.postgres_cpu * 1e3 / expected.repositories as f64,
            run.peak_rss
                .iter()
                .map(|b| format!("{:.1} MiB", mib(*b)))
                .collect::<Vec<_>>()
                .join(", "),
            run.dead,
            if run.checked.agrees() {
                "yes"
            } else {
                "**no**"
            },
        );
    }
    for run in runs {
        let churn: Vec<String> = run
            .checked
            .churn
            .iter()
            .map(|(table, updates, dead, bytes)| {
                format!(
                    "`{table}` {updates} row updates, {dead} dead row versions, {:.1} MiB",
                    mib(u64::try_from(*bytes).unwrap_or(0))
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "\nWith {} worker(s), PostgreSQL's statistics after the run: {}.",
            run.workers,
            churn.join("; ")
        );
    }
    for run in runs.iter().filter(|r| !r.checked.agrees()) {
        let _ = writeln!(
            out,
            "\nWith {} worker(s) the stored rows disagree: {}.",
            run.workers,
            run.checked.summary()
        );
    }
    let _ = writeln!(out, "\nMachine: {}.", provenance.machine);
    out
}
