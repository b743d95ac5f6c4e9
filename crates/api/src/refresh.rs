//! On-demand refreshes: a high-priority discovery of one package, deduplicated while one
//! is pending, and the status of any queued job.
//!
//! Deduplication is a Valkey key per package (`wump:refresh:<ecosystem>:<normalized
//! name>`) holding the pending job's id, set with `SET NX` and a TTL
//! (`[api.refresh] pending_ttl_secs`). A second refresh while it is held gets the same job
//! id; once that job has completed or finally failed (its `job_executions` row says so),
//! the next refresh replaces the key and enqueues anew. A second key per job
//! (`wump:refresh-job:<id>`, a day) lets the status endpoint say `queued` before the worker
//! has written any row.

use std::time::Duration;

use redis::AsyncCommands as _;
use serde::Serialize;
use uuid::Uuid;
use wump_core::{
    Ecosystem,
    jobs::{DiscoverJob, JobType, Priority},
};
use wump_db::{
    queue::{Envelope, QueueError, Queues},
    tables::job_executions::{self, JobExecution, JobStatus},
};

use crate::{problem::ApiError, state::AppState};

/// How long a refresh's job id stays known to the status endpoint before it has run.
const JOB_KEY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Deletes KEYS[1] only while it still holds ARGV[1] (never another request's job).
const DELETE_IF_HOLDS: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

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

/// A refresh that was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub job_id: Uuid,
    /// `false` when an earlier refresh's job was still pending.
    pub enqueued: bool,
}

fn dedup_key(state: &AppState, ecosystem: Ecosystem, name: &str) -> String {
    format!(
        "{}wump:refresh:{ecosystem}:{}",
        state.key_prefix,
        ecosystem.normalize_name(name)
    )
}

fn job_key(state: &AppState, id: Uuid) -> String {
    format!("{}wump:refresh-job:{id}", state.key_prefix)
}

/// Enqueues a high-priority discovery of `name` unless one is pending.
pub async fn request(
    state: &AppState,
    ecosystem: Ecosystem,
    name: &str,
) -> Result<Accepted, ApiError> {
    let queues = state.queues.get().await?;
    let mut conn = queues.connection();
    let dedup = dedup_key(state, ecosystem, name);
    let pending_ttl = state.settings.api.refresh.pending_ttl_secs.max(1);
    // A few rounds at most: each one either claims the key or finds a holder.
    for _ in 0..3 {
        let payload = serde_json::to_value(DiscoverJob {
            ecosystem,
            name: name.to_owned(),
        })
        .map_err(|e| ApiError::Internal(e.into()))?;
        let envelope = Envelope::new(JobType::Discover, Priority::High, payload);
        let id = envelope.id;
        let claimed: Option<String> = redis::cmd("SET")
            .arg(&dedup)
            .arg(id.to_string())
            .arg("NX")
            .arg("EX")
            .arg(pending_ttl)
            .query_async(&mut conn)
            .await
            .map_err(QueueError::from)?;
        if claimed.is_some() {
            enqueue(state, queues, &dedup, envelope).await?;
            tracing::info!(job.id = %id, package.ecosystem = %ecosystem, package.name = name, "refresh enqueued");
            return Ok(Accepted {
                job_id: id,
                enqueued: true,
            });
        }
        let holder: Option<String> = conn.get(&dedup).await.map_err(QueueError::from)?;
        let Some(holder) = holder.and_then(|h| h.parse::<Uuid>().ok()) else {
            continue;
        };
        if still_pending(state, holder).await {
            return Ok(Accepted {
                job_id: holder,
                enqueued: false,
            });
        }
        let _: i64 = redis::Script::new(DELETE_IF_HOLDS)
            .key(&dedup)
            .arg(holder.to_string())
            .invoke_async(&mut conn)
            .await
            .map_err(QueueError::from)?;
    }
    Err(ApiError::Unavailable {
        what: "the job queue",
        retry_after: Duration::from_secs(1),
    })
}

/// Pushes the job, releasing the dedup key when that fails.
async fn enqueue(
    state: &AppState,
    queues: &Queues,
    dedup: &str,
    envelope: Envelope,
) -> Result<(), ApiError> {
    let id = envelope.id;
    let mut conn = queues.connection();
    let known: Result<(), _> = conn
        .set_ex(job_key(state, id), dedup, JOB_KEY_TTL.as_secs())
        .await;
    let pushed = match known {
        Ok(()) => queues.push(envelope, Duration::ZERO).await,
        Err(e) => Err(e.into()),
    };
    if let Err(error) = pushed {
        let _: Result<i64, _> = redis::Script::new(DELETE_IF_HOLDS)
            .key(dedup)
            .arg(id.to_string())
            .invoke_async(&mut conn)
            .await;
        return Err(error.into());
    }
    Ok(())
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
            let mut conn = queues.connection();
            let known: bool = conn
                .exists(job_key(state, id))
                .await
                .map_err(QueueError::from)?;
            if !known {
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
