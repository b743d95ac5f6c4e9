//! Admin: the dead-letter list — view it, replay one job or all of them, purge one.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wump_db::queue::{DeadJob, Selection};

use super::query;
use crate::{
    auth::{Admin, RequireTier},
    problem::ApiError,
    state::AppState,
};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1_000;

/// One failed attempt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct FailedAttemptBody {
    attempt: u32,
    at: DateTime<Utc>,
    error: String,
    /// The error said retrying cannot help.
    permanent: bool,
}

/// A job in the dead-letter list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DeadJobBody {
    id: Uuid,
    job_type: String,
    priority: String,
    /// The queue it failed in.
    queue: String,
    attempts: u32,
    /// The job's payload as it was queued.
    #[schema(value_type = Object)]
    payload: serde_json::Value,
    /// Every failed attempt, oldest first.
    errors: Vec<FailedAttemptBody>,
    enqueued_at: DateTime<Utc>,
    dead_at: DateTime<Utc>,
}

impl From<DeadJob> for DeadJobBody {
    fn from(job: DeadJob) -> Self {
        Self {
            id: job.id,
            job_type: job.job_type.as_str().to_owned(),
            priority: job.priority.as_str().to_owned(),
            queue: job.queue,
            attempts: job.attempts,
            payload: job.payload,
            errors: job
                .errors
                .into_iter()
                .map(|e| FailedAttemptBody {
                    attempt: e.attempt,
                    at: e.at,
                    error: e.error,
                    permanent: e.permanent,
                })
                .collect(),
            enqueued_at: job.enqueued_at,
            dead_at: job.dead_at,
        }
    }
}

/// The dead-letter list, most recent first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DeadLettersPage {
    /// Jobs in the list.
    total: usize,
    /// The most recent `limit` of them.
    jobs: Vec<DeadJobBody>,
}

/// Jobs put back on their queues.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ReplayedBody {
    replayed: Vec<Uuid>,
}

/// How many dead jobs to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeadLettersQuery {
    /// Jobs to return (1 to 1000, default 100), most recent first.
    limit: Option<usize>,
}

fn dead_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid("id", "must be a job id (a UUID)"))
}

/// The dead-letter list, most recent first (admin).
#[utoipa::path(
    tag = "admin",
    params(DeadLettersQuery),
    responses(
        (status = 200, description = "The dead jobs", body = DeadLettersPage),
    ),
    security(("api_key" = ["admin"]))
)]
#[get("/api/v1/admin/dead-letters")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    _admin: RequireTier<Admin>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let limit = query::<DeadLettersQuery>(&req)?
        .limit
        .unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be 1 to {MAX_LIMIT}"),
        ));
    }
    let jobs = state.queues.get().await?.dead_letters().list().await?;
    Ok(HttpResponse::Ok().json(DeadLettersPage {
        total: jobs.len(),
        jobs: jobs.into_iter().take(limit).map(Into::into).collect(),
    }))
}

/// One dead job (admin).
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "The job id")),
    responses(
        (status = 200, description = "The dead job", body = DeadJobBody),
    ),
    security(("api_key" = ["admin"]))
)]
#[get("/api/v1/admin/dead-letters/{id}")]
pub(crate) async fn show(
    state: web::Data<AppState>,
    _admin: RequireTier<Admin>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = dead_id(&id)?;
    let job = state
        .queues
        .get()
        .await?
        .dead_letters()
        .show(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no dead job with id {id}")))?;
    Ok(HttpResponse::Ok().json(DeadJobBody::from(job)))
}

/// Put one dead job back on its queue with fresh attempts (admin).
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "The job id")),
    responses(
        (status = 200, description = "The job was replayed", body = ReplayedBody),
    ),
    security(("api_key" = ["admin"]))
)]
#[post("/api/v1/admin/dead-letters/{id}/replay")]
pub(crate) async fn replay_one(
    state: web::Data<AppState>,
    _admin: RequireTier<Admin>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = dead_id(&id)?;
    let dead_letters = state.queues.get().await?.dead_letters();
    let replayed = dead_letters.replay(Selection::One(id)).await?;
    Ok(HttpResponse::Ok().json(ReplayedBody { replayed }))
}

/// Put every dead job back on its queue with fresh attempts (admin).
#[utoipa::path(
    tag = "admin",
    responses(
        (status = 200, description = "The jobs replayed", body = ReplayedBody),
    ),
    security(("api_key" = ["admin"]))
)]
#[post("/api/v1/admin/dead-letters/replay")]
pub(crate) async fn replay_all(
    state: web::Data<AppState>,
    _admin: RequireTier<Admin>,
) -> Result<HttpResponse, ApiError> {
    let dead_letters = state.queues.get().await?.dead_letters();
    let replayed = dead_letters.replay(Selection::All).await?;
    Ok(HttpResponse::Ok().json(ReplayedBody { replayed }))
}

/// Delete one dead job for good (admin): it will not run again.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "The job id")),
    responses(
        (status = 204, description = "The dead job was deleted"),
    ),
    security(("api_key" = ["admin"]))
)]
#[delete("/api/v1/admin/dead-letters/{id}")]
pub(crate) async fn purge_one(
    state: web::Data<AppState>,
    _admin: RequireTier<Admin>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = dead_id(&id)?;
    let dead_letters = state.queues.get().await?.dead_letters();
    if dead_letters.purge(Selection::One(id)).await? == 0 {
        return Err(ApiError::NotFound(format!("no dead job with id {id}")));
    }
    tracing::info!(job.id = %id, "dead job purged");
    Ok(HttpResponse::NoContent().finish())
}
