//! A GitHub-shaped mock server, a provider pointed at it, and control of tokio's paused
//! clock.
//!
//! Every test runs on a paused clock (`start_paused = true`) and holds a [`ClockHold`]:
//! while the mock server (on its own thread, in real time) answers, the runtime must not
//! jump its paused clock to the next timer, or the request timeout would fire at once.
//! Time then moves only by `tokio::time::advance`, so every wait is asserted exactly.

use std::{sync::mpsc, time::Duration};

use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::{MockServer, ResponseTemplate};
use wump_core::RepoFullName;
use wump_providers::{
    RepoRef,
    backoff::Backoff,
    github::{GitHubConfig, GitHubProvider},
    test_mock::{github_error, github_limited},
};

/// The server's clock in every mocked response: `Date` and `x-ratelimit-reset` are read
/// against each other.
pub(crate) const DATE: &str = "Mon, 23 Nov 2026 12:00:00 GMT";
pub(crate) const DATE_EPOCH: i64 = 1_795_435_200;

/// Stops the paused clock from auto-advancing while it lives (a running blocking task
/// inhibits auto-advance).
pub(crate) struct ClockHold(Option<mpsc::Sender<()>>);

impl ClockHold {
    pub(crate) fn new() -> Self {
        let (tx, rx) = mpsc::channel::<()>();
        tokio::task::spawn_blocking(move || {
            let _ = rx.recv();
        });
        Self(Some(tx))
    }
}

impl Drop for ClockHold {
    fn drop(&mut self) {
        self.0.take();
    }
}

/// A provider for `server` with `tokens`, no backoff delay (retries are counted, not
/// timed: the schedule has its own unit tests), and no in-call waiting.
pub(crate) fn provider(server: &MockServer, tokens: &[&str]) -> GitHubProvider {
    GitHubProvider::new(config(server, tokens)).expect("valid config")
}

pub(crate) fn config(server: &MockServer, tokens: &[&str]) -> GitHubConfig {
    GitHubConfig {
        api_url: server.uri(),
        graphql_url: format!("{}/graphql", server.uri()),
        tokens: tokens
            .iter()
            .map(|t| SecretString::from((*t).to_owned()))
            .collect(),
        timeout: Duration::from_secs(10),
        backoff: Backoff {
            base: Duration::ZERO,
            max: Duration::ZERO,
            retries: 2,
        },
        max_wait: Duration::ZERO,
        ..GitHubConfig::default()
    }
}

pub(crate) fn repo(full_name: &str) -> RepoRef {
    RepoRef {
        host: "github.com".to_owned(),
        full_name: full_name.parse::<RepoFullName>().expect("owner/name"),
    }
}

/// GitHub's headers on a response counted against `resource`.
pub(crate) fn limited(
    template: ResponseTemplate,
    resource: &str,
    limit: u32,
    remaining: u32,
    reset_in: i64,
) -> ResponseTemplate {
    github_limited(
        template,
        DATE,
        resource,
        limit,
        remaining,
        DATE_EPOCH + reset_in,
    )
}

/// A 200 with a JSON body, counted against `core`.
pub(crate) fn ok_json(body: Value) -> ResponseTemplate {
    limited(ResponseTemplate::new(200), "core", 5000, 4999, 3600)
        .set_body_raw(body.to_string(), "application/json; charset=utf-8")
}

/// GitHub's error body.
pub(crate) fn error_json(status: u16, message: &str, docs: &str) -> ResponseTemplate {
    github_error(
        status,
        message,
        &format!("https://docs.github.com/rest/{docs}"),
    )
    .insert_header("date", DATE)
}

/// A 404 as GitHub sends it.
pub(crate) fn not_found() -> ResponseTemplate {
    limited(
        error_json(404, "Not Found", "repos/repos#get-a-repository"),
        "core",
        5000,
        4998,
        3600,
    )
}

/// A repository as `GET /repos/{owner}/{repo}` and the search return it.
pub(crate) fn repository(owner: &str, owner_type: &str, name: &str, stars: u32) -> Value {
    let full_name = format!("{owner}/{name}");
    json!({
        "id": 1296269,
        "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
        "name": name,
        "full_name": full_name,
        "owner": {
            "login": owner,
            "id": 1,
            "node_id": "MDQ6VXNlcjE=",
            "avatar_url": "https://github.com/images/error/octocat_happy.gif",
            "gravatar_id": "",
            "url": format!("https://api.github.com/users/{owner}"),
            "html_url": format!("https://github.com/{owner}"),
            "repos_url": format!("https://api.github.com/users/{owner}/repos"),
            "type": owner_type,
            "site_admin": false
        },
        "private": false,
        "html_url": format!("https://github.com/{full_name}"),
        "description": "This your first repo!",
        "fork": false,
        "url": format!("https://api.github.com/repos/{full_name}"),
        "created_at": "2011-01-26T19:01:12Z",
        "updated_at": "2011-01-26T19:14:43Z",
        "pushed_at": "2011-01-26T19:06:43Z",
        "git_url": format!("git://github.com/{full_name}.git"),
        "clone_url": format!("https://github.com/{full_name}.git"),
        "homepage": "https://github.com",
        "size": 108,
        "stargazers_count": stars,
        "watchers_count": stars,
        "language": "Rust",
        "has_issues": true,
        "forks_count": 9,
        "archived": false,
        "disabled": false,
        "open_issues_count": 0,
        "license": {
            "key": "mit",
            "name": "MIT License",
            "url": "https://api.github.com/licenses/mit",
            "spdx_id": "MIT",
            "node_id": "MDc6TGljZW5zZW1pdA=="
        },
        "topics": ["octocat", "api"],
        "visibility": "public",
        "forks": 9,
        "open_issues": 0,
        "watchers": stars,
        "default_branch": "main",
        "score": 1.0
    })
}

/// Yields (letting the mock server's answers in) until `done` holds; panics after ten
/// real seconds.
pub(crate) async fn until(mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "condition never held");
        tokio::task::yield_now().await;
    }
}

/// Yields for `real` wall-clock time: long enough for a request that should not be sent to
/// show up if it were.
pub(crate) async fn settle(real: Duration) {
    let deadline = std::time::Instant::now() + real;
    while std::time::Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
}

pub(crate) async fn received(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}
