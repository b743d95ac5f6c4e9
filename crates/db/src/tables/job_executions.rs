//! `job_executions`: one row per job run, written by the worker as it starts and finishes
//! a job, read by the api (a job's status, the admin's list of runs, job health).

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use diesel::{
    deserialize::{self, FromSql},
    dsl::{max, now},
    pg::{Pg, PgValue},
    prelude::*,
    serialize::{self, Output, ToSql},
    sql_types::Text,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use wump_core::jobs::JobType;

use crate::schema::job_executions;

/// One run of a background job.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = job_executions, check_for_backend(diesel::pg::Pg))]
pub struct JobExecution {
    pub id: Uuid,
    pub job_id: String,
    pub job_type: JobType,
    pub queue: String,
    pub attempt: i32,
    pub status: JobStatus,
    pub records_processed: i32,
    pub error: Option<String>,
    pub metadata: serde_json::Value,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// How a run ended (`job_executions.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum JobStatus {
    Running,
    Completed,
    Failed,
}

/// The text is not a job status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job status `{0}` (expected running, completed or failed)")]
pub struct UnknownJobStatus(pub String);

impl JobStatus {
    /// Every status.
    pub const ALL: [JobStatus; 3] = [JobStatus::Running, JobStatus::Completed, JobStatus::Failed];

    /// The id stored in `job_executions.status`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = UnknownJobStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|j| j.as_str() == s)
            .ok_or_else(|| UnknownJobStatus(s.to_owned()))
    }
}

impl ToSql<Text, Pg> for JobStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
    }
}

impl FromSql<Text, Pg> for JobStatus {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(<String as FromSql<Text, Pg>>::from_sql(value)?.parse::<JobStatus>()?)
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
    job_type: JobType,
    queue: &'a str,
    attempt: i32,
    status: JobStatus,
    metadata: &'a serde_json::Value,
}

/// Records that a run started (status `running`); returns the execution's id.
pub async fn start(conn: &mut AsyncPgConnection, run: &StartExecution<'_>) -> QueryResult<Uuid> {
    let id = Uuid::now_v7();
    diesel::insert_into(job_executions::table)
        .values(NewExecution {
            id,
            job_id: run.job_id,
            job_type: run.job_type,
            queue: run.queue,
            attempt: run.attempt.max(1),
            status: JobStatus::Running,
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
            .filter(j::status.eq(JobStatus::Running)),
    )
    .set((
        j::status.eq(end.status),
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
            .filter(j::status.ne(JobStatus::Running)),
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
    let filter = RunFilter {
        job_type,
        ..Default::default()
    };
    recent_runs(conn, &filter, limit).await
}

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
        q = q.filter(j::job_type.eq(job_type));
    }
    if let Some(status) = filter.status {
        q = q.filter(j::status.eq(status));
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

/// The newest `finished_at` of a completed run, per job type that ever completed one, in
/// the order of the stored ids (what `/health/jobs` shows).
pub async fn last_successes(
    conn: &mut AsyncPgConnection,
) -> QueryResult<Vec<(JobType, Option<DateTime<Utc>>)>> {
    use job_executions::dsl as j;

    j::job_executions
        .filter(j::status.eq(JobStatus::Completed))
        .group_by(j::job_type)
        .select((j::job_type, max(j::finished_at)))
        .order_by(j::job_type)
        .load(conn)
        .await
}
