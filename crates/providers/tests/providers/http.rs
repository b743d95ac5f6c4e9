//! Failure handling every remote provider shares: 404, 5xx then success, retries spent,
//! 429 with and without `Retry-After`, timeouts, malformed JSON, oversized bodies,
//! unreachable servers. Each case runs against every registry and aggregator.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};
use wump_core::{Ecosystem, PackageRef};
use wump_providers::{
    DataProvider, DiscoveryQuery, ProviderError,
    aggregators::{Ecosystems, LibrariesIo},
    config::HttpSettings,
    http::{HttpClient, USER_AGENT},
    registries::{CratesIo, MavenCentral, Npm, Packagist, Pypi, Rubygems},
};

use crate::helpers::{base, client_with, http_settings};

type Build = fn(Url, HttpClient) -> Arc<dyn DataProvider>;

/// One remote call of one provider.
struct Case {
    name: &'static str,
    /// The path the call requests.
    path: &'static str,
    build: Build,
    package: PackageRef,
    dependents: bool,
    /// A minimal valid answer.
    ok_body: Value,
}

fn cases() -> Vec<Case> {
    let npm = PackageRef::new(Ecosystem::Npm, "left-pad");
    vec![
        Case {
            name: "npm",
            path: "/left-pad",
            build: |base, http| Arc::new(Npm::new(http, base)),
            package: npm.clone(),
            dependents: false,
            ok_body: json!({"name": "left-pad", "dist-tags": {"latest": "1.3.0"}, "versions": {}}),
        },
        Case {
            name: "pypi",
            path: "/pypi/requests/json",
            build: |base, http| Arc::new(Pypi::new(http, base)),
            package: PackageRef::new(Ecosystem::Pypi, "requests"),
            dependents: false,
            ok_body: json!({"info": {"summary": "HTTP", "version": "2.32.3"}}),
        },
        Case {
            name: "crates.io",
            path: "/api/v1/crates/serde",
            build: |base, http| Arc::new(CratesIo::new(http, base)),
            package: PackageRef::new(Ecosystem::Cargo, "serde"),
            dependents: false,
            ok_body: json!({"crate": {"name": "serde", "max_stable_version": "1.0.210"}}),
        },
        Case {
            name: "maven-central",
            path: "/solrsearch/select",
            build: |base, http| Arc::new(MavenCentral::new(http, base)),
            package: PackageRef::new(Ecosystem::Maven, "com.google.inject:guice"),
            dependents: false,
            ok_body: json!({"response": {"numFound": 1, "start": 0, "docs": [
                {"id": "com.google.inject:guice", "g": "com.google.inject", "a": "guice", "latestVersion": "7.0.0"}
            ]}}),
        },
        Case {
            name: "rubygems",
            path: "/api/v1/gems/rails.json",
            build: |base, http| Arc::new(Rubygems::new(http, base)),
            package: PackageRef::new(Ecosystem::Rubygems, "rails"),
            dependents: false,
            ok_body: json!({"name": "rails", "version": "7.1.3"}),
        },
        Case {
            name: "packagist",
            path: "/p2/monolog/monolog.json",
            build: |base, http| Arc::new(Packagist::new(http, base)),
            package: PackageRef::new(Ecosystem::Packagist, "monolog/monolog"),
            dependents: false,
            ok_body: json!({"packages": {"monolog/monolog": [{"version": "3.7.0"}]}, "minified": "composer/2.0"}),
        },
        Case {
            name: "libraries.io package",
            path: "/NPM/left-pad",
            build: |base, http| {
                Arc::new(LibrariesIo::new(http, base, SecretString::from("k3y"), 100))
            },
            package: npm.clone(),
            dependents: false,
            ok_body: json!({"name": "left-pad", "platform": "NPM"}),
        },
        Case {
            name: "libraries.io dependents",
            path: "/NPM/left-pad/dependent_repositories",
            build: |base, http| {
                Arc::new(LibrariesIo::new(http, base, SecretString::from("k3y"), 100))
            },
            package: npm.clone(),
            dependents: true,
            ok_body: json!([]),
        },
        Case {
            name: "ecosyste.ms package",
            path: "/registries/npmjs.org/packages/left-pad",
            build: |base, http| {
                Arc::new(Ecosystems::new(
                    http,
                    base.clone(),
                    base,
                    Some("ops@example.org".into()),
                    100,
                ))
            },
            package: npm.clone(),
            dependents: false,
            ok_body: json!({"name": "left-pad", "ecosystem": "npm"}),
        },
        Case {
            name: "ecosyste.ms dependents",
            path: "/usage/npm/left-pad/dependencies",
            build: |base, http| {
                Arc::new(Ecosystems::new(
                    http,
                    base.clone(),
                    base,
                    Some("ops@example.org".into()),
                    100,
                ))
            },
            package: npm,
            dependents: true,
            ok_body: json!([]),
        },
    ]
}

