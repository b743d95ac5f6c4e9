//! API keys through a PostgreSQL outage longer than every cache TTL in the API: keys
//! PostgreSQL confirmed keep working on their last known validity for the grace, with
//! their tier; revocations written to Valkey and expiry still refuse them at once; keys
//! nobody knows get 503 (unverifiable, not invalid).

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use chrono::Utc;
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use secrecy::{ExposeSecret, SecretString};
use wump_api::auth::{
    Tier, key,
    manage::{self, KeySpec},
};
use wump_core::{Settings, settings::TierLimit};
use wump_db::{
    test_proxy::{Mode, Proxy},
    test_support::{TestDatabase, TestValkey},
};

use crate::{
    outages::{address_of, via, x_cache},
    start_with, test_routes, test_settings,
};

const ADMIN_KEY: &str = "admin-key-for-the-key-outage-tests-0123456789";
/// Every TTL these tests give the API (key cache, search cache, breaker) is 1 s: an
/// outage this long outlasts them all.
const PAST_EVERY_TTL: Duration = Duration::from_millis(2_500);

/// Settings with 1 s TTLs, a fast-opening breaker, `grace_secs` of outage grace, the
/// admin key, and one recognisable burst per tier (the `RateLimit-Limit` header).
fn key_outage_settings(
    db: &TestDatabase,
    valkey: &TestValkey,
    database: Option<SocketAddr>,
    grace_secs: u64,
) -> Settings {
    let mut settings = test_settings(db, valkey);
    if let Some(address) = database {
        settings.database.url = via(db.settings().url.expose_secret(), address);
    }
    settings.database.pool_wait_timeout_ms = 1_000;
    settings.database.connect_timeout_ms = 1_000;
    settings.api.cache.search_ttl_secs = 1;
    settings.api.breaker.failure_threshold = 2;
    settings.api.breaker.open_ms = 1_000;
    settings.api.auth.key_cache_ttl_secs = 1;
    settings.api.auth.outage_grace_secs = grace_secs;
    settings.api.admin_key = Some(SecretString::from(ADMIN_KEY));
    let limits = &mut settings.api.rate_limits;
    let burst = |burst| TierLimit {
        per_minute: 60_000,
        burst,
    };
    limits.anonymous = burst(2_000);
    limits.free = burst(3_000);
    limits.standard = burst(4_000);
    limits.premium = burst(5_000);
    settings
}

async fn store_key(db: &TestDatabase, tier: Tier, rate_limit: Option<u32>) -> String {
    let mut conn = db.connection().await;
    let spec = KeySpec {
        name: format!("{tier} key"),
        tier,
        expires_in_days: None,
        rate_limit,
    };
    let created = manage::create(&mut conn, &spec).await.unwrap();
    created.key.expose_secret().to_owned()
}

fn prefix_of(key: &str) -> &str {
    &key[5..13]
}

async fn get(address: SocketAddr, path: &str, key: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("http://{address}{path}"));
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    request.send().await.unwrap()
}

/// Revokes `key` through `admin`'s admin API.
async fn revoke_via_admin_api(admin: SocketAddr, key: &str) {
    let response = reqwest::Client::new()
        .delete(format!(
            "http://{admin}/api/v1/admin/keys/{}",
            prefix_of(key)
        ))
        .header("x-api-key", ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        200,
        "{:?}",
        response.text().await
    );
}

