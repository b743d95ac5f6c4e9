//! The API server in-process against real PostgreSQL and Valkey: one test binary.

mod admin;
mod admin_pages;
mod auth;
mod badges;
mod browser;
mod cache;
mod exports;
mod headers;
mod health;
mod history;
mod key_outages;
mod keys;
mod metrics;
mod openapi;
mod organizations;
mod outages;
mod packages;
mod pages;
mod pagination;
mod rate_limits;
mod read_cache;
mod refresh;
mod repositories;
mod search;
mod seed;
mod test_routes;
mod webhooks;

use std::{net::SocketAddr, sync::OnceLock};

use fred::interfaces::KeysInterface;
use wump_api::{AppState, cache::Scope};
use wump_core::Settings;
use wump_db::{
    Keys,
    test_support::{TestDatabase, TestValkey},
};

/// A running API over its own database and Valkey key prefix.
#[derive(Debug)]
pub struct TestApp {
    pub address: SocketAddr,
    /// The running instance's state (its cache, as the handlers see it).
    pub state: AppState,
    pub db: TestDatabase,
    pub valkey: TestValkey,
    pub client: reqwest::Client,
}

impl TestApp {
    /// Starts the API on a free port with default settings.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the API after `configure` has adjusted the settings.
    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
        let db = TestDatabase::new().await;
        let valkey = TestValkey::new().await;
        let mut settings = test_settings(&db, &valkey);
        configure(&mut settings);
        let state = state(settings, &valkey);
        let address = serve(state.clone(), |_| {});
        Self {
            address,
            state,
            db,
            valkey,
            client: reqwest::Client::new(),
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }
}

/// Waits until the instance at `address` has connected to Valkey (`/health/valkey` answers
/// through a connection): from then on it shares counts and last known key validity;
/// before, it decides alone, as it would with Valkey away.
pub async fn connected_to_valkey(address: SocketAddr) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = reqwest::get(format!("http://{address}/health/valkey"))
            .await
            .map(|r| r.status().as_u16());
        if matches!(status, Ok(200)) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{address} never connected to valkey"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Settings pointing at the test database and Valkey, on a free port, one worker thread.
pub fn test_settings(db: &TestDatabase, valkey: &TestValkey) -> Settings {
    let mut settings = Settings::default();
    settings.api.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    settings.api.workers = 1;
    settings.database = db.settings().clone();
    settings.valkey = valkey.settings().clone();
    // Tests that walk many pages are not about rate limits: the limiter still runs, with
    // room for them (rate-limit tests set their own small limits).
    let roomy = wump_core::settings::TierLimit {
        per_minute: 60_000,
        burst: 10_000,
    };
    let limits = &mut settings.api.rate_limits;
    (
        limits.anonymous,
        limits.free,
        limits.standard,
        limits.premium,
    ) = (roomy, roomy, roomy, roomy);
    // A loaded test machine must not push the limiter onto its per-instance fallback: the
    // tests that want the fallback make Valkey unreachable.
    limits.valkey_timeout_ms = 5_000;
    settings
}

/// Starts the API with `settings`, its Valkey keys under `valkey`'s prefix.
pub fn start(settings: Settings, valkey: &TestValkey) -> SocketAddr {
    start_with(settings, valkey, |_| {})
}

/// [`start`] with test-only routes added by `extra`.
pub fn start_with(
    settings: Settings,
    valkey: &TestValkey,
    extra: fn(&mut actix_web::web::ServiceConfig),
) -> SocketAddr {
    serve(state(settings, valkey), extra)
}

/// Serves `state` on a free port.
fn serve(state: AppState, extra: fn(&mut actix_web::web::ServiceConfig)) -> SocketAddr {
    let (server, address) = wump_api::server::build_with(state, extra).unwrap();
    tokio::spawn(server);
    address
}

/// Bumps `scope`'s cache version in Valkey as wump-worker does, and waits (at most 5 s)
/// until the instance of `state` reads under the new version: an instance that remembers
/// versions hears of a bump through an invalidation message, milliseconds after the `INCR`.
pub async fn bump(state: &AppState, valkey: &TestValkey, scope: &Scope) {
    let key = valkey.key(&match scope {
        Scope::Package {
            ecosystem,
            normalized_name,
        } => Keys::default().package_version(*ecosystem, normalized_name),
        Scope::Organization { host, login } => Keys::default().organization_version(host, login),
        Scope::Global => panic!("the global scope has no version"),
    });
    let bumped: u64 = valkey.pool().incr(&key).await.unwrap();
    wait_for_version(state, scope, bumped).await;
}

/// Waits (at most 5 s) until the instance of `state` reads `scope` under `version`.
pub async fn wait_for_version(state: &AppState, scope: &Scope, version: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while state.cache.current_version(scope).await != Some(version) {
        assert!(
            std::time::Instant::now() < deadline,
            "the instance never read {scope:?} under version {version}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

/// The API's state over `settings`, its Valkey keys under `valkey`'s prefix, with
/// `/metrics` reading the test process's meter provider.
pub fn state(settings: Settings, valkey: &TestValkey) -> AppState {
    let pool = wump_db::connect(&settings.database).unwrap();
    let cache = wump_db::connect_valkey(&settings.valkey).unwrap();
    AppState::with_prefix(settings, pool, cache, valkey.prefix().to_owned())
        .with_metrics_registry(metrics_registry())
}

/// One Prometheus-backed global meter provider for the whole test process (as `main`
/// installs one), so `/metrics` shows what the tests did.
fn metrics_registry() -> prometheus::Registry {
    static REGISTRY: OnceLock<prometheus::Registry> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            let (exporter, registry) = wump_api::metrics::prometheus_exporter().unwrap();
            let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
                .with_reader(exporter)
                .build();
            opentelemetry::global::set_meter_provider(provider);
            registry
        })
        .clone()
}
