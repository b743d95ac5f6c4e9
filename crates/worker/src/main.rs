//! `wump-worker`: run the background workers, apply database migrations, or show what wump
//! reads from manifest files.

use std::{
    io::{self, Write as _},
    process::ExitCode,
};

use anyhow::Context;
use clap::{Parser, Subcommand};
use wump_core::{Settings, telemetry};
use wump_worker::{
    inspect::{self, ParseArgs},
    queue::{
        Queues,
        cli::{self as queue_cli, DlqArgs, EnqueueArgs},
    },
    service::{self, RunOptions},
};

/// wump's background worker. Configuration: config/default.toml, config/$WUMP_ENV.toml and
/// WUMP__SECTION__KEY environment variables (see the README).
#[derive(Debug, Parser)]
#[command(name = "wump-worker", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the workers and the scheduler of recurring jobs until SIGTERM (the default).
    Run(RunArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the dependencies and funding links wump reads from manifest files; needs no
    /// configuration. Exit status 1 when any file could not be parsed.
    Parse(ParseArgs),
    /// Enqueue a job by hand, e.g. `enqueue scrape --provider local`.
    Enqueue(EnqueueArgs),
    /// Dead jobs: list, show ID, replay ID|--all, purge ID|--all.
    Dlq(DlqArgs),
}

#[derive(Debug, Default, clap::Args)]
struct RunArgs {
    /// Drain every queue, including the jobs the drained jobs enqueue, then exit 0 (the
    /// scheduler does not run).
    #[arg(long)]
    until_idle: bool,
    /// Do not enqueue the recurring jobs of `[schedule]` (other replicas still do).
    #[arg(long)]
    no_scheduler: bool,
}

fn main() -> anyhow::Result<ExitCode> {
    match Cli::parse()
        .command
        .unwrap_or(Command::Run(RunArgs::default()))
    {
        // A local command: no configuration, database or telemetry that could fail.
        Command::Parse(args) => parse(&args),
        Command::Run(args) => service(Service::Run(RunOptions {
            until_idle: args.until_idle,
            no_scheduler: args.no_scheduler,
        })),
        Command::Migrate => service(Service::Migrate),
        Command::Enqueue(args) => service(Service::Enqueue(args)),
        Command::Dlq(args) => service(Service::Dlq(args)),
    }
}

fn parse(args: &ParseArgs) -> anyhow::Result<ExitCode> {
    let report = inspect::inspect(&args.paths, args.format);
    let (out, err) = if args.json {
        (report.to_json(), String::new())
    } else {
        (report.to_text(), report.errors_text())
    };
    io::stdout().lock().write_all(out.as_bytes())?;
    io::stderr().lock().write_all(err.as_bytes())?;
    Ok(ExitCode::from(report.exit_status()))
}

/// The commands that need configuration, the database and telemetry.
#[derive(Debug)]
enum Service {
    Run(RunOptions),
    Migrate,
    Enqueue(EnqueueArgs),
    Dlq(DlqArgs),
}

#[tokio::main]
async fn service(service: Service) -> anyhow::Result<ExitCode> {
    let settings = Settings::load().context("loading configuration")?;
    // Operator commands print their results on stdout, where the logs would go: no logs.
    let _telemetry = match service {
        Service::Enqueue(_) | Service::Dlq(_) => None,
        _ => Some(telemetry::init("wump-worker", &settings.telemetry)?),
    };
    match service {
        Service::Migrate => migrate(&settings).await?,
        Service::Run(options) => run(settings, options).await?,
        Service::Enqueue(args) => {
            let queues = queues(&settings).await?;
            queue_cli::enqueue(&queues, &args, &mut io::stdout().lock()).await?;
        }
        Service::Dlq(args) => {
            let queues = queues(&settings).await?;
            if !queue_cli::dlq(&queues, &args, &mut io::stdout().lock()).await? {
                eprintln!("no such dead job");
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn queues(settings: &Settings) -> anyhow::Result<Queues> {
    Queues::connect(&settings.valkey, settings.queues.clone())
        .await
        .context("connecting to the queues")
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let applied = wump_db::migrations::migrate(&settings.database).await?;
    tracing::info!(applied = ?applied, "migrations applied");
    Ok(())
}

async fn run(settings: Settings, options: RunOptions) -> anyhow::Result<()> {
    if settings.database.migrate_on_start {
        migrate(&settings)
            .await
            .context("database.migrate_on_start")?;
    }
    service::run(&settings, options).await
}
