//! GitHub (REST + GraphQL) as a repository host: repository search and owner listings,
//! git trees, file contents, owner profiles with FUNDING.yml and GitHub Sponsors.
//!
//! Base URLs are configurable, so GitHub Enterprise Server and test servers work. Limits
//! are obeyed as GitHub documents them (see `limits.rs` and the GitHub section of `docs/providers.md`);
//! answers GitHub marked with an ETag are kept in an [`HttpCache`] and revalidated with
//! `If-None-Match`, so unchanged data costs no quota.

mod client;
mod limits;
mod owners;
mod payload;
mod repos;
mod search;
mod sizes;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use reqwest::Url;
use secrecy::SecretString;

use crate::{
    DataProvider, DiscoveryQuery, FileContent, FileTree, HttpCache, MemoryHttpCache, OwnerProfile,
    PageToken, ProviderError, ProviderKind, RateLimitStatus, RepoRef, RepositoryPage,
    backoff::Backoff, metrics::ProviderMetrics,
};
use client::{ApiRequest, Client, config_error};
use limits::Resource;
pub use owners::GRAPHQL_BATCH;

/// The name GitHub is configured under.
pub(crate) const PROVIDER: &str = "github";
/// GitHub refuses more concurrent requests than this (a secondary limit shared by REST
/// and GraphQL).
pub const MAX_CONCURRENCY: usize = 100;

/// How to reach GitHub. Tokens come from the environment (the worker's settings), never
/// from a file in the repository.
#[derive(Debug, Clone)]
pub struct GitHubConfig {
    /// REST base, e.g. `https://api.github.com` or `https://ghe.example.com/api/v3`.
    pub api_url: String,
    /// GraphQL endpoint, e.g. `https://api.github.com/graphql`.
    pub graphql_url: String,
    /// Personal access or installation tokens; each request uses the one with the most
    /// quota left. None: unauthenticated (60 requests an hour, no GraphQL).
    pub tokens: Vec<SecretString>,
    pub user_agent: String,
    /// For one request, connecting included.
    pub timeout: Duration,
    /// Requests in flight at once, at most [`MAX_CONCURRENCY`].
    pub max_concurrency: usize,
    /// Retries on 5xx and network errors.
    pub backoff: Backoff,
    /// A rate-limit wait up to this long is waited out in the call; a longer one answers
    /// [`ProviderError::RateLimited`] so the job can be rescheduled.
    pub max_wait: Duration,
}

impl Default for GitHubConfig {
    fn default() -> Self {
        Self {
            api_url: "https://api.github.com".to_owned(),
            graphql_url: "https://api.github.com/graphql".to_owned(),
            tokens: Vec::new(),
            user_agent: default_user_agent(),
            timeout: Duration::from_secs(30),
            max_concurrency: 10,
            backoff: Backoff::default(),
            max_wait: Duration::from_secs(60),
        }
    }
}

/// `wump/<version> (+https://github.com/wump-dev/wump)`: GitHub asks for a User-Agent
/// that names the application.
pub fn default_user_agent() -> String {
    format!(
        "wump/{} (+https://github.com/wump-dev/wump)",
        env!("CARGO_PKG_VERSION")
    )
}

/// The GitHub provider.
#[derive(Debug, Clone)]
pub struct GitHubProvider {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    client: Client,
    api: Url,
    graphql: Url,
    large_files: Arc<sizes::LargeFiles>,
}

impl GitHubProvider {
    /// A provider with an in-process [`MemoryHttpCache`].
    pub fn new(config: GitHubConfig) -> Result<Self, ProviderError> {
        Self::with_cache(config, Arc::new(MemoryHttpCache::default()))
    }

    /// A provider keeping ETags and bodies in `cache`.
    pub fn with_cache(
        config: GitHubConfig,
        cache: Arc<dyn HttpCache>,
    ) -> Result<Self, ProviderError> {
        let api = base_url(&config.api_url)?;
        let graphql = Url::parse(&config.graphql_url)
            .map_err(|e| config_error(format!("graphql_url `{}`: {e}", config.graphql_url)))?;
        Ok(Self {
            inner: Arc::new(Inner {
                client: Client::new(&config, cache)?,
                api,
                graphql,
                large_files: Arc::default(),
            }),
        })
    }

    /// Records requests, waits and remaining quota on `metrics` instead of the global
    /// meter's (tests). Clones made before keep theirs; limits and cache stay shared.
    #[must_use]
    pub fn with_metrics(mut self, metrics: ProviderMetrics) -> Self {
        Arc::make_mut(&mut self.inner).client.metrics = metrics;
        self
    }

