//! Who the caller is: no key is anonymous, a bad key is a 401 (never anonymous), the
//! bootstrap admin key, client addresses behind trusted proxies, batched `last_used_at`.

use std::time::{Duration, Instant};

use diesel_async::RunQueryDsl;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;
use wump_api::auth::{
    Tier,
    manage::{self, KeySpec},
};
use wump_core::settings::TierLimit;

use crate::TestApp;

/// A path under `/api/v1` that every caller may request and that needs only the database
/// to answer (404: no such job).
pub(crate) fn probe_path() -> String {
    format!("/api/v1/jobs/{}", Uuid::now_v7())
}

/// Stores a key of `tier` (with `rate_limit` per minute, if given); returns the key.
pub(crate) async fn create_key(app: &TestApp, tier: Tier, rate_limit: Option<u32>) -> String {
    let mut conn = app.db.connection().await;
    let created = manage::create(
        &mut conn,
        &KeySpec {
            name: format!("{tier} key"),
            tier,
            expires_in_days: None,
            rate_limit,
        },
    )
    .await
    .unwrap();
    created.key.expose_secret().to_owned()
}

/// `GET path` with `X-API-Key: key`.
pub(crate) async fn get_with_key(app: &TestApp, path: &str, key: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
}

/// Distinct, recognisable limits per tier (a burst each, refilling once a minute, so a
/// test never sees a refill).
pub(crate) fn small_limits(settings: &mut wump_core::Settings) {
    let limits = &mut settings.api.rate_limits;
    limits.anonymous = TierLimit {
        per_minute: 1,
        burst: 2,
    };
    limits.free = TierLimit {
        per_minute: 1,
        burst: 3,
    };
    limits.standard = TierLimit {
        per_minute: 1,
        burst: 4,
    };
    limits.premium = TierLimit {
        per_minute: 1,
        burst: 5,
    };
}

