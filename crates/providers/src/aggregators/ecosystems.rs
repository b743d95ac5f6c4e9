//! ecosyste.ms: the packages service for package metadata
//! (`GET /registries/{registry}/packages/{name}`: `description`, `homepage`,
//! `repository_url`, `latest_release_number`, `funding_links`, and the owner's
//! `repo_metadata.owner_record.funding_links`), and the repos service for the
//! repositories that depend on a package
//! (`GET /usage/{ecosystem}/{name}/dependencies?page=&per_page=`, paginated with a `Link`
//! header). Every request carries `mailto` when one is configured, which ecosyste.ms asks
//! of polite clients. A page token is the next page's URL, checked to stay on the
//! configured repos service before it is followed.

use async_trait::async_trait;
use serde::Deserialize;
use url::Url;
use wump_core::{Ecosystem, FundingLink, PackageRef};

use super::{ListedRepository, host_name};
use crate::{
    Capability, DataProvider, DiscoveryQuery, PackageMetadata, PageToken, ProviderError,
    ProviderKind, RepositoryPage,
    http::{HttpClient, join_segments},
    registries::{dedup, funding_link, non_empty, repository_url},
};

/// ecosyste.ms packages and repos services.
#[derive(Debug, Clone)]
pub struct Ecosystems {
    http: HttpClient,
    packages: Url,
    repos: Url,
    mailto: Option<String>,
    per_page: u32,
}

#[derive(Debug, Deserialize)]
struct Package {
    description: Option<String>,
    homepage: Option<String>,
    repository_url: Option<String>,
    latest_release_number: Option<String>,
    #[serde(default)]
    funding_links: Vec<String>,
    repo_metadata: Option<RepoMetadata>,
}

#[derive(Debug, Deserialize)]
struct RepoMetadata {
    owner_record: Option<OwnerRecord>,
}

#[derive(Debug, Deserialize)]
struct OwnerRecord {
    #[serde(default)]
    funding_links: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Dependency {
    repository: Option<Repository>,
}

#[derive(Debug, Deserialize)]
struct Repository {
    full_name: String,
    description: Option<String>,
    archived: Option<bool>,
    fork: Option<bool>,
    pushed_at: Option<String>,
    stargazers_count: Option<u64>,
    forks_count: Option<u64>,
    default_branch: Option<String>,
    language: Option<String>,
    host: Option<Host>,
}

#[derive(Debug, Deserialize)]
struct Host {
    name: Option<String>,
    url: Option<String>,
}

impl Ecosystems {
    pub const NAME: &'static str = "ecosyste.ms";

    /// The services at `packages` and `repos`; `per_page` (1–1000) dependents per page.
    pub fn new(
        http: HttpClient,
        packages: Url,
        repos: Url,
        mailto: Option<String>,
        per_page: u32,
    ) -> Self {
        Self {
            http,
            packages,
            repos,
            mailto: mailto.filter(|m| !m.trim().is_empty()),
            per_page: per_page.clamp(1, 1000),
        }
    }

    /// The packages service's registry holding `ecosystem`'s packages.
    fn registry(package: &PackageRef) -> Result<&'static str, ProviderError> {
        Ok(match package.ecosystem {
            Ecosystem::Npm => "npmjs.org",
            Ecosystem::Pypi => "pypi.org",
            Ecosystem::Cargo => "crates.io",
            Ecosystem::Go => "proxy.golang.org",
            Ecosystem::Rubygems => "rubygems.org",
            Ecosystem::Maven => "repo1.maven.org",
            Ecosystem::Packagist => "packagist.org",
            Ecosystem::Nuget => "nuget.org",
            Ecosystem::Hex => "hex.pm",
            Ecosystem::Pub => "pub.dev",
            Ecosystem::Swiftpm => "swiftpackageindex.com",
            Ecosystem::Cocoapods => "cocoapods.org",
            Ecosystem::Actions => {
                return Err(ProviderError::NotFound {
                    provider: Self::NAME.into(),
                    what: format!("{package} (no packages registry for GitHub Actions)"),
                });
            }
        })
    }

