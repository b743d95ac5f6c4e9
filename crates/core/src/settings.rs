//! The configuration tree shared by both binaries.
//!
//! Sources, later ones winning: the defaults in this file → `config/default.toml` →
//! `config/$WUMP_ENV.toml` → environment variables `WUMP__SECTION__KEY` (for example
//! `WUMP__DATABASE__URL`). Files are optional. Secrets (the database URL, tokens) are
//! [`SecretString`]s so they never reach a log through `Debug`.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use config::{Config, ConfigError, Environment, File};
use secrecy::SecretString;
use serde::Deserialize;

use crate::{
    jobs::{JobType, Priority},
    manifest::matcher,
};

/// Everything wump can be configured with.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub valkey: ValkeySettings,
    pub api: ApiSettings,
    pub worker: WorkerSettings,
    /// Job queues: retries, polling, heartbeats and concurrency.
    pub queues: QueueSettings,
    /// Which files of a repository are read as manifests.
    pub manifests: matcher::Limits,
    pub telemetry: TelemetrySettings,
    /// Data providers' section, read by the worker into `wump_providers::ProvidersConfig`
    /// (which owns its shape and rejects unknown keys there).
    pub providers: ProvidersSection,
}

/// The `providers` section, kept unread here: its shape belongs to the providers crate,
/// which core does not depend on. `Debug` prints nothing of it (it holds API keys).
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct ProvidersSection(Option<config::Value>);

impl ProvidersSection {
    /// Deserializes the section into the providers crate's configuration type.
    pub fn read<T: serde::de::DeserializeOwned + Default>(&self) -> Result<T, ConfigError> {
        match &self.0 {
            Some(value) => value.clone().try_deserialize(),
            None => Ok(T::default()),
        }
    }
}

impl std::fmt::Debug for ProvidersSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProvidersSection(..)")
    }
}

/// PostgreSQL connection pool.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://user:password@host:port/database[?sslmode=…]`; `sslmode` is one of
    /// `disable`, `prefer` (the default), `require`, `verify-ca`, `verify-full`, as in libpq.
    pub url: SecretString,
    /// PEM bundle of the certificate authorities that `sslmode=verify-ca|verify-full` trusts
    /// instead of the system's (RDS: Amazon's `global-bundle.pem`).
    pub ca_file: Option<PathBuf>,
    /// Most connections one process holds.
    pub pool_max_size: usize,
    /// How long a request waits for a free connection before failing.
    pub pool_wait_timeout_ms: u64,
    /// How long opening a new connection may take.
    pub connect_timeout_ms: u64,
    /// Server-side limit on any one statement.
    pub statement_timeout_ms: u64,
    /// Apply pending migrations when a binary starts (convenient locally; run
    /// `wump-api migrate` as a separate step in production).
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("postgres://wump:wump@127.0.0.1:54329/wump"),
            ca_file: None,
            pool_max_size: 16,
            pool_wait_timeout_ms: 2_000,
            connect_timeout_ms: 5_000,
            statement_timeout_ms: 30_000,
            migrate_on_start: true,
        }
    }
}

impl DatabaseSettings {
    /// [`Self::pool_wait_timeout_ms`] as a duration.
    pub fn pool_wait_timeout(&self) -> Duration {
        Duration::from_millis(self.pool_wait_timeout_ms)
    }

    /// [`Self::connect_timeout_ms`] as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
}

/// Valkey (or Redis) server for queues, cache and rate limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValkeySettings {
    /// `redis://[:password@]host:port[/db]` (`rediss://` for TLS).
    pub url: SecretString,
    /// PEM bundle of the certificate authorities a `rediss://` server is checked against
    /// instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// Connections in the cache/limiter pool.
    pub pool_size: usize,
    /// Timeout for one command.
    pub command_timeout_ms: u64,
}

impl Default for ValkeySettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("redis://127.0.0.1:63799"),
            ca_file: None,
            pool_size: 8,
            command_timeout_ms: 1_000,
        }
    }
}

/// The HTTP API server.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Seconds to let in-flight requests finish after SIGTERM.
    pub shutdown_timeout_secs: u64,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: 0,
            shutdown_timeout_secs: 30,
        }
    }
}

/// The background worker.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// Address of the worker's own `/health` and `/metrics` endpoint.
    pub health_bind: SocketAddr,
    /// Seconds to finish or hand back in-flight jobs after SIGTERM.
    pub shutdown_grace_secs: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            health_bind: SocketAddr::from(([127, 0, 0, 1], 8081)),
            shutdown_grace_secs: 25,
        }
    }
}

