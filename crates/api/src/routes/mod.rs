//! Request handlers, one module per resource. Handlers are thin: parse, call the data
//! layer (through the cache), map the result.

use actix_web::web;

pub(crate) mod access_openapi;
pub(crate) mod admin;
pub(crate) mod health;
pub(crate) mod jobs;

/// Registers every route.
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .service(health::live)
        .service(health::ready)
        .service(health::db)
        .service(health::valkey)
        .service(health::jobs)
        .service(crate::metrics::scrape)
        .service(jobs::refresh_package)
        .service(jobs::job_status)
        .configure(admin::configure);
}
