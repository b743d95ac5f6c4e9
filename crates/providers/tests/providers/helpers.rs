//! Shared test plumbing.

use std::time::Duration;

use url::Url;
use wiremock::MockServer;
use wump_providers::{config::HttpSettings, http::HttpClient};

/// Fast retries and short timeouts so failure paths finish quickly.
pub(crate) fn http_settings() -> HttpSettings {
    HttpSettings {
        timeout_ms: 2_000,
        connect_timeout_ms: 1_000,
        retries: 2,
        backoff_base_ms: 1,
        backoff_max_ms: 5,
        max_response_bytes: 1024 * 1024,
    }
}

/// A client for `provider` with [`http_settings`] and no spacing between requests.
pub(crate) fn client(provider: &str) -> HttpClient {
    client_with(provider, &http_settings())
}

pub(crate) fn client_with(provider: &str, settings: &HttpSettings) -> HttpClient {
    HttpClient::new(provider, settings, Duration::ZERO).unwrap()
}

/// The mock server's root as a base URL.
pub(crate) fn base(server: &MockServer) -> Url {
    Url::parse(&server.uri()).unwrap()
}
