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
    /// Create and fill the benchmark database (`just bench-api`).
    #[cfg(feature = "bench")]
    BenchSeed {
        /// Repositories depending on the benchmark package.
        #[arg(long, default_value_t = 10_000)]
        dependents: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load().context("loading configuration")?;
    // `/metrics` reads the global meter provider through this exporter.
    let (exporter, registry) = wump_api::metrics::prometheus_exporter()?;
    let _telemetry = telemetry::init_with_meters("wump-api", &settings.telemetry, move |meters| {
        meters.with_reader(exporter)
    })?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => migrate(&settings).await,
        Command::Serve => serve(settings, registry).await,
        #[cfg(feature = "bench")]
        Command::BenchSeed { dependents } => wump_api::bench::seed(&settings, dependents).await,
    }
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let applied = wump_db::migrations::migrate(&settings.database).await?;
    tracing::info!(applied = ?applied, "migrations applied");
    Ok(())
}

async fn serve(settings: Settings, registry: prometheus::Registry) -> anyhow::Result<()> {
    if settings.database.migrate_on_start {
        migrate(&settings)
            .await
            .context("database.migrate_on_start")?;
    }
    let db = wump_db::connect(&settings.database)?;
    // Connects in the background: the API serves from PostgreSQL while Valkey is away.
    let valkey = wump_db::connect_valkey(&settings.valkey)?;
    let read_db = match &settings.database.read_url {
        Some(url) => Some(
            wump_db::connect(&wump_core::settings::DatabaseSettings {
                url: url.clone(),
                ..settings.database.clone()
            })
            .context("database.read_url")?,
        ),
        None => None,
    };
    let bind = settings.api.bind;
    let mut state = wump_api::AppState::new(settings, db, valkey).with_metrics_registry(registry);
    if let Some(read_db) = read_db {
        state = state.with_read_db(read_db);
    }
    let (server, address) = build(state).with_context(|| format!("binding {bind}"))?;
    tracing::info!(%address, "wump-api listening");
    server.await?;
    tracing::info!("wump-api stopped");
    Ok(())
}

#[cfg(not(feature = "bench"))]
use wump_api::server::build;

/// The server with the benchmark's routes.
#[cfg(feature = "bench")]
fn build(
    state: wump_api::AppState,
) -> std::io::Result<(actix_web::dev::Server, std::net::SocketAddr)> {
    wump_api::server::build_with(state, wump_api::bench::configure)
}
