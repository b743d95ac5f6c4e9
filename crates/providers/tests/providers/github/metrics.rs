//! Requests, rate-limit waits and remaining quota, read back through an in-memory
//! OpenTelemetry exporter on a meter of the test's own (the global one is left alone).

use std::{collections::BTreeMap, time::Duration};

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::{
    InMemoryMetricExporter, PeriodicReader, SdkMeterProvider,
    data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics},
};
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};
use wump_providers::{
    DataProvider, DiscoveryQuery, GitHubConfig, GitHubProvider, ProviderError,
    fleet::{fingerprint, label},
    metrics::ProviderMetrics,
};

use super::support::{ClockHold, config, error_json, limited, repo, repository, settle, until};

/// The instruments' names.
const REQUESTS: &str = "wump.provider.requests";
const WAITS: &str = "wump.provider.rate_limit_wait";
const REMAINING: &str = "wump.provider.rate_limit.remaining_ratio";

/// A provider for `server` recording on a meter of its own, and that meter's exports.
fn measured(server: &MockServer) -> (GitHubProvider, SdkMeterProvider, InMemoryMetricExporter) {
    measured_with(config(server, &["ghp_one"]))
}

fn measured_with(
    config: GitHubConfig,
) -> (GitHubProvider, SdkMeterProvider, InMemoryMetricExporter) {
    let exporter = InMemoryMetricExporter::default();
    let meters = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let github = GitHubProvider::new(config)
        .unwrap()
        .with_metrics(ProviderMetrics::new(&meters.meter("wump-providers")));
    (github, meters, exporter)
}

/// The meter's exports after a flush.
fn flushed(meters: &SdkMeterProvider, exporter: &InMemoryMetricExporter) -> Vec<ResourceMetrics> {
    meters.force_flush().unwrap();
    exporter.get_finished_metrics().unwrap()
}

/// The named metric as last exported (cumulative: it holds everything so far).
fn find<'a>(exports: &'a [ResourceMetrics], name: &str) -> Option<&'a Metric> {
    exports
        .last()
        .expect("an export")
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .find(|m| m.name() == name)
}

fn named<'a>(exports: &'a [ResourceMetrics], name: &str) -> &'a Metric {
    find(exports, name).unwrap_or_else(|| panic!("no metric {name}"))
}

/// `attribute=value,…` of a data point, sorted.
fn attributes<'a>(kvs: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> String {
    let mut pairs: Vec<String> = kvs.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
    pairs.sort();
    pairs.join(",")
}

fn requests(metrics: &[ResourceMetrics]) -> BTreeMap<String, u64> {
    let AggregatedMetrics::U64(MetricData::Sum(sum)) = named(metrics, REQUESTS).data() else {
        panic!("{REQUESTS} is a u64 counter")
    };
    sum.data_points()
        .map(|p| (attributes(p.attributes()), p.value()))
        .collect()
}

fn remaining(metrics: &[ResourceMetrics]) -> BTreeMap<String, f64> {
    let AggregatedMetrics::F64(MetricData::Gauge(gauge)) = named(metrics, REMAINING).data() else {
        panic!("{REMAINING} is an f64 gauge")
    };
    gauge
        .data_points()
        .map(|p| (attributes(p.attributes()), p.value()))
        .collect()
}

/// (count, sum in seconds) of the waits.
fn waits(metrics: &[ResourceMetrics]) -> Vec<(u64, f64)> {
    let AggregatedMetrics::F64(MetricData::Histogram(histogram)) = named(metrics, WAITS).data()
    else {
        panic!("{WAITS} is an f64 histogram")
    };
    histogram
        .data_points()
        .map(|p| (p.count(), p.sum()))
        .collect()
}

fn map<V: Copy>(entries: &[(&str, V)]) -> BTreeMap<String, V> {
    entries.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test(start_paused = true)]
async fn an_answer_is_counted_ok_and_its_remaining_quota_recorded_as_a_ratio() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rate_limit"))
        .respond_with(
            limited(ResponseTemplate::new(200), "core", 5000, 50, 3600).set_body_raw(
                json!({"resources": {
                    "core": {"limit": 5000, "remaining": 50, "used": 4950, "reset": 1_795_438_800},
                    "search": {"limit": 30, "remaining": 30, "used": 0, "reset": 1_795_435_260}
                }})
                .to_string(),
                "application/json; charset=utf-8",
            ),
        )
        .mount(&server)
        .await;
    let (github, meters, exporter) = measured(&server);

    github.health().await.unwrap();

    let metrics = flushed(&meters, &exporter);
    assert_eq!(
        requests(&metrics),
        map(&[("outcome=ok,provider=github", 1)])
    );
    assert_eq!(
        remaining(&metrics),
        map(&[("provider=github,resource=core", 0.01)])
    );
    assert!(find(&metrics, WAITS).is_none(), "no wait was asked for");
}

