//! Request handlers, one module per resource. Handlers are thin: parse, call the data
//! layer (through the cache), map the result.

use actix_web::web;

pub(crate) mod health;

/// Registers every route.
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .service(health::live)
        .service(health::ready)
        .service(health::db)
        .service(health::valkey)
        .service(health::jobs)
        .service(crate::metrics::scrape);
}
