//! Admin: recent job runs (`job_executions`), newest first, keyset-paged.

use actix_web::{HttpRequest, HttpResponse, get, web};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wump_core::jobs::JobType;
use wump_db::tables::job_executions::{self, JobExecution, JobStatus, RunCursor, RunFilter};

use super::query;
use crate::{
    auth::{Admin, RequireTier},
    problem::ApiError,
    state::AppState,
};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// Filters and paging of the runs list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RunsQuery {
    /// Runs per page (1 to 200, default 50).
    limit: Option<u32>,
    /// Only runs of this job type (`scrape`, `parse`, `enrich`, `discover`, `cleanup`).
    job_type: Option<String>,
    /// Only runs with this status (`running`, `completed`, `failed`).
    status: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One run of a job.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct JobRunBody {
    id: Uuid,
    /// The queue's id for the job (what a refresh returns), shared by its attempts.
    job_id: String,
    job_type: String,
    queue: String,
    attempt: i32,
    /// `running`, `completed` or `failed`.
    status: String,
    records_processed: i32,
    error: Option<String>,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<JobExecution> for JobRunBody {
    fn from(run: JobExecution) -> Self {
        Self {
            id: run.id,
            job_id: run.job_id,
            job_type: run.job_type.to_string(),
            queue: run.queue,
            attempt: run.attempt,
            status: run.status.to_string(),
            records_processed: run.records_processed,
            error: run.error,
            started_at: run.started_at,
            finished_at: run.finished_at,
        }
    }
}

/// A page of runs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct JobRunsPage {
    runs: Vec<JobRunBody>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

fn encode_cursor(run: &JobExecution) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", run.created_at.timestamp_micros(), run.id))
}

fn decode_cursor(cursor: &str) -> Option<RunCursor> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (micros, id) = text.split_once('|')?;
    Some(RunCursor {
        created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        id: id.parse().ok()?,
    })
}

impl RunsQuery {
    fn filter(&self) -> Result<(RunFilter, u32), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid(
                "limit",
                format!("must be 1 to {MAX_LIMIT}"),
            ));
        }
        let job_type = self
            .job_type
            .as_deref()
            .map(|t| {
                JobType::ALL
                    .into_iter()
                    .find(|j| j.as_str() == t)
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "job_type",
                            "must be scrape, parse, enrich, discover or cleanup",
                        )
                    })
            })
            .transpose()?;
        let status = self
            .status
            .as_deref()
            .map(|s| {
                [JobStatus::Running, JobStatus::Completed, JobStatus::Failed]
                    .into_iter()
                    .find(|j| j.as_str() == s)
                    .ok_or_else(|| {
                        ApiError::invalid("status", "must be running, completed or failed")
                    })
            })
            .transpose()?;
        let after = self
            .cursor
            .as_deref()
            .map(|c| {
                decode_cursor(c).ok_or_else(|| {
                    ApiError::invalid("cursor", "is not a cursor this endpoint issued")
                })
            })
            .transpose()?;
        Ok((
            RunFilter {
                job_type,
                status,
                after,
            },
            limit,
        ))
    }
}

/// Recent job runs, newest first (admin).
#[utoipa::path(
    tag = "admin",
    params(RunsQuery),
    responses(
        (status = 200, description = "A page of runs", body = JobRunsPage),
    ),
    security(("api_key" = ["admin"]))
)]
#[get("/api/v1/admin/jobs")]
pub(crate) async fn list_runs(
    state: web::Data<AppState>,
    _admin: RequireTier<Admin>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (filter, limit) = query::<RunsQuery>(&req)?.filter()?;
    let mut conn = wump_db::pool::checkout(&state.db).await?;
    // One more than asked tells whether there is a next page.
    let mut runs = job_executions::recent_runs(&mut conn, &filter, i64::from(limit) + 1).await?;
    let next_cursor = if runs.len() > limit as usize {
        runs.truncate(limit as usize);
        runs.last().map(encode_cursor)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(JobRunsPage {
        runs: runs.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}
