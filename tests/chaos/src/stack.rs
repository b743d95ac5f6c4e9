//! One run's whole system: dedicated PostgreSQL (reached through a [`Proxy`]) and Valkey,
//! two `wump-api` and three `wump-worker run` processes, a premium API key, and handles on
//! the queues and the database for checking what happened.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use secrecy::SecretString;
use wump_core::{
    jobs::{JobType, Priority, ScrapeJob},
    settings::{QueueSettings, ValkeySettings},
};
use wump_db::{queue::Queues, test_support::ProcessEnv};

use crate::{
    Error, Result, eventually, free_port, io,
    load::{Load, LoadOptions, Targets},
    processes::{Bins, Env, Process, run_command},
    proxy::Proxy,
    servers::{Postgres, Valkey},
    workspace_root,
};

/// How a [`Stack`] is started.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Names the run's directory (`<work>/<name>-<time>`).
    pub name: String,
    /// The binaries to run.
    pub bins: Bins,
    /// Where run directories and the PostgreSQL template go (default `target/chaos`).
    pub work: PathBuf,
    /// How many `wump-api` processes (2).
    pub apis: usize,
    /// How many `wump-worker run` processes (3).
    pub workers: usize,
    /// The tree the local provider reads (default: the demo, `demo/repos`).
    pub local_root: PathBuf,
    /// Extra settings for every process; they win over the harness's (e.g. a GitHub
    /// stand-in's URL, other queue timings).
    pub env: Env,
}

impl StackOptions {
    /// Two apis, three workers, the demo tree, runs under `target/chaos`.
    pub fn new(name: impl Into<String>, bins: Bins) -> Self {
        Self {
            name: name.into(),
            bins,
            work: workspace_root().join("target/chaos"),
            apis: 2,
            workers: 3,
            local_root: workspace_root().join("demo/repos"),
            env: Env::new(),
        }
    }
}

/// Everything one scenario runs against. Dropping it kills the processes and servers.
#[derive(Debug)]
pub struct Stack {
    /// The run's directory: process logs, server data and logs (kept after the run).
    pub dir: PathBuf,
    /// The run's PostgreSQL.
    pub postgres: Postgres,
    /// Every wump process reaches PostgreSQL through this proxy (pass, cut, black-hole).
    pub pg_proxy: Proxy,
    /// The run's Valkey (append-only file on).
    pub valkey: Valkey,
    /// The `wump-api` processes.
    pub apis: Vec<Process>,
    /// The `wump-worker run` processes.
    pub workers: Vec<Process>,
    /// Base URLs of the apis (`http://127.0.0.1:<port>`).
    pub api_urls: Vec<String>,
    /// A premium API key with no practical rate limit.
    pub key: String,
    /// The settings every process got.
    pub env: Env,
    /// The binaries.
    pub bins: Bins,
    /// The queues, as the processes see them.
    pub queues: Queues,
    /// The tree the local provider reads.
    pub local_root: PathBuf,
    /// An HTTP client for checks (not the load).
    pub client: reqwest::Client,
}

