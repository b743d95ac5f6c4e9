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
    // Keys and listings go to stdout, where log lines would go: no logs for them.
    if let Some(Command::Keys(command)) = &cli.command {
        return keys(&settings, command).await;
    }
    // `/metrics` reads the global meter provider through this exporter.
    let (exporter, registry) = wump_api::metrics::prometheus_exporter()?;
    let _telemetry = telemetry::init_with_meters("wump-api", &settings.telemetry, move |meters| {
        meters.with_reader(exporter)
    })?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => migrate(&settings).await,
        Command::Serve => serve(settings, registry).await,
        Command::Keys(_) => unreachable!("handled above"),
        #[cfg(feature = "bench")]
        Command::BenchSeed { dependents } => wump_api::bench::seed(&settings, dependents).await,
    }
}

async fn keys(settings: &Settings, command: &wump_api::cli::KeysCommand) -> anyhow::Result<()> {
    let mut conn = wump_db::pool::connect_once(&settings.database).await?;
    // Revocations also go to Valkey (the key prefix of `AppState::new`), for instances that
    // cannot reach PostgreSQL; a Valkey that does not connect in time is reported, not fatal.
    let valkey = wump_db::connect_valkey(&settings.valkey)?;
    let wait = std::time::Duration::from_millis(settings.valkey.command_timeout_ms.max(1));
    let _ = tokio::time::timeout(
        wait,
        fred::interfaces::ClientLike::wait_for_connect(&valkey),
    )
    .await;
    let last_known =
        wump_api::auth::LastKnown::new(&settings.api.auth, valkey, wump_db::Keys::default());
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    wump_api::cli::keys(command, &mut conn, &last_known, &mut out, &mut err).await
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
    wump_api::auth::validate_settings(&settings.api)?;
    wump_api::webhooks::WebhookConfig::check(&settings.webhooks)
        .map_err(anyhow::Error::msg)
        .context("the webhooks settings")?;
    if settings.webhooks.secret_key.is_none() {
        tracing::warn!(
            "webhooks.secret_key is not set: the webhook routes answer 503 until it is \
             (WUMP__WEBHOOKS__SECRET_KEY)"
        );
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
    let (auth, db) = (state.auth.clone(), state.db.clone());
    let (server, address) = build(state).with_context(|| format!("binding {bind}"))?;
    tracing::info!(%address, "wump-api listening");
    server.await?;
    // The last interval's key uses, which the background flush has not written yet.
    if let Err(err) = auth.usage().flush(&db).await {
        tracing::warn!(error = %err, "writing api key last_used_at at shutdown failed");
    }
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
