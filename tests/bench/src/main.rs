//! `wump-bench data SIZE [--seed N] [--report docs/benchmarks.md]`: generates a dataset
//! into `wump_bench_<size>` and writes what it measured into the report.
//! `wump-bench reads`: uncached reads through the API against those datasets.

use std::{path::PathBuf, process::ExitCode};

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
    /// Uncached reads through the release wump-api against wump_bench_small and _large.
    Reads(reads::Args),
}

fn parse_size(name: &str) -> Result<Size, String> {
    Size::named(name).ok_or_else(|| format!("unknown size `{name}` (expected small or large)"))
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let (size, seed, report_path, database_url) = match Cli::parse().command {
        Command::Data {
            size,
            seed,
            report,
            database_url,
        } => (size, seed, report, database_url),
        Command::Reads(args) => return reads::main(args).await,
    };
    let database = data::database_name(size);
    let outcome = data::generate(&SecretString::from(database_url), &database, size, seed).await?;
    let provenance = Provenance::detect();
    let section = report::data_section(&outcome, &provenance);
    report::write_section(
        &report_path,
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
