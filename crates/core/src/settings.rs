//! The configuration tree shared by both binaries.
//!
//! Sources, later ones winning: the defaults in this file → `config/default.toml` →
//! `config/$WUMP_ENV.toml` → environment variables `WUMP__SECTION__KEY` (for example
//! `WUMP__DATABASE__URL`). Files are optional. Secrets (the database URL, tokens) are
//! [`SecretString`]s so they never reach a log through `Debug`.

use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use config::{Config, ConfigError, Environment, File};
use secrecy::SecretString;
use serde::Deserialize;

use crate::jobs::{JobType, Priority};

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
    /// Recurring jobs the worker enqueues (`wump-worker run`, unless `--no-scheduler`).
    pub schedule: ScheduleSettings,
    /// What the cleanup job removes, and after how long.
    pub cleanup: CleanupSettings,
    /// The worker's shared (Valkey) store of conditional-request answers from GitHub.
    pub http_cache: HttpCacheSettings,
    /// Provider limits shared by every worker process through Valkey.
    pub provider_limits: ProviderLimitsSettings,
    /// Which files of a repository are read as manifests.
    pub manifests: ManifestLimits,
    /// Webhook subscriptions and their deliveries (docs/webhooks.md).
    pub webhooks: WebhookSettings,
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
    /// A read replica for the API's read endpoints (`WUMP__DATABASE__READ_URL`); unset, they
    /// read the primary. Same pool size and timeouts as the primary.
    pub read_url: Option<SecretString>,
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
    /// Client-side limit on one database operation (checkout and its queries): a server
    /// that accepts and never answers fails the operation after this, instead of holding
    /// it until TCP gives up, and the connection is closed rather than reused.
    pub query_timeout_ms: u64,
    /// Apply pending migrations when a binary starts (convenient locally; run
    /// `wump-api migrate` as a separate step in production).
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("postgres://wump:wump@127.0.0.1:54329/wump"),
            read_url: None,
            ca_file: None,
            pool_max_size: 16,
            pool_wait_timeout_ms: 2_000,
            connect_timeout_ms: 5_000,
            statement_timeout_ms: 30_000,
            query_timeout_ms: 5_000,
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

    /// [`Self::query_timeout_ms`] as a duration.
    pub fn query_timeout(&self) -> Duration {
        Duration::from_millis(self.query_timeout_ms)
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
    /// Where people reach this wump (scheme, host, port if any; no trailing slash): the
    /// absolute links the pages offer to paste elsewhere (badges' Markdown) start with it.
    pub public_url: String,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Seconds to let in-flight requests finish after SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// The response cache (`[api.cache]`).
    pub cache: CacheSettings,
    /// When to stop sending requests to an unavailable database (`[api.breaker]`).
    pub breaker: BreakerSettings,
    /// What the health endpoints call unhealthy (`[api.health]`).
    pub health: HealthSettings,
    /// CORS, size limits and the request timeout (`[api.http]`).
    pub http: HttpSettings,
    /// A bootstrap key of the admin tier (`WUMP__API__ADMIN_KEY`, at least 32 characters),
    /// for creating the first stored keys; only its SHA-256 is kept in memory.
    pub admin_key: Option<SecretString>,
    /// Who the caller is: API keys, trusted proxies.
    pub auth: AuthSettings,
    /// Requests per minute and burst for each tier.
    pub rate_limits: RateLimitSettings,
    /// `POST /api/v1/packages/{ecosystem}/{name}/refresh`.
    pub refresh: RefreshSettings,
    /// Whole-list exports of dependents and organizations (`[api.exports]`).
    pub exports: ExportSettings,
    /// The HTML pages (`[api.pages]`): the operators' dashboard sign-in.
    pub pages: PagesSettings,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".to_owned(),
            workers: 0,
            shutdown_timeout_secs: 30,
            cache: CacheSettings::default(),
            breaker: BreakerSettings::default(),
            health: HealthSettings::default(),
            http: HttpSettings::default(),
            admin_key: None,
            auth: AuthSettings::default(),
            rate_limits: RateLimitSettings::default(),
            refresh: RefreshSettings::default(),
            exports: ExportSettings::default(),
            pages: PagesSettings::default(),
        }
    }
}

