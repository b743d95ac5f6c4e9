//! The Valkey fleet limits in isolation: two stores on two connection pools are two worker
//! processes sharing one real Valkey (under this test's own key prefix).

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use fred::prelude::ClientLike;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};
use wump_core::settings::ValkeySettings;
use wump_db::{ValkeyPool, connect_valkey, test_support::TestValkey};
use wump_providers::{
    BitbucketProvider, DataProvider, FleetLimits, FleetPolicy, Forge, ForgeSettings,
    GitLabProvider, HttpCache, MemoryHttpCache, ProviderError,
    config::HttpSettings,
    fleet::{Outcome, ReserveRequest, Reserved, Slot, WaitKind, fingerprint},
};
use wump_worker::fleet_limits::ValkeyFleetStore;

use wump_db::test_proxy::{Mode, Proxy};

async fn pool(settings: &ValkeySettings) -> ValkeyPool {
    let pool = connect_valkey(settings).unwrap();
    pool.wait_for_connect().await.unwrap();
    pool
}

/// One "process": its own pool, the test's prefix.
async fn process(valkey: &TestValkey) -> FleetLimits {
    let store = ValkeyFleetStore::new(pool(valkey.settings()).await, valkey.prefix());
    FleetLimits::new(Arc::new(store), FleetPolicy::default())
}

fn request<'a>(tokens: &'a [String], lease_ttl: Duration) -> ReserveRequest<'a> {
    ReserveRequest {
        provider: "github",
        tokens,
        resource: "core",
        default_limit: 5_000,
        window: Duration::from_secs(3_600),
        points_api: "rest",
        points_per_minute: 900,
        max_in_flight: 1,
        lease_ttl,
    }
}

fn tokens(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| fingerprint(n)).collect()
}

async fn granted(fleet: &FleetLimits, request: &ReserveRequest<'_>) -> (usize, String) {
    match fleet.reserve(request).await {
        Some(Reserved::Granted { token, lease }) => (token, lease),
        other => panic!("expected a grant, got {other:?}"),
    }
}

async fn waits(fleet: &FleetLimits, request: &ReserveRequest<'_>) -> (Duration, Option<WaitKind>) {
    match fleet.reserve(request).await {
        Some(Reserved::Wait { wait, kind, .. }) => (wait, kind),
        other => panic!("expected a wait, got {other:?}"),
    }
}

#[tokio::test]
async fn a_secondary_wait_told_to_one_process_holds_for_another() {
    let valkey = TestValkey::new().await;
    let (a, b) = (process(&valkey).await, process(&valkey).await);
    let tokens = tokens(&["ghp_one"]);
    let ask = request(&tokens, Duration::from_secs(30));

    let (token, lease) = granted(&a, &ask).await;
    let wait = a
        .finish(
            "github",
            &tokens[token],
            &lease,
            &Outcome::Secondary {
                retry_after: Some(Duration::from_secs(2)),
            },
        )
        .await;
    assert_eq!(wait, Some(Some(Duration::from_secs(2))));

    let (wait, kind) = waits(&b, &ask).await;
    assert_eq!(kind, Some(WaitKind::Secondary));
    assert!(
        (Duration::from_millis(1_500)..=Duration::from_secs(2)).contains(&wait),
        "{wait:?}"
    );
    // Without a retry-after, at least a minute, doubling while it repeats.
    let wait = b
        .finish(
            "github",
            &tokens[0],
            "a lease already given back",
            &Outcome::Secondary { retry_after: None },
        )
        .await;
    assert_eq!(wait, Some(Some(Duration::from_secs(120))), "second strike");
}

#[tokio::test]
async fn the_in_flight_bound_holds_across_processes_and_a_finish_frees_it() {
    let valkey = TestValkey::new().await;
    let (a, b) = (process(&valkey).await, process(&valkey).await);
    let tokens = tokens(&["ghp_one"]);
    let ask = request(&tokens, Duration::from_secs(30));

    let (_, lease) = granted(&a, &ask).await;
    let (wait, kind) = waits(&b, &ask).await;
    assert_eq!(
        kind, None,
        "held back by the request in flight, not by a wait"
    );
    assert!(wait <= Duration::from_millis(20), "{wait:?}: a short pause");
    a.finish("github", &tokens[0], &lease, &Outcome::Nothing)
        .await
        .unwrap();
    granted(&b, &ask).await;
}

