//! Scripted fault runs against the real wump binaries under load (issue 11): dedicated
//! PostgreSQL and Valkey servers, two `wump-api` and three `wump-worker` processes, a load
//! generator, a TCP proxy that can cut or black-hole PostgreSQL, and the scenarios that kill
//! things and measure what callers and the queues noticed. `wump-chaos run` writes the
//! numbers to `docs/reliability.md`; `tests/` runs short versions inside `just test`.
//!
//! The harness in one place ([`stack::Stack`]); a scenario is a function of a
//! [`scenarios::RunConfig`] returning a [`scenarios::ScenarioResult`]:
//!
//! ```ignore
//! let mut options = StackOptions::new("my-scenario", config.bins.clone());
//! options.work = config.work.clone();
//! options.env.push(("WUMP__PROVIDERS__GITHUB__API_URL".into(), stand_in_url)); // extra settings
//! let stack = Stack::start(options).await?;       // own PG + Valkey, migrate, key, 2 apis, 3 workers
//! stack.seed(Duration::from_secs(60)).await?;     // scrape the local tree through the queues, drain
//! Load::warm(&stack.load_targets(), &LoadOptions::default().cached_paths, deadline).await?;
//! let load = Load::start(stack.load_targets(), LoadOptions::default())?;
//! let feeder = Feeder::start(&stack, Duration::from_millis(500), 6); // keep jobs flowing
//! stack.workers[1].kill()?; stack.workers[1].restart()?;  // or stack.postgres.kill(),
//! let at = load.mark("fault");                    // stack.valkey.kill(), stack.pg_proxy.set(Mode::BlackHole)
//! let fed = feeder.stop().await;                  // ids of every job enqueued
//! let recording = load.stop().await;              // per-class stats, latencies, hangs, timeline
//! stack.wait_idle(Duration::from_secs(120)).await?;
//! let outcome = jobs::outcome(&stack, &fed.ids).await?;  // completed / dead / lost, runs
//! let crashes = stack.stop();                     // processes that exited by themselves
//! ```

pub mod github_standin;
pub mod jobs;
pub mod load;
pub mod processes;
pub mod proxy;
pub mod report;
pub mod scenarios;
pub mod servers;
pub mod stack;
pub mod tree;

use std::{
    future::Future,
    path::PathBuf,
    time::{Duration, Instant},
};

/// What can go wrong while setting up or running a scenario (not a failed criterion: those
/// are numbers in the scenario's result).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file, socket or child process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A server or process did not come up, or a command failed.
    #[error("{0}")]
    Setup(String),
    /// A condition was not reached before its deadline.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    /// A query against the run's own database failed.
    #[error("database: {0}")]
    Database(String),
}

/// The harness's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Adds context to an I/O error.
pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

/// The workspace root (where `Cargo.toml`, `scripts/` and `demo/` are).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// A free TCP port on 127.0.0.1 (bound and released; the caller binds it soon after).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(io("picking a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(io("picking a free port"))?
        .port())
}

/// Polls `check` every 50 ms until it returns `Some`, or fails after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if start.elapsed() >= deadline {
            return Err(Error::Timeout(deadline, what.to_owned()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
