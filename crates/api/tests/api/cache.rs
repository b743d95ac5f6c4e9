//! The response cache against the real Valkey: hits, invalidation by a version bump,
//! single-flight, stale answers while the database is down, and life without Valkey.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use actix_web::http::{StatusCode, header};
use secrecy::SecretString;
use serde_json::{Value, json};
use wump_api::{
    AppState,
    cache::{CacheClass, CacheStatus, Cached, Fresh, Scope},
    problem::ApiError,
};
use wump_core::{Ecosystem, Settings};
use wump_db::test_support::TestValkey;

/// State over the test Valkey (under its own prefix) and a database pool that is never
/// used: the loaders here stand in for the database.
fn state(valkey: &TestValkey, configure: impl FnOnce(&mut Settings)) -> AppState {
    let mut settings = Settings::default();
    settings.valkey = valkey.settings().clone();
    configure(&mut settings);
    crate::state(settings, valkey)
}

fn serde_scope() -> Scope {
    Scope::Package {
        ecosystem: Ecosystem::Cargo,
        normalized_name: "serde".into(),
    }
}

/// A loader that counts its runs and answers `body`.
fn counting(
    runs: &Arc<AtomicUsize>,
    body: Value,
) -> impl FnOnce() -> std::future::Ready<Result<Fresh<Value>, ApiError>> {
    let runs = runs.clone();
    move || {
        runs.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(Fresh {
            body,
            link: Some("</next>; rel=\"next\"".into()),
        }))
    }
}

