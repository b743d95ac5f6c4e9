//! `wump-bench data SIZE [--seed N] [--report docs/benchmarks.md]`: generates a dataset
//! into `wump_bench_<size>` and writes what it measured into the report; `wump-bench
//! queue` and `wump-bench pipeline` run the release worker against the shared servers;
//! `wump-bench reads`: uncached reads through the API against the datasets.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Parser, Subcommand};
use secrecy::SecretString;
use wump_bench::{
    data::{self, Size},
    reads,
    report::{self, Provenance},
};

/// Benchmarks at scale.
#[derive(Debug, Parser)]
#[command(name = "wump-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a dataset into its own database and record its size on disk.
    Data {
        /// `small` (100 k repositories, ~1 M edges) or `large` (1 M, ~10 M).
        #[arg(value_parser = parse_size)]
        size: Size,
        /// Seed of the generator: the same seed gives the same rows.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where the figures go.
        #[arg(long, default_value = "docs/benchmarks.md")]
        report: PathBuf,
        /// The PostgreSQL server (its database name is replaced by `wump_bench_<size>`).
        #[arg(long, env = "WUMP__DATABASE__URL", hide_env_values = true)]
        database_url: String,
    },
    /// No-op jobs through the real queues with one worker process, against raw Valkey
    /// round trips at the same concurrency.
    Queue {
        /// Jobs per concurrency level.
        #[arg(long, default_value_t = 100_000)]
        jobs: usize,
        /// Concurrency levels (jobs the worker runs at once; round trips in flight).
        #[arg(long, value_delimiter = ',', default_values_t = [4, 64, 256])]
        concurrency: Vec<usize>,
        /// Where the figures go.
        #[arg(long, default_value = "docs/benchmarks.md")]
        report: PathBuf,
        /// Where the worker logs go.
        #[arg(long, default_value = "target/bench")]
        work: PathBuf,
    },
    /// Uncached reads through the release wump-api against wump_bench_small and _large.
    Reads(reads::Args),
    /// What history costs on a dataset: the snapshot job, the backfill, series and events.
    History(wump_bench::history::Args),
    /// The whole pipeline on a generated local-provider tree, with one and three workers.
    Pipeline {
        /// Repositories in the tree.
        #[arg(long, default_value_t = 10_000)]
        repositories: usize,
        /// Worker processes per run, one run each.
        #[arg(long, value_delimiter = ',', default_values_t = [1, 3])]
        workers: Vec<usize>,
        /// Seed of the generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where the figures go.
        #[arg(long, default_value = "docs/benchmarks.md")]
        report: PathBuf,
        /// Where the tree and the worker logs go.
        #[arg(long, default_value = "target/bench")]
        work: PathBuf,
        /// A setting for every worker on top of the defaults, `WUMP__SECTION__KEY=value`
        /// (repeatable): to see what a setting buys.
        #[arg(long = "set", value_parser = parse_setting)]
        settings: Vec<(String, String)>,
    },
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

fn parse_size(name: &str) -> Result<Size, String> {
    Size::named(name).ok_or_else(|| format!("unknown size `{name}` (expected small or large)"))
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Data {
            size,
            seed,
            report,
            database_url,
        } => data(size, seed, &report, database_url).await,
        Command::Queue {
            jobs,
            concurrency,
            report,
            work,
        } => queue(jobs, &concurrency, &report, &work).await,
        Command::Pipeline {
            repositories,
            workers,
            seed,
            report,
            work,
            settings,
        } => pipeline(repositories, &workers, seed, &report, &work, settings).await,
        Command::Reads(args) => reads::main(args).await,
        Command::History(args) => wump_bench::history::main(args).await,
    }
}

async fn queue(
    jobs: usize,
    levels: &[usize],
    report_path: &Path,
    work: &Path,
) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(work)?;
    let measured = wump_bench::queue::run(jobs, levels, work).await?;
    let section = wump_bench::queue::section(&measured, jobs, &Provenance::detect());
    report::write_section(report_path, "bench-queue", "just bench-queue", &section)?;
    eprintln!("{section}");
    eprintln!("[bench] written to {}", report_path.display());
    Ok(if measured.iter().all(|l| l.dead == 0) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn pipeline(
    repositories: usize,
    workers: &[usize],
    seed: u64,
    report_path: &Path,
    work: &Path,
    settings: Vec<(String, String)>,
) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(work)?;
    let options = wump_bench::pipeline::Options {
        repositories,
        seed,
        work: work.to_owned(),
        worker: wump_bench::workers::worker_binary()?,
        env: settings,
    };
    let (expected, runs) = wump_bench::pipeline::run(&options, workers).await?;
    let section = wump_bench::pipeline::section(&expected, &runs, &Provenance::detect());
    report::write_section(
        report_path,
        "bench-pipeline",
        "just bench-pipeline",
        &section,
    )?;
    eprintln!("{section}");
    eprintln!("[bench] written to {}", report_path.display());
    Ok(if runs.iter().all(|r| r.checked.agrees() && r.dead == 0) {
        ExitCode::SUCCESS
    } else {
        eprintln!("[bench] what was stored disagrees with the tree: see the report");
        ExitCode::FAILURE
    })
}

async fn data(
    size: Size,
    seed: u64,
    report_path: &Path,
    database_url: String,
) -> anyhow::Result<ExitCode> {
    let database = data::database_name(size);
    let outcome = data::generate(&SecretString::from(database_url), &database, size, seed).await?;
    let provenance = Provenance::detect();
    let section = report::data_section(&outcome, &provenance);
    report::write_section(
        report_path,
        &format!("bench-data-{}", size.name),
        &format!("just bench-data {}", size.name),
        &section,
    )?;
    eprintln!("{section}");
    eprintln!("[bench] written to {}", report_path.display());
    let agree = outcome.checked.iter().all(|c| c.agrees());
    if !agree {
        eprintln!("[bench] the listings disagree with the stored counts: see the report");
    }
    Ok(if agree {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
