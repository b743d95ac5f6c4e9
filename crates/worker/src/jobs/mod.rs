//! The jobs, one file per job type: each payload of `wump_core::jobs` implements
//! [`BackgroundJob`] in its own file, and the queue runner (`crate::queue`) runs it straight
//! from its queue: deserialize, record the run ([`run_recorded`]), [`BackgroundJob::run`],
//! enqueue its follow-ups, and retry or dead-letter on a [`JobError`].
//!
//! Every job is idempotent: running it twice leaves the same rows, and the second run
//! writes nothing. After every write a job increments the cache version of each package
//! and organization it touched (see `wump_db::keys`).
//!
//! Errors: permanent failures (a malformed payload, something that does not exist, a
//! capability nobody provides) skip retries; unavailable databases, Valkey and providers
//! (5xx, rate limits with their `retry_after`) are retried by the queue
//! ([`JobError::retry`]).

mod any;
mod cleanup;
mod context;
mod deliver;
mod discover;
mod discovered;
mod dispatch;
mod enrich;
mod error;
mod invalidate;
mod noop;
mod outcome;
mod parse;
mod record;
mod scrape;
mod snapshot;

use std::future::Future;

use serde::de::DeserializeOwned;
use uuid::Uuid;
use wump_core::jobs::{
    CleanupJob, DeliverJob, DiscoverJob, DispatchJob, EnrichJob, JobPayload, ParseJob, Priority,
    ScrapeJob, SnapshotJob,
};

pub use any::Job;
pub use context::JobContext;
pub use error::{JobError, Retry};
pub use outcome::{FollowUp, FollowUpJob, FollowUpSink, JobOutcome, enqueue_follow_ups};
pub use record::run_recorded;

use crate::queue::Runner;

/// A background job: a payload (whose [`JobPayload::JOB_TYPE`] names it and picks its
/// queues, one per priority) and the code that runs it.
///
/// Jobs are delivered at least once: running one twice must leave the same rows.
pub trait BackgroundJob: JobPayload + DeserializeOwned + Send + Sync + 'static {
    /// What a run needs (pools, clients, settings); cloned for every run.
    type Context: Clone + Send + Sync + 'static;

    /// Runs the job once. `delivery` says which attempt this is and where it came from.
    fn run(
        &self,
        ctx: &Self::Context,
        delivery: &Delivery,
    ) -> impl Future<Output = Result<JobOutcome, JobError>> + Send;

    /// Attempts and backoff of this job type when they differ from the queues' own
    /// (`queues.max_attempts`, `backoff_*`): webhook deliveries retry for hours, a parse
    /// does not.
    fn retry_policy(_ctx: &Self::Context) -> Option<RetryPolicy> {
        None
    }
}

/// A job type's own attempts and backoff ([`BackgroundJob::retry_policy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before the job is dead-lettered (at least 1).
    pub max_attempts: u32,
    /// Delay before the first retry; doubles per attempt, plus up to 25% jitter (ms).
    pub backoff_base_ms: u64,
    /// Longest delay between two attempts (ms).
    pub backoff_max_ms: u64,
}

/// Where one run of a job came from: its queue, its id there, and which attempt it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The job's id, the same across its attempts (`job_executions.job_id`).
    pub id: Uuid,
    /// The queue's full name (with the key prefix).
    pub queue: String,
    /// The priority it was enqueued at.
    pub priority: Priority,
    /// From 1.
    pub attempt: u32,
}

/// Registers every job type (the webhook ones too) on `runner`, each run recorded in `job_executions`; with
/// `noop_jobs`, first the benchmark's no-op job (unrecorded).
pub fn register_all(runner: Runner, ctx: &JobContext, noop_jobs: bool) -> Runner {
    let runner = if noop_jobs {
        runner.register::<wump_core::jobs::NoopJob>(())
    } else {
        runner
    };
    let runner = runner
        .record_runs(ctx.db.clone())
        .register::<ScrapeJob>(ctx.clone())
        .register::<ParseJob>(ctx.clone())
        .register::<EnrichJob>(ctx.clone())
        .register::<DiscoverJob>(ctx.clone())
        .register::<CleanupJob>(ctx.clone())
        .register::<SnapshotJob>(ctx.clone());
    register_all_webhooks(runner, ctx)
}

/// Registers the two webhook jobs, dispatch and deliver, on `runner`.
pub fn register_all_webhooks(runner: Runner, ctx: &JobContext) -> Runner {
    runner
        .register::<DispatchJob>(ctx.clone())
        .register::<DeliverJob>(ctx.clone())
}

/// One database operation (checkouts and queries) within `database.query_timeout_ms`: a
/// database that accepts and never answers fails the job as unavailable (the queue waits
/// and runs it again) instead of holding it while its worker keeps heartbeating, and the
/// connections it used are closed, not reused (`wump_db::pool::bounded`).
pub(crate) async fn db<T>(
    ctx: &JobContext,
    op: impl Future<Output = Result<T, JobError>>,
) -> Result<T, JobError> {
    wump_db::pool::bounded(&ctx.db, op).await
}
