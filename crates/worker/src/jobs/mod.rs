//! The job runners: plain async functions, one per job type, independent of the queue
//! library. Each takes a payload from `wump_core::jobs` and a [`JobContext`], does its
//! work, and says what it did ([`JobOutcome`]: records, jobs to enqueue next, what it
//! touched) or why it failed ([`JobError`], which knows whether a retry can help).
//!
//! Every runner is idempotent: running it twice leaves the same rows, and the second run
//! writes nothing. After every write a runner increments the cache version of each package
//! and organization it touched (see `wump_core::cache`).
//!
//! Errors: permanent failures (a malformed payload, something that does not exist, a
//! capability nobody provides) skip retries; unavailable databases, Valkey and providers
//! (5xx, rate limits with their `retry_after`) are retried by the queue.

mod cleanup;
mod context;
mod enrich;
mod parse;
mod queued;
mod scrape;

use std::{collections::BTreeSet, time::Duration};

use serde_json::{Map, Value};
use uuid::Uuid;
use wump_core::jobs::{CleanupJob, DiscoverJob, EnrichJob, JobType, ParseJob, Priority, ScrapeJob};
use wump_db::{
    DbError, Keys, ValkeyError,
    pool::checkout,
    tables::{
        job_executions::{self as executions, FinishExecution, JobStatus, StartExecution},
        organizations, packages,
    },
};
use wump_providers::ProviderError;

pub use cleanup::cleanup;
pub use context::{FollowUpSink, JobContext};
pub use enrich::{enrich, refresh_package_metadata};
pub use parse::{Declaration, MergedDependency, merge_dependencies, parse};
pub use queued::{QueuedContext, register_all};
pub use scrape::{discover, scrape};

/// One database operation (checkouts and queries) within `database.query_timeout_ms`: a
/// database that accepts and never answers fails the job as unavailable (the queue waits
/// and runs it again) instead of holding it while its worker keeps heartbeating, and the
/// connections it used are closed, not reused (`wump_db::pool::bounded`).
pub(crate) async fn db<T>(
    ctx: &JobContext,
    op: impl std::future::Future<Output = Result<T, JobError>>,
) -> Result<T, JobError> {
    wump_db::pool::bounded(&ctx.db, op).await
}

/// Any job with its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    Scrape(ScrapeJob),
    Parse(ParseJob),
    Enrich(EnrichJob),
    Discover(DiscoverJob),
    Cleanup(CleanupJob),
}

impl Job {
    /// Its type.
    pub fn job_type(&self) -> JobType {
        match self {
            Job::Scrape(_) => JobType::Scrape,
            Job::Parse(_) => JobType::Parse,
            Job::Enrich(_) => JobType::Enrich,
            Job::Discover(_) => JobType::Discover,
            Job::Cleanup(_) => JobType::Cleanup,
        }
    }

    /// Its payload as JSON (the inverse of [`Job::from_json`]).
    pub fn payload_json(&self) -> Value {
        let value = match self {
            Job::Scrape(job) => serde_json::to_value(job),
            Job::Parse(job) => serde_json::to_value(job),
            Job::Enrich(job) => serde_json::to_value(job),
            Job::Discover(job) => serde_json::to_value(job),
            Job::Cleanup(job) => serde_json::to_value(job),
        };
        value.unwrap_or(Value::Null)
    }

    /// Reads a payload of `job_type` from JSON; a payload that does not fit is a permanent
    /// [`JobError::Payload`].
    pub fn from_json(job_type: JobType, payload: &Value) -> Result<Self, JobError> {
        fn read<T: serde::de::DeserializeOwned>(payload: &Value) -> Result<T, JobError> {
            T::deserialize(payload).map_err(|e| JobError::Payload(e.to_string()))
        }
        Ok(match job_type {
            JobType::Scrape => Job::Scrape(read(payload)?),
            JobType::Parse => Job::Parse(read(payload)?),
            JobType::Enrich => Job::Enrich(read(payload)?),
            JobType::Discover => Job::Discover(read(payload)?),
            JobType::Cleanup => Job::Cleanup(read(payload)?),
        })
    }
}

/// Runs any job.
pub async fn run(ctx: &JobContext, job: &Job) -> Result<JobOutcome, JobError> {
    match job {
        Job::Scrape(job) => scrape(ctx, job).await,
        Job::Parse(job) => parse(ctx, job).await,
        Job::Enrich(job) => enrich(ctx, job).await,
        Job::Discover(job) => discover(ctx, job).await,
        Job::Cleanup(job) => cleanup(ctx, job).await,
    }
}

/// Where a run came from, for its `job_executions` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery<'a> {
    /// The queue's id for the job, shared by its attempts.
    pub job_id: &'a str,
    pub queue: &'a str,
    /// 1 for the first attempt.
    pub attempt: i32,
}

