//! Primary and secondary rate limits: token rotation, exact waits, no early requests.

use std::time::Duration;

use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};
use wump_providers::{DataProvider, GitHubConfig, GitHubProvider, ProviderError};

use super::support::{
    ClockHold, config, error_json, limited, ok_json, provider, received, repo, repository, settle,
    until,
};

/// GitHub's answer when a token's primary quota is spent: 403, `remaining: 0`, and the
/// reset two minutes after the response's `Date`.
fn primary_exhausted() -> ResponseTemplate {
    limited(
        error_json(
            403,
            "API rate limit exceeded for user ID 1.",
            "overview/rate-limits-for-the-rest-api",
        ),
        "core",
        5000,
        0,
        120,
    )
}

fn rate_limited_for(error: &ProviderError) -> Duration {
    match error {
        ProviderError::RateLimited { retry_after, .. } => *retry_after,
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

async fn mount_hello_world(server: &MockServer, token: &str) {
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ok_json(repository("octocat", "User", "Hello-World", 80)))
        .mount(server)
        .await;
}

async fn get_repository(github: &GitHubProvider) -> Result<(), ProviderError> {
    // The tree is not mounted: a `Rejected`/`NotFound` after the repository call proves the
    // repository call itself got through.
    match github.list_files(&repo("octocat/Hello-World"), None).await {
        Err(ProviderError::NotFound { .. }) => Ok(()),
        Err(error) => Err(error),
        Ok(_) => Ok(()),
    }
}

#[tokio::test(start_paused = true)]
async fn a_spent_token_rotates_to_the_next_one_until_its_reset() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .and(header("authorization", "Bearer ghp_spent"))
        .respond_with(primary_exhausted())
        .expect(1)
        .mount(&server)
        .await;
    mount_hello_world(&server, "ghp_fresh").await;
    let github = provider(&server, &["ghp_spent", "ghp_fresh"]);

    get_repository(&github).await.unwrap();
    get_repository(&github).await.unwrap();

    let authorizations: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/repos/octocat/Hello-World")
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        authorizations,
        ["Bearer ghp_spent", "Bearer ghp_fresh", "Bearer ghp_fresh"],
        "the spent token is not asked again before its reset"
    );
    let status = github.rate_limit_status();
    let spent = status
        .iter()
        .find(|s| s.bucket == "core (token 1)")
        .unwrap();
    assert_eq!(spent.remaining, 0);
    assert_eq!(
        spent.reset_at.map(|t| t.timestamp()),
        Some(super::support::DATE_EPOCH + 120)
    );
}

#[tokio::test(start_paused = true)]
async fn with_one_spent_token_the_call_answers_the_wait_until_the_reset() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(primary_exhausted())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_hello_world(&server, "ghp_one").await;
    let github = provider(&server, &["ghp_one"]);

    let error = get_repository(&github).await.unwrap_err();
    assert_eq!(rate_limited_for(&error), Duration::from_secs(120));
    assert!(!error.is_permanent());

    tokio::time::advance(Duration::from_secs(100)).await;
    let error = get_repository(&github).await.unwrap_err();
    assert_eq!(rate_limited_for(&error), Duration::from_secs(20));
    assert_eq!(received(&server).await, 1, "nothing sent before the reset");

    tokio::time::advance(Duration::from_secs(20)).await;
    get_repository(&github).await.unwrap();
    assert!(received(&server).await >= 2);
}

#[tokio::test(start_paused = true)]
async fn a_wait_within_max_wait_is_waited_out_exactly() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(primary_exhausted())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_hello_world(&server, "ghp_one").await;
    let github = GitHubProvider::new(GitHubConfig {
        max_wait: Duration::from_secs(300),
        ..config(&server, &["ghp_one"])
    })
    .unwrap();
    let start = tokio::time::Instant::now();

    let call = tokio::spawn({
        let github = github.clone();
        async move { get_repository(&github).await }
    });
    until(async || {
        github
            .rate_limit_status()
            .iter()
            .any(|s| s.bucket == "core (token 1)" && s.remaining == 0)
    })
    .await;
    tokio::time::advance(Duration::from_secs(119)).await;
    settle(Duration::from_millis(100)).await;
    assert_eq!(received(&server).await, 1, "still before the reset");
    assert!(!call.is_finished());

    tokio::time::advance(Duration::from_secs(1)).await;
    call.await.unwrap().unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(120));
    assert!(received(&server).await >= 2);
}

