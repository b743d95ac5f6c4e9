//! Routes only the tests register (through `server::build_with`): a cached answer that
//! needs the database, like the real read endpoints, and a slow one. The `/api/v1/test/…`
//! twins sit behind the guard (API keys, rate limits) like the real endpoints.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use wump_api::{
    AppState,
    cache::{CacheClass, Fresh, Scope},
    problem::ApiError,
};

/// Registers `/test/cached/{name}`, `/test/slow?ms=` and `POST /test/echo`, and behind the
/// guard `/api/v1/test/cached/{name}` and `/api/v1/test/hello` (needs no database).
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/test/cached/{name}", web::get().to(cached))
        .route("/api/v1/test/cached/{name}", web::get().to(cached))
        .route("/api/v1/test/hello", web::get().to(hello))
        .route("/test/slow", web::get().to(slow))
        .route("/test/echo", web::post().to(echo));
}

/// A search-class answer per name, loaded with a database round trip.
async fn cached(
    request: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let cached = state
        .cache
        .get_or_load(&Scope::Global, CacheClass::Search, &name, || async {
            wump_db::pool::ping(state.read_db()).await?;
            Ok(Fresh::from(serde_json::json!({ "name": name.clone() })))
        })
        .await?;
    Ok(cached.respond(&request))
}

/// Answers without any dependency: what a caller the guard let through sees.
async fn hello() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "hello": true }))
}

#[derive(serde::Deserialize)]
struct Slow {
    ms: u64,
}

/// Answers after `ms` milliseconds.
async fn slow(query: web::Query<Slow>) -> HttpResponse {
    tokio::time::sleep(Duration::from_millis(query.ms)).await;
    HttpResponse::Ok().json(serde_json::json!({ "slept_ms": query.ms }))
}

#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Echo {
    name: String,
}

/// Answers the JSON body it was given.
async fn echo(body: web::Json<Echo>) -> HttpResponse {
    HttpResponse::Ok().json(body.into_inner())
}
