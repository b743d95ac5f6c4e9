//! Outages: PostgreSQL or Valkey taken away (through a cuttable TCP proxy) and given back,
//! with the API running the whole time.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use secrecy::{ExposeSecret, SecretString};
use wump_db::{
    test_proxy::{Mode, Proxy},
    test_support::{TestDatabase, TestValkey},
};

use crate::{start_with, test_routes, test_settings};

/// The `host:port` of a `scheme://[user@]host:port[/db]` URL.
pub(crate) fn address_of(url: &str) -> SocketAddr {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split('/').next().unwrap();
    let host_port = authority.rsplit('@').next().unwrap();
    host_port.parse().unwrap()
}

/// `url` with its `host:port` replaced by `address`.
pub(crate) fn via(url: &str, address: SocketAddr) -> SecretString {
    SecretString::from(url.replacen(&address_of(url).to_string(), &address.to_string(), 1))
}

async fn get(address: SocketAddr, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("http://{address}{path}"))
        .send()
        .await
        .unwrap()
}

pub(crate) fn x_cache(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get("x-cache")
        .map_or("", |v| v.to_str().unwrap())
}

/// Polls `path` until it answers `status` (or panics after `within`).
async fn eventually(
    address: SocketAddr,
    path: &str,
    status: u16,
    within: Duration,
) -> reqwest::Response {
    let deadline = Instant::now() + within;
    loop {
        let response = get(address, path).await;
        if response.status().as_u16() == status {
            return response;
        }
        assert!(
            Instant::now() < deadline,
            "{path} still answers {} after {within:?}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_database_down_cached_answers_are_stale_uncached_ones_fail_fast_and_it_recovers() {
    let db = TestDatabase::new().await;
    let valkey = TestValkey::new().await;
    let db_url = db.settings().url.expose_secret().to_owned();
    let proxy = Proxy::start(address_of(&db_url)).await.unwrap();
    let mut settings = test_settings(&db, &valkey);
    settings.database.url = via(&db_url, proxy.address());
    settings.database.pool_wait_timeout_ms = 1_000;
    settings.database.connect_timeout_ms = 1_000;
    settings.api.cache.search_ttl_secs = 1;
    settings.api.breaker.failure_threshold = 2;
    settings.api.breaker.open_ms = 1_000;
    let bound = settings.database.pool_wait_timeout() + Duration::from_secs(2);
    let api = start_with(settings, &valkey, test_routes::configure);

    let warm = get(api, "/test/cached/warm").await;
    assert_eq!((warm.status().as_u16(), x_cache(&warm)), (200, "MISS"));
    let warm_body = warm.text().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    proxy.set(Mode::Cut);

    let started = Instant::now();
    let stale = get(api, "/test/cached/warm").await;
    assert_eq!((stale.status().as_u16(), x_cache(&stale)), (200, "STALE"));
    assert_eq!(stale.text().await.unwrap(), warm_body);
    assert!(started.elapsed() < bound, "took {:?}", started.elapsed());

    for attempt in 0..3 {
        let started = Instant::now();
        let cold = get(api, &format!("/test/cached/cold-{attempt}")).await;
        assert!(started.elapsed() < bound, "took {:?}", started.elapsed());
        assert_eq!(cold.status().as_u16(), 503);
        assert_eq!(cold.headers()["content-type"], "application/problem+json");
        assert!(cold.headers().contains_key("retry-after"));
        let problem: serde_json::Value = cold.json().await.unwrap();
        assert_eq!(problem["type"], "urn:wump:problem:unavailable");
    }
    let health: serde_json::Value = get(api, "/health/db").await.json().await.unwrap();
    assert_eq!(health["database"], "unavailable");
    assert_ne!(health["breaker"], "closed", "{health}");

    proxy.set(Mode::Pass);

    let recovered = eventually(api, "/test/cached/cold-0", 200, Duration::from_secs(15)).await;
    assert_eq!(x_cache(&recovered), "MISS");
    let fresh = get(api, "/test/cached/warm").await;
    assert_eq!((fresh.status().as_u16(), x_cache(&fresh)), (200, "MISS"));
    let health: serde_json::Value = get(api, "/health/db").await.json().await.unwrap();
    assert_eq!(health["breaker"], "closed", "{health}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_database_black_holed_requests_fail_fast_through_the_breaker_and_the_pool_recovers()
 {
    let db = TestDatabase::new().await;
    let valkey = TestValkey::new().await;
    let db_url = db.settings().url.expose_secret().to_owned();
    let proxy = Proxy::start(address_of(&db_url)).await.unwrap();
    let mut settings = test_settings(&db, &valkey);
    settings.database.url = via(&db_url, proxy.address());
    settings.database.pool_max_size = 2;
    settings.database.query_timeout_ms = 1_000;
    settings.api.breaker.failure_threshold = 2;
    settings.api.breaker.open_ms = 1_000;
    let api = start_with(settings, &valkey, test_routes::configure);

    // Both pooled connections open and idle before the route goes dark.
    let (first, second) = tokio::join!(
        get(api, "/test/cached/open-a"),
        get(api, "/test/cached/open-b")
    );
    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(second.status().as_u16(), 200);

    proxy.set(Mode::Hold);

    // Queries on the open connections get no answer: each load gives up at the query
    // timeout (well before any TCP timeout) and counts against the breaker.
    for attempt in 0..2 {
        let started = Instant::now();
        let cold = get(api, &format!("/test/cached/dark-{attempt}")).await;
        let took = started.elapsed();
        assert_eq!(cold.status().as_u16(), 503, "attempt {attempt}");
        assert!(
            took < Duration::from_secs(4),
            "attempt {attempt} took {took:?}"
        );
    }
    // Open now: the next requests are 503 + Retry-After without touching the database.
    for attempt in 0..5 {
        let started = Instant::now();
        let cold = get(api, &format!("/test/cached/fast-{attempt}")).await;
        let took = started.elapsed();
        assert_eq!(cold.status().as_u16(), 503);
        assert!(cold.headers().contains_key("retry-after"));
        assert!(took < Duration::from_millis(500), "took {took:?}");
    }

    proxy.set(Mode::Pass);

    // The connections whose queries were cut were closed, not reused: fresh ones answer
    // (a reused one would answer the stalled query's reply to the next caller or wait
    // behind it).
    let recovered = eventually(api, "/test/cached/after", 200, Duration::from_secs(15)).await;
    assert_eq!(x_cache(&recovered), "MISS");
    for attempt in 0..4 {
        let answer = get(api, &format!("/test/cached/again-{attempt}")).await;
        assert_eq!(answer.status().as_u16(), 200);
    }
    let health: serde_json::Value = get(api, "/health/db").await.json().await.unwrap();
    assert_eq!(health["breaker"], "closed", "{health}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_valkey_down_answers_come_from_the_database_and_the_cache_returns_after() {
    let db = TestDatabase::new().await;
    let valkey = TestValkey::new().await;
    let valkey_url = valkey.settings().url.expose_secret().to_owned();
    let proxy = Proxy::start(address_of(&valkey_url)).await.unwrap();
    let mut settings = test_settings(&db, &valkey);
    settings.valkey.url = via(&valkey_url, proxy.address());
    settings.valkey.command_timeout_ms = 500;
    settings.api.cache.valkey_cooldown_ms = 500;
    // Only Valkey: fresh answers kept in process memory would be HITs through the outage
    // (`a_fresh_answer_kept_in_memory_is_served_after_valkey_lost_it`).
    settings.api.cache.local_bytes = 0;
    let bound = Duration::from_millis(500) + Duration::from_secs(2);
    let api = start_with(settings, &valkey, test_routes::configure);

    let first = get(api, "/test/cached/x").await;
    assert_eq!((first.status().as_u16(), x_cache(&first)), (200, "MISS"));
    let second = get(api, "/test/cached/x").await;
    assert_eq!(x_cache(&second), "HIT");

    proxy.set(Mode::Cut);

    for _ in 0..3 {
        let started = Instant::now();
        let response = get(api, "/test/cached/x").await;
        assert!(started.elapsed() < bound, "took {:?}", started.elapsed());
        assert_eq!(
            (response.status().as_u16(), x_cache(&response)),
            (200, "MISS")
        );
        assert_eq!(response.text().await.unwrap(), r#"{"name":"x"}"#);
    }
    assert_eq!(get(api, "/health/valkey").await.status().as_u16(), 503);

    proxy.set(Mode::Pass);

    eventually(api, "/health/valkey", 200, Duration::from_secs(15)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = get(api, "/test/cached/x").await;
        if x_cache(&response) == "HIT" {
            break;
        }
        assert!(Instant::now() < deadline, "the cache never came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
