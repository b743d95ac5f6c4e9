//! Libraries.io: `GET /api/{platform}/{name}` for a package, and
//! `GET /api/{platform}/{name}/dependent_repositories?page=&per_page=` for the
//! repositories that depend on it. The API key travels as the `api_key` query parameter,
//! added only when the request is sent, so it never reaches a log, an error or a page
//! token (pages are numbers). Libraries.io allows 60 requests a minute per key.

use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;
use wump_core::{Ecosystem, PackageRef};

use super::{ListedRepository, host_name};
use crate::{
    Capability, DataProvider, DiscoveryQuery, PackageMetadata, PageToken, ProviderError,
    ProviderKind, RepositoryPage,
    http::{HttpClient, join_segments},
    registries::{non_empty, repository_url},
};

/// Libraries.io.
#[derive(Debug, Clone)]
pub struct LibrariesIo {
    http: HttpClient,
    base: Url,
    api_key: SecretString,
    per_page: u32,
}

#[derive(Debug, Deserialize)]
struct Project {
    description: Option<String>,
    homepage: Option<String>,
    repository_url: Option<String>,
    latest_stable_release_number: Option<String>,
    latest_release_number: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Repository {
    full_name: String,
    description: Option<String>,
    fork: Option<bool>,
    archived: Option<bool>,
    pushed_at: Option<String>,
    stargazers_count: Option<u64>,
    forks_count: Option<u64>,
    language: Option<String>,
    default_branch: Option<String>,
    host_type: Option<String>,
}

impl LibrariesIo {
    pub const NAME: &'static str = "libraries.io";
    pub const DEFAULT_URL: &'static str = "https://libraries.io/api";

    /// The API at `base`, authenticated with `api_key`, `per_page` (1–100) dependents per
    /// page.
    pub fn new(http: HttpClient, base: Url, api_key: SecretString, per_page: u32) -> Self {
        Self {
            http,
            base,
            api_key,
            per_page: per_page.clamp(1, 100),
        }
    }

    /// The platform name Libraries.io files `ecosystem` under.
    fn platform(&self, package: &PackageRef) -> Result<&'static str, ProviderError> {
        Ok(match package.ecosystem {
            Ecosystem::Npm => "NPM",
            Ecosystem::Pypi => "Pypi",
            Ecosystem::Cargo => "Cargo",
            Ecosystem::Go => "Go",
            Ecosystem::Rubygems => "Rubygems",
            Ecosystem::Maven => "Maven",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::Nuget => "NuGet",
            Ecosystem::Hex => "Hex",
            Ecosystem::Pub => "Pub",
            Ecosystem::Swiftpm => "SwiftPM",
            Ecosystem::Cocoapods => "CocoaPods",
            Ecosystem::Actions => {
                return Err(ProviderError::NotFound {
                    provider: Self::NAME.into(),
                    what: format!("{package} (Libraries.io does not index GitHub Actions)"),
                });
            }
        })
    }

    fn secret(&self) -> Option<(&str, &SecretString)> {
        Some(("api_key", &self.api_key))
    }
}

#[async_trait]
impl DataProvider for LibrariesIo {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Aggregator
    }

    /// `GET /api/platforms` with the key: reachable and the key accepted.
    async fn health(&self) -> Result<(), ProviderError> {
        let url = join_segments(&self.base, &["platforms"]);
        self.http
            .get_json_page::<serde_json::Value>(&url, "platforms", self.secret())
            .await
            .map(|_| ())
    }

    async fn fetch_package(&self, package: &PackageRef) -> Result<PackageMetadata, ProviderError> {
        let platform = self.platform(package)?;
        let url = join_segments(&self.base, &[platform, package.name.trim()]);
        let project: Project = self
            .http
            .get_json_page(&url, &package.to_string(), self.secret())
            .await?
            .value;
        Ok(PackageMetadata {
            package: package.clone(),
            description: non_empty(project.description.as_deref()),
            homepage_url: non_empty(project.homepage.as_deref()),
            repository_url: project.repository_url.as_deref().and_then(repository_url),
            latest_version: non_empty(project.latest_stable_release_number.as_deref())
                .or_else(|| non_empty(project.latest_release_number.as_deref())),
            funding: Vec::new(),
        })
    }

    async fn discover_repositories(
        &self,
        query: &DiscoveryQuery,
        page: Option<&PageToken>,
    ) -> Result<RepositoryPage, ProviderError> {
        let DiscoveryQuery::DependentsOf { package } = query else {
            return Err(self.unsupported(Capability::DiscoverRepositories));
        };
        let number = match page {
            None => 1,
            Some(token) => token
                .0
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| ProviderError::Config {
                    provider: Self::NAME.into(),
                    message: format!("page token `{}` is not a page number", token.0),
                })?,
        };
        let platform = self.platform(package)?;
        let mut url = join_segments(
            &self.base,
            &[platform, package.name.trim(), "dependent_repositories"],
        );
        url.query_pairs_mut()
            .append_pair("page", &number.to_string())
            .append_pair("per_page", &self.per_page.to_string());
        let listed: Vec<Repository> = self
            .http
            .get_json_page(&url, &format!("dependents of {package}"), self.secret())
            .await?
            .value;
        let full = listed.len() >= self.per_page as usize;
        let repositories = listed
            .iter()
            .filter_map(|repo| {
                ListedRepository {
                    host: &host_name(repo.host_type.as_deref().unwrap_or("GitHub")),
                    full_name: &repo.full_name,
                    description: repo.description.clone(),
                    language: repo.language.clone(),
                    default_branch: repo.default_branch.clone(),
                    stars: repo.stargazers_count,
                    forks: repo.forks_count,
                    archived: repo.archived,
                    fork: repo.fork,
                    pushed_at: repo.pushed_at.as_deref(),
                }
                .into_discovered()
            })
            .collect();
        Ok(RepositoryPage {
            repositories,
            next: full.then(|| PageToken((number + 1).to_string())),
        })
    }
}