/// `[api.exports]`: CSV, JSON Lines and Markdown exports of whole listings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExportSettings {
    /// Most rows one export holds, per tier; 0 means unlimited.
    pub max_rows: TierRows,
    /// Rows read from PostgreSQL per query while streaming (one keyset page each).
    pub batch_rows: u32,
    /// An export costs the caller one request of its rate limit per this many rows sent
    /// (at least one); 0: one request, however long.
    pub rows_per_request: u32,
}

impl Default for ExportSettings {
    fn default() -> Self {
        Self {
            max_rows: TierRows {
                anonymous: 1_000,
                free: 10_000,
                standard: 100_000,
                premium: 1_000_000,
                admin: 0,
            },
            batch_rows: 1_000,
            rows_per_request: 1_000,
        }
    }
}

/// A number of rows per tier (0: unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierRows {
    pub anonymous: u64,
    pub free: u64,
    pub standard: u64,
    pub premium: u64,
    pub admin: u64,
}

/// `[api.auth]`: API key lookups and the client address behind proxies.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Proxies (CIDRs, e.g. `10.0.0.0/8`) whose `X-Forwarded-For` is believed; the client
    /// is the right-most address not in these ranges. Empty: the peer is the client.
    pub trusted_proxies: Vec<String>,
    /// How long a looked-up key is remembered in-process: a revocation reaches every
    /// instance within this time.
    pub key_cache_ttl_secs: u64,
    /// Most keys remembered in-process.
    pub key_cache_capacity: u64,
    /// How often the keys used since the last flush get their `last_used_at` written.
    pub last_used_flush_secs: u64,
    /// While PostgreSQL cannot be asked, a key PostgreSQL confirmed valid at most this long
    /// ago is still accepted with its last known tier (kept in-process and in Valkey);
    /// 0 refuses every key that cannot be checked (503).
    pub outage_grace_secs: u64,
    /// Timeout of one Valkey command reading or writing a key's last known validity.
    pub valkey_timeout_ms: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            key_cache_ttl_secs: 30,
            key_cache_capacity: 10_000,
            last_used_flush_secs: 60,
            outage_grace_secs: 3_600,
            valkey_timeout_ms: 250,
        }
    }
}

/// One tier's rate limit (GCRA): a steady rate and how many requests may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierLimit {
    /// Sustained requests per minute; 0 means unlimited.
    pub per_minute: u32,
    /// Requests allowed at once from an idle start (at least 1).
    pub burst: u32,
}

impl TierLimit {
    const fn new(per_minute: u32, burst: u32) -> Self {
        Self { per_minute, burst }
    }
}

/// `[api.rate_limits]`: limits per tier, and the in-process fallback used while Valkey is
/// unreachable.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Callers without a key, by client address.
    pub anonymous: TierLimit,
    pub free: TierLimit,
    pub standard: TierLimit,
    pub premium: TierLimit,
    pub admin: TierLimit,
    /// Timeout of one limiter call to Valkey before the in-process limiter answers.
    pub valkey_timeout_ms: u64,
    /// After a Valkey failure, how long the in-process limiter answers before Valkey is
    /// tried again.
    pub valkey_retry_ms: u64,
    /// Most callers the in-process limiter tracks (the oldest are forgotten first), and
    /// most callers an instance holds leases for.
    pub local_capacity: usize,
    /// Most units of a busy caller's budget one instance takes from Valkey at once and
    /// spends without asking (never more than an eighth of the caller's burst); 0 or 1:
    /// every request asks Valkey.
    pub lease_max: u32,
    /// How long leased units may be spent; those left then are lost to the caller until
    /// its budget refills.
    pub lease_ms: u64,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            anonymous: TierLimit::new(60, 30),
            free: TierLimit::new(300, 100),
            standard: TierLimit::new(1_200, 300),
            premium: TierLimit::new(6_000, 1_000),
            admin: TierLimit::new(0, 1),
            valkey_timeout_ms: 250,
            valkey_retry_ms: 2_000,
            local_capacity: 100_000,
            lease_max: 64,
            lease_ms: 1_000,
        }
    }
}

/// `[api.refresh]`: on-demand discovery.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RefreshSettings {
    /// How long a refresh counts as pending (later calls get the same job) unless its job
    /// finishes first.
    pub pending_ttl_secs: u64,
}

impl Default for RefreshSettings {
    fn default() -> Self {
        Self {
            pending_ttl_secs: 1_800,
        }
    }
}

