//! The package page's refresh button and the page that follows the job it queued.
//!
//! Anyone may press the button: the refresh is the API's (`refresh::request`), so while one
//! of a package is pending every press gets the same job, and pages are rate limited per
//! caller like the API. A form posted from another site is refused (its `Origin` is not
//! ours), so no page elsewhere can make visitors' browsers queue refreshes.

use actix_web::{
    HttpRequest, HttpResponse, Resource, get,
    http::{StatusCode, header},
    web,
};
use askama::Template;
use uuid::Uuid;
use wump_core::Ecosystem;

use super::{HTML, PageError, package};
use crate::{
    params::PackageKey,
    problem::ApiError,
    refresh::{self, JobState},
    state::AppState,
};

/// `POST /refresh/{ecosystem}/{name}`: queues the refresh, then `303` to its job's page.
pub(crate) fn resource() -> Resource {
    let ids = Ecosystem::ids().join("|");
    web::resource(format!("/refresh/{{ecosystem:(?:{ids})}}/{{name:.+}}"))
        .route(web::post().to(queue))
}

async fn queue(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    same_origin(&req)?;
    let (ecosystem, name) = path.into_inner();
    let key = PackageKey::from_path(&ecosystem, &name)?;
    let accepted = refresh::request(&state, key.ecosystem, &key.name).await?;
    let back = package::href(key.ecosystem, &key.name);
    let location = format!(
        "/jobs/{}?package={}",
        accepted.job_id,
        percent_encoding::utf8_percent_encode(&back, percent_encoding::NON_ALPHANUMERIC)
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish())
}

/// Refuses a form posted from a page of another origin. Browsers say where a request comes
/// from in `Sec-Fetch-Site`; older ones only in `Origin` (which our `no-referrer` policy
/// turns into `null` on our own forms). A request with neither (a script, curl) is not a
/// browser being misused.
fn same_origin(req: &HttpRequest) -> Result<(), ApiError> {
    let headers = req.headers();
    let refused = match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        Some(site) => site != b"same-origin",
        None => match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            None | Some("null") => false,
            Some(origin) => {
                let host = req.connection_info().host().to_owned();
                !origin
                    .split_once("://")
                    .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(&host))
            }
        },
    };
    if refused {
        return Err(ApiError::Http {
            status: StatusCode::FORBIDDEN,
            detail: "a refresh can only be asked for from wump's own pages".to_owned(),
        });
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    id: Uuid,
    state: &'static str,
    explanation: &'static str,
    /// Queued or running: the page reloads itself every few seconds.
    pending: bool,
    started: Option<String>,
    finished: Option<String>,
    back: Option<String>,
    api_href: String,
}

/// `GET /jobs/{id}`: where a refresh is; never cached.
#[get("/jobs/{id}")]
pub(crate) async fn job(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id: Uuid = path
        .parse()
        .map_err(|_| ApiError::invalid("id", "must be a job id (a UUID)"))?;
    let report = refresh::report(&state, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no job with id {id}")))?;
    let (state_name, explanation) = match report.state {
        JobState::Queued => (
            "queued",
            "Waiting for a worker. This page reloads by itself.",
        ),
        JobState::Running => ("running", "A worker is on it. This page reloads by itself."),
        JobState::Completed => ("completed", "Done: the package page shows what was found."),
        JobState::Failed => (
            "failed",
            "The refresh failed; operators see why in the dead letters.",
        ),
    };
    let run = report.latest_run.as_ref();
    let when = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let page = JobPage {
        id,
        state: state_name,
        explanation,
        pending: matches!(report.state, JobState::Queued | JobState::Running),
        started: run.map(|r| when(r.started_at)),
        finished: run.and_then(|r| r.finished_at).map(when),
        back: back_link(req.query_string()),
        api_href: format!("/api/v1/jobs/{id}"),
    };
    let body = page.render().map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type(HTML)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// The package page to link back to, from `?package=`: only a path of ours (one of our
/// ecosystems, then a name), so the link cannot lead elsewhere.
fn back_link(query: &str) -> Option<String> {
    let (_, path) = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "package")?;
    let rest = path.strip_prefix('/')?;
    let (ecosystem, name) = rest.split_once('/')?;
    (ecosystem.parse::<Ecosystem>().is_ok() && !name.is_empty() && !name.starts_with('/'))
        .then(|| path.into_owned())
}

#[cfg(test)]
mod tests {
    use super::back_link;

    #[test]
    fn only_package_pages_of_ours_are_linked_back_to() {
        assert_eq!(
            back_link("package=%2Fnpm%2F%40babel%2Fcore").as_deref(),
            Some("/npm/@babel/core")
        );
        for hostile in [
            "package=https%3A%2F%2Fevil.example%2F",
            "package=%2F%2Fevil.example%2Fnpm",
            "package=%2Fnope%2Fx",
            "package=%2Fnpm%2F",
            "",
        ] {
            assert_eq!(back_link(hostile), None, "{hostile}");
        }
    }
}
