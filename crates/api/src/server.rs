//! Builds the actix-web server from the shared state.

use std::time::Duration;

use actix_web::{App, HttpServer, dev::Server, middleware, web};

use crate::{guard, routes, state::AppState};

/// Binds the API to `settings.api.bind` (port 0 picks a free port) and returns the
/// server and the address it listens on; the server stops gracefully on SIGTERM/SIGINT.
pub fn build(state: AppState) -> std::io::Result<(Server, std::net::SocketAddr)> {
    let api = state.settings.api.clone();
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            // Auth and rate limits for /api/v1 (inside the request span, so its logs carry it).
            .wrap(middleware::from_fn(guard::guard))
            // One span per request: every log line of a request carries its trace id.
            .wrap(tracing_actix_web::TracingLogger::default())
            .configure(routes::configure)
    })
    .shutdown_timeout(api.shutdown_timeout_secs)
    .client_request_timeout(Duration::from_secs(10));
    if api.workers > 0 {
        server = server.workers(api.workers);
    }
    let server = server.bind(api.bind)?;
    let address = server.addrs().first().copied().unwrap_or(api.bind);
    Ok((server.run(), address))
}
