//! The job queues: apalis 1.0 over Valkey (apalis-redis), running every job that
//! implements our small trait ([`BackgroundJob`](crate::jobs::BackgroundJob)), so apalis'
//! sharp edges are handled here and nowhere else. The runner is the one layer around a run:
//! it deserializes the payload, records the run in `job_executions` (when told to, see
//! [`Runner::record_runs`]), runs it, enqueues its follow-ups, and retries or dead-letters
//! it as its [`JobError::retry`] says, with metrics and a `job` span.
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
//!   ([`Retry::AfterWait`]) goes back to its queue to run after that wait, at the same
//!   attempt: a quota running out says nothing about the job. Each wait is noted in the
//!   envelope's errors; after `queues.max_rate_limit_waits` waits at one attempt, the next
//!   one spends the attempt (delayed by the wait or the backoff, whichever is longer), so a
//!   provider that never recovers still ends in the dead-letter list.
//! - **So does an unavailable database.** A job that fails because PostgreSQL is down,
//!   black-holed or out of connections ([`Retry::WhenTheDatabaseReturns`]) goes back to its
//!   queue at the same attempt after a wait that doubles from 1 s up to
//!   `queues.database_wait_max_ms` ([`database_wait`]), up to `queues.max_database_waits`
//!   waits at one attempt (waits of either kind count together); beyond that the failure
//!   spends the attempt. An outage of a few minutes costs no attempt; a database that never
//!   returns still ends in the dead-letter list.
//! - **Due jobs are promoted in bounded batches.** apalis-redis sends every push through the
//!   scheduled set and its fetch promotes all due jobs with one Lua `unpack`, which fails
//!   beyond about 8,000 and then on every fetch: [`Queues::promote_due`] runs after every
//!   push and every second from the runner, 1,000 at a time.
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
//! [`JobError::retry`]: crate::jobs::JobError::retry
//! [`Retry::AfterWait`]: crate::jobs::Retry::AfterWait
//! [`Retry::WhenTheDatabaseReturns`]: crate::jobs::Retry::WhenTheDatabaseReturns

pub mod cli;
mod idle;
mod retry;
mod runner;

pub use idle::wait_until_idle;
pub use retry::{database_wait, retry_delay};
pub use runner::{InFlight, Runner, shutdown_signal, worker_base_name};
pub use wump_db::queue::{
    DeadJob, DeadLetters, Envelope, FailedAttempt, QueueDepth, QueueError, Queues, QueuesSnapshot,
    Selection,
};