fn rate_limit(response: &reqwest::Response) -> u32 {
    response.headers()["ratelimit-limit"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Status and problem `detail` of a response.
async fn problem(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (status, body["detail"].as_str().unwrap_or("").to_owned())
}

/// A 503 for a key that cannot be checked: `Retry-After`, and the detail says why.
async fn assert_unverifiable(response: reqwest::Response) {
    assert!(response.headers().contains_key("retry-after"));
    let (status, detail) = problem(response).await;
    assert_eq!(status, 503, "{detail}");
    assert!(detail.contains("checking the API key"), "{detail}");
}

async fn assert_refused(response: reqwest::Response, why: &str) {
    let (status, detail) = problem(response).await;
    assert_eq!(status, 401, "{detail}");
    assert!(detail.contains(why), "{detail} should say {why:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_confirmed_before_a_database_outage_keep_their_tier_revocations_and_expiry_still_refuse()
 {
    let db = TestDatabase::new().await;
    let valkey = TestValkey::new().await;
    let proxy = Proxy::start(address_of(db.settings().url.expose_secret()))
        .await
        .unwrap();
    let direct = start_with(
        key_outage_settings(&db, &valkey, None, 60),
        &valkey,
        test_routes::configure,
    );
    let cut_off = key_outage_settings(&db, &valkey, Some(proxy.address()), 60);
    let bound = cut_off.database.pool_wait_timeout() + Duration::from_secs(2);
    let api = start_with(cut_off.clone(), &valkey, test_routes::configure);
    crate::connected_to_valkey(direct).await;
    crate::connected_to_valkey(api).await;

    let standard = store_key(&db, Tier::Standard, None).await;
    let limited = store_key(&db, Tier::Free, Some(30_000)).await;
    let revoked_before = store_key(&db, Tier::Standard, None).await;
    let revoked_during = store_key(&db, Tier::Standard, None).await;
    let later_revoked_in_db = store_key(&db, Tier::Premium, None).await;
    let expiring = store_key(&db, Tier::Standard, None).await;
    let expires_at = Utc::now() + chrono::Duration::seconds(6);
    {
        use wump_db::schema::api_keys::dsl;
        let mut conn = db.connection().await;
        diesel::update(dsl::api_keys.filter(dsl::prefix.eq(prefix_of(&expiring))))
            .set(dsl::expires_at.eq(Some(expires_at)))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let unknown = key::generate().unwrap().key.expose_secret().to_owned();

    // PostgreSQL confirms every key to the instance that will lose it.
    let warm = get(api, "/api/v1/test/cached/warm", None).await;
    assert_eq!((warm.status().as_u16(), x_cache(&warm)), (200, "MISS"));
    assert_eq!(rate_limit(&warm), 2_000);
    let mut limits_before = Vec::new();
    for key in [
        &standard,
        &limited,
        &revoked_before,
        &revoked_during,
        &later_revoked_in_db,
        &expiring,
    ] {
        let response = get(api, "/api/v1/test/cached/warm", Some(key)).await;
        assert_eq!(response.status().as_u16(), 200);
        limits_before.push(rate_limit(&response));
    }
    assert_eq!(
        limits_before[..2],
        [4_000, 1_500],
        "standard, and free at half rate"
    );
    assert_eq!(
        get(api, "/api/v1/test/hello", Some(&unknown))
            .await
            .status()
            .as_u16(),
        401
    );
    revoke_via_admin_api(direct, &revoked_before).await;
    // Past the search TTL: the page will be served STALE.
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    proxy.set(Mode::Cut);
    tokio::time::sleep(PAST_EVERY_TTL).await;

    // A cached page: the same answer with a key as without.
    let anonymous = get(api, "/api/v1/test/cached/warm", None).await;
    assert_eq!(
        (anonymous.status().as_u16(), x_cache(&anonymous)),
        (200, "STALE")
    );
    for (key, limit) in [(&standard, 4_000), (&limited, 1_500)] {
        let keyed = get(api, "/api/v1/test/cached/warm", Some(key)).await;
        assert_eq!((keyed.status().as_u16(), x_cache(&keyed)), (200, "STALE"));
        assert_eq!(
            rate_limit(&keyed),
            limit,
            "the key keeps its tier and limit"
        );
    }
    // An uncached page: the same fast 503 with a key as without.
    let started = Instant::now();
    let anonymous = problem(get(api, "/api/v1/test/cached/cold", None).await).await;
    let keyed = problem(get(api, "/api/v1/test/cached/cold", Some(&standard)).await).await;
    assert!(
        started.elapsed() < bound * 2,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(anonymous.0, 503);
    assert_eq!(keyed, anonymous);

    // A key nobody ever confirmed cannot be checked: 503, not "invalid".
    assert_unverifiable(get(api, "/api/v1/test/hello", Some(&unknown)).await).await;
    // Revoked before the outage, after this instance had confirmed it.
    assert_refused(
        get(api, "/api/v1/test/hello", Some(&revoked_before)).await,
        "revoked",
    )
    .await;
    // Revoked during the outage on an instance that reaches PostgreSQL: refused here on
    // the very next request.
    let before = get(api, "/api/v1/test/hello", Some(&revoked_during)).await;
    assert_eq!(before.status().as_u16(), 200);
    revoke_via_admin_api(direct, &revoked_during).await;
    assert_refused(
        get(api, "/api/v1/test/hello", Some(&revoked_during)).await,
        "revoked",
    )
    .await;

    // A second instance started during the outage never saw a key: Valkey tells it.
    let fresh = start_with(cut_off, &valkey, test_routes::configure);
    crate::connected_to_valkey(fresh).await;
    let keyed = get(fresh, "/api/v1/test/cached/warm", Some(&standard)).await;
    assert_eq!((keyed.status().as_u16(), x_cache(&keyed)), (200, "STALE"));
    assert_eq!(rate_limit(&keyed), 4_000);
    assert_refused(
        get(fresh, "/api/v1/test/hello", Some(&revoked_during)).await,
        "revoked",
    )
    .await;
    assert_unverifiable(get(fresh, "/api/v1/test/hello", Some(&unknown)).await).await;

    // Expiry is checked on every request: accepted until it, refused after.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let response = get(api, "/api/v1/test/hello", Some(&expiring)).await;
        if response.status().as_u16() == 200 {
            assert!(Utc::now() < expires_at + chrono::Duration::seconds(1));
            assert!(Instant::now() < deadline, "never expired");
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        assert!(Utc::now() >= expires_at, "refused before it expired");
        assert_refused(response, "expired").await;
        break;
    }

    let metrics = get(api, "/metrics", None).await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("wump_api_auth_grace_accepts_total{") && l.contains("standard")),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("wump_api_auth_grace_refusals_total{") && l.contains("unknown")),
    );

    proxy.set(Mode::Pass);

    // PostgreSQL back: normal checks again, without a restart.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let response = get(api, "/api/v1/test/cached/cold", Some(&standard)).await;
        if response.status().as_u16() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the database never came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_refused(
        get(api, "/api/v1/test/hello", Some(&unknown)).await,
        "unknown",
    )
    .await;
    // Revoked in the database directly (no Valkey): refused once the key cache expires.
    manage::revoke(&mut db.connection().await, prefix_of(&later_revoked_in_db))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = get(api, "/api/v1/test/hello", Some(&later_revoked_in_db)).await;
        if response.status().as_u16() == 401 {
            assert_refused(response, "revoked").await;
            break;
        }
        assert_eq!(response.status().as_u16(), 200);
        assert!(Instant::now() < deadline, "the revocation never arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn once_the_grace_has_run_out_keys_that_cannot_be_checked_get_503() {
    const GRACE: Duration = Duration::from_secs(3);
    let db = TestDatabase::new().await;
    let valkey = TestValkey::new().await;
    let proxy = Proxy::start(address_of(db.settings().url.expose_secret()))
        .await
        .unwrap();
    let api = start_with(
        key_outage_settings(&db, &valkey, Some(proxy.address()), GRACE.as_secs()),
        &valkey,
        test_routes::configure,
    );
    let no_grace = start_with(
        key_outage_settings(&db, &valkey, Some(proxy.address()), 0),
        &valkey,
        test_routes::configure,
    );
    let key = store_key(&db, Tier::Standard, None).await;

    let confirming = Instant::now();
    for instance in [api, no_grace] {
        let response = get(instance, "/api/v1/test/hello", Some(&key)).await;
        assert_eq!(response.status().as_u16(), 200);
    }
    proxy.set(Mode::Cut);

    // Without a grace, a key the key cache has forgotten cannot be checked.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = get(no_grace, "/api/v1/test/hello", Some(&key)).await;
        if response.status().as_u16() == 503 {
            assert_unverifiable(response).await;
            break;
        }
        assert_eq!(response.status().as_u16(), 200);
        assert!(Instant::now() < deadline, "still accepted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // With one, it is accepted until the grace after its last confirmation, then not.
    let deadline = Instant::now() + GRACE + Duration::from_secs(10);
    loop {
        let response = get(api, "/api/v1/test/hello", Some(&key)).await;
        if response.status().as_u16() == 200 {
            assert!(Instant::now() < deadline, "still accepted");
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        assert!(
            confirming.elapsed() >= GRACE,
            "refused {:?} after the confirmation",
            confirming.elapsed()
        );
        assert_unverifiable(response).await;
        break;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_valkey_down_too_an_instance_still_accepts_the_keys_it_has_confirmed() {
    let db = TestDatabase::new().await;
    let valkey = TestValkey::new().await;
    let database = Proxy::start(address_of(db.settings().url.expose_secret()))
        .await
        .unwrap();
    let valkey_url = valkey.settings().url.expose_secret().to_owned();
    let cache = Proxy::start(address_of(&valkey_url)).await.unwrap();
    let mut settings = key_outage_settings(&db, &valkey, Some(database.address()), 60);
    settings.valkey.url = via(&valkey_url, cache.address());
    settings.valkey.command_timeout_ms = 500;
    settings.api.rate_limits.valkey_timeout_ms = 500;
    let api = start_with(settings, &valkey, test_routes::configure);
    let key = store_key(&db, Tier::Standard, None).await;
    let unknown = key::generate().unwrap().key.expose_secret().to_owned();

    assert_eq!(
        get(api, "/api/v1/test/hello", Some(&key))
            .await
            .status()
            .as_u16(),
        200
    );
    cache.set(Mode::Cut);
    database.set(Mode::Cut);
    tokio::time::sleep(PAST_EVERY_TTL).await;

    let response = get(api, "/api/v1/test/hello", Some(&key)).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(rate_limit(&response), 4_000);
    assert_unverifiable(get(api, "/api/v1/test/hello", Some(&unknown)).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wump_api_keys_revoke_reaches_an_instance_cut_off_from_the_database_at_once() {
    let app = crate::TestApp::spawn().await;
    let proxy = Proxy::start(address_of(app.db.settings().url.expose_secret()))
        .await
        .unwrap();
    // The CLI writes revocations where production instances read them: no key prefix.
    let settings = key_outage_settings(&app.db, &app.valkey, Some(proxy.address()), 60);
    let pool = wump_db::connect(&settings.database).unwrap();
    let valkey = wump_db::connect_valkey(&settings.valkey).unwrap();
    let state = wump_api::AppState::new(settings, pool, valkey);
    let (server, api) = wump_api::server::build_with(state, test_routes::configure).unwrap();
    tokio::spawn(server);
    crate::connected_to_valkey(api).await;
    let key = store_key(&app.db, Tier::Standard, None).await;
    let other = store_key(&app.db, Tier::Standard, None).await;
    for key in [&key, &other] {
        let response = get(api, "/api/v1/test/hello", Some(key)).await;
        assert_eq!(response.status().as_u16(), 200);
    }
    proxy.set(Mode::Cut);
    tokio::time::sleep(PAST_EVERY_TTL).await;
    let accepted = get(api, "/api/v1/test/hello", Some(&key)).await;
    assert_eq!(accepted.status().as_u16(), 200);

    let output = crate::keys::keys_with_valkey(
        &app,
        app.valkey.settings().url.expose_secret(),
        &["revoke", prefix_of(&key)],
    );
    assert!(output.status.success(), "{output:?}");

    assert_refused(get(api, "/api/v1/test/hello", Some(&key)).await, "revoked").await;
    let untouched = get(api, "/api/v1/test/hello", Some(&other)).await;
    assert_eq!(untouched.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_confirmation_of_validity_never_overwrites_a_revocation_in_valkey() {
    use fred::interfaces::ClientLike;
    use wump_api::auth::{KnownKey, LastKnown};

    let valkey = TestValkey::new().await;
    let pool = wump_db::connect_valkey(valkey.settings()).unwrap();
    pool.wait_for_connect().await.unwrap();
    let settings = wump_core::settings::AuthSettings {
        outage_grace_secs: 60,
        ..Default::default()
    };
    let instance = || LastKnown::new(&settings, pool.clone(), valkey.prefix().to_owned());
    let (revoking, late) = (instance(), instance());
    let hash = key::generate().unwrap().hash;
    let now = Utc::now();
    let valid = KnownKey {
        id: uuid::Uuid::now_v7(),
        prefix: "abcdefgh".into(),
        tier: Tier::Standard,
        rate_limit: None,
        expires_at: None,
        revoked_at: None,
        confirmed_at: now,
    };
    assert!(
        revoking
            .remember(
                hash,
                &KnownKey {
                    revoked_at: Some(now),
                    ..valid.clone()
                },
            )
            .await
    );
    // An instance that read the key from PostgreSQL just before the revocation stores
    // what it read just after it.
    assert!(
        late.remember(
            hash,
            &KnownKey {
                confirmed_at: now + chrono::Duration::milliseconds(1),
                ..valid.clone()
            },
        )
        .await
    );

    for reader in [instance(), late] {
        let known = reader.recall(&hash).await.expect("known");
        assert!(known.is_revoked_at(Utc::now()), "{known:?}");
        assert_eq!(known.tier, Tier::Standard);
    }
}
