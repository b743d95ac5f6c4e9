//! Admin endpoints (admin tier): API keys, recent job runs, the dead-letter list.

pub(crate) mod dead_letters;
pub(crate) mod keys;
pub(crate) mod runs;

use actix_web::{HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// The query string as `T`; an unknown or malformed parameter is a 400 naming it.
pub(crate) fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    crate::params::parse_query(req.query_string())
}

/// Registers the admin routes.
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .service(keys::create_key)
        .service(keys::list_keys)
        .service(keys::revoke_key)
        .service(keys::rotate_key)
        .service(runs::list_runs)
        .service(dead_letters::list)
        .service(dead_letters::replay_all)
        .service(dead_letters::show)
        .service(dead_letters::replay_one)
        .service(dead_letters::purge_one);
}