/// Runs any job and records the run in `job_executions`: `running` before it starts, then
/// `completed` with its records and metadata or `failed` with the error (and whether it
/// was permanent). Failing to record is an error of its own (the database is away).
pub async fn run_recorded(
    ctx: &JobContext,
    job: &Job,
    delivery: &Delivery<'_>,
) -> Result<JobOutcome, JobError> {
    let id = db(ctx, async {
        let mut conn = checkout(&ctx.db).await?;
        let start = StartExecution {
            job_id: delivery.job_id,
            job_type: job.job_type(),
            queue: delivery.queue,
            attempt: delivery.attempt,
            metadata: serde_json::json!({ "payload": job.payload_json() }),
        };
        Ok(executions::start(&mut conn, &start).await?)
    })
    .await?;
    let result = run(ctx, job).await;
    let (status, records, error, metadata) = match &result {
        Ok(outcome) => (
            JobStatus::Completed,
            outcome.records_processed,
            None,
            Value::Object(outcome.metadata.clone()),
        ),
        Err(e) => (
            JobStatus::Failed,
            0,
            Some(e.to_string()),
            match e.retry_after() {
                Some(wait) => serde_json::json!({
                    "permanent": e.is_permanent(),
                    "rate_limit_wait_secs": wait.as_secs_f64(),
                }),
                None => serde_json::json!({ "permanent": e.is_permanent() }),
            },
        ),
    };
    let end = FinishExecution {
        status,
        records_processed: i32::try_from(records).unwrap_or(i32::MAX),
        error: error.as_deref(),
        metadata,
    };
    db(ctx, async {
        let mut conn = checkout(&ctx.db).await?;
        Ok(executions::finish(&mut conn, id, &end).await?)
    })
    .await?;
    result
}

/// A job a run asks to be enqueued once it has finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub job: FollowUpJob,
    pub priority: Priority,
}

/// The payload of a [`FollowUp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUpJob {
    Parse(ParseJob),
    Enrich(EnrichJob),
}

impl FollowUp {
    /// The follow-up as a runnable job.
    pub fn to_job(&self) -> Job {
        match &self.job {
            FollowUpJob::Parse(job) => Job::Parse(job.clone()),
            FollowUpJob::Enrich(job) => Job::Enrich(job.clone()),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobOutcome {
    /// Repositories, manifests, organizations or rows the run handled.
    pub records_processed: u64,
    /// Jobs to enqueue next, each once.
    pub follow_ups: Vec<FollowUp>,
    /// Packages whose stored answers changed (their cache versions were incremented).
    pub touched_packages: Vec<Uuid>,
    /// Organizations whose stored answers changed (their cache versions were incremented).
    pub touched_organizations: Vec<Uuid>,
    /// Details for `job_executions.metadata` and logs.
    pub metadata: Map<String, Value>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The payload cannot be run (unknown provider, invalid name): permanent.
    #[error("malformed payload: {0}")]
    Payload(String),
    /// What the job is about does not exist: permanent.
    #[error("not found: {0}")]
    NotFound(String),
    /// No configured provider can do this: permanent.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A provider failed; permanent or not as the provider says.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The database failed or could not be reached: retryable.
    #[error(transparent)]
    Database(#[from] DbError),
    /// Valkey could not be reached: retryable.
    #[error(transparent)]
    Valkey(#[from] ValkeyError),
}

impl From<diesel::result::Error> for JobError {
    fn from(err: diesel::result::Error) -> Self {
        JobError::Database(DbError::from(err))
    }
}

impl From<fred::error::Error> for JobError {
    fn from(err: fred::error::Error) -> Self {
        JobError::Valkey(ValkeyError::from(err))
    }
}

impl JobError {
    /// Whether retrying cannot help: the queue should not try again.
    pub fn is_permanent(&self) -> bool {
        match self {
            JobError::Payload(_) | JobError::NotFound(_) | JobError::Unsupported(_) => true,
            JobError::Provider(e) => e.is_permanent(),
            JobError::Database(_) | JobError::Valkey(_) => false,
        }
    }

    /// How long a provider asked us to wait before retrying, when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            JobError::Provider(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// Records what a run touched and increments the cache versions of those packages and
/// organizations (after the writes committed: a reader never caches under a new version
/// what the old rows said).
async fn invalidate(
    ctx: &JobContext,
    outcome: &mut JobOutcome,
    packages: impl IntoIterator<Item = Uuid>,
    organizations: impl IntoIterator<Item = Uuid>,
) -> Result<(), JobError> {
    let packages: BTreeSet<Uuid> = packages.into_iter().collect();
    let organizations: BTreeSet<Uuid> = organizations.into_iter().collect();
    if packages.is_empty() && organizations.is_empty() {
        return Ok(());
    }
    let packages: Vec<Uuid> = packages.into_iter().collect();
    let organizations: Vec<Uuid> = organizations.into_iter().collect();
    let spelling = Keys::new(ctx.key_prefix.as_str());
    let mut keys = Vec::new();
    db(ctx, async {
        let mut conn = checkout(&ctx.db).await?;
        for (ecosystem, name) in packages::keys(&mut conn, &packages).await? {
            keys.push(spelling.package_version(ecosystem, &name));
        }
        for (host, login) in organizations::keys(&mut conn, &organizations).await? {
            keys.push(spelling.organization_version(&host, &login));
        }
        Ok(())
    })
    .await?;
    Keys::bump_versions(&ctx.valkey, &keys).await?;
    extend_sorted(&mut outcome.touched_packages, packages);
    extend_sorted(&mut outcome.touched_organizations, organizations);
    Ok(())
}

fn extend_sorted(list: &mut Vec<Uuid>, more: Vec<Uuid>) {
    list.extend(more);
    list.sort_unstable();
    list.dedup();
}