/// The job queues (apalis over Valkey): retries, polling, orphan recovery, concurrency.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSettings {
    /// Attempts a job gets before it goes to the dead-letter list (1 = no retries).
    pub max_attempts: u32,
    /// Delay before the first retry; it doubles per attempt, plus up to 25% jitter.
    pub backoff_base_ms: u64,
    /// Longest delay between two attempts.
    pub backoff_max_ms: u64,
    /// How often an idle worker looks for new jobs.
    pub poll_interval_ms: u64,
    /// How often a worker tells Valkey it is alive.
    pub heartbeat_interval_secs: u64,
    /// Heartbeats a worker may miss before its in-flight jobs go back to their queue: the
    /// orphan timeout is `heartbeat_interval_secs × missed_heartbeats`. Valkey's queue clock
    /// ticks in whole seconds, so the timeout must exceed the interval by at least 2 s.
    pub missed_heartbeats: u32,
    /// Jobs one worker process runs at once from each priority's queue of one job type.
    pub concurrency: PriorityConcurrency,
    /// Overrides of [`Self::concurrency`] per job type (`scrape`, `parse`, `enrich`,
    /// `discover`, `cleanup`).
    pub job_concurrency: HashMap<JobType, PriorityConcurrency>,
    /// Prepended to every queue key (queue names, the dead-letter list), e.g. to share
    /// one Valkey between deployments; empty in production. Tests use one per test.
    pub key_prefix: String,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            backoff_base_ms: 10_000,
            backoff_max_ms: 600_000,
            poll_interval_ms: 200,
            heartbeat_interval_secs: 5,
            missed_heartbeats: 6,
            concurrency: PriorityConcurrency::default(),
            job_concurrency: HashMap::new(),
            key_prefix: String::new(),
        }
    }
}

/// Concurrent jobs per priority: high gets the most so it drains first, low keeps at least
/// one so it never starves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriorityConcurrency {
    pub high: usize,
    pub normal: usize,
    pub low: usize,
}

impl Default for PriorityConcurrency {
    fn default() -> Self {
        Self {
            high: 4,
            normal: 2,
            low: 1,
        }
    }
}

impl PriorityConcurrency {
    /// The concurrency for `priority` (at least 1).
    pub fn get(&self, priority: Priority) -> usize {
        match priority {
            Priority::High => self.high,
            Priority::Normal => self.normal,
            Priority::Low => self.low,
        }
        .max(1)
    }
}

impl QueueSettings {
    /// The concurrency for one job type's queue at `priority`.
    pub fn concurrency_for(&self, job_type: JobType, priority: Priority) -> usize {
        self.job_concurrency
            .get(&job_type)
            .unwrap_or(&self.concurrency)
            .get(priority)
    }

    /// [`Self::poll_interval_ms`] as a duration (at least 10 ms).
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.max(10))
    }

    /// [`Self::heartbeat_interval_secs`] as a duration (at least 1 s).
    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_secs(self.heartbeat_interval_secs.max(1))
    }

    /// How long a silent worker keeps its jobs before another worker takes them back.
    pub fn orphan_timeout(&self) -> Duration {
        self.heartbeat_interval() * self.missed_heartbeats.max(1)
    }

    /// Checks the values that would make the queues misbehave.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_attempts == 0 {
            return Err("queues.max_attempts must be at least 1".into());
        }
        if self.backoff_base_ms == 0 || self.backoff_max_ms < self.backoff_base_ms {
            return Err(
                "queues.backoff_base_ms must be positive and at most backoff_max_ms".into(),
            );
        }
        // Worker liveness is stored in whole seconds: a live worker can look up to a second
        // older than it is, so the timeout needs a margin over one interval.
        if self.orphan_timeout() < self.heartbeat_interval() + Duration::from_secs(2) {
            return Err(
                "queues: heartbeat_interval_secs × missed_heartbeats must exceed \
                 heartbeat_interval_secs by at least 2 s, or live workers lose their jobs"
                    .into(),
            );
        }
        Ok(())
    }
}

/// Logs, traces and metrics.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `tracing` filter directives, e.g. `info,wump_db=debug`; `RUST_LOG` overrides it.
    pub log_filter: String,
    /// `json` (one object per line, with trace and span ids) or `pretty`.
    pub log_format: LogFormat,
    /// Service name reported to OpenTelemetry; each binary sets its own when empty.
    pub service_name: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_filter: "info".into(),
            log_format: LogFormat::Json,
            service_name: String::new(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Json,
    Pretty,
}