async fn dependents(state: &AppState, runs: &Arc<AtomicUsize>, body: Value) -> Cached {
    state
        .cache
        .get_or_load(
            &serde_scope(),
            CacheClass::Dependents,
            "dependents?per_page=30",
            counting(runs, body),
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_miss_is_stored_and_the_next_request_hits_with_the_same_body_and_etag() {
    let valkey = TestValkey::new().await;
    let state = state(&valkey, |_| {});
    let runs = Arc::new(AtomicUsize::new(0));

    let first = dependents(&state, &runs, json!({"items": [1, 2]})).await;
    let second = dependents(&state, &runs, json!({"items": ["different"]})).await;

    assert_eq!(first.status, CacheStatus::Miss);
    assert_eq!(second.status, CacheStatus::Hit);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(second.body, first.body);
    assert_eq!(second.etag, first.etag);
    assert_eq!(second.link.as_deref(), Some("</next>; rel=\"next\""));
    assert!(second.max_age <= Duration::from_secs(3_600));
    assert!(second.max_age > Duration::from_secs(3_500));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_bump_by_the_worker_invalidates_every_variant() {
    let valkey = TestValkey::new().await;
    let state = state(&valkey, |_| {});
    let runs = Arc::new(AtomicUsize::new(0));
    let first = dependents(&state, &runs, json!({"v": 1})).await;
    assert_eq!(
        dependents(&state, &runs, json!({"v": 1})).await.status,
        CacheStatus::Hit
    );

    crate::bump(&state, &valkey, &serde_scope()).await;

    let after = dependents(&state, &runs, json!({"v": 2})).await;
    assert_eq!(after.status, CacheStatus::Miss);
    assert_ne!(after.etag, first.etag);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(
        dependents(&state, &runs, json!({"v": 3})).await.body,
        after.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_misses_of_one_key_run_the_loader_once() {
    let valkey = TestValkey::new().await;
    let state = state(&valkey, |_| {});
    let runs = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (state, runs) = (state.clone(), runs.clone());
            tokio::spawn(async move {
                state
                    .cache
                    .get_or_load(&Scope::Global, CacheClass::Stats, "stats", || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        // A slow query: the other requests arrive while it runs.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        Ok(Fresh::from(json!({"packages": 1})))
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut etags = Vec::new();
    for task in tasks {
        etags.push(task.await.unwrap().etag);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    etags.dedup();
    assert_eq!(etags.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_answer_is_served_stale_while_the_database_is_unavailable() {
    let valkey = TestValkey::new().await;
    let state = state(&valkey, |s| s.api.cache.dependents_ttl_secs = 1);
    let runs = Arc::new(AtomicUsize::new(0));
    let fresh = dependents(&state, &runs, json!({"items": [1]})).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    let database_down = || async {
        Err::<Fresh<Value>, _>(ApiError::Unavailable {
            what: "the database",
            retry_after: Duration::from_secs(5),
        })
    };
    let stale = state
        .cache
        .get_or_load(
            &serde_scope(),
            CacheClass::Dependents,
            "dependents?per_page=30",
            database_down,
        )
        .await
        .unwrap();
    assert_eq!(stale.status, CacheStatus::Stale);
    assert_eq!(stale.body, fresh.body);
    assert_eq!(stale.max_age, Duration::ZERO);

    let request = actix_web::test::TestRequest::default().to_http_request();
    let response = stale.respond(&request);
    assert_eq!(response.headers().get("x-cache").unwrap(), "STALE");
    assert_eq!(
        response.headers().get(header::CACHE_CONTROL).unwrap(),
        "public, max-age=0, stale-if-error=86400"
    );

    // Nothing cached for another variant: the outage shows.
    let uncached = state
        .cache
        .get_or_load(
            &serde_scope(),
            CacheClass::Dependents,
            "page 2",
            database_down,
        )
        .await
        .unwrap_err();
    assert!(matches!(uncached, ApiError::Unavailable { .. }));

    // Once the database answers again the entry is refreshed.
    let refreshed = dependents(&state, &runs, json!({"items": [2]})).await;
    assert_eq!(refreshed.status, CacheStatus::Miss);
    assert_ne!(refreshed.body, fresh.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_valkey_every_request_is_answered_by_the_loader() {
    let valkey = TestValkey::new().await;
    let state = state(&valkey, |s| {
        s.valkey.url = SecretString::from("redis://127.0.0.1:1");
        s.valkey.command_timeout_ms = 300;
    });
    let runs = Arc::new(AtomicUsize::new(0));
    for expected_runs in 1..=3 {
        let answer = dependents(&state, &runs, json!({"from": "postgres"})).await;
        assert_eq!(answer.status, CacheStatus::Miss);
        assert_eq!(answer.body.as_ref(), br#"{"from":"postgres"}"#);
        assert_eq!(runs.load(Ordering::SeqCst), expected_runs);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_matching_if_none_match_is_a_304_without_a_body() {
    let valkey = TestValkey::new().await;
    let state = state(&valkey, |_| {});
    let runs = Arc::new(AtomicUsize::new(0));
    let cached = dependents(&state, &runs, json!({"items": [1]})).await;

    let matching = actix_web::test::TestRequest::default()
        .insert_header((header::IF_NONE_MATCH, format!("\"x\", {}", cached.etag)))
        .to_http_request();
    let response = cached.clone().respond(&matching);
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(response.headers().get(header::ETAG).unwrap(), &cached.etag);
    let body = actix_web::body::to_bytes(response.into_body())
        .await
        .unwrap();
    assert!(body.is_empty());

    let other = actix_web::test::TestRequest::default()
        .insert_header((header::IF_NONE_MATCH, "\"something-else\""))
        .to_http_request();
    let response = cached.respond(&other);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get("x-cache").unwrap(), "MISS");
}

/// Waits (at most 10 s) until `state` does or does not remember versions.
async fn tracking_is(state: &AppState, live: bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while state.cache.tracks_versions() != live {
        assert!(
            std::time::Instant::now() < deadline,
            "version tracking never became {live}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bump_while_the_tracking_connection_is_down_is_not_missed() {
    use fred::interfaces::KeysInterface;
    use wump_db::test_proxy::{Mode, Proxy};

    let valkey = TestValkey::new().await;
    let proxy = Proxy::start(crate::outages::address_of(
        secrecy::ExposeSecret::expose_secret(&valkey.settings().url),
    ))
    .await
    .unwrap();
    let state = state(&valkey, |s| {
        s.valkey.url = SecretString::from(format!("redis://{}", proxy.address()));
        s.valkey.command_timeout_ms = 500;
    });
    tracking_is(&state, true).await;
    assert_eq!(state.cache.current_version(&serde_scope()).await, Some(0));

    // The route to Valkey drops; the worker bumps the version meanwhile (straight to the
    // server): the invalidation has nowhere to go.
    proxy.set(Mode::Cut);
    tracking_is(&state, false).await;
    let key = valkey.key(&wump_db::Keys::default().package_version(Ecosystem::Cargo, "serde"));
    let bumped: u64 = valkey.pool().incr(&key).await.unwrap();

    proxy.set(Mode::Pass);
    tracking_is(&state, true).await;
    assert_eq!(
        state.cache.current_version(&serde_scope()).await,
        Some(bumped),
        "the version remembered before the outage was forgotten"
    );
    // And tracking works again on the new connection.
    let bumped: u64 = valkey.pool().incr(&key).await.unwrap();
    crate::wait_for_version(&state, &serde_scope(), bumped).await;
}

/// Loads the page, then deletes every cached entry from Valkey (as an eviction under
/// `maxmemory` would) and asks again: what the second request comes to.
async fn after_valkey_lost_the_entry(local_bytes: u64) -> (CacheStatus, usize) {
    use fred::interfaces::{ClientLike, KeysInterface};
    let valkey = TestValkey::new().await;
    let state = state(&valkey, |s| s.api.cache.local_bytes = local_bytes);
    let runs = Arc::new(AtomicUsize::new(0));
    assert_eq!(
        dependents(&state, &runs, json!({"v": 1})).await.status,
        CacheStatus::Miss
    );
    let keys: Vec<String> = valkey
        .pool()
        .next()
        .custom(
            fred::types::CustomCommand::new_static("KEYS", fred::types::ClusterHash::Random, false),
            vec![valkey.key("wump:cache:v1:*")],
        )
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "the answer was stored in Valkey");
    let _: i64 = valkey.pool().del(keys).await.unwrap();
    let again = dependents(&state, &runs, json!({"v": 2})).await;
    (again.status, runs.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_answer_kept_in_memory_is_served_after_valkey_lost_it() {
    assert_eq!(
        after_valkey_lost_the_entry(1 << 20).await,
        (CacheStatus::Hit, 1)
    );
    // Without the in-process copy the answer is loaded again.
    assert_eq!(after_valkey_lost_the_entry(0).await, (CacheStatus::Miss, 2));
}