/// `[api.pages]`: the HTML pages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagesSettings {
    /// How long a sign-in to the operators' dashboard (`/admin`) lasts (s).
    pub admin_session_secs: u64,
}

impl Default for PagesSettings {
    fn default() -> Self {
        Self {
            admin_session_secs: 28_800,
        }
    }
}

/// HTTP limits and browser access.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Origins browsers may call the API from (`https://example.org`), or `["*"]` for any;
    /// empty: no CORS headers at all.
    pub cors_allowed_origins: Vec<String>,
    /// Largest JSON request body (bytes); larger ones get 413.
    pub json_body_limit_bytes: usize,
    /// Largest request line plus headers (bytes); larger requests get 431.
    pub max_header_bytes: usize,
    /// A request still unanswered after this long gets a 503 problem (ms).
    pub request_timeout_ms: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            cors_allowed_origins: Vec::new(),
            json_body_limit_bytes: 64 * 1024,
            max_header_bytes: 16 * 1024,
            request_timeout_ms: 15_000,
        }
    }
}

/// Thresholds of the API's health endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthSettings {
    /// `/health/jobs` answers 503 when more jobs than this wait in the dead-letter list
    /// (0: never, whatever its size).
    pub dead_letter_threshold: u64,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            dead_letter_threshold: 100,
        }
    }
}

/// The API's circuit breaker around database loads: after `failure_threshold` consecutive
/// "database unavailable" failures within `failure_window_ms`, uncached requests fail at
/// once with 503 for `open_ms`, then one request probes whether the database is back.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerSettings {
    /// Consecutive unavailable answers that open the breaker (one that ran out
    /// `database.query_timeout_ms` opens it alone).
    pub failure_threshold: u32,
    /// The window those failures must fall in (ms).
    pub failure_window_ms: u64,
    /// How long it stays open before a probe (ms); also the `Retry-After` it answers.
    pub open_ms: u64,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            failure_window_ms: 10_000,
            open_ms: 5_000,
        }
    }
}

/// The API's response cache in Valkey. Entries are also invalidated at once when the worker
/// bumps a package's or organization's cache version; the TTLs bound how stale anything
/// else (stars, counts of other packages) may get.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Off: every request reads PostgreSQL (benchmarks, debugging).
    pub enabled: bool,
    /// A package's metadata and counts (s).
    pub package_ttl_secs: u64,
    /// A package's dependents listing (s).
    pub dependents_ttl_secs: u64,
    /// The organizations using a package (s).
    pub organizations_ttl_secs: u64,
    /// An organization and its repositories and dependencies (s).
    pub organization_ttl_secs: u64,
    /// A repository and its dependencies (s).
    pub repository_ttl_secs: u64,
    /// Search results (s).
    pub search_ttl_secs: u64,
    /// Totals and freshness (s).
    pub stats_ttl_secs: u64,
    /// SVG badges and their shields.io endpoint JSON (s); also what image proxies may keep.
    pub badge_ttl_secs: u64,
    /// How long past its TTL an entry is kept to be served (marked STALE) while the database
    /// is unavailable; also the `stale-if-error` offered to CDNs (s).
    pub stale_secs: u64,
    /// After a Valkey command fails, how long requests skip the cache and go straight to
    /// PostgreSQL, instead of each waiting for the command timeout (ms).
    pub valkey_cooldown_ms: u64,
    /// Remember cache versions in memory, kept right by Valkey's invalidation messages
    /// (`CLIENT TRACKING`, one extra RESP3 connection): a HIT then costs one round trip
    /// instead of two. Off, or refused by the server: every read asks Valkey.
    pub track_versions: bool,
    /// How many cache versions to remember at most (about 100 bytes each).
    pub tracked_versions: usize,
    /// Render the answers asked for most again as soon as the worker bumps their version,
    /// so the first reader after a change still gets a HIT (needs `track_versions`).
    pub warm: bool,
    /// How many packages and organizations to keep hot answers for (up to 4 each).
    pub warm_scopes: u64,
    /// Bytes of fresh answers each instance keeps in memory as well (0: none): a hot
    /// answer then costs no Valkey round trip once its version is remembered.
    pub local_bytes: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            package_ttl_secs: 600,
            dependents_ttl_secs: 3_600,
            organizations_ttl_secs: 21_600,
            organization_ttl_secs: 3_600,
            repository_ttl_secs: 3_600,
            search_ttl_secs: 300,
            stats_ttl_secs: 900,
            badge_ttl_secs: 3_600,
            stale_secs: 86_400,
            valkey_cooldown_ms: 2_000,
            track_versions: true,
            tracked_versions: 50_000,
            warm: true,
            warm_scopes: 1_000,
            local_bytes: 4 * 1024 * 1024,
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
    /// How often the queue-depth and dead-letter gauges are sampled from Valkey.
    pub metrics_interval_secs: u64,
    /// Also run the no-op job's queues (`wump-bench queue` measures the queues with it).
    /// Off in production: nothing there enqueues no-op jobs.
    pub noop_jobs: bool,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            health_bind: SocketAddr::from(([127, 0, 0, 1], 8081)),
            shutdown_grace_secs: 25,
            metrics_interval_secs: 15,
            noop_jobs: false,
        }
    }
}

