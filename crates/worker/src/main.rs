//! `wump-worker`: run the background workers, or apply database migrations.

use anyhow::Context;
use clap::{Parser, Subcommand};
use wump_core::{Settings, telemetry};

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
    /// Run the workers until SIGTERM (the default).
    Run,
    /// Apply pending database migrations and exit.
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load().context("loading configuration")?;
    let _telemetry = telemetry::init("wump-worker", &settings.telemetry)?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Migrate => migrate(&settings).await,
        Command::Run => run(settings).await,
    }
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let applied = wump_db::migrations::migrate(&settings.database).await?;
    tracing::info!(applied = ?applied, "migrations applied");
    Ok(())
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    if settings.database.migrate_on_start {
        migrate(&settings)
            .await
            .context("database.migrate_on_start")?;
    }
    let health = wump_worker::health::server(
        settings.worker.health_bind,
        settings.worker.shutdown_grace_secs,
    )
    .with_context(|| format!("binding {}", settings.worker.health_bind))?;
    tracing::info!(health = %settings.worker.health_bind, "wump-worker running");
    health.await?;
    tracing::info!("wump-worker stopped");
    Ok(())
}
