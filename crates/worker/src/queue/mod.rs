//! The job queues: apalis 1.0 over Valkey (apalis-redis), behind a small trait of ours so
//! its sharp edges are handled here and nowhere else.
//!
//! - **One queue per (job type, priority)**, named explicitly
//!   ([`wump_core::jobs::queue_name`], braced), because apalis-redis has no priorities.
//!   Each queue has its own worker with its own concurrency (high > normal > low), so high
//!   drains first and low still moves.
//! - **Retries are ours.** apalis-redis ignores `max_attempts` and reschedules a failed task
//!   until attempt 25. Our handler never hands apalis a job error: it counts attempts in the
//!   [`Envelope`], pushes the next attempt with exponential backoff and jitter
//!   ([`retry_delay`]), and sends an exhausted or permanently failed job to our
//!   [dead-letter list](DeadLetters), which spans every queue.
//! - **Rate limits wait, they do not fail.** A job that fails with a provider's wait
//!   ([`JobError::RateLimited`]) goes back to its queue to run after that wait, at the same
//!   attempt: a quota running out says nothing about the job. Each wait is noted in the
//!   envelope's errors; after `queues.max_rate_limit_waits` waits at one attempt, the next
//!   one spends the attempt (delayed by the wait or the backoff, whichever is longer), so a
//!   provider that never recovers still ends in the dead-letter list.
//! - **So does an unavailable database.** A job that fails because PostgreSQL is down,
//!   black-holed or out of connections ([`JobError::DatabaseUnavailable`]) goes back to its
//!   queue at the same attempt after a wait that doubles from 1 s up to
//!   `queues.database_wait_max_ms` ([`database_wait`]), up to `queues.max_database_waits`
//!   waits at one attempt (waits of either kind count together); beyond that the failure
//!   spends the attempt. An outage of a few minutes costs no attempt; a database that never
//!   returns still ends in the dead-letter list.
//! - **Idle pickup**: each worker polls every `queues.poll_interval_ms`; apalis-redis alone
//!   polls only on heartbeats.
//! - **Orphans**: a worker that stops heartbeating for `heartbeat_interval_secs ×
//!   missed_heartbeats` has its in-flight jobs pushed back by another worker's heartbeat.
//!   Both values are set explicitly (apalis' `Config::default()` and its serde defaults
//!   disagree). Liveness is stored in whole seconds, hence [`QueueSettings::validate`].
//! - **Worker names are unique per process** (host, pid, random), since apalis refuses a
//!   name seen within the orphan timeout.
//! - **Shutdown**: [`Runner::run_until`] stops fetching, waits for running jobs up to the
//!   grace period, then hands back whatever is still held (apalis' own close leaves the
//!   worker registered and, after a timeout, the jobs in flight).
//! - **The queue's clock ticks in whole seconds**: delayed jobs run within a second after
//!   their time.
//! - Measured against a local Valkey (tests/worker/queue): an idle worker picks a new job up in
//!   2–50 ms with a 50 ms poll interval; a killed worker's job runs again elsewhere 3.0 s
//!   after the kill with 1 s heartbeats × 3 missed.
//! - Queues need a single Valkey primary: apalis-redis' scripts do not work on a cluster.
//!
//! [`QueueSettings::validate`]: wump_core::settings::QueueSettings::validate

pub mod cli;
mod idle;
mod retry;
mod runner;

use std::{future::Future, time::Duration};

use serde::de::DeserializeOwned;
use uuid::Uuid;
use wump_core::jobs::{JobPayload, Priority};

pub use idle::wait_until_idle;
pub use retry::{database_wait, retry_delay};
pub use runner::{InFlight, Runner, shutdown_signal, worker_base_name};
pub use wump_db::queue::{
    DeadJob, DeadLetters, Envelope, FailedAttempt, QueueDepth, QueueError, Queues, QueuesSnapshot,
    Selection,
};

/// A background job: a payload (whose [`JobPayload::JOB_TYPE`] decides its queues) and the
/// code that runs it.
///
/// Jobs are delivered at least once: running one twice must leave the same rows.
pub trait BackgroundJob: JobPayload + DeserializeOwned + Send + 'static {
    /// What a run needs (pools, clients, settings); cloned for every run.
    type Context: Clone + Send + Sync + 'static;

    /// Runs the job. `attempt` starts at 1.
    fn run(
        self,
        ctx: Self::Context,
        attempt: u32,
    ) -> impl Future<Output = Result<(), JobError>> + Send;

    /// Runs the job knowing where it came from (the runner calls this). The default runs
    /// [`BackgroundJob::run`]; jobs that record their runs (queue name, job id) override it.
    fn run_delivered(
        self,
        ctx: Self::Context,
        delivery: Delivery,
    ) -> impl Future<Output = Result<(), JobError>> + Send {
        self.run(ctx, delivery.attempt)
    }
}

/// Where one run of a job came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The job's id, the same across its attempts.
    pub id: Uuid,
    /// The queue's full name (with the key prefix).
    pub queue: String,
    pub priority: Priority,
    /// From 1.
    pub attempt: u32,
}

/// Why a job failed, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// It cannot succeed (malformed payload, the repository is gone): dead-letter it now.
    #[error("{0:#}")]
    Permanent(anyhow::Error),
    /// It may succeed later (timeouts, the database is away): retry with backoff until
    /// the attempts are spent.
    #[error("{0:#}")]
    Retryable(anyhow::Error),
    /// A provider asked us to come back after `wait`: run again then, without spending an
    /// attempt (up to `queues.max_rate_limit_waits` waits per attempt).
    #[error("{error:#}")]
    RateLimited {
        error: anyhow::Error,
        wait: Duration,
    },
    /// The database was unavailable (down, not answering, no connection free): run again
    /// after a growing wait, without spending an attempt (up to `queues.max_database_waits`
    /// waits per attempt).
    #[error("{0:#}")]
    DatabaseUnavailable(anyhow::Error),
}

impl JobError {
    /// A failure that retries cannot fix.
    pub fn permanent(error: impl Into<anyhow::Error>) -> Self {
        JobError::Permanent(error.into())
    }

    /// A failure worth retrying.
    pub fn retryable(error: impl Into<anyhow::Error>) -> Self {
        JobError::Retryable(error.into())
    }

    /// A provider's rate limit: try again after `wait`.
    pub fn rate_limited(error: impl Into<anyhow::Error>, wait: Duration) -> Self {
        JobError::RateLimited {
            error: error.into(),
            wait,
        }
    }

    /// The database was unavailable: wait for it without spending an attempt.
    pub fn database_unavailable(error: impl Into<anyhow::Error>) -> Self {
        JobError::DatabaseUnavailable(error.into())
    }

    /// Whether the job failed because the database was unavailable.
    pub fn is_database_unavailable(&self) -> bool {
        matches!(self, JobError::DatabaseUnavailable(_))
    }

    /// Whether retries are skipped.
    pub fn is_permanent(&self) -> bool {
        matches!(self, JobError::Permanent(_))
    }

    /// How long a provider asked us to wait, when that is why the job failed.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            JobError::RateLimited { wait, .. } => Some(*wait),
            _ => None,
        }
    }
}

/// `?` on any error makes it retryable; say [`JobError::permanent`] when it is not.
impl From<anyhow::Error> for JobError {
    fn from(error: anyhow::Error) -> Self {
        JobError::Retryable(error)
    }
}
