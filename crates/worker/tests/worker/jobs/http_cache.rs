//! The Valkey-backed conditional-request cache against the real server, each test under its
//! own key prefix.

use std::time::{Duration, Instant};

use fred::interfaces::KeysInterface;
use secrecy::SecretString;
use wump_core::settings::ValkeySettings;
use wump_db::test_support::TestValkey;
use wump_providers::{CachedResponse, HttpCache};
use wump_worker::http_cache::ValkeyHttpCache;

fn cache(valkey: &TestValkey, ttl: Duration, max_entry_bytes: usize) -> ValkeyHttpCache {
    ValkeyHttpCache::new(
        valkey.pool().clone(),
        valkey.key("http:"),
        ttl,
        max_entry_bytes,
    )
}

#[tokio::test]
async fn an_answer_is_stored_read_back_and_replaced() {
    let valkey = TestValkey::new().await;
    let cache = cache(&valkey, Duration::from_secs(60), 1024);
    let key = "GET https://api.github.com/repos/o/r application/vnd.github+json";
    assert_eq!(cache.get(key).await, None);

    cache.put(key, "W/\"1\"", b"{\"id\": 1}").await;
    assert_eq!(
        cache.get(key).await,
        Some(CachedResponse {
            etag: "W/\"1\"".into(),
            body: b"{\"id\": 1}".to_vec(),
        })
    );
    // Bytes that are not UTF-8 survive, and a new answer replaces the old one.
    cache.put(key, "\"2\"", &[0, 159, 146, 150]).await;
    assert_eq!(cache.get(key).await.unwrap().body, [0, 159, 146, 150]);
    // Another worker sharing the server sees it.
    let other = ValkeyHttpCache::new(
        valkey.pool().clone(),
        valkey.key("http:"),
        Duration::from_secs(60),
        1024,
    );
    assert_eq!(other.get(key).await.unwrap().etag, "\"2\"");
}

#[tokio::test]
async fn an_entry_expires_after_its_ttl() {
    let valkey = TestValkey::new().await;
    let long = cache(&valkey, Duration::from_secs(600), 1024);
    long.put("k", "\"e\"", b"body").await;
    let ttl_ms: i64 = valkey.pool().pttl(valkey.key("http:k")).await.unwrap();
    assert!((1..=600_000).contains(&ttl_ms), "{ttl_ms}");

    let short = cache(&valkey, Duration::from_millis(50), 1024);
    short.put("brief", "\"e\"", b"body").await;
    // Valkey expires the key itself; wait for it (bounded) rather than for a fixed time.
    let deadline = Instant::now() + Duration::from_secs(5);
    while short.get("brief").await.is_some() {
        assert!(Instant::now() < deadline, "the entry never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(long.get("k").await.is_some());
}

#[tokio::test]
async fn a_body_over_the_entry_limit_is_not_stored() {
    let valkey = TestValkey::new().await;
    let cache = cache(&valkey, Duration::from_secs(60), 8);
    cache.put("small", "\"e\"", &[1; 8]).await;
    cache.put("big", "\"e\"", &[1; 9]).await;
    assert!(cache.get("small").await.is_some());
    assert_eq!(cache.get("big").await, None);
    let exists: i64 = valkey.pool().exists(valkey.key("http:big")).await.unwrap();
    assert_eq!(exists, 0);
}

#[tokio::test]
async fn an_unreachable_valkey_is_a_miss_never_an_error() {
    // Nothing listens on port 1; commands give up after the command timeout.
    let settings = ValkeySettings {
        url: SecretString::from("redis://127.0.0.1:1"),
        command_timeout_ms: 500,
        ..ValkeySettings::default()
    };
    let pool = wump_db::connect_valkey(&settings).unwrap();
    let cache = ValkeyHttpCache::new(pool, "http:", Duration::from_secs(60), 1024);
    cache.put("k", "\"e\"", b"body").await;
    assert_eq!(cache.get("k").await, None);
    // Once it failed, the cache stops asking for a while: ten lookups take less than one
    // command timeout instead of ten.
    let started = Instant::now();
    for _ in 0..10 {
        assert_eq!(cache.get("k").await, None);
    }
    assert!(started.elapsed() < Duration::from_millis(500));
}
