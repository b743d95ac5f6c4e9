//! On-demand refreshes: a high-priority discovery of one package, deduplicated while one
//! is pending (`Queues::request_refresh` in `wump_db::queue`, next to the queues), and the
//! status of any queued job.

use std::time::Duration;

use serde::Serialize;
use uuid::Uuid;
use wump_core::Ecosystem;
use wump_db::{
    queue::Accepted,
    tables::job_executions::{self, JobExecution, JobStatus},
};

use crate::{problem::ApiError, state::AppState};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting on its queue (also between a failed attempt and its retry).
    Queued,
    Running,
    Completed,
    /// Failed for good: spent its attempts or failed permanently (see the dead letters).
    Failed,
}

/// A job's status and its latest run, if any.
#[derive(Debug, Clone)]
pub struct JobReport {
    pub id: Uuid,
    pub state: JobState,
    pub latest_run: Option<JobExecution>,
}

/// Enqueues a high-priority discovery of `name` unless one is pending.
pub async fn request(
    state: &AppState,
    ecosystem: Ecosystem,
    name: &str,
) -> Result<Accepted, ApiError> {
    let queues = state.queues.get().await?;
    let pending_ttl = state.settings.api.refresh.pending_ttl_secs;
    let accepted = queues
        .request_refresh(&state.keys, ecosystem, name, pending_ttl, |holder| {
            still_pending(state, holder)
        })
        .await?;
    let Some(accepted) = accepted else {
        return Err(ApiError::Unavailable {
            what: "the job queue",
            retry_after: Duration::from_secs(1),
        });
    };
    if accepted.enqueued {
        tracing::info!(job.id = %accepted.job_id, package.ecosystem = %ecosystem, package.name = name, "refresh enqueued");
    }
    Ok(accepted)
}

/// Whether the job holding a dedup key may still run. When its state cannot be read it
/// counts as pending: a duplicate refresh is worse than a late one.
async fn still_pending(state: &AppState, id: Uuid) -> bool {
    match report(state, id).await {
        Ok(Some(report)) => matches!(report.state, JobState::Queued | JobState::Running),
        Ok(None) => false,
        Err(_) => true,
    }
}

/// The status of the job `id` (the queue envelope's id, which `job_executions.job_id`
/// holds); `None` when wump knows no such job.
pub async fn report(state: &AppState, id: Uuid) -> Result<Option<JobReport>, ApiError> {
    let latest_run = wump_db::pool::bounded(&state.db, async {
        let mut conn = wump_db::pool::checkout(&state.db).await?;
        Ok::<_, ApiError>(job_executions::latest_run(&mut conn, &id.to_string()).await?)
    })
    .await?;
    let state_now = match &latest_run {
        Some(run) if run.status == JobStatus::Running => JobState::Running,
        Some(run) if run.status == JobStatus::Completed => JobState::Completed,
        Some(run) if failed_for_good(state, id, run).await => JobState::Failed,
        // A failed attempt with attempts left waits for its retry.
        Some(_) => JobState::Queued,
        None => {
            let queues = state.queues.get().await?;
            if !queues.refresh_known(&state.keys, id).await? {
                return Ok(None);
            }
            JobState::Queued
        }
    };
    Ok(Some(JobReport {
        id,
        state: state_now,
        latest_run,
    }))
}

/// A failed run is final when the job is in the dead-letter list or spent its attempts.
async fn failed_for_good(state: &AppState, id: Uuid, run: &JobExecution) -> bool {
    let max_attempts = i32::try_from(state.settings.queues.max_attempts).unwrap_or(i32::MAX);
    if run.attempt >= max_attempts {
        return true;
    }
    let Ok(queues) = state.queues.get().await else {
        return false;
    };
    matches!(queues.dead_letters().show(id).await, Ok(Some(_)))
}
