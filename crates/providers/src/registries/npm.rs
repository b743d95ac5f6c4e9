//! The npm registry: the packument at `GET /{name}` (scoped names as `@scope%2Fname`).
//! Top-level `description`, `homepage`, `repository` (a string or `{type, url}`) and
//! `dist-tags.latest`; `funding` lives in each version's manifest, so it is read from the
//! latest version's.

use std::{collections::HashMap, time::Duration};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use url::Url;
use wump_core::{Ecosystem, PackageRef};

use super::{dedup, expect_ecosystem, non_empty, npm_style_funding, repository_url};
use crate::{
    DataProvider, PackageMetadata, ProviderError, ProviderKind,
    http::{HttpClient, join_segments},
};

/// npm's public registry.
#[derive(Debug, Clone)]
pub struct Npm {
    http: HttpClient,
    base: Url,
}

#[derive(Debug, Deserialize)]
struct Packument {
    description: Option<String>,
    homepage: Option<String>,
    repository: Option<Value>,
    #[serde(rename = "dist-tags", default)]
    dist_tags: HashMap<String, String>,
    #[serde(default)]
    versions: HashMap<String, VersionManifest>,
}

#[derive(Debug, Deserialize)]
struct VersionManifest {
    description: Option<String>,
    homepage: Option<String>,
    repository: Option<Value>,
    funding: Option<Value>,
}

impl Npm {
    pub const NAME: &'static str = "npm";
    pub const DEFAULT_URL: &'static str = "https://registry.npmjs.org/";
    /// npm publishes no hard limit for reads; stay modest.
    pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_millis(100);

    /// The registry at `base`.
    pub fn new(http: HttpClient, base: Url) -> Self {
        Self { http, base }
    }
}

/// `repository` as npm writes it: `"o/r"`, `"github:o/r"` or `{ "type": "git", "url": … }`.
fn repository(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(url) => repository_url(url),
        Value::Object(map) => map
            .get("url")
            .and_then(Value::as_str)
            .and_then(repository_url),
        _ => None,
    }
}

#[async_trait]
impl DataProvider for Npm {
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
        expect_ecosystem(Self::NAME, package, Ecosystem::Npm)?;
        let url = join_segments(&self.base, &[package.name.trim()]);
        let doc: Packument = self.http.get_json(&url, &package.to_string()).await?;
        let latest_version = doc.dist_tags.get("latest").cloned();
        let latest = latest_version.as_ref().and_then(|v| doc.versions.get(v));
        Ok(PackageMetadata {
            package: package.clone(),
            description: non_empty(doc.description.as_deref())
                .or_else(|| latest.and_then(|l| non_empty(l.description.as_deref()))),
            homepage_url: non_empty(doc.homepage.as_deref())
                .or_else(|| latest.and_then(|l| non_empty(l.homepage.as_deref()))),
            repository_url: repository(doc.repository.as_ref())
                .or_else(|| latest.and_then(|l| repository(l.repository.as_ref()))),
            latest_version,
            funding: dedup(
                latest
                    .and_then(|l| l.funding.as_ref())
                    .map(npm_style_funding)
                    .unwrap_or_default(),
            ),
        })
    }
}