async fn assert_unauthenticated(response: reqwest::Response, detail: &str) {
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert!(response.headers().contains_key("www-authenticate"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["type"], "urn:wump:problem:unauthenticated");
    assert!(
        body["detail"].as_str().unwrap().contains(detail),
        "{body} should say {detail:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_key_the_caller_is_anonymous() {
    let app = TestApp::spawn_with(small_limits).await;
    let response = app.get(&probe_path()).await;
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(response.headers()["ratelimit-limit"], "2");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_key_gets_its_tier() {
    let app = TestApp::spawn_with(small_limits).await;
    let key = create_key(&app, Tier::Standard, None).await;
    let response = get_with_key(&app, &probe_path(), &key).await;
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(response.headers()["ratelimit-limit"], "4");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_unknown_expired_and_revoked_keys_are_refused_never_anonymous() {
    let app = TestApp::spawn().await;
    let path = probe_path();

    assert_unauthenticated(
        get_with_key(&app, &path, "hunter2").await,
        "not a valid key",
    )
    .await;

    // Well-formed, but no stored key has it.
    let mut conn = app.db.connection().await;
    let unknown = wump_api::auth::key::generate().unwrap();
    assert_unauthenticated(
        get_with_key(&app, &path, unknown.key.expose_secret()).await,
        "unknown",
    )
    .await;

    // A stored key's prefix with another secret is unknown too (hash compared).
    let stored = create_key(&app, Tier::Free, None).await;
    let forged = format!("{}{}", &stored[..14], &unknown.key.expose_secret()[14..]);
    assert_unauthenticated(get_with_key(&app, &path, &forged).await, "unknown").await;

    let expired = create_key(&app, Tier::Free, None).await;
    let changed = diesel::sql_query(
        "UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE prefix = $1",
    )
    .bind::<diesel::sql_types::Text, _>(&expired[5..13])
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(changed, 1);
    assert_unauthenticated(get_with_key(&app, &path, &expired).await, "expired").await;

    let revoked = create_key(&app, Tier::Free, None).await;
    manage::revoke(&mut conn, &revoked[5..13]).await.unwrap();
    assert_unauthenticated(get_with_key(&app, &path, &revoked).await, "revoked").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_reaches_an_instance_that_cached_the_key_within_the_ttl() {
    let app = TestApp::spawn_with(|s| s.api.auth.key_cache_ttl_secs = 1).await;
    let key = create_key(&app, Tier::Free, None).await;
    let path = probe_path();
    assert_eq!(get_with_key(&app, &path, &key).await.status().as_u16(), 404);

    // Revoked elsewhere (the CLI, another instance): this one learns it from its cache TTL.
    let mut conn = app.db.connection().await;
    manage::revoke(&mut conn, &key[5..13]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = get_with_key(&app, &path, &key).await.status().as_u16();
        if status == 401 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} long after the TTL"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bootstrap_admin_key_is_the_admin_tier() {
    let admin_key = "bootstrap-admin-key-0123456789abcdef";
    let app = TestApp::spawn_with(|s| s.api.admin_key = Some(SecretString::from(admin_key))).await;
    let response = get_with_key(&app, "/api/v1/admin/keys", admin_key).await;
    assert_eq!(response.status().as_u16(), 200);
    // Admin is unlimited: no rate-limit headers.
    assert!(!response.headers().contains_key("ratelimit-limit"));
    // A near miss is not the admin key, and not anonymous either.
    let response = get_with_key(&app, "/api/v1/admin/keys", &admin_key.replace('0', "1")).await;
    assert_eq!(response.status().as_u16(), 401);
}

async fn status_from(app: &TestApp, forwarded_for: &str) -> u16 {
    app.client
        .get(app.url(&probe_path()))
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn x_forwarded_for_counts_only_behind_a_trusted_proxy() {
    // The peer (127.0.0.1) is not trusted: every request is the peer's, whatever it claims.
    let app = TestApp::spawn_with(small_limits).await;
    assert_eq!(status_from(&app, "198.51.100.1").await, 404);
    assert_eq!(status_from(&app, "198.51.100.2").await, 404);
    assert_eq!(status_from(&app, "198.51.100.3").await, 429);

    // Trusted: each forwarded client has its own limit; a forged left-most entry is ignored.
    let app = TestApp::spawn_with(|s| {
        small_limits(s);
        s.api.auth.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    assert_eq!(status_from(&app, "198.51.100.1").await, 404);
    assert_eq!(status_from(&app, "6.6.6.6, 198.51.100.1").await, 404);
    assert_eq!(status_from(&app, "7.7.7.7, 198.51.100.1").await, 429);
    assert_eq!(status_from(&app, "198.51.100.2").await, 404);
}

async fn last_used_at(app: &TestApp, key: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let mut conn = app.db.connection().await;
    wump_db::tables::api_keys::find_by_prefix(&mut conn, &key[5..13])
        .await
        .unwrap()
        .unwrap()
        .last_used_at
}

#[tokio::test(flavor = "multi_thread")]
async fn last_used_at_is_not_written_per_request() {
    let app = TestApp::spawn_with(|s| s.api.auth.last_used_flush_secs = 3_600).await;
    let key = create_key(&app, Tier::Free, None).await;
    for _ in 0..3 {
        assert_eq!(
            get_with_key(&app, &probe_path(), &key)
                .await
                .status()
                .as_u16(),
            404
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(last_used_at(&app, &key).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn last_used_at_is_written_by_the_next_flush() {
    let app = TestApp::spawn_with(|s| s.api.auth.last_used_flush_secs = 1).await;
    let key = create_key(&app, Tier::Free, None).await;
    let before = chrono::Utc::now();
    assert_eq!(
        get_with_key(&app, &probe_path(), &key)
            .await
            .status()
            .as_u16(),
        404
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let written = loop {
        if let Some(at) = last_used_at(&app, &key).await {
            break at;
        }
        assert!(Instant::now() < deadline, "last_used_at never written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(written >= before - chrono::Duration::seconds(1));
}