impl Settings {
    /// Loads settings from `config/` under the working directory and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        let env = std::env::var("WUMP_ENV").ok();
        Self::load_from(
            Path::new("config"),
            env.as_deref(),
            Environment::with_prefix("WUMP"),
        )
    }

    /// Loads settings from `dir` and the given environment source (tests pass their own).
    pub fn load_from(
        dir: &Path,
        wump_env: Option<&str>,
        environment: Environment,
    ) -> Result<Self, ConfigError> {
        let mut builder =
            Config::builder().add_source(File::from(dir.join("default.toml")).required(false));
        if let Some(env) = wump_env.filter(|e| !e.is_empty()) {
            builder =
                builder.add_source(File::from(dir.join(format!("{env}.toml"))).required(false));
        }
        builder
            .add_source(
                environment
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .build()?
            .try_deserialize()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> Environment {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Environment::with_prefix("WUMP").source(Some(map))
    }

    #[test]
    fn defaults_apply_without_files_or_environment() {
        let settings = Settings::load_from(Path::new("/nonexistent"), None, env(&[])).unwrap();
        assert_eq!(settings.api.bind.port(), 8080);
        assert!(settings.database.migrate_on_start);
        assert_eq!(settings.manifests, matcher::Limits::default());
        assert_eq!(
            settings.database.url.expose_secret(),
            "postgres://wump:wump@127.0.0.1:54329/wump"
        );
    }

    #[test]
    fn environment_overrides_files_which_override_defaults() {
        let dir = std::env::temp_dir().join(format!("wump-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("default.toml"),
            "[api]\nbind = \"0.0.0.0:9000\"\nworkers = 3\n",
        )
        .unwrap();
        std::fs::write(dir.join("staging.toml"), "[api]\nworkers = 5\n").unwrap();
        let settings = Settings::load_from(
            &dir,
            Some("staging"),
            env(&[
                ("WUMP__DATABASE__URL", "postgres://u:p@db:5432/w"),
                ("WUMP__VALKEY__URL", "redis://cache:6379"),
                ("WUMP__API__BIND", "127.0.0.1:9999"),
                ("WUMP__DATABASE__POOL_MAX_SIZE", "4"),
                ("WUMP__MANIFESTS__MAX_PER_REPOSITORY", "50"),
                ("WUMP__DATABASE__CA_FILE", "/etc/wump/rds-global-bundle.pem"),
            ]),
        )
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(settings.api.bind.to_string(), "127.0.0.1:9999");
        assert_eq!(settings.api.workers, 5);
        assert_eq!(settings.database.pool_max_size, 4);
        assert_eq!(settings.manifests.max_per_repository, 50);
        assert_eq!(
            settings.database.url.expose_secret(),
            "postgres://u:p@db:5432/w"
        );
        assert_eq!(settings.valkey.url.expose_secret(), "redis://cache:6379");
        assert_eq!(
            settings.database.ca_file.as_deref(),
            Some(Path::new("/etc/wump/rds-global-bundle.pem"))
        );
        assert_eq!(settings.valkey.ca_file, None);
    }

    #[test]
    fn queue_settings_default_to_three_attempts_and_read_per_job_overrides() {
        let settings = Settings::load_from(
            Path::new("/nonexistent"),
            None,
            env(&[
                ("WUMP__QUEUES__JOB_CONCURRENCY__PARSE__HIGH", "9"),
                ("WUMP__QUEUES__MISSED_HEARTBEATS", "4"),
            ]),
        )
        .unwrap();
        let queues = &settings.queues;
        assert_eq!(queues.max_attempts, 3);
        assert_eq!(queues.missed_heartbeats, 4);
        assert_eq!(queues.concurrency_for(JobType::Parse, Priority::High), 9);
        assert_eq!(queues.concurrency_for(JobType::Parse, Priority::Low), 1);
        assert_eq!(queues.concurrency_for(JobType::Scrape, Priority::High), 4);
        assert_eq!(queues.orphan_timeout(), Duration::from_secs(20));
        queues.validate().unwrap();
        let tight = QueueSettings {
            heartbeat_interval_secs: 5,
            missed_heartbeats: 1,
            ..QueueSettings::default()
        };
        assert!(tight.validate().is_err());
    }

    #[test]
    fn secrets_do_not_appear_in_debug_output() {
        let settings = Settings::load_from(
            Path::new("/nonexistent"),
            None,
            env(&[("WUMP__DATABASE__URL", "postgres://u:hunter2@db/w")]),
        )
        .unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_that_name_the_key() {
        let err = Settings::load_from(
            Path::new("/nonexistent"),
            None,
            env(&[("WUMP__API__BIND", "not-an-address")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("bind"), "{err}");
        let err = Settings::load_from(
            Path::new("/nonexistent"),
            None,
            env(&[("WUMP__API__BINDD", "x")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("bindd"), "{err}");
    }
}
