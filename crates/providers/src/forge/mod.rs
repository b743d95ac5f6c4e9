//! Forges beside GitHub: Gitea/Forgejo (Codeberg and self-hosted), GitLab (gitlab.com
//! and self-managed) and Bitbucket Cloud, behind the same [`crate::DataProvider`] trait.
//! Each serves the host of its configured API (`codeberg.org`, `gitlab.com`, a
//! self-managed instance's; `bitbucket.org`), so the worker finds it by a repository's host. Their HTTP goes through one polite client
//! ([`client`]): fleet-wide spacing and `Retry-After` holds, the forge's rate-limit headers,
//! ETag revalidation through the shared HTTP cache, and tokens never logged.

mod api;
pub mod bitbucket;
mod client;
mod funding;
pub mod gitea;
pub mod gitlab;

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::ProviderError;

pub use api::{Forge, ForgeApi};

/// How to reach one forge (built from the settings' `providers.gitea`, `providers.gitlab`,
/// `providers.bitbucket`).
#[derive(Debug, Clone)]
pub struct ForgeSettings {
    /// The API root, e.g. `https://codeberg.org/api/v1` or `https://gitlab.com/api/v4`.
    pub api_url: String,
    /// Tokens used in turn; none: anonymous, within the forge's anonymous limits.
    pub tokens: Vec<SecretString>,
    /// The host its repositories are on; `None`: the API URL's host (with its port).
    pub host: Option<String>,
    /// Least time between two requests of the whole fleet.
    pub min_interval_ms: u64,
}

impl ForgeSettings {
    /// [`Self::min_interval_ms`] as a duration.
    pub fn min_interval(&self) -> Duration {
        Duration::from_millis(self.min_interval_ms)
    }
}

fn base_url(provider: &str, text: &str) -> Result<Url, ProviderError> {
    let url = crate::http::parse_base_url(provider, text)?;
    if url.host_str().is_none() {
        return Err(ProviderError::Config {
            provider: provider.to_owned(),
            message: format!("api_url `{text}` has no host"),
        });
    }
    Ok(url)
}

/// The host repositories are on, from the API's URL: `gitlab.com` for
/// `https://gitlab.com/api/v4`, a self-managed instance's own host (with its port, when it
/// has one, so test servers on 127.0.0.1 are told apart).
fn web_host(api: &Url) -> String {
    let host = api.host_str().unwrap_or_default().to_ascii_lowercase();
    match api.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// Whether `url` points into the API at `api` (same origin, under its path): a next-page
/// link or a stored page token must never send requests (with a token) elsewhere.
fn under_api(api: &Url, url: &Url) -> bool {
    let root = api.path().trim_end_matches('/');
    url.origin() == api.origin()
        && (url.path() == root || url.path().starts_with(&format!("{root}/")))
}

/// Profiles often say `example.com`: make it a URL.
fn website(text: String) -> String {
    if text.contains("://") {
        text
    } else {
        format!("https://{text}")
    }
}