#[tokio::test(start_paused = true)]
async fn a_spent_quota_counts_as_rate_limited_with_the_wait_until_its_reset() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(limited(
            error_json(
                403,
                "API rate limit exceeded for user ID 1.",
                "overview/rate-limits-for-the-rest-api",
            ),
            "core",
            5000,
            0,
            120,
        ))
        .mount(&server)
        .await;
    let (github, meters, exporter) = measured(&server);

    let error = github
        .list_files(&repo("octocat/Hello-World"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(120)),
        "{error:?}"
    );

    let metrics = flushed(&meters, &exporter);
    assert_eq!(
        requests(&metrics),
        map(&[("outcome=rate_limited,provider=github", 1)])
    );
    assert_eq!(waits(&metrics), [(1, 120.0)]);
    assert_eq!(
        remaining(&metrics),
        map(&[("provider=github,resource=core", 0.0)])
    );

    // Per token, named by its fingerprint: the quota left, the wait GitHub announced, and
    // each request held back (not sent) while that wait runs.
    let token = format!("token={}", label(&fingerprint("ghp_one")));
    assert!(!token.contains("ghp_one"));
    let AggregatedMetrics::U64(MetricData::Gauge(quota)) =
        named(&metrics, "wump.provider.quota.remaining").data()
    else {
        panic!("a u64 gauge")
    };
    let quota: BTreeMap<String, u64> = quota
        .data_points()
        .map(|p| (attributes(p.attributes()), p.value()))
        .collect();
    assert_eq!(
        quota,
        map(&[(format!("provider=github,resource=core,{token}").as_str(), 0)])
    );
    assert_eq!(
        counter(&metrics, "wump.provider.limit.waits"),
        map(&[(
            format!("kind=primary,provider=github,resource=core,{token}").as_str(),
            1,
        )])
    );
    let refused = format!("provider=github,resource=core,{token}");
    assert_eq!(
        counter(&metrics, "wump.provider.limit.refused"),
        map(&[(refused.as_str(), 1)]),
        "the call's retry was held back until the reset, beyond max_wait"
    );

    github
        .list_files(&repo("octocat/Hello-World"), None)
        .await
        .unwrap_err();
    let metrics = flushed(&meters, &exporter);
    assert_eq!(
        counter(&metrics, "wump.provider.limit.refused"),
        map(&[(refused.as_str(), 2)])
    );
    assert_eq!(
        requests(&metrics),
        map(&[("outcome=rate_limited,provider=github", 1)]),
        "refused, not sent"
    );
}

fn counter(metrics: &[ResourceMetrics], name: &str) -> BTreeMap<String, u64> {
    let AggregatedMetrics::U64(MetricData::Sum(sum)) = named(metrics, name).data() else {
        panic!("{name} is a u64 counter")
    };
    sum.data_points()
        .map(|p| (attributes(p.attributes()), p.value()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_403_that_is_no_rate_limit_counts_as_unauthorized() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(limited(
            error_json(403, "Resource not accessible by integration", "repos/repos"),
            "core",
            5000,
            4990,
            3600,
        ))
        .mount(&server)
        .await;
    let (github, meters, exporter) = measured(&server);

    let error = github
        .list_files(&repo("octocat/Hello-World"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Unauthorized { status: 403, .. }),
        "{error:?}"
    );

    let metrics = flushed(&meters, &exporter);
    assert_eq!(
        requests(&metrics),
        map(&[("outcome=unauthorized,provider=github", 1)])
    );
    assert!(find(&metrics, WAITS).is_none());
}

#[tokio::test(start_paused = true)]
async fn every_attempt_without_an_answer_counts_as_a_network_error() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    // A port nothing listens on (wiremock keeps a dropped server listening for reuse).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (github, meters, exporter) = measured_with(GitHubConfig {
        graphql_url: format!("{api_url}/graphql"),
        api_url,
        ..config(&server, &["ghp_one"])
    });

    let error = github
        .list_files(&repo("octocat/Hello-World"), None)
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::Network { .. }), "{error:?}");

    // The first attempt and two retries (support's backoff).
    let metrics = flushed(&meters, &exporter);
    assert_eq!(
        requests(&metrics),
        map(&[("outcome=network_error,provider=github", 3)])
    );
}

#[tokio::test(start_paused = true)]
async fn a_wait_slept_in_the_call_is_recorded_once_for_its_length() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(limited(
            error_json(
                403,
                "API rate limit exceeded for user ID 1.",
                "overview/rate-limits-for-the-rest-api",
            ),
            "core",
            5000,
            0,
            120,
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(limited(
            ResponseTemplate::new(200).set_body_json(repository(
                "octocat",
                "User",
                "Hello-World",
                80,
            )),
            "core",
            5000,
            4999,
            3600,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/search/repositories"))
        .respond_with(limited(
            ResponseTemplate::new(200).set_body_json(json!({
                "total_count": 1,
                "incomplete_results": false,
                "items": [repository("rust-lang", "Organization", "rust", 99_000)],
            })),
            "search",
            30,
            29,
            60,
        ))
        .mount(&server)
        .await;
    let (github, meters, exporter) = measured_with(GitHubConfig {
        max_wait: Duration::from_secs(300),
        ..config(&server, &["ghp_one"])
    });

    let waiting = tokio::spawn({
        let github = github.clone();
        async move { github.list_files(&repo("octocat/Hello-World"), None).await }
    });
    until(async || {
        github
            .rate_limit_status()
            .iter()
            .any(|s| s.bucket == "core (token 1)" && s.remaining == 0)
    })
    .await;
    // A search answered meanwhile wakes the waiting call, which must not count its wait twice.
    let query = DiscoveryQuery::Search {
        query: "language:rust".to_owned(),
    };
    github.discover_repositories(&query, None).await.unwrap();
    settle(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished(), "still before the reset");
    tokio::time::advance(Duration::from_secs(120)).await;
    // The tree is not mounted: `NotFound` comes after the repository call got through.
    let result = waiting.await.unwrap();
    assert!(
        matches!(result, Err(ProviderError::NotFound { .. })),
        "{result:?}"
    );

    let metrics = flushed(&meters, &exporter);
    assert_eq!(waits(&metrics), [(1, 120.0)]);
    assert_eq!(
        remaining(&metrics),
        map(&[
            ("provider=github,resource=core", 0.9998),
            ("provider=github,resource=search", 29.0 / 30.0),
        ])
    );
}
