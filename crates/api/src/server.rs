//! Builds the actix-web server from settings.

use std::time::Duration;

use actix_web::{App, HttpServer, dev::Server, web};
use wump_core::Settings;
use wump_db::DbPool;

use crate::routes::health;

/// Binds the API to `settings.api.bind` (port 0 picks a free port) and returns the
/// server and the address it listens on; the server stops gracefully on SIGTERM/SIGINT.
pub fn build(settings: &Settings, pool: DbPool) -> std::io::Result<(Server, std::net::SocketAddr)> {
    let pool = web::Data::new(pool);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(pool.clone())
            // One span per request: every log line of a request carries its trace id.
            .wrap(tracing_actix_web::TracingLogger::default())
            .service(health::live)
            .service(health::ready)
    })
    .shutdown_timeout(settings.api.shutdown_timeout_secs)
    .client_request_timeout(Duration::from_secs(10));
    if settings.api.workers > 0 {
        server = server.workers(settings.api.workers);
    }
    let server = server.bind(settings.api.bind)?;
    let address = server.addrs().first().copied().unwrap_or(settings.api.bind);
    Ok((server.run(), address))
}
