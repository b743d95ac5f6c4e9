//! noop: does nothing, so `wump-bench queue` measures the queues and the runner alone.
//! Registered only when `worker.noop_jobs` is set, and never recorded in `job_executions`.

use wump_core::jobs::NoopJob;

use super::{BackgroundJob, Delivery, JobError, JobOutcome};

/// Succeeds at once with nothing processed and nothing to follow.
impl BackgroundJob for NoopJob {
    type Context = ();

    async fn run(&self, _: &(), _: &Delivery) -> Result<JobOutcome, JobError> {
        Ok(JobOutcome::default())
    }
}
