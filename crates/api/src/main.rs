//! `wump-api`: serve the HTTP API, apply database migrations, or manage API keys.

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
    /// Create, list, revoke and rotate API keys.
    #[command(subcommand)]
    Keys(wump_api::cli::KeysCommand),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load().context("loading configuration")?;
    // Keys and listings go to stdout, where log lines would go: no logs for them.
    let _telemetry = match cli.command {
        Some(Command::Keys(_)) => None,
        _ => Some(telemetry::init("wump-api", &settings.telemetry)?),
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => migrate(&settings).await,
        Command::Serve => serve(settings).await,
        Command::Keys(command) => keys(&settings, &command).await,
    }
}

async fn keys(settings: &Settings, command: &wump_api::cli::KeysCommand) -> anyhow::Result<()> {
    let mut conn = wump_db::pool::connect_once(&settings.database).await?;
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    wump_api::cli::keys(command, &mut conn, &mut out, &mut err).await
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
    wump_api::auth::validate_settings(&settings.api)?;
    let db = wump_db::connect(&settings.database)?;
    // Connects in the background: the API serves from PostgreSQL while Valkey is away.
    let valkey = wump_db::connect_valkey(&settings.valkey)?;
    let bind = settings.api.bind;
    let state = wump_api::AppState::new(settings, db, valkey);
    let (auth, db) = (state.auth.clone(), state.db.clone());
    let (server, address) =
        wump_api::server::build(state).with_context(|| format!("binding {bind}"))?;
    tracing::info!(%address, "wump-api listening");
    server.await?;
    // The last interval's key uses, which the background flush has not written yet.
    if let Err(err) = auth.usage().flush(&db).await {
        tracing::warn!(error = %err, "writing api key last_used_at at shutdown failed");
    }
    tracing::info!("wump-api stopped");
    Ok(())
}
