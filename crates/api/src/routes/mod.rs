//! Request handlers, one module per resource. Handlers are thin: parse, call the data
//! layer (through the cache), map the result.

use actix_web::web;
use serde::Deserialize;
use utoipa::IntoParams;
use wump_db::pool::PooledConnection;

use crate::{params, problem::ApiError, state::AppState};

pub(crate) mod admin;
pub(crate) mod badges;
pub(crate) mod docs;
pub(crate) mod events;
pub(crate) mod feeds;
pub(crate) mod health;
pub(crate) mod history;
pub(crate) mod jobs;
pub(crate) mod organizations;
pub(crate) mod packages;
pub(crate) mod repositories;
pub(crate) mod search;
pub(crate) mod stats;
pub(crate) mod webhooks;

/// Registers every route.
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .app_data(params::path_config())
        .service(health::live)
        .service(health::ready)
        .service(health::db)
        .service(health::valkey)
        .service(health::jobs)
        .service(crate::metrics::scrape)
        .service(jobs::refresh_package)
        .service(jobs::job_status)
        .configure(admin::configure)
        .service(packages::lookup)
        .service(packages::show)
        .service(packages::dependents)
        .service(packages::organizations)
        .service(history::package_history)
        .service(events::package_events)
        .service(feeds::package_feed)
        .service(feeds::organization_feed)
        .service(history::organization_history)
        .service(organizations::show)
        .service(organizations::repositories)
        .service(organizations::dependencies)
        .service(repositories::show)
        .service(search::search)
        .service(stats::stats)
        .service(badges::show)
        .service(webhooks::create)
        .service(webhooks::list)
        .service(webhooks::deliveries)
        .service(webhooks::rotate_secret)
        .service(webhooks::enable)
        .service(webhooks::show)
        .service(webhooks::update)
        .service(webhooks::remove)
        // The README links `/docs`; Swagger UI lives under `/docs/`.
        .service(actix_web::web::redirect("/docs", "/docs/").permanent())
        .service(docs::swagger_ui());
}

/// A database connection for a read endpoint (the one place handlers get one): from the
/// read replica's pool when there is one.
pub(crate) async fn connection(state: &AppState) -> Result<PooledConnection, ApiError> {
    Ok(wump_db::pool::checkout(state.read_db()).await?)
}

/// The query of an endpoint that takes no parameters: any parameter is an error.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoParams {}
