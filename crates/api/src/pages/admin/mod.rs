//! The operators' dashboard under `/admin` (Flower-style): queue depths, running and recent
//! job runs, dead letters with replay and purge, and the providers' quota per token. Behind
//! a sign-in with an admin key ([`session`]); every POST refuses forms from other sites;
//! nothing here is cached.

mod actions;
mod dashboard;
mod quota;
mod session;
mod sign_in;

use actix_web::{HttpResponse, http::StatusCode, http::header, middleware::DefaultHeaders, web};

use super::{HTML, PageError};
use crate::problem::ApiError;

/// Largest form body a dashboard POST reads (a key, or a job id or queue name).
const MAX_FORM_BYTES: usize = 4_096;

/// `template` rendered as an uncached page with `status`.
fn page(status: StatusCode, template: &impl askama::Template) -> Result<HttpResponse, PageError> {
    let body = template
        .render()
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::build(status)
        .content_type(HTML)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// Registers the dashboard's routes under `/admin`; no answer there is cached, error pages
/// included.
pub(super) fn configure(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/admin")
            .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")))
            .service(dashboard::show)
            .service(sign_in::login)
            .service(sign_in::logout)
            .service(actions::replay)
            .service(actions::purge),
    );
}
