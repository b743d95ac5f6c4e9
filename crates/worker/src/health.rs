//! The worker's own small HTTP endpoint, for container health checks.

use actix_web::{App, HttpResponse, HttpServer, dev::Server, get};
use serde_json::json;

/// Liveness: the worker process is up.
#[get("/health")]
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Serves `/health` on `address` with one thread; stops gracefully on SIGTERM/SIGINT.
pub fn server(address: std::net::SocketAddr, shutdown_secs: u64) -> std::io::Result<Server> {
    Ok(HttpServer::new(|| App::new().service(live))
        .workers(1)
        .shutdown_timeout(shutdown_secs)
        .bind(address)?
        .run())
}
