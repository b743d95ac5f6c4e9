//! Admin endpoints (admin tier): API keys, recent job runs, the dead-letter list.

pub(crate) mod dead_letters;
pub(crate) mod keys;
pub(crate) mod runs;

use actix_web::{HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// The query string as `T`; an unknown or malformed parameter is a 400 naming it.
// Replaced by the shared parameter parsing (`params.rs`) when the branches merge.
pub(crate) fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| {
            let message = e.to_string();
            let parameter = ["unknown field `", "missing field `"]
                .iter()
                .find_map(|start| message.split_once(start))
                .and_then(|(_, rest)| rest.split_once('`'))
                .map_or("query", |(field, _)| field);
            ApiError::invalid(parameter, message.clone())
        })
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
        .service(dead_letters::replay_one);
}