impl WorkerSettings {
    /// [`Self::metrics_interval_secs`] as a duration (at least 1 s).
    pub fn metrics_interval(&self) -> Duration {
        Duration::from_secs(self.metrics_interval_secs.max(1))
    }
}

/// Recurring jobs. Every replica runs the scheduler; a Valkey lock per tick lets exactly
/// one of them enqueue it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleSettings {
    /// How long a tick's lock is kept (s). It must outlast the spread between replicas'
    /// clocks and firing delays; it only keeps Valkey tidy beyond that.
    pub lock_ttl_secs: u64,
    /// The entries by name (the name is part of the lock key). Configured entries are laid
    /// over the built-in `scrape`, `enrich`, `cleanup`, `snapshot` and `dispatch` ones key by key, so
    /// `WUMP__SCHEDULE__JOBS__SCRAPE__ENABLED=false` turns one off.
    #[serde(deserialize_with = "scheduled_jobs")]
    pub jobs: BTreeMap<String, ScheduledJob>,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        let entry = |cron: &str, job, payload| ScheduledJob {
            cron: cron.into(),
            job,
            payload,
            enabled: true,
        };
        Self {
            lock_ttl_secs: 3_600,
            jobs: BTreeMap::from([
                (
                    "scrape".into(),
                    entry(
                        "0 0 2 * * *",
                        JobType::Scrape,
                        serde_json::json!({ "provider": "github" }),
                    ),
                ),
                (
                    "enrich".into(),
                    entry("0 0 3 * * Sun", JobType::Enrich, serde_json::json!({})),
                ),
                (
                    "cleanup".into(),
                    entry("0 0 4 1 * *", JobType::Cleanup, serde_json::json!({})),
                ),
                (
                    "snapshot".into(),
                    entry("0 55 23 * * *", JobType::Snapshot, serde_json::json!({})),
                ),
                // The webhook outbox, for events whose writer's follow-up was lost.
                (
                    "dispatch".into(),
                    entry("0 * * * * *", JobType::Dispatch, serde_json::json!({})),
                ),
            ]),
        }
    }
}

/// Retention of what the cleanup job removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CleanupSettings {
    /// Finished `job_executions` rows older than this many days are deleted.
    pub job_retention_days: u32,
    /// Repositories their host no longer has are deleted (with their edges) this many days
    /// after a parse first found them gone; until then they come back if the host does.
    pub gone_retention_days: u32,
    /// Events and daily counts older than this many days are deleted by the snapshot job
    /// (each package keeps its latest daily row before the cutoff).
    pub history_retention_days: u32,
}

impl Default for CleanupSettings {
    fn default() -> Self {
        Self {
            job_retention_days: 90,
            gone_retention_days: 30,
            history_retention_days: 730,
        }
    }
}

impl ScheduleSettings {
    /// [`Self::lock_ttl_secs`] as a duration (at least 1 s).
    pub fn lock_ttl(&self) -> Duration {
        Duration::from_secs(self.lock_ttl_secs.max(1))
    }
}

/// One recurring job.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledJob {
    /// When, in UTC, as six fields with seconds: `sec min hour day-of-month month
    /// day-of-week` (`0 0 2 * * *` is 02:00:00 every day).
    pub cron: String,
    /// The job type enqueued (at normal priority).
    pub job: JobType,
    /// The job's payload, e.g. `{ provider = "github", query = "stars:>1000" }` for a
    /// scrape. An enrich without an organization enriches every stored organization.
    #[serde(default = "empty_object")]
    pub payload: serde_json::Value,
    /// `false` keeps the entry without running it.
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

