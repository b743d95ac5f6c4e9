//! `wump-api`: serve the HTTP API, or apply database migrations.

use anyhow::Context;
use clap::{Parser, Subcommand};
use wump_core::{Settings, telemetry};

/// wump's HTTP API. Configuration: config/default.toml, config/$WUMP_ENV.toml and
/// WUMP__SECTION__KEY environment variables (see the README).
#[derive(Debug, Parser)]
#[command(name = "wump-api", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load().context("loading configuration")?;
    let _telemetry = telemetry::init("wump-api", &settings.telemetry)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => migrate(&settings).await,
        Command::Serve => serve(settings).await,
    }
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let applied = wump_db::migrations::migrate(&settings.database).await?;
    tracing::info!(applied = ?applied, "migrations applied");
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.database.migrate_on_start {
        migrate(&settings)
            .await
            .context("database.migrate_on_start")?;
    }
    let db = wump_db::connect(&settings.database)?;
    // Connects in the background: the API serves from PostgreSQL while Valkey is away.
    let valkey = wump_db::connect_valkey(&settings.valkey)?;
    let bind = settings.api.bind;
    let state = wump_api::AppState::new(settings, db, valkey);
    let (server, address) =
        wump_api::server::build(state).with_context(|| format!("binding {bind}"))?;
    tracing::info!(%address, "wump-api listening");
    server.await?;
    tracing::info!("wump-api stopped");
    Ok(())
}