impl Case {
    fn call<'a>(
        &'a self,
        provider: &'a Arc<dyn DataProvider>,
    ) -> Pin<Box<dyn Future<Output = Result<(), ProviderError>> + Send + 'a>> {
        Box::pin(async move {
            if self.dependents {
                let query = DiscoveryQuery::DependentsOf {
                    package: self.package.clone(),
                };
                provider
                    .discover_repositories(&query, None)
                    .await
                    .map(|_| ())
            } else {
                provider.fetch_package(&self.package).await.map(|_| ())
            }
        })
    }

    fn provider(&self, server: &MockServer, settings: &HttpSettings) -> Arc<dyn DataProvider> {
        (self.build)(base(server), client_with(self.name, settings))
    }
}

#[tokio::test]
async fn success_sends_an_identifying_user_agent() {
    for case in cases() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(case.path))
            .and(header("user-agent", USER_AGENT))
            .respond_with(ResponseTemplate::new(200).set_body_json(&case.ok_body))
            .expect(1)
            .mount(&server)
            .await;
        let provider = case.provider(&server, &http_settings());
        let result = case.call(&provider).await;
        assert!(result.is_ok(), "{}: {result:?}", case.name);
        server.verify().await;
    }
    assert!(USER_AGENT.starts_with("wump/"));
    assert!(USER_AGENT.ends_with("(+https://github.com/wump-dev/wump)"));
}

#[tokio::test]
async fn not_found_is_typed_and_not_retried() {
    for case in cases() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(case.path))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "Not found"})))
            .expect(1)
            .mount(&server)
            .await;
        let err = case
            .call(&case.provider(&server, &http_settings()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ProviderError::NotFound { .. }),
            "{}: {err}",
            case.name
        );
        assert!(err.is_permanent());
        server.verify().await;
    }
}

#[tokio::test]
async fn server_errors_are_retried_until_one_succeeds() {
    for case in cases() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(case.path))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(case.path))
            .respond_with(ResponseTemplate::new(200).set_body_json(&case.ok_body))
            .expect(1)
            .mount(&server)
            .await;
        let result = case.call(&case.provider(&server, &http_settings())).await;
        assert!(result.is_ok(), "{}: {result:?}", case.name);
        server.verify().await;
    }
}

#[tokio::test]
async fn server_errors_fail_once_the_retries_are_spent() {
    for case in cases() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(case.path))
            .respond_with(ResponseTemplate::new(502))
            .expect(3) // the first attempt and two retries
            .mount(&server)
            .await;
        let err = case
            .call(&case.provider(&server, &http_settings()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ProviderError::Upstream { status: 502, .. }),
            "{}: {err}",
            case.name
        );
        assert!(!err.is_permanent());
        server.verify().await;
    }
}

#[tokio::test]
async fn too_many_requests_reports_retry_after_and_sends_nothing_until_then() {
    for case in cases() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(case.path))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
            .expect(1)
            .mount(&server)
            .await;
        let provider = case.provider(&server, &http_settings());
        let err = case.call(&provider).await.unwrap_err();
        assert!(
            matches!(err, ProviderError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(120)),
            "{}: {err}",
            case.name
        );
        // Asked again at once: refused locally, the server sees no second request.
        let again = case.call(&provider).await.unwrap_err();
        let wait = again.retry_after().unwrap();
        assert!(
            wait > Duration::from_secs(119) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        server.verify().await;
    }
}

#[tokio::test]
async fn too_many_requests_without_retry_after_waits_a_minute() {
    let case = &cases()[0];
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(case.path))
        .respond_with(ResponseTemplate::new(429))
        .expect(1)
        .mount(&server)
        .await;
    let err = case
        .call(&case.provider(&server, &http_settings()))
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
}

#[tokio::test]
async fn timeouts_are_network_errors_after_the_retries() {
    let settings = HttpSettings {
        timeout_ms: 200,
        retries: 1,
        ..http_settings()
    };
    for case in cases() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(case.path))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(&case.ok_body)
                    .set_delay(Duration::from_secs(1)),
            )
            .expect(2)
            .mount(&server)
            .await;
        let err = case
            .call(&case.provider(&server, &settings))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ProviderError::Network { message, .. } if message == "timed out"),
            "{}: {err}",
            case.name
        );
        server.verify().await;
    }
}

