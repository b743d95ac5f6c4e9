//! cleanup: remove what has gone stale.

use chrono::Utc;
use serde_json::json;
use wump_core::jobs::CleanupJob;
use wump_db::{jobs, pool::checkout};

use super::{JobContext, JobError, JobOutcome};

/// Prunes finished `job_executions` older than `ctx.job_retention`; returns how many rows
/// went. (Edges of repositories that vanished are removed by the parse that finds them
/// gone.)
pub async fn cleanup(ctx: &JobContext, _job: &CleanupJob) -> Result<JobOutcome, JobError> {
    let cutoff = Utc::now() - ctx.job_retention;
    let mut conn = checkout(&ctx.db).await?;
    let pruned = jobs::prune(&mut conn, cutoff).await?;
    let mut outcome = JobOutcome {
        records_processed: pruned as u64,
        ..JobOutcome::default()
    };
    outcome
        .metadata
        .insert("job_executions_pruned".into(), json!(pruned));
    tracing::info!(job_executions.pruned = pruned, "cleanup finished");
    Ok(outcome)
}