fn enabled() -> bool {
    true
}

/// A configured entry: any field left out keeps the built-in entry's value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduledJobOverride {
    cron: Option<String>,
    job: Option<JobType>,
    payload: Option<serde_json::Value>,
    enabled: Option<bool>,
}

fn scheduled_jobs<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, ScheduledJob>, D::Error> {
    use serde::de::Error;
    let overrides = BTreeMap::<String, ScheduledJobOverride>::deserialize(deserializer)?;
    let mut jobs = ScheduleSettings::default().jobs;
    for (name, over) in overrides {
        let entry = match jobs.remove(&name) {
            Some(base) => ScheduledJob {
                cron: over.cron.unwrap_or(base.cron),
                job: over.job.unwrap_or(base.job),
                payload: over.payload.unwrap_or(base.payload),
                enabled: over.enabled.unwrap_or(base.enabled),
            },
            None => ScheduledJob {
                cron: over.cron.ok_or_else(|| {
                    D::Error::custom(format!("schedule.jobs.{name}: missing cron"))
                })?,
                job: over.job.ok_or_else(|| {
                    D::Error::custom(format!("schedule.jobs.{name}: missing job"))
                })?,
                payload: over.payload.unwrap_or_else(empty_object),
                enabled: over.enabled.unwrap_or(true),
            },
        };
        jobs.insert(name, entry);
    }
    Ok(jobs)
}

/// The worker's Valkey-backed store of ETags and bodies for GitHub's conditional requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpCacheSettings {
    /// Use Valkey (shared by every worker) instead of each process's own memory.
    pub enabled: bool,
    /// Seconds an entry is kept after it was last stored.
    pub ttl_secs: u64,
    /// Larger bodies are not stored (each one is a single Valkey value).
    pub max_entry_bytes: usize,
}

impl Default for HttpCacheSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl_secs: 7 * 24 * 3600,
            max_entry_bytes: 1024 * 1024,
        }
    }
}

/// The providers' limits (GitHub's quotas and waits, the registries' spacing) shared by
/// every worker process through Valkey (docs/providers.md, "Limits shared by the fleet").
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderLimitsSettings {
    /// Keep the limits in Valkey for the whole fleet; `false`: each process alone (as
    /// before; only for one-process setups and comparisons).
    pub shared: bool,
    /// The Valkey holding the limits when it is not `valkey.url` (`redis://…`); the
    /// connection settings are `valkey`'s otherwise.
    pub valkey_url: Option<SecretString>,
    /// GitHub requests in flight per token across the fleet (GitHub asks for serial).
    pub github_in_flight_per_token: u32,
    /// A lease lives the provider's request timeout plus this, so a killed process's slot
    /// comes back.
    pub lease_margin_ms: u64,
    /// Valkey unreachable: each process uses at most this share of every quota, one
    /// request in flight per token, and the registries' spacing ÷ this share.
    pub fallback_share: f64,
    /// After a Valkey failure, Valkey is asked again after this long.
    pub retry_after_failure_ms: u64,
    /// Longest sleep before asking Valkey again for a slot someone else holds.
    pub max_sleep_ms: u64,
}