#[tokio::test]
async fn a_dead_processs_lease_expires_and_its_slot_comes_back() {
    let valkey = TestValkey::new().await;
    let (a, b) = (process(&valkey).await, process(&valkey).await);
    let tokens = tokens(&["ghp_one"]);
    let ask = request(&tokens, Duration::from_millis(300));

    // `a` takes the slot and never gives it back (as if SIGKILLed).
    granted(&a, &ask).await;
    let started = std::time::Instant::now();
    loop {
        match b.reserve(&ask).await {
            Some(Reserved::Granted { .. }) => break,
            Some(Reserved::Wait { wait, .. }) => tokio::time::sleep(wait).await,
            None => panic!("store unavailable"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never reclaimed"
        );
    }
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "reclaimed before the lease expired: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_token_with_the_most_quota_fleet_wide_is_chosen_and_a_spent_one_waits() {
    let valkey = TestValkey::new().await;
    let (a, b) = (process(&valkey).await, process(&valkey).await);
    let tokens = tokens(&["ghp_one", "ghp_two"]);
    let mut ask = request(&tokens, Duration::from_secs(30));
    ask.max_in_flight = 10;

    let observed = |remaining| Outcome::Observed {
        resource: "core".into(),
        limit: 5_000,
        remaining,
        reset_in: Some(Duration::from_secs(600)),
        free: false,
    };
    // `a` learns that token two has 4,000 left and token one 100.
    let (first, lease) = granted(&a, &ask).await;
    a.finish("github", &tokens[first], &lease, &observed(4_000))
        .await
        .unwrap();
    let (second, lease) = granted(&a, &ask).await;
    assert_ne!(
        first, second,
        "the untouched token has the documented 5,000"
    );
    a.finish("github", &tokens[second], &lease, &observed(100))
        .await
        .unwrap();
    // `b` never saw a response and still picks the better one.
    let (chosen, lease) = granted(&b, &ask).await;
    assert_eq!(chosen, first, "4,000 left beats 100 left");

    // A spent bucket is skipped while another has quota, and waited for when none has.
    b.finish(
        "github",
        &tokens[chosen],
        &lease,
        &Outcome::Exhausted {
            resource: "core".into(),
            limit: Some(5_000),
            reset_in: Some(Duration::from_secs(3)),
        },
    )
    .await
    .unwrap();
    let (other, lease) = granted(&a, &ask).await;
    assert_eq!(other, second);
    a.finish(
        "github",
        &tokens[other],
        &lease,
        &Outcome::Exhausted {
            resource: "core".into(),
            limit: Some(5_000),
            reset_in: Some(Duration::from_secs(5)),
        },
    )
    .await
    .unwrap();
    let (wait, kind) = waits(&b, &ask).await;
    assert_eq!(kind, Some(WaitKind::Primary));
    assert!(
        (Duration::from_millis(2_500)..=Duration::from_secs(3)).contains(&wait),
        "the first reset: {wait:?}"
    );
}

#[tokio::test]
async fn a_registrys_spacing_and_retry_after_hold_for_every_process() {
    let valkey = TestValkey::new().await;
    let (a, b) = (process(&valkey).await, process(&valkey).await);
    let interval = Duration::from_secs(1);
    assert_eq!(
        a.slot("crates.io", interval).await,
        Some(Slot::After(Duration::ZERO))
    );
    match b.slot("crates.io", interval).await {
        Some(Slot::After(delay)) => assert!(
            (Duration::from_millis(900)..=interval).contains(&delay),
            "{delay:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        a.slot("npm", interval).await,
        Some(Slot::After(Duration::ZERO)),
        "per provider"
    );

    a.block("pypi", Duration::from_secs(30)).await;
    match b.slot("pypi", interval).await {
        Some(Slot::Blocked(wait)) => assert!(wait > Duration::from_secs(29), "{wait:?}"),
        other => panic!("{other:?}"),
    }
}

/// Lines written by the tracing subscriber of the current thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn count(&self, needle: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .matches(needle)
            .count()
    }
}