#[tokio::test(start_paused = true)]
async fn a_secondary_limit_with_retry_after_holds_every_request_that_long() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(
            limited(
                error_json(
                    429,
                    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 1234:5678.",
                    "overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
                ),
                "core",
                5000,
                4000,
                3600,
            )
            .insert_header("retry-after", "30"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_hello_world(&server, "ghp_one").await;
    let github = provider(&server, &["ghp_one"]);

    let error = get_repository(&github).await.unwrap_err();
    assert_eq!(rate_limited_for(&error), Duration::from_secs(30));

    tokio::time::advance(Duration::from_secs(29)).await;
    // Any endpoint: a secondary limit holds the whole token.
    let error = github.fetch_owner("octocat").await.unwrap_err();
    assert_eq!(rate_limited_for(&error), Duration::from_secs(1));
    assert_eq!(received(&server).await, 1, "not one request before 30 s");

    tokio::time::advance(Duration::from_secs(1)).await;
    get_repository(&github).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_secondary_limit_without_headers_waits_at_least_a_minute() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(error_json(
            403,
            "You have exceeded a secondary rate limit and have been temporarily blocked from content creation. Please retry your request again later.",
            "overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_hello_world(&server, "ghp_one").await;
    let github = provider(&server, &["ghp_one"]);

    let error = get_repository(&github).await.unwrap_err();
    assert_eq!(rate_limited_for(&error), Duration::from_secs(60));

    tokio::time::advance(Duration::from_secs(59)).await;
    let error = get_repository(&github).await.unwrap_err();
    assert_eq!(rate_limited_for(&error), Duration::from_secs(1));
    assert_eq!(received(&server).await, 1);

    tokio::time::advance(Duration::from_secs(1)).await;
    get_repository(&github).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_forbidden_answer_that_is_no_rate_limit_is_unauthorized() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(limited(
            error_json(403, "Resource not accessible by integration", "repos/repos"),
            "core",
            5000,
            4000,
            3600,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);

    let error = get_repository(&github).await.unwrap_err();
    assert!(
        matches!(error, ProviderError::Unauthorized { status: 403, .. }),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_token_requests_are_anonymous_and_health_reads_every_bucket() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rate_limit"))
        .respond_with(
            limited(ResponseTemplate::new(200), "core", 60, 60, 3600).set_body_json(json!({
                "resources": {
                    "core": {"limit": 60, "used": 0, "remaining": 60, "reset": 1795438800},
                    "search": {"limit": 10, "used": 3, "remaining": 7, "reset": 1795435260}
                },
                "rate": {"limit": 60, "used": 0, "remaining": 60, "reset": 1795438800}
            })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let github = provider(&server, &[]);

    github.health().await.unwrap();

    let request = &server.received_requests().await.unwrap()[0];
    assert!(request.headers.get("authorization").is_none());
    assert!(
        request.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("wump/")
    );
    assert_eq!(request.headers["x-github-api-version"], "2022-11-28");
    let status: Vec<_> = github
        .rate_limit_status()
        .into_iter()
        .map(|s| {
            (
                s.bucket,
                s.remaining,
                s.limit,
                s.reset_at.map(|t| t.timestamp()),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("core (anonymous)".to_owned(), 60, 60, Some(1_795_438_800)),
            ("search (anonymous)".to_owned(), 7, 10, Some(1_795_435_260)),
        ],
        "/rate_limit is free and tells every bucket"
    );
}

#[tokio::test(start_paused = true)]
async fn a_rejected_token_leaves_the_pool_and_the_request_goes_on_with_another() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer ghp_revoked"))
        .respond_with(error_json(401, "Bad credentials", "overview"))
        // Once by the pool, once by the provider that has no other token.
        .expect(2)
        .mount(&server)
        .await;
    mount_hello_world(&server, "ghp_good").await;
    let github = provider(&server, &["ghp_revoked", "ghp_good"]);

    get_repository(&github).await.unwrap();
    get_repository(&github).await.unwrap();

    let buckets: Vec<_> = github
        .rate_limit_status()
        .into_iter()
        .map(|s| s.bucket)
        .collect();
    assert_eq!(
        buckets,
        ["core (token 2)", "graphql (token 2)", "search (token 2)"]
    );
    let only = provider(&server, &["ghp_revoked"]);
    let error = get_repository(&only).await.unwrap_err();
    assert!(
        matches!(error, ProviderError::Unauthorized { status: 401, .. }),
        "{error:?}"
    );
}