    /// Shares this provider's limits with every worker process through `fleet` (the local
    /// limits stay, as the fallback). Clones made before keep theirs.
    #[must_use]
    pub fn with_fleet(mut self, fleet: crate::FleetLimits) -> Self {
        Arc::make_mut(&mut self.inner).client.fleet = Some(fleet);
        self
    }

    /// `api_url` joined with path segments, each percent-encoded.
    fn api(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.api.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn client(&self) -> &Client {
        &self.inner.client
    }
}

fn base_url(text: &str) -> Result<Url, ProviderError> {
    let url = Url::parse(text).map_err(|e| config_error(format!("api_url `{text}`: {e}")))?;
    if url.cannot_be_a_base() {
        return Err(config_error(format!("api_url `{text}` cannot be a base")));
    }
    Ok(url)
}

#[async_trait]
impl DataProvider for GitHubProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::RepositoryHost
    }

    fn serves_host(&self, host: &str) -> bool {
        host.eq_ignore_ascii_case("github.com")
    }

    /// `GET /rate_limit`, which costs no primary quota and proves the token works. GitHub
    /// Enterprise Server answers 404 there when it has rate limiting off.
    async fn health(&self) -> Result<(), ProviderError> {
        let request = ApiRequest::get(self.api(&["rate_limit"]), Resource::Core, "rate_limit");
        let response = self.client().execute(request).await?;
        if response.status.is_success() || response.status == reqwest::StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(ProviderError::Rejected {
                provider: PROVIDER.to_owned(),
                status: response.status.as_u16(),
                message: response.message(),
            })
        }
    }

    fn rate_limit_status(&self) -> Vec<RateLimitStatus> {
        self.client().limits.status(tokio::time::Instant::now())
    }

    async fn discover_repositories(
        &self,
        query: &DiscoveryQuery,
        page: Option<&PageToken>,
    ) -> Result<RepositoryPage, ProviderError> {
        match query {
            DiscoveryQuery::Search { query } => self.search(query, page).await,
            DiscoveryQuery::Owner { login } => self.owner_repositories(login, page).await,
            DiscoveryQuery::All | DiscoveryQuery::DependentsOf { .. } => {
                Err(self.unsupported(crate::Capability::DiscoverRepositories))
            }
        }
    }

    async fn list_files(
        &self,
        repo: &RepoRef,
        revision: Option<&str>,
    ) -> Result<FileTree, ProviderError> {
        self.tree(repo, revision).await
    }

    async fn fetch_file(
        &self,
        repo: &RepoRef,
        path: &str,
        revision: Option<&str>,
        max_bytes: u64,
    ) -> Result<FileContent, ProviderError> {
        self.contents(repo, path, revision, max_bytes).await
    }

    async fn fetch_owner(&self, login: &str) -> Result<OwnerProfile, ProviderError> {
        self.owner(login).await
    }
}

fn not_found(what: impl Into<String>) -> ProviderError {
    ProviderError::NotFound {
        provider: PROVIDER.to_owned(),
        what: what.into(),
    }
}

fn rejected(response: &client::ApiResponse) -> ProviderError {
    ProviderError::Rejected {
        provider: PROVIDER.to_owned(),
        status: response.status.as_u16(),
        message: response.message(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_a_github_enterprise_base_and_are_percent_encoded() {
        let github = GitHubProvider::new(GitHubConfig {
            api_url: "https://ghe.example.com/api/v3/".to_owned(),
            ..GitHubConfig::default()
        })
        .unwrap();
        assert_eq!(
            github
                .api(&["repos", "o", "r", "contents", "docs", "a b#?.yml"])
                .as_str(),
            "https://ghe.example.com/api/v3/repos/o/r/contents/docs/a%20b%23%3F.yml"
        );
        let dotcom = GitHubProvider::new(GitHubConfig::default()).unwrap();
        assert_eq!(
            dotcom.api(&["users", "octocat"]).as_str(),
            "https://api.github.com/users/octocat"
        );
    }

    #[test]
    fn a_bad_base_url_is_a_configuration_error() {
        let error = GitHubProvider::new(GitHubConfig {
            api_url: "not a url".to_owned(),
            ..GitHubConfig::default()
        })
        .unwrap_err();
        assert!(matches!(error, ProviderError::Config { .. }), "{error:?}");
        assert!(default_user_agent().starts_with("wump/0."));
    }
}