impl Default for ProviderLimitsSettings {
    fn default() -> Self {
        Self {
            shared: true,
            valkey_url: None,
            github_in_flight_per_token: 1,
            lease_margin_ms: 5_000,
            fallback_share: 0.25,
            retry_after_failure_ms: 2_000,
            max_sleep_ms: 1_000,
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
    /// Provider rate-limit waits a job may take at one attempt without spending it; the
    /// job runs again after each wait. Beyond this a wait spends the attempt.
    pub max_rate_limit_waits: u32,
    /// Waits for an unavailable database a job may take at one attempt without spending
    /// it (waits of either kind at one attempt count together); beyond this the failure
    /// spends the attempt, so a database that never returns still ends in the dead-letter
    /// list.
    pub max_database_waits: u32,
    /// Longest of those waits: they start at 1 s and double up to this.
    pub database_wait_max_ms: u64,
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
    /// `discover`, `cleanup`, `snapshot`, `dispatch`, `deliver`).
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
            max_rate_limit_waits: 5,
            max_database_waits: 12,
            database_wait_max_ms: 30_000,
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

/// Webhooks: the key their secrets are encrypted under, where deliveries may go, and how
/// they are retried (docs/webhooks.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// The key subscription secrets are encrypted under: the base64 of 32 random bytes
    /// (`openssl rand -base64 32`), the same in every api and worker process. A secret:
    /// set it through `WUMP__WEBHOOKS__SECRET_KEY`. Unset, the webhook routes answer 503
    /// and deliveries fail.
    pub secret_key: Option<SecretString>,
    /// Ranges (CIDRs) deliveries may reach although the built-in rules refuse them
    /// (loopback, private, link-local, …), e.g. `["10.20.0.0/16"]` for receivers inside
    /// your own network.
    pub allowed_networks: Vec<String>,
    /// Accept `http://` URLs (not only https).
    pub allow_http: bool,
    /// Redirects a delivery follows, each hop checked like the URL itself; 0 (the
    /// default): a redirect answer is a failed attempt.
    pub max_redirects: u32,
    /// Time for one delivery, connecting to the last byte of the answer (ms).
    pub timeout_ms: u64,
    /// Largest body sent (bytes); a bigger one fails without retry.
    pub max_payload_bytes: usize,
    /// Attempts per delivery before it is failed and dead-lettered.
    pub max_attempts: u32,
    /// Delay before the first retry of a delivery; it doubles per attempt, plus up to 25%
    /// jitter (ms).
    pub backoff_base_ms: u64,
    /// Longest delay between two attempts of a delivery (ms).
    pub backoff_max_ms: u64,
    /// Failed deliveries in a row (each after its last attempt) that disable a
    /// subscription; 0 never disables.
    pub disable_after_failures: u32,
    /// Subscriptions one API key may hold.
    pub max_subscriptions_per_key: u32,
    /// Events one dispatch run matches against subscriptions per transaction.
    pub dispatch_batch: usize,
    /// Finished deliveries older than this many days are deleted (by the dispatch job, a
    /// batch per run); pending ones stay.
    pub delivery_retention_days: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            secret_key: None,
            allowed_networks: Vec::new(),
            allow_http: false,
            max_redirects: 0,
            timeout_ms: 10_000,
            max_payload_bytes: 64 * 1024,
            max_attempts: 8,
            backoff_base_ms: 30_000,
            backoff_max_ms: 3_600_000,
            disable_after_failures: 5,
            max_subscriptions_per_key: 25,
            dispatch_batch: 500,
            delivery_retention_days: 30,
        }
    }
}

impl WebhookSettings {
    /// [`Self::timeout_ms`] as a duration (at least 100 ms).
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(100))
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
        let mut builder = Config::builder();
        // Tier limits are tables: their defaults go in as a source of their own, so a file
        // or variable that sets one field of a tier keeps the tier's other default.
        let limits = RateLimitSettings::default();
        for (tier, limit) in [
            ("anonymous", limits.anonymous),
            ("free", limits.free),
            ("standard", limits.standard),
            ("premium", limits.premium),
            ("admin", limits.admin),
        ] {
            builder = builder
                .set_default(
                    format!("api.rate_limits.{tier}.per_minute"),
                    i64::from(limit.per_minute),
                )?
                .set_default(
                    format!("api.rate_limits.{tier}.burst"),
                    i64::from(limit.burst),
                )?;
        }
        builder = builder.add_source(File::from(dir.join("default.toml")).required(false));
        if let Some(env) = wump_env.filter(|e| !e.is_empty()) {
            builder =
                builder.add_source(File::from(dir.join(format!("{env}.toml"))).required(false));
        }
        builder
            .add_source(
                environment
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    // Lists from one variable, comma-separated.
                    .list_separator(",")
                    .with_list_parse_key("api.auth.trusted_proxies")
                    .with_list_parse_key("webhooks.allowed_networks"),
            )
            .build()?
            .try_deserialize()
    }
}

/// Bounds on which files of one repository are read as manifests (`[manifests]`);
/// `wump_manifests::matcher::select` applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManifestLimits {
    /// Files larger than this many bytes are skipped (the parsers refuse them anyway).
    pub max_file_bytes: u64,
    /// Most manifests, lockfiles and funding files read from one repository; the shallowest
    /// are kept.
    pub max_per_repository: usize,
}

/// The parsers' own size limit (`wump_manifests::DEFAULT_MAX_BYTES`, which a test there
/// keeps equal to this).
pub const DEFAULT_MANIFEST_MAX_BYTES: u64 = 5 * 1024 * 1024;

