//! PyPI's JSON API: `GET /pypi/{name}/json`. `info.summary`, `info.home_page`,
//! `info.project_urls` (the source repository and any `Funding`/`Sponsor`/`Donate` link)
//! and `info.version`.

use std::{collections::BTreeMap, time::Duration};

use async_trait::async_trait;
use serde::Deserialize;
use url::Url;
use wump_core::{Ecosystem, FundingLink, PackageRef};

use super::{
    dedup, expect_ecosystem, funding_link, is_forge_repository, non_empty, repository_url,
};
use crate::{
    DataProvider, PackageMetadata, ProviderError, ProviderKind,
    http::{HttpClient, join_segments},
};

/// The Python Package Index.
#[derive(Debug, Clone)]
pub struct Pypi {
    http: HttpClient,
    base: Url,
}

#[derive(Debug, Deserialize)]
struct Project {
    info: Info,
}

#[derive(Debug, Deserialize)]
struct Info {
    summary: Option<String>,
    home_page: Option<String>,
    #[serde(default)]
    project_urls: Option<BTreeMap<String, Option<String>>>,
    version: Option<String>,
}

/// `project_urls` labels that name the source repository, compared without case, spaces,
/// `-` or `_`.
const SOURCE_LABELS: [&str; 8] = [
    "source",
    "sourcecode",
    "repository",
    "code",
    "github",
    "gitlab",
    "git",
    "sourcerepository",
];

impl Pypi {
    pub const NAME: &'static str = "pypi";
    pub const DEFAULT_URL: &'static str = "https://pypi.org/";
    /// PyPI serves the JSON API from its CDN; stay modest anyway.
    pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_millis(100);

    /// The index at `base` (the API is under `/pypi/`).
    pub fn new(http: HttpClient, base: Url) -> Self {
        Self { http, base }
    }
}

fn label(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

#[async_trait]
impl DataProvider for Pypi {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Registry
    }

    async fn health(&self) -> Result<(), ProviderError> {
        self.http.probe(&self.base).await
    }

    async fn fetch_package(&self, package: &PackageRef) -> Result<PackageMetadata, ProviderError> {
        expect_ecosystem(Self::NAME, package, Ecosystem::Pypi)?;
        let url = join_segments(&self.base, &["pypi", &package.normalized_name(), "json"]);
        let Project { info } = self.http.get_json(&url, &package.to_string()).await?;
        let urls: Vec<(String, String)> = info
            .project_urls
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(key, value)| Some((label(&key), non_empty(value.as_deref())?)))
            .collect();
        let home_page = non_empty(info.home_page.as_deref());
        let homepage_url = home_page.clone().or_else(|| {
            urls.iter()
                .find(|(key, _)| key == "homepage" || key == "home")
                .map(|(_, url)| url.clone())
        });
        let repository = urls
            .iter()
            .find(|(key, _)| SOURCE_LABELS.contains(&key.as_str()))
            .or_else(|| urls.iter().find(|(_, url)| is_forge_repository(url)))
            .map(|(_, url)| url.clone())
            .or_else(|| home_page.filter(|url| is_forge_repository(url)))
            .and_then(|url| repository_url(&url));
        let funding: Vec<FundingLink> = urls
            .iter()
            .filter(|(key, _)| ["fund", "sponsor", "donat"].iter().any(|w| key.contains(w)))
            .filter_map(|(_, url)| funding_link(None, url))
            .collect();
        Ok(PackageMetadata {
            package: package.clone(),
            description: non_empty(info.summary.as_deref()),
            homepage_url,
            repository_url: repository,
            latest_version: non_empty(info.version.as_deref()),
            funding: dedup(funding),
        })
    }
}
