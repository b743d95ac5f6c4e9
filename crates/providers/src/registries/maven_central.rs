//! Maven Central's search API: `GET /solrsearch/select?q=g:"<group>" AND a:"<artifact>"
//! &rows=1&wt=json`, `response.docs[0].latestVersion`. The search index carries no
//! description, homepage or funding (those live in the POM).

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use url::Url;
use wump_core::{Ecosystem, PackageRef};

use super::{expect_ecosystem, non_empty};
use crate::{
    DataProvider, PackageMetadata, ProviderError, ProviderKind,
    http::{HttpClient, join_segments},
};

/// Maven Central.
#[derive(Debug, Clone)]
pub struct MavenCentral {
    http: HttpClient,
    base: Url,
}

#[derive(Debug, Deserialize)]
struct Search {
    response: SearchResponse,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchResponse {
    num_found: u64,
    #[serde(default)]
    docs: Vec<Doc>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    g: String,
    a: String,
    latest_version: Option<String>,
}

impl MavenCentral {
    pub const NAME: &'static str = "maven-central";
    pub const DEFAULT_URL: &'static str = "https://search.maven.org/";
    /// The search service is shared and slow; keep to a few requests a second.
    pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_millis(250);

    /// The search service at `base` (the API is under `/solrsearch/select`).
    pub fn new(http: HttpClient, base: Url) -> Self {
        Self { http, base }
    }
}

#[async_trait]
impl DataProvider for MavenCentral {
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
        expect_ecosystem(Self::NAME, package, Ecosystem::Maven)?;
        let name = package.normalized_name();
        let not_found = || ProviderError::NotFound {
            provider: Self::NAME.into(),
            what: package.to_string(),
        };
        let (group, artifact) = name
            .split_once(':')
            .filter(|(g, a)| !g.is_empty() && !a.is_empty() && !a.contains(':'))
            .ok_or_else(not_found)?;
        let mut url = join_segments(&self.base, &["solrsearch", "select"]);
        url.query_pairs_mut()
            .append_pair("q", &format!("g:\"{group}\" AND a:\"{artifact}\""))
            .append_pair("rows", "1")
            .append_pair("wt", "json");
        let search: Search = self.http.get_json(&url, &package.to_string()).await?;
        let doc = search
            .response
            .docs
            .into_iter()
            .find(|d| d.g == group && d.a == artifact)
            .filter(|_| search.response.num_found > 0)
            .ok_or_else(not_found)?;
        Ok(PackageMetadata {
            package: package.clone(),
            description: None,
            homepage_url: None,
            repository_url: None,
            latest_version: non_empty(doc.latest_version.as_deref()),
            funding: Vec::new(),
        })
    }
}
