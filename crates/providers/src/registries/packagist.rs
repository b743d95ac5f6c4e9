//! Packagist through Composer v2 metadata: `GET /p2/{vendor}/{name}.json`, whose
//! `packages[name]` lists tagged releases newest first (later entries minified).
//! `description`, `homepage`, `source.url`, `version` and `funding[]` ({type, url}) of
//! the newest.

use std::{collections::HashMap, time::Duration};

use async_trait::async_trait;
use serde::Deserialize;
use url::Url;
use wump_core::{Ecosystem, PackageRef};

use super::{dedup, expect_ecosystem, funding_link, non_empty, repository_url};
use crate::{
    DataProvider, PackageMetadata, ProviderError, ProviderKind,
    http::{HttpClient, join_segments},
};

/// The PHP package repository.
#[derive(Debug, Clone)]
pub struct Packagist {
    http: HttpClient,
    base: Url,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    packages: HashMap<String, Vec<Release>>,
}

#[derive(Debug, Deserialize)]
struct Release {
    description: Option<String>,
    homepage: Option<String>,
    version: Option<String>,
    source: Option<Source>,
    #[serde(default)]
    funding: Vec<Funding>,
}

#[derive(Debug, Deserialize)]
struct Source {
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Funding {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
}

impl Packagist {
    pub const NAME: &'static str = "packagist";
    pub const DEFAULT_URL: &'static str = "https://repo.packagist.org/";
    /// The p2 files are static and cached; stay modest anyway.
    pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_millis(100);

    /// The Composer repository at `base`.
    pub fn new(http: HttpClient, base: Url) -> Self {
        Self { http, base }
    }
}

#[async_trait]
impl DataProvider for Packagist {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Registry
    }

    async fn health(&self) -> Result<(), ProviderError> {
        self.http
            .probe(&join_segments(&self.base, &["packages.json"]))
            .await
    }

    async fn fetch_package(&self, package: &PackageRef) -> Result<PackageMetadata, ProviderError> {
        expect_ecosystem(Self::NAME, package, Ecosystem::Packagist)?;
        let name = package.normalized_name();
        let (vendor, project) = name
            .split_once('/')
            .filter(|(v, p)| !v.is_empty() && !p.is_empty() && !p.contains('/'))
            .ok_or_else(|| ProviderError::NotFound {
                provider: Self::NAME.into(),
                what: format!("{package} (not vendor/name)"),
            })?;
        let file = format!("{project}.json");
        let url = join_segments(&self.base, &["p2", vendor, &file]);
        let mut doc: Metadata = self.http.get_json(&url, &package.to_string()).await?;
        let newest = doc
            .packages
            .remove(&name)
            .and_then(|releases| releases.into_iter().next());
        let Some(newest) = newest else {
            // Known to Packagist but without a tagged release.
            return Ok(PackageMetadata {
                package: package.clone(),
                description: None,
                homepage_url: None,
                repository_url: None,
                latest_version: None,
                funding: Vec::new(),
            });
        };
        let funding = newest
            .funding
            .iter()
            .filter_map(|f| funding_link(f.kind.as_deref(), f.url.as_deref()?))
            .collect();
        Ok(PackageMetadata {
            package: package.clone(),
            description: non_empty(newest.description.as_deref()),
            homepage_url: non_empty(newest.homepage.as_deref()),
            repository_url: newest
                .source
                .and_then(|s| s.url)
                .as_deref()
                .and_then(repository_url),
            latest_version: non_empty(newest.version.as_deref()),
            funding: dedup(funding),
        })
    }
}
