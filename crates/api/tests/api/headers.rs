//! What every response carries and how every kind of bad request is answered: security
//! headers, request ids, CORS, limits, the request timeout, problems for framework errors,
//! and a graceful stop.

use std::{net::SocketAddr, time::Duration};

use wump_core::Settings;
use wump_db::test_support::{TestDatabase, TestValkey};

use crate::{start_with, test_routes, test_settings};

/// A running API with the test routes; the database and Valkey live as long as it.
struct App {
    address: SocketAddr,
    _db: TestDatabase,
    _valkey: TestValkey,
}

impl App {
    async fn spawn(configure: impl FnOnce(&mut Settings)) -> Self {
        let db = TestDatabase::new().await;
        let valkey = TestValkey::new().await;
        let mut settings = test_settings(&db, &valkey);
        configure(&mut settings);
        let address = start_with(settings, &valkey, test_routes::configure);
        Self {
            address,
            _db: db,
            _valkey: valkey,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

async fn assert_problem(response: reqwest::Response, status: u16, problem_type: &str) {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["type"], problem_type, "{body}");
    assert_eq!(body["status"], status);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_response_carries_the_security_headers() {
    let app = App::spawn(|_| {}).await;
    let client = reqwest::Client::new();
    for path in ["/health", "/no/such/route"] {
        let response = client.get(app.url(path)).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(
            headers["strict-transport-security"],
            "max-age=63072000; includeSubDomains"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(
            headers["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'"
        );
    }
    // The docs page loads its own scripts and styles.
    let docs = client.get(app.url("/docs/")).send().await.unwrap();
    let csp = docs.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
}

#[tokio::test(flavor = "multi_thread")]
async fn request_ids_are_echoed_when_sane_and_generated_otherwise() {
    let app = App::spawn(|_| {}).await;
    let client = reqwest::Client::new();
    let echoed = client
        .get(app.url("/health"))
        .header("x-request-id", "client-chosen-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "client-chosen-42");

    for sent in [
        None,
        Some("x".repeat(200)),
        Some("no spaces please".to_owned()),
    ] {
        let mut request = client.get(app.url("/no/such/route"));
        if let Some(id) = &sent {
            request = request.header("x-request-id", id);
        }
        let response = request.send().await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn framework_errors_are_problems() {
    let app = App::spawn(|s| s.api.http.json_body_limit_bytes = 100).await;
    let client = reqwest::Client::new();

    let unknown = client.get(app.url("/api/v1/nothing")).send().await.unwrap();
    assert_problem(unknown, 404, "urn:wump:problem:not-found").await;

    let wrong_method = client.get(app.url("/test/echo")).send().await.unwrap();
    let status = wrong_method.status().as_u16();
    assert!(status == 404 || status == 405, "{status}");
    assert_eq!(
        wrong_method.headers()["content-type"],
        "application/problem+json"
    );

    let too_large = client
        .post(app.url("/test/echo"))
        .json(&serde_json::json!({ "name": "x".repeat(200) }))
        .send()
        .await
        .unwrap();
    assert_problem(too_large, 413, "urn:wump:problem:payload-too-large").await;

    let malformed = client
        .post(app.url("/test/echo"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_problem(malformed, 400, "urn:wump:problem:invalid-parameter").await;

    let unknown_field = client
        .post(app.url("/test/echo"))
        .json(&serde_json::json!({ "name": "a", "extra": 1 }))
        .send()
        .await
        .unwrap();
    assert_problem(unknown_field, 422, "urn:wump:problem:unprocessable").await;

    let not_json = client
        .post(app.url("/test/echo"))
        .header("content-type", "text/plain")
        .body("name=a")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 415, "about:blank").await;

    let fine = client
        .post(app.url("/test/echo"))
        .json(&serde_json::json!({ "name": "a" }))
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_headers_are_a_431_problem() {
    let app = App::spawn(|s| s.api.http.max_header_bytes = 1_024).await;
    let response = reqwest::Client::new()
        .get(app.url("/health"))
        .header("x-padding", "p".repeat(2_000))
        .send()
        .await
        .unwrap();
    assert_problem(response, 431, "about:blank").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_slower_than_the_timeout_gets_a_503_problem() {
    let app = App::spawn(|s| s.api.http.request_timeout_ms = 300).await;
    let response = reqwest::Client::new()
        .get(app.url("/test/slow?ms=5000"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["type"], "urn:wump:problem:unavailable");
    let quick = reqwest::get(app.url("/test/slow?ms=1")).await.unwrap();
    assert_eq!(quick.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_allows_the_configured_origins_and_exposes_our_headers() {
    let app = App::spawn(|s| {
        s.api.http.cors_allowed_origins = vec!["https://example.org".into()];
    })
    .await;
    let client = reqwest::Client::new();
    let preflight = client
        .request(reqwest::Method::OPTIONS, app.url("/health"))
        .header("origin", "https://example.org")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "x-api-key")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://example.org"
    );

    let response = client
        .get(app.url("/health"))
        .header("origin", "https://example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://example.org"
    );
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for header in [
        "etag",
        "link",
        "x-cache",
        "x-request-id",
        "ratelimit-remaining",
    ] {
        assert!(exposed.contains(header), "{header} not in {exposed}");
    }

    let other = client
        .get(app.url("/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));

    let unconfigured = App::spawn(|_| {}).await;
    let response = client
        .get(unconfigured.url("/health"))
        .header("origin", "https://example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

/// What SIGTERM does (actix installs the handler and calls the same graceful stop):
/// requests in flight finish, then the server exits.
#[tokio::test(flavor = "multi_thread")]
async fn a_graceful_stop_lets_the_request_in_flight_finish() {
    let db = TestDatabase::new().await;
    let valkey = TestValkey::new().await;
    let state = crate::state(test_settings(&db, &valkey), &valkey);
    let (server, address) = wump_api::server::build_with(state, test_routes::configure).unwrap();
    let handle = server.handle();
    let running = tokio::spawn(server);

    let in_flight = tokio::spawn(async move {
        reqwest::get(format!("http://{address}/test/slow?ms=1000"))
            .await
            .map(|r| r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    handle.stop(true).await;

    assert_eq!(in_flight.await.unwrap().unwrap(), 200);
    running.await.unwrap().unwrap();
    assert!(
        reqwest::get(format!("http://{address}/health"))
            .await
            .is_err()
    );
}
