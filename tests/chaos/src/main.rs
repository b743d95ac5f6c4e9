//! `wump-chaos run [--short] [--only N,...] [--report docs/reliability.md] [--bin-dir target/release]`:
//! runs the fault scenarios and writes the report. Exit status 1 when a criterion did not
//! hold or a scenario could not run (the report is written either way).

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use wump_chaos::{
    processes::Bins,
    report::{self, Machine},
    scenarios::{self, RunConfig},
    workspace_root,
};

/// Scripted fault runs against the wump binaries under load.
#[derive(Debug, Parser)]
#[command(name = "wump-chaos")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenarios and write the report.
    Run {
        /// The short versions (seconds instead of minutes).
        #[arg(long)]
        short: bool,
        /// Only these scenarios, e.g. `1,5` (default: all).
        #[arg(long, value_delimiter = ',')]
        only: Vec<u8>,
        /// Where the report goes.
        #[arg(long, default_value = "docs/reliability.md")]
        report: PathBuf,
        /// Where wump-api and wump-worker are.
        #[arg(long, default_value = "target/release")]
        bin_dir: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let Command::Run {
        short,
        only,
        report: report_path,
        bin_dir,
    } = Cli::parse().command;
    let bin_dir = if bin_dir.is_absolute() {
        bin_dir
    } else {
        std::env::current_dir()?.join(bin_dir)
    };
    let bins = Bins::in_dir(&bin_dir).context("finding the binaries")?;
    let profile = bin_dir
        .file_name()
        .map_or_else(|| "unknown".into(), |n| n.to_string_lossy().into_owned());
    let config = RunConfig::new(bins, short);
    let machine = Machine::detect(profile);
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (number, title) in scenarios::ALL {
        if !only.is_empty() && !only.contains(number) {
            continue;
        }
        eprintln!("[chaos] scenario {number}: {title}");
        match scenarios::run(*number, &config).await {
            Ok(result) => {
                eprintln!(
                    "[chaos] scenario {number}: {} (logs: {})",
                    if result.passed() {
                        "every criterion held"
                    } else {
                        "FAILED"
                    },
                    result.run_dir.display()
                );
                for c in &result.criteria {
                    eprintln!(
                        "    [{}] {}: {}",
                        if c.held { "ok" } else { "NO" },
                        c.name,
                        c.measured
                    );
                }
                results.push(result);
            }
            Err(e) => {
                eprintln!("[chaos] scenario {number} could not run: {e}");
                errors.push((*number, e.to_string()));
            }
        }
    }
    let text = report::render(&machine, short, &results, &errors);
    let report_path = if report_path.is_absolute() {
        report_path
    } else {
        workspace_root().join(report_path)
    };
    report::write(&report_path, &text)?;
    eprintln!("[chaos] report written to {}", report_path.display());
    let ok = errors.is_empty() && results.iter().all(|r| r.passed());
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
