//! Builds the actix-web server from the shared state.

use std::time::Duration;

use actix_web::{App, HttpServer, dev::Server, middleware, web};

use crate::{guard, http, metrics, routes, state::AppState};

/// Binds the API to `settings.api.bind` (port 0 picks a free port) and returns the
/// server and the address it listens on; the server stops gracefully on SIGTERM/SIGINT.
pub fn build(state: AppState) -> std::io::Result<(Server, std::net::SocketAddr)> {
    build_with(state, |_| {})
}

/// [`build`] with `extra` routes registered after ours (tests add slow or cached routes).
pub fn build_with(
    state: AppState,
    extra: fn(&mut web::ServiceConfig),
) -> std::io::Result<(Server, std::net::SocketAddr)> {
    let api = state.settings.api.clone();
    let data = web::Data::new(state);
    let http_settings = api.http.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(http::json_config(&http_settings))
            .app_data(http::payload_config(&http_settings))
            .configure(routes::configure)
            .configure(crate::pages::configure)
            .configure(extra)
            .default_service(web::to(http::not_found))
            // Innermost first; see http.rs for why this order.
            .wrap(middleware::from_fn(http::timeout))
            // Auth and rate limits for /api/v1: inside the metrics, headers and request span,
            // so 401s and 429s are counted, hardened and logged with the request's ids.
            .wrap(middleware::from_fn(guard::guard))
            .wrap(http::problem_errors())
            .wrap(middleware::from_fn(http::header_limit))
            .wrap(http::cors(&http_settings))
            .wrap(middleware::from_fn(metrics::record))
            .wrap(middleware::from_fn(http::security_headers))
            // One span per request, continuing the caller's trace; carries the request id.
            .wrap(tracing_actix_web::TracingLogger::<http::ApiRootSpan>::new())
            .wrap(middleware::from_fn(http::request_id))
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
