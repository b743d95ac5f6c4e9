//! Refreshing a package on demand, and the status of a queued job.

use actix_web::{HttpResponse, get, http::header, post, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    auth::{Free, RequireTier},
    params::PackageKey,
    problem::ApiError,
    refresh::{self, JobState},
    state::AppState,
};

/// A refresh was accepted: poll `status_url` for its progress.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RefreshAccepted {
    /// The queued job (the same id while an earlier refresh of the package is pending).
    job_id: Uuid,
    /// Where the job's status is reported.
    status_url: String,
    /// `false` when an earlier refresh's job was still pending and is reused.
    enqueued: bool,
}

/// A job's status.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct JobStatusBody {
    job_id: Uuid,
    status: JobState,
    /// The job type of its latest run (absent before it first ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    job_type: Option<String>,
    /// The latest run's attempt, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<DateTime<Utc>>,
}

/// Enqueue a high-priority discovery of a package (its dependents are looked up again and
/// their manifests parsed). Needs an API key (free tier or above). While a refresh of the
/// package is pending, further calls return the same job.
#[utoipa::path(
    tag = "jobs",
    params(
        ("ecosystem" = String, Path, description = "Ecosystem id, e.g. `npm`"),
        ("name" = String, Path, description = "Package name, percent-encoded (`%2F` for `/`)"),
    ),
    responses(
        (status = 202, description = "Refresh queued (or already pending)", body = RefreshAccepted,
            headers(("Location" = String, description = "The job's status URL"))),
    ),
    security(("api_key" = []))
)]
#[post("/api/v1/packages/{ecosystem}/{name}/refresh")]
pub(crate) async fn refresh_package(
    state: web::Data<AppState>,
    _caller: RequireTier<Free>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (ecosystem, name) = path.into_inner();
    let package = PackageKey::from_path(&ecosystem, &name)?;
    let accepted = refresh::request(&state, package.ecosystem, &package.name).await?;
    let status_url = format!("/api/v1/jobs/{}", accepted.job_id);
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, status_url.clone()))
        .json(RefreshAccepted {
            job_id: accepted.job_id,
            status_url,
            enqueued: accepted.enqueued,
        }))
}

/// The status of a queued job: `queued`, `running`, `completed` or `failed`.
#[utoipa::path(
    tag = "jobs",
    params(("id" = Uuid, Path, description = "The job id a refresh returned")),
    responses(
        (status = 200, description = "The job's status", body = JobStatusBody),
    )
)]
#[get("/api/v1/jobs/{id}")]
pub(crate) async fn job_status(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: Uuid = path
        .parse()
        .map_err(|_| ApiError::invalid("id", "must be a job id (a UUID)"))?;
    let report = refresh::report(&state, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no job with id {id}")))?;
    let run = report.latest_run.as_ref();
    Ok(HttpResponse::Ok().json(JobStatusBody {
        job_id: report.id,
        status: report.state,
        job_type: run.map(|r| r.job_type.to_string()),
        attempt: run.map(|r| r.attempt),
        started_at: run.map(|r| r.started_at),
        finished_at: run.and_then(|r| r.finished_at),
    }))
}
