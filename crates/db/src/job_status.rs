//! Reading `job_executions` for the api: the latest run of one queued job, and a
//! keyset-paged list of recent runs for operators.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::jobs::JobType;

use crate::{jobs::JobStatus, models::JobExecution, schema::job_executions};

/// The latest run of the job with this queue id (the envelope id), if it ran at all.
pub async fn latest_run(
    conn: &mut AsyncPgConnection,
    job_id: &str,
) -> QueryResult<Option<JobExecution>> {
    use job_executions::dsl as j;

    j::job_executions
        .filter(j::job_id.eq(job_id))
        .select(JobExecution::as_select())
        .order((j::created_at.desc(), j::attempt.desc(), j::id.desc()))
        .first(conn)
        .await
        .optional()
}

/// Where a page of [`recent_runs`] starts: after the run with this `(created_at, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// Which runs [`recent_runs`] lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub job_type: Option<JobType>,
    pub status: Option<JobStatus>,
    pub after: Option<RunCursor>,
}

/// Up to `limit` runs matching `filter`, newest first.
pub async fn recent_runs(
    conn: &mut AsyncPgConnection,
    filter: &RunFilter,
    limit: i64,
) -> QueryResult<Vec<JobExecution>> {
    use job_executions::dsl as j;

    let mut q = j::job_executions
        .select(JobExecution::as_select())
        .order((j::created_at.desc(), j::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(job_type) = filter.job_type {
        q = q.filter(j::job_type.eq(job_type.as_str()));
    }
    if let Some(status) = filter.status {
        q = q.filter(j::status.eq(status.as_str()));
    }
    if let Some(cursor) = filter.after {
        q = q.filter(
            j::created_at
                .lt(cursor.created_at)
                .or(j::created_at.eq(cursor.created_at).and(j::id.lt(cursor.id))),
        );
    }
    q.load(conn).await
}