impl Stack {
    /// Starts servers, migrates, creates a key and starts the processes; returns once every
    /// process answers its /health.
    pub async fn start(options: StackOptions) -> Result<Self> {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f");
        let dir = options.work.join(format!("{}-{stamp}", options.name));
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        let postgres = Postgres::start(&options.work, &dir)?;
        let valkey = Valkey::start(&dir)?;
        let pg_address: SocketAddr = ([127, 0, 0, 1], postgres.port()).into();
        let pg_proxy = Proxy::start(pg_address)
            .await
            .map_err(crate::io("binding the proxy"))?;
        let mut env = base_env(
            &postgres.url_via(Some(pg_proxy.port())),
            &valkey.url(),
            &options.local_root,
        );
        env.extend(options.env.iter().cloned());

        run_command(&options.bins.api, &["migrate"], &env).await?;
        let created = run_command(
            &options.bins.api,
            &[
                "keys", "create", "--name", "chaos", "--tier", "premium", "--limit", "1000000",
            ],
            &env,
        )
        .await?;
        let key = created
            .split_whitespace()
            .find(|w| w.starts_with("wump_"))
            .ok_or_else(|| Error::Setup("`wump-api keys create` printed no key".into()))?
            .to_owned();

        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Setup(format!("http client: {e}")))?;
        let mut apis = Vec::new();
        let mut api_urls = Vec::new();
        for n in 1..=options.apis {
            let port = free_port()?;
            let mut own = env.clone();
            own.push(("WUMP__API__BIND".into(), format!("127.0.0.1:{port}")));
            let url = format!("http://127.0.0.1:{port}");
            apis.push(Process::spawn(
                format!("api-{n}"),
                &options.bins.api,
                &["serve"],
                &own,
                &dir.join(format!("api-{n}.log")),
                Some(format!("{url}/health")),
            )?);
            api_urls.push(url);
        }
        let mut workers = Vec::new();
        for n in 1..=options.workers {
            let port = free_port()?;
            let mut own = env.clone();
            own.push((
                "WUMP__WORKER__HEALTH_BIND".into(),
                format!("127.0.0.1:{port}"),
            ));
            workers.push(Process::spawn(
                format!("worker-{n}"),
                &options.bins.worker,
                &["run", "--no-scheduler"],
                &own,
                &dir.join(format!("worker-{n}.log")),
                Some(format!("http://127.0.0.1:{port}/health")),
            )?);
        }
        for process in apis.iter().chain(&workers) {
            process
                .wait_healthy(&client, Duration::from_secs(60))
                .await?;
        }
        let queues = Queues::connect(&valkey_settings(&valkey.url()), QueueSettings::default())
            .await
            .map_err(|e| Error::Setup(format!("connecting to the queues: {e}")))?;
        Ok(Self {
            dir,
            postgres,
            pg_proxy,
            valkey,
            apis,
            workers,
            api_urls,
            key,
            env,
            bins: options.bins,
            queues,
            local_root: options.local_root,
            client,
        })
    }

    /// A connection straight to the run's PostgreSQL (not through the proxy).
    pub async fn db(&self) -> Result<AsyncPgConnection> {
        AsyncPgConnection::establish(&self.postgres.url_via(None))
            .await
            .map_err(|e| Error::Database(e.to_string()))
    }

    /// Enqueues a scrape of the local tree (which enqueues a parse per repository, which
    /// enqueue enrichments); returns its id.
    pub async fn enqueue_scrape(&self, priority: Priority) -> Result<String> {
        let job = ScrapeJob {
            provider: "local".into(),
            query: None,
        };
        self.queues
            .enqueue(&job, priority)
            .await
            .map(|id| id.to_string())
            .map_err(|e| Error::Setup(format!("enqueueing a scrape: {e}")))
    }

    /// Enqueues `payload` as a job of `job_type`; returns its id.
    pub async fn enqueue(
        &self,
        job_type: JobType,
        payload: serde_json::Value,
        priority: Priority,
    ) -> Result<String> {
        self.queues
            .enqueue_payload(job_type, payload, priority)
            .await
            .map(|id| id.to_string())
            .map_err(|e| Error::Setup(format!("enqueueing a {job_type:?} job: {e}")))
    }

    /// Jobs pending, scheduled (retries) and running across every queue; `None` when Valkey
    /// cannot be read.
    pub async fn jobs_outstanding(&self) -> Option<u64> {
        let depths = self.queues.depths().await.ok()?;
        Some(
            depths
                .iter()
                .map(|(_, d)| d.pending + d.scheduled + d.running)
                .sum(),
        )
    }

    /// Waits until no queue holds or runs anything; returns how long that took.
    pub async fn wait_idle(&self, deadline: Duration) -> Result<Duration> {
        let start = Instant::now();
        eventually("the queues to drain", deadline, || async {
            (self.jobs_outstanding().await == Some(0)).then_some(())
        })
        .await?;
        Ok(start.elapsed())
    }

    /// Loads the local tree through the queues and waits until they drain (how long it took).
    pub async fn seed(&self, deadline: Duration) -> Result<Duration> {
        let start = Instant::now();
        self.enqueue_scrape(Priority::High).await?;
        self.wait_idle(deadline).await?;
        Ok(start.elapsed())
    }

    /// How the outage scenarios begin: the local tree loaded through the queues (how long
    /// it took), the cached pages warmed, and the default load started against both apis.
    pub async fn seeded_under_load(&self) -> Result<(Duration, LoadOptions, Load)> {
        let seeded = self.seed(Duration::from_secs(120)).await?;
        let options = LoadOptions::default();
        Load::warm(
            &self.load_targets(),
            &options.cached_paths,
            Duration::from_secs(30),
        )
        .await?;
        let load = Load::start(self.load_targets(), options.clone())?;
        Ok((seeded, options, load))
    }

    /// What the load generator needs: the apis and the key.
    pub fn load_targets(&self) -> Targets {
        Targets {
            api_urls: self.api_urls.clone(),
            key: self.key.clone(),
        }
    }

    /// Every process, apis first.
    pub fn processes(&self) -> impl Iterator<Item = &Process> {
        self.apis.iter().chain(&self.workers)
    }

    /// Processes that exited without being signalled, so far.
    pub fn crashes(&self) -> u32 {
        self.processes().map(Process::crashes).sum()
    }

    /// Stops every process with SIGTERM (the servers go when the stack is dropped); returns
    /// the number of crashes seen over the whole run.
    pub fn stop(&self) -> u32 {
        let crashes = self.crashes();
        for process in self.processes() {
            let _ = process.terminate(Duration::from_secs(30));
        }
        crashes
    }
}

/// The Valkey settings for `url`, defaults otherwise.
pub fn valkey_settings(url: &str) -> ValkeySettings {
    ValkeySettings {
        url: SecretString::from(url.to_owned()),
        ..ValkeySettings::default()
    }
}

/// The settings every process of a run gets: the run's servers, the local provider over
/// `local_root` with every internet provider off, fast orphan recovery, limits high enough
/// that the load is never refused for its rate (the runs measure faults, not limits).
pub fn base_env(database_url: &str, valkey_url: &str, local_root: &Path) -> Env {
    let mut env = ProcessEnv::offline(database_url, valkey_url)
        .set("WUMP__API__WORKERS", "2")
        .set("WUMP__API__RATE_LIMITS__ANONYMOUS__PER_MINUTE", "1000000")
        .set("WUMP__API__RATE_LIMITS__ANONYMOUS__BURST", "100000")
        .set("WUMP__QUEUES__HEARTBEAT_INTERVAL_SECS", "1")
        .set("WUMP__QUEUES__MISSED_HEARTBEATS", "3")
        .set("WUMP__QUEUES__POLL_INTERVAL_MS", "100")
        .set("WUMP__WORKER__SHUTDOWN_GRACE_SECS", "5")
        .set(
            "WUMP__PROVIDERS__LOCAL__ROOT",
            local_root.to_string_lossy().into_owned(),
        )
        .set("WUMP__TELEMETRY__LOG_FORMAT", "json")
        .set("RUST_LOG", "info")
        .into_vars();
    for keep in ["PATH", "HOME"] {
        if let Ok(value) = std::env::var(keep) {
            env.push((keep.into(), value));
        }
    }
    env
}
