//! RubyGems.org: `GET /api/v1/gems/{name}.json`. `info`, `homepage_uri`,
//! `source_code_uri` and `funding_uri` (top level, or in the gemspec's `metadata`), and
//! `version`.

use std::{collections::BTreeMap, time::Duration};

use async_trait::async_trait;
use serde::Deserialize;
use url::Url;
use wump_core::{Ecosystem, PackageRef};

use super::{
    dedup, expect_ecosystem, funding_link, is_forge_repository, non_empty, repository_url,
};
use crate::{
    DataProvider, PackageMetadata, ProviderError, ProviderKind,
    http::{HttpClient, join_segments},
};

/// The Ruby gem registry.
#[derive(Debug, Clone)]
pub struct Rubygems {
    http: HttpClient,
    base: Url,
}

#[derive(Debug, Deserialize)]
struct Gem {
    info: Option<String>,
    version: Option<String>,
    homepage_uri: Option<String>,
    source_code_uri: Option<String>,
    funding_uri: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, serde_json::Value>,
}

impl Rubygems {
    pub const NAME: &'static str = "rubygems";
    pub const DEFAULT_URL: &'static str = "https://rubygems.org/";
    /// RubyGems.org allows 10 API requests a second per address.
    pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_millis(150);

    /// The registry at `base` (the API is under `/api/v1/`).
    pub fn new(http: HttpClient, base: Url) -> Self {
        Self { http, base }
    }
}

#[async_trait]
impl DataProvider for Rubygems {
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
        expect_ecosystem(Self::NAME, package, Ecosystem::Rubygems)?;
        let file = format!("{}.json", package.name.trim());
        let url = join_segments(&self.base, &["api", "v1", "gems", &file]);
        let gem: Gem = self.http.get_json(&url, &package.to_string()).await?;
        let meta = |key: &str| non_empty(gem.metadata.get(key).and_then(|v| v.as_str()));
        let homepage = non_empty(gem.homepage_uri.as_deref());
        let repository = non_empty(gem.source_code_uri.as_deref())
            .or_else(|| meta("source_code_uri"))
            .or_else(|| homepage.clone().filter(|url| is_forge_repository(url)))
            .and_then(|url| repository_url(&url));
        let funding = [non_empty(gem.funding_uri.as_deref()), meta("funding_uri")]
            .into_iter()
            .flatten()
            .filter_map(|url| funding_link(None, &url))
            .collect();
        Ok(PackageMetadata {
            package: package.clone(),
            description: non_empty(gem.info.as_deref()),
            homepage_url: homepage,
            repository_url: repository,
            latest_version: non_empty(gem.version.as_deref()),
            funding: dedup(funding),
        })
    }
}
