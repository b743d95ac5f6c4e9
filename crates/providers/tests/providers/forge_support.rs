//! What the forge provider tests (GitLab, Gitea, Bitbucket) share: settings for a provider
//! on a stand-in, repositories and queries, stand-ins that answer every request alike, and
//! the checks of the failure paths every forge must answer the same way. Each check names
//! the caller's line when it fails (`#[track_caller]`).

use std::time::Duration;

use secrecy::SecretString;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};
use wump_core::OrganizationKind;
use wump_providers::{DiscoveryQuery, ForgeSettings, ProviderError, RepoRef, RepositoryPage};

/// Settings for the forge API at `api_url` whose repositories are on `host`, holding
/// `tokens`, with no spacing between requests (tests wait for nothing).
pub(crate) fn forge_settings(api_url: String, host: &str, tokens: &[&str]) -> ForgeSettings {
    ForgeSettings {
        api_url,
        tokens: tokens.iter().map(|t| SecretString::from(*t)).collect(),
        host: Some(host.to_owned()),
        min_interval_ms: 0,
    }
}

/// The repository `full_name` on `host`.
pub(crate) fn repo_on(host: &str, full_name: &str) -> RepoRef {
    RepoRef {
        host: host.into(),
        full_name: full_name.parse().unwrap(),
    }
}

/// A search for `query`.
pub(crate) fn search(query: &str) -> DiscoveryQuery {
    DiscoveryQuery::Search {
        query: query.into(),
    }
}

/// The listing of `login`'s repositories.
pub(crate) fn owner(login: &str) -> DiscoveryQuery {
    DiscoveryQuery::Owner {
        login: login.into(),
    }
}

/// What a listing says of each repository a user would see: `(host, full name, owner
/// kind, stars, archived, fork)`, in the listing's order.
pub(crate) fn summary(
    page: &RepositoryPage,
) -> Vec<(&str, String, OrganizationKind, u32, bool, bool)> {
    page.repositories
        .iter()
        .map(|r| {
            (
                r.repo.host.as_str(),
                r.repo.full_name.to_string(),
                r.owner.kind,
                r.stars,
                r.archived,
                r.fork,
            )
        })
        .collect()
}

/// A stand-in answering every GET with `response` (a forge that is down, refusing, or
/// limiting whatever is asked).
pub(crate) async fn answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

/// [`answering`], and failing the test when it drops unless it was asked exactly `times`
/// times: this is how retries are counted and holds proven to send nothing.
pub(crate) async fn answering_exactly(response: ResponseTemplate, times: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(response)
        .expect(times)
        .mount(&server)
        .await;
    server
}

/// Answers GET `route` with `ok` only when the request carries `name: value` (the good
/// token, spelled as the forge wants it), and with `refusal` otherwise.
pub(crate) async fn mount_token_gate(
    server: &MockServer,
    route: &str,
    (name, value): (&'static str, &'static str),
    ok: ResponseTemplate,
    refusal: ResponseTemplate,
) {
    Mock::given(method("GET"))
        .and(path(route))
        .and(header(name, value))
        .respond_with(ok)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(refusal)
        .mount(server)
        .await;
}

/// Answers GET `route` with one 502 (a proxy's blip, to be retried), then with `ok`.
pub(crate) async fn mount_one_bad_gateway(server: &MockServer, route: &str, ok: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(502).set_body_string("Bad Gateway"))
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ok)
        .mount(server)
        .await;
}

/// `error` says the thing asked for is not there.
#[track_caller]
pub(crate) fn assert_not_found(error: &ProviderError) {
    assert!(matches!(error, ProviderError::NotFound { .. }), "{error:?}");
}

/// `error` says the token was refused with `status` (401 or 403).
#[track_caller]
pub(crate) fn assert_unauthorized(error: &ProviderError, status: u16) {
    assert!(
        matches!(error, ProviderError::Unauthorized { status: s, .. } if *s == status),
        "{error:?}"
    );
}

/// `error` says the provider is held for exactly `wait`.
#[track_caller]
pub(crate) fn assert_rate_limited_for(error: &ProviderError, wait: Duration) {
    assert!(
        matches!(error, ProviderError::RateLimited { retry_after, .. } if *retry_after == wait),
        "{error:?}"
    );
}

/// `error` says the provider is held (for however long is left).
#[track_caller]
pub(crate) fn assert_held(error: &ProviderError) {
    assert!(
        matches!(error, ProviderError::RateLimited { .. }),
        "{error:?}"
    );
}

/// `error` reports the forge's failure with `status` (after the retries).
#[track_caller]
pub(crate) fn assert_upstream(error: &ProviderError, status: u16) {
    assert!(
        matches!(error, ProviderError::Upstream { status: s, .. } if *s == status),
        "{error:?}"
    );
}