#[tokio::test]
async fn valkey_unreachable_means_the_fallback_logged_once_each_way() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let valkey = TestValkey::new().await;
    let upstream = valkey
        .settings()
        .url
        .expose_secret()
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let proxy = Proxy::start(upstream).await.unwrap();
    let mut settings = valkey.settings().clone();
    settings.url = format!("redis://{}", proxy.address()).into();
    settings.command_timeout_ms = 200;
    let store = ValkeyFleetStore::new(pool(&settings).await, valkey.prefix());
    let fleet = FleetLimits::new(
        Arc::new(store),
        FleetPolicy {
            retry_after_failure: Duration::from_millis(100),
            ..FleetPolicy::default()
        },
    );
    let tokens = tokens(&["ghp_one"]);
    let ask = request(&tokens, Duration::from_secs(30));
    let (_, lease) = granted(&fleet, &ask).await;
    fleet
        .finish("github", &tokens[0], &lease, &Outcome::Nothing)
        .await
        .unwrap();
    assert!(!fleet.on_fallback());

    proxy.set(Mode::Cut);
    for _ in 0..5 {
        assert_eq!(
            fleet.reserve(&ask).await,
            None,
            "the local fallback decides"
        );
        assert_eq!(fleet.slot("crates.io", Duration::from_secs(1)).await, None);
    }
    assert!(fleet.on_fallback());
    let down = "fleet limits unavailable";
    assert!(
        !captured.0.lock().unwrap().is_empty(),
        "the log is captured"
    );
    assert_eq!(captured.count(down), 1, "said once, not per request");

    proxy.set(Mode::Pass);
    let started = std::time::Instant::now();
    while fleet.reserve(&ask).await.is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never recovered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!fleet.on_fallback());
    for _ in 0..3 {
        fleet.slot("crates.io", Duration::ZERO).await.unwrap();
    }
    assert_eq!(captured.count("fleet limits reachable again"), 1);
    assert_eq!(captured.count(down), 1);
}

use secrecy::ExposeSecret as _;

/// A forge provider in one "process" of the fleet, built by `new` for the stand-in API at
/// `api_url`: anonymous, unspaced, and without retries, so one 429 is one request.
fn forge_in<P: Forge>(
    new: impl FnOnce(&ForgeSettings, &HttpSettings, Arc<dyn HttpCache>) -> Result<P, ProviderError>,
    api_url: String,
    host: Option<&str>,
    fleet: FleetLimits,
) -> P {
    new(
        &ForgeSettings {
            api_url,
            tokens: Vec::new(),
            host: host.map(str::to_owned),
            min_interval_ms: 0,
        },
        &HttpSettings {
            retries: 0,
            ..Default::default()
        },
        Arc::new(MemoryHttpCache::default()),
    )
    .unwrap()
    .with_fleet(fleet)
}

/// Answers GET `route` with `response` once; a second request fails the test on drop.
async fn mount_once(server: &MockServer, route: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

/// `a`'s health check is told of a 429 holding for `told`; then `b`, another process,
/// sends nothing (the stand-in's `expect(1)`) and is told how long is left (more than
/// `left`).
async fn assert_one_429_holds_both(
    a: &impl DataProvider,
    b: &impl DataProvider,
    told: Duration,
    left: Duration,
) {
    let error = a.health().await.unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { retry_after, .. } if retry_after == told),
        "{error:?}"
    );
    match b.health().await.unwrap_err() {
        ProviderError::RateLimited { retry_after, .. } => {
            assert!(retry_after > left, "{retry_after:?}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_forges_429_told_to_one_process_holds_every_process() {
    let valkey = TestValkey::new().await;
    let server = MockServer::start().await;
    mount_once(
        &server,
        "/api/v4/projects",
        ResponseTemplate::new(429)
            .insert_header("ratelimit-limit", "500")
            .insert_header("ratelimit-remaining", "0")
            .insert_header("retry-after", "90")
            .set_body_string("Retry later\n"),
    )
    .await;
    let api = format!("{}/api/v4", server.uri());
    let gitlab_in = |fleet| forge_in(GitLabProvider::new, api.clone(), Some("gitlab.com"), fleet);
    let a = gitlab_in(process(&valkey).await);
    let b = gitlab_in(process(&valkey).await);
    assert_one_429_holds_both(&a, &b, Duration::from_secs(90), Duration::from_secs(85)).await;
}

#[tokio::test]
async fn bitbuckets_429_without_retry_after_holds_every_process_for_its_default() {
    let valkey = TestValkey::new().await;
    let server = MockServer::start().await;
    // Bitbucket's limits are hourly and its 429 names no reset.
    mount_once(
        &server,
        "/2.0/repositories",
        ResponseTemplate::new(429).set_body_json(serde_json::json!({
            "type": "error",
            "error": {"message": "Rate limit for this resource has been exceeded"}
        })),
    )
    .await;
    let api = format!("{}/2.0", server.uri());
    let bitbucket_in = |fleet| forge_in(BitbucketProvider::new, api.clone(), None, fleet);
    let a = bitbucket_in(process(&valkey).await);
    let b = bitbucket_in(process(&valkey).await);
    assert!(b.serves_host("bitbucket.org"), "unset host: bitbucket.org");
    assert_one_429_holds_both(&a, &b, Duration::from_secs(300), Duration::from_secs(290)).await;
}