    /// Adds the polite `mailto` parameter unless the URL (a `Link` target) has it.
    fn polite(&self, mut url: Url) -> Url {
        if let Some(mailto) = &self.mailto
            && !url.query_pairs().any(|(key, _)| key == "mailto")
        {
            url.query_pairs_mut().append_pair("mailto", mailto);
        }
        url
    }

    /// A resumed page token must point back at the configured repos service.
    fn page_url(&self, token: &PageToken) -> Result<Url, ProviderError> {
        Url::parse(&token.0)
            .ok()
            .filter(|url| {
                url.origin() == self.repos.origin()
                    && url
                        .path()
                        .starts_with(self.repos.path().trim_end_matches('/'))
            })
            .ok_or_else(|| ProviderError::Config {
                provider: Self::NAME.into(),
                message: format!("page token `{}` is not a repos service URL", token.0),
            })
    }
}

#[async_trait]
impl DataProvider for Ecosystems {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Aggregator
    }

    async fn health(&self) -> Result<(), ProviderError> {
        self.http
            .probe(&self.polite(join_segments(&self.packages, &["registries"])))
            .await
    }

    async fn fetch_package(&self, package: &PackageRef) -> Result<PackageMetadata, ProviderError> {
        let registry = Self::registry(package)?;
        let url = self.polite(join_segments(
            &self.packages,
            &["registries", registry, "packages", package.name.trim()],
        ));
        let found: Package = self.http.get_json(&url, &package.to_string()).await?;
        let owner_links = found
            .repo_metadata
            .and_then(|r| r.owner_record)
            .map(|o| o.funding_links)
            .unwrap_or_default();
        let funding: Vec<FundingLink> = found
            .funding_links
            .iter()
            .chain(&owner_links)
            .filter_map(|url| funding_link(None, url))
            .collect();
        Ok(PackageMetadata {
            package: package.clone(),
            description: non_empty(found.description.as_deref()),
            homepage_url: non_empty(found.homepage.as_deref()),
            repository_url: found.repository_url.as_deref().and_then(repository_url),
            latest_version: non_empty(found.latest_release_number.as_deref()),
            funding: dedup(funding),
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
        let url = match page {
            Some(token) => self.page_url(token)?,
            None => {
                let mut url = join_segments(
                    &self.repos,
                    &[
                        "usage",
                        package.ecosystem.as_str(),
                        package.name.trim(),
                        "dependencies",
                    ],
                );
                url.query_pairs_mut()
                    .append_pair("page", "1")
                    .append_pair("per_page", &self.per_page.to_string());
                self.polite(url)
            }
        };
        let page = self
            .http
            .get_json_page::<Vec<Dependency>>(&url, &format!("dependents of {package}"), None)
            .await?;
        let full = page.value.len() >= self.per_page as usize;
        let mut repositories: Vec<_> = page
            .value
            .iter()
            .filter_map(|dependency| {
                let repo = dependency.repository.as_ref()?;
                let host = repo
                    .host
                    .as_ref()
                    .and_then(|h| h.url.as_deref().or(h.name.as_deref()))
                    .map_or_else(|| "github.com".to_owned(), host_name);
                ListedRepository {
                    host: &host,
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
        // One repository can depend on the package from several manifests.
        let mut seen = std::collections::HashSet::new();
        repositories.retain(|r| seen.insert(r.repo.clone()));
        // Prefer the server's `Link`; without one, a full page means there may be more.
        let next = page
            .next
            .map(|next| self.polite(next))
            .or_else(|| full.then(|| next_page_number(&url)).flatten());
        Ok(RepositoryPage {
            repositories,
            next: next.map(|url| PageToken(url.to_string())),
        })
    }
}

/// `url` with its `page` parameter incremented.
fn next_page_number(url: &Url) -> Option<Url> {
    let current: u32 = url
        .query_pairs()
        .find(|(key, _)| key == "page")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(1);
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut next = url.clone();
    next.query_pairs_mut()
        .clear()
        .append_pair("page", &(current.checked_add(1)?).to_string())
        .extend_pairs(pairs);
    Some(next)
}
