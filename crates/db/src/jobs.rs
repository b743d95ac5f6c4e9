//! `job_executions`: one row per job run, written by the worker as it starts and finishes
//! a job, read by the api's job health and statistics.

use chrono::{DateTime, Utc};
use diesel::{dsl::now, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::jobs::JobType;

use crate::{models::JobExecution, schema::job_executions};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Running,
    Completed,
    Failed,
}

impl JobStatus {
    /// The id stored in `job_executions.status`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
        }
    }
}

/// A run that is starting.
#[derive(Debug, Clone, PartialEq)]
pub struct StartExecution<'a> {
    /// The queue's id for the job: every attempt of one job shares it.
    pub job_id: &'a str,
    pub job_type: JobType,
    pub queue: &'a str,
    /// 1 for the first attempt.
    pub attempt: i32,
    pub metadata: serde_json::Value,
}

#[derive(Insertable)]
#[diesel(table_name = job_executions)]
struct NewExecution<'a> {
    id: Uuid,
    job_id: &'a str,
    job_type: &'static str,
    queue: &'a str,
    attempt: i32,
    status: &'static str,
    metadata: &'a serde_json::Value,
}

/// Records that a run started (status `running`); returns the execution's id.
pub async fn start(conn: &mut AsyncPgConnection, run: &StartExecution<'_>) -> QueryResult<Uuid> {
    let id = Uuid::now_v7();
    diesel::insert_into(job_executions::table)
        .values(NewExecution {
            id,
            job_id: run.job_id,
            job_type: run.job_type.as_str(),
            queue: run.queue,
            attempt: run.attempt.max(1),
            status: JobStatus::Running.as_str(),
            metadata: &run.metadata,
        })
        .execute(conn)
        .await?;
    Ok(id)
}

/// How a run ended, for [`finish`].
#[derive(Debug, Clone, PartialEq)]
pub struct FinishExecution<'a> {
    /// `Completed` or `Failed` (`Running` is refused).
    pub status: JobStatus,
    pub records_processed: i32,
    pub error: Option<&'a str>,
    /// Merged over the metadata given at start (top-level keys replace).
    pub metadata: serde_json::Value,
}

/// Records how a run ended. Fails with `NotFound` when the execution does not exist or has
/// already finished, so a run is never finished twice.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    end: &FinishExecution<'_>,
) -> QueryResult<()> {
    use job_executions::dsl as j;

    if end.status == JobStatus::Running {
        return Err(diesel::result::Error::QueryBuilderError(
            "a run finishes as completed or failed".into(),
        ));
    }
    let metadata = if end.metadata.is_object() {
        end.metadata.clone()
    } else {
        serde_json::json!({})
    };
    let updated = diesel::update(
        j::job_executions
            .filter(j::id.eq(id))
            .filter(j::status.eq(JobStatus::Running.as_str())),
    )
    .set((
        j::status.eq(end.status.as_str()),
        j::records_processed.eq(end.records_processed.max(0)),
        j::error.eq(end.error),
        j::metadata.eq(diesel::dsl::sql::<diesel::sql_types::Jsonb>("metadata || ")
            .bind::<diesel::sql_types::Jsonb, _>(metadata)),
        j::finished_at.eq(now),
    ))
    .execute(conn)
    .await?;
    if updated == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(())
}

/// Deletes finished runs created before `older_than` (running ones are kept, however old:
/// a worker may still finish them); returns how many were deleted.
pub async fn prune(conn: &mut AsyncPgConnection, older_than: DateTime<Utc>) -> QueryResult<usize> {
    use job_executions::dsl as j;

    diesel::delete(
        j::job_executions
            .filter(j::created_at.lt(older_than))
            .filter(j::status.ne(JobStatus::Running.as_str())),
    )
    .execute(conn)
    .await
}

/// The latest runs, newest first, optionally of one job type.
pub async fn recent(
    conn: &mut AsyncPgConnection,
    job_type: Option<JobType>,
    limit: i64,
) -> QueryResult<Vec<JobExecution>> {
    let filter = crate::job_status::RunFilter {
        job_type,
        ..Default::default()
    };
    crate::job_status::recent_runs(conn, &filter, limit).await
}