#[tokio::test]
async fn malformed_json_is_typed_and_not_retried() {
    for case in cases() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(case.path))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw("<html>maintenance</html>", "text/html"),
            )
            .expect(1)
            .mount(&server)
            .await;
        let err = case
            .call(&case.provider(&server, &http_settings()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ProviderError::Malformed { .. }),
            "{}: {err}",
            case.name
        );
        server.verify().await;
    }
}

#[tokio::test]
async fn wrongly_shaped_json_is_malformed_too() {
    for case in cases() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(case.path))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!("a string")))
            .mount(&server)
            .await;
        let err = case
            .call(&case.provider(&server, &http_settings()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ProviderError::Malformed { .. }),
            "{}: {err}",
            case.name
        );
    }
}

#[tokio::test]
async fn oversized_responses_are_refused() {
    let settings = HttpSettings {
        max_response_bytes: 64,
        ..http_settings()
    };
    let case = &cases()[0];
    let server = MockServer::start().await;
    let big = json!({"description": "x".repeat(1_000), "dist-tags": {}, "versions": {}});
    Mock::given(method("GET"))
        .and(path(case.path))
        .respond_with(ResponseTemplate::new(200).set_body_json(big))
        .expect(1)
        .mount(&server)
        .await;
    let err = case
        .call(&case.provider(&server, &settings))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::TooLarge { limit: 64, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn unreachable_servers_are_network_errors() {
    // Nothing listens on port 1.
    let base = Url::parse("http://127.0.0.1:1/").unwrap();
    let provider = Npm::new(client_with("npm", &http_settings()), base);
    let err = provider
        .fetch_package(&PackageRef::new(Ecosystem::Npm, "left-pad"))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Network { .. }), "{err}");
    assert!(
        !err.to_string().contains("127.0.0.1"),
        "errors name no URL: {err}"
    );
}

#[tokio::test]
async fn crates_io_requests_are_spaced_by_its_interval() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/crates/serde"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"crate": {"name": "serde", "max_stable_version": "1.0.210"}}),
            ),
        )
        .expect(3)
        .mount(&server)
        .await;
    let interval = Duration::from_millis(300);
    let http = HttpClient::new("crates.io", &http_settings(), interval).unwrap();
    let crates_io = CratesIo::new(http, base(&server));
    let serde = PackageRef::new(Ecosystem::Cargo, "serde");
    let start = std::time::Instant::now();
    for _ in 0..3 {
        crates_io.fetch_package(&serde).await.unwrap();
    }
    assert!(start.elapsed() >= interval * 2, "{:?}", start.elapsed());
    assert_eq!(CratesIo::DEFAULT_MIN_INTERVAL, Duration::from_secs(1));
}

#[tokio::test]
async fn health_probes_answer_for_every_remote_provider() {
    for case in cases() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
            .mount(&server)
            .await;
        let provider = case.provider(&server, &http_settings());
        provider
            .health()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let npm = Npm::new(client_with("npm", &http_settings()), base(&server));
    assert!(matches!(
        npm.health().await,
        Err(ProviderError::Upstream { status: 503, .. })
    ));
}

/// On the paused clock (no network involved, so auto-advance cannot fire a timeout
/// early): crates.io's default spacing never lets more than one request start per second,
/// and a `Retry-After` holds every request back until it has passed.
#[tokio::test(start_paused = true)]
async fn politeness_keeps_crates_io_at_one_request_a_second() {
    use tokio::time::Instant;
    use wump_providers::http::Politeness;

    let politeness = Politeness::new(CratesIo::DEFAULT_MIN_INTERVAL);
    let start = Instant::now();
    let mut starts = Vec::new();
    for _ in 0..5 {
        politeness.acquire("crates.io").await.unwrap();
        starts.push(start.elapsed());
    }
    assert_eq!(starts, (0..5).map(Duration::from_secs).collect::<Vec<_>>());

    politeness
        .block_for("crates.io", Duration::from_secs(90))
        .await;
    tokio::time::advance(Duration::from_secs(89)).await;
    let err = politeness.acquire("crates.io").await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    tokio::time::advance(Duration::from_secs(1)).await;
    politeness.acquire("crates.io").await.unwrap();
}