impl Default for ManifestLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: DEFAULT_MANIFEST_MAX_BYTES,
            max_per_repository: 1_000,
        }
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
        assert_eq!(settings.manifests, ManifestLimits::default());
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
    fn schedule_entries_override_the_built_in_ones_key_by_key() {
        let settings = Settings::load_from(
            Path::new("/nonexistent"),
            None,
            env(&[
                ("WUMP__SCHEDULE__JOBS__SCRAPE__PAYLOAD__PROVIDER", "local"),
                ("WUMP__SCHEDULE__JOBS__ENRICH__ENABLED", "false"),
                ("WUMP__SCHEDULE__JOBS__NIGHTLY__CRON", "0 30 1 * * *"),
                ("WUMP__SCHEDULE__JOBS__NIGHTLY__JOB", "cleanup"),
            ]),
        )
        .unwrap();
        let jobs = &settings.schedule.jobs;
        assert_eq!(jobs["scrape"].cron, "0 0 2 * * *");
        assert_eq!(
            jobs["scrape"].payload,
            serde_json::json!({ "provider": "local" })
        );
        assert!(!jobs["enrich"].enabled);
        assert_eq!(jobs["enrich"].cron, "0 0 3 * * Sun");
        assert!(jobs["cleanup"].enabled);
        assert_eq!(jobs["nightly"].job, JobType::Cleanup);
        assert_eq!(jobs["nightly"].payload, serde_json::json!({}));

        let err = Settings::load_from(
            Path::new("/nonexistent"),
            None,
            env(&[("WUMP__SCHEDULE__JOBS__NIGHTLY__JOB", "cleanup")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing cron"), "{err}");
    }

    #[test]
    fn the_documented_provider_limits_are_the_built_in_ones() {
        // [provider_limits] in config/default.toml, uncommented (but for the example
        // valkey_url), parses to the defaults.
        let file = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml"),
        )
        .unwrap();
        let start = file.find("[provider_limits]").unwrap();
        let end = start + file[start..].find("\n[manifests]").unwrap();
        let mut toml = String::from("[provider_limits]\n");
        for line in file[start..end].lines() {
            if let Some(setting) = line.strip_prefix("# ")
                && setting
                    .split_once(" = ")
                    .is_some_and(|(key, _)| key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                && !setting.starts_with("valkey_url")
            {
                toml.push_str(setting);
                toml.push('\n');
            }
        }
        assert!(toml.contains("github_in_flight_per_token = 1"), "{toml}");
        let dir = std::env::temp_dir().join(format!("wump-limits-defaults-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("default.toml"), &toml).unwrap();
        let documented = Settings::load_from(&dir, None, env(&[])).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let built_in = ProviderLimitsSettings::default();
        let fields = |s: &ProviderLimitsSettings| {
            (
                s.shared,
                s.github_in_flight_per_token,
                s.lease_margin_ms,
                s.fallback_share,
                s.retry_after_failure_ms,
                s.max_sleep_ms,
            )
        };
        assert_eq!(fields(&documented.provider_limits), fields(&built_in));
        assert!(documented.provider_limits.valkey_url.is_none());
    }

    #[test]
    fn the_documented_api_defaults_are_the_built_in_ones() {
        // config/default.toml documents [api] and its sections commented out: uncommented,
        // they must parse and change nothing.
        let file = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml"),
        )
        .unwrap();
        let start = file.find("[api]").unwrap();
        let end = file.find("[worker]").unwrap();
        let is_key = |k: &str| k.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        let mut toml = String::new();
        for line in file[start..end].lines() {
            if line.starts_with("[api") {
                toml.push_str(line);
                toml.push('\n');
            } else if let Some(setting) = line.strip_prefix("# ")
                && setting
                    .split_once(" = ")
                    .is_some_and(|(key, _)| is_key(key))
                && !setting.starts_with("admin_key")
            {
                toml.push_str(setting);
                toml.push('\n');
            }
        }
        for documented in [
            "premium = { per_minute = 6000, burst = 1000 }",
            "[api.cache]\nenabled = true",
            "[api.pages]\nadmin_session_secs = 28800",
            "dependents_ttl_secs = 3600",
            "[api.http]",
            "max_rows = { anonymous = 1000, free = 10000, standard = 100000, premium = 1000000, admin = 0 }",
            "badge_ttl_secs = 3600",
        ] {
            assert!(
                toml.contains(documented),
                "{documented} missing from\n{toml}"
            );
        }
        let dir = std::env::temp_dir().join(format!("wump-api-defaults-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("default.toml"), &toml).unwrap();
        let documented = Settings::load_from(&dir, None, env(&[])).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let built_in = ApiSettings::default();
        assert_eq!(
            documented.api.rate_limits.anonymous,
            built_in.rate_limits.anonymous
        );
        assert_eq!(
            documented.api.rate_limits.premium,
            built_in.rate_limits.premium
        );
        assert_eq!(documented.api.rate_limits.admin, built_in.rate_limits.admin);
        assert_eq!(
            format!("{:?}", documented.api.auth),
            format!("{:?}", built_in.auth)
        );
        assert_eq!(
            documented.api.refresh.pending_ttl_secs,
            built_in.refresh.pending_ttl_secs
        );
        // And every other section ([api.cache], [api.breaker], [api.health], [api.http]).
        assert_eq!(format!("{:?}", documented.api), format!("{built_in:?}"));
    }

    #[test]
    fn the_documented_webhook_defaults_are_the_built_in_ones() {
        // [webhooks] in config/default.toml, uncommented (but for the secret key), parses
        // to the defaults.
        let file = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml"),
        )
        .unwrap();
        let start = file.find("[webhooks]").unwrap();
        let end = start + file[start..].find("\n[telemetry]").unwrap();
        let mut toml = String::from("[webhooks]\n");
        for line in file[start..end].lines() {
            if let Some(setting) = line.strip_prefix("# ")
                && setting
                    .split_once(" = ")
                    .is_some_and(|(key, _)| key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                && !setting.starts_with("secret_key")
            {
                toml.push_str(setting);
                toml.push('\n');
            }
        }
        assert!(toml.contains("disable_after_failures = 5"), "{toml}");
        let dir =
            std::env::temp_dir().join(format!("wump-webhook-defaults-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("default.toml"), &toml).unwrap();
        let documented = Settings::load_from(&dir, None, env(&[])).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            format!("{:?}", documented.webhooks),
            format!("{:?}", WebhookSettings::default())
        );
    }

    #[test]
    fn the_webhook_key_and_allowed_networks_come_from_the_environment() {
        let settings = Settings::load_from(
            Path::new("/nonexistent"),
            None,
            env(&[
                (
                    "WUMP__WEBHOOKS__SECRET_KEY",
                    "c2VjcmV0LWtleS1ub3QtaW4tbG9ncw==",
                ),
                ("WUMP__WEBHOOKS__ALLOWED_NETWORKS", "10.20.0.0/16,fd00::/8"),
            ]),
        )
        .unwrap();
        assert_eq!(
            settings
                .webhooks
                .secret_key
                .as_ref()
                .unwrap()
                .expose_secret(),
            "c2VjcmV0LWtleS1ub3QtaW4tbG9ncw=="
        );
        assert!(!format!("{settings:?}").contains("c2VjcmV0LWtleS1ub3QtaW4tbG9ncw"));
        assert_eq!(
            settings.webhooks.allowed_networks,
            ["10.20.0.0/16", "fd00::/8"]
        );
    }

    #[test]
    fn the_admin_key_and_trusted_proxies_come_from_the_environment() {
        let settings = Settings::load_from(
            Path::new("/nonexistent"),
            None,
            env(&[
                ("WUMP__API__ADMIN_KEY", "admin-secret-0123456789abcdef0123"),
                (
                    "WUMP__API__AUTH__TRUSTED_PROXIES",
                    "10.0.0.0/8,172.16.0.0/12",
                ),
                ("WUMP__API__RATE_LIMITS__FREE__PER_MINUTE", "42"),
            ]),
        )
        .unwrap();
        assert_eq!(
            settings.api.admin_key.as_ref().unwrap().expose_secret(),
            "admin-secret-0123456789abcdef0123"
        );
        assert!(!format!("{settings:?}").contains("admin-secret"));
        assert_eq!(
            settings.api.auth.trusted_proxies,
            ["10.0.0.0/8", "172.16.0.0/12"]
        );
        assert_eq!(settings.api.rate_limits.free.per_minute, 42);
        assert_eq!(settings.api.rate_limits.free.burst, 100);
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
