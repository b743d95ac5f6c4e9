//! crates.io: `GET /api/v1/crates/{name}`, `crate.description`, `homepage`, `repository`
//! and `max_stable_version`. Its crawler policy asks for at most one request a second
//! and a User-Agent naming who to contact; both are kept.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use url::Url;
use wump_core::{Ecosystem, PackageRef};

use super::{expect_ecosystem, non_empty, repository_url};
use crate::{
    DataProvider, PackageMetadata, ProviderError, ProviderKind,
    http::{HttpClient, join_segments},
};

/// The Rust package registry.
#[derive(Debug, Clone)]
pub struct CratesIo {
    http: HttpClient,
    base: Url,
}

#[derive(Debug, Deserialize)]
struct Response {
    #[serde(rename = "crate")]
    krate: Crate,
}

#[derive(Debug, Deserialize)]
struct Crate {
    description: Option<String>,
    homepage: Option<String>,
    repository: Option<String>,
    max_stable_version: Option<String>,
    max_version: Option<String>,
}

impl CratesIo {
    pub const NAME: &'static str = "crates.io";
    pub const DEFAULT_URL: &'static str = "https://crates.io/";
    /// <https://crates.io/data-access>: "a maximum of 1 request per second".
    pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(1);

    /// The registry at `base` (the API is under `/api/v1/`).
    pub fn new(http: HttpClient, base: Url) -> Self {
        Self { http, base }
    }
}

#[async_trait]
impl DataProvider for CratesIo {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Registry
    }

    async fn health(&self) -> Result<(), ProviderError> {
        self.http
            .probe(&join_segments(&self.base, &["api", "v1", "summary"]))
            .await
    }

    async fn fetch_package(&self, package: &PackageRef) -> Result<PackageMetadata, ProviderError> {
        expect_ecosystem(Self::NAME, package, Ecosystem::Cargo)?;
        let url = join_segments(&self.base, &["api", "v1", "crates", package.name.trim()]);
        let Response { krate } = self.http.get_json(&url, &package.to_string()).await?;
        Ok(PackageMetadata {
            package: package.clone(),
            description: non_empty(krate.description.as_deref()),
            homepage_url: non_empty(krate.homepage.as_deref()),
            repository_url: krate.repository.as_deref().and_then(repository_url),
            latest_version: non_empty(krate.max_stable_version.as_deref())
                .or_else(|| non_empty(krate.max_version.as_deref())),
            funding: Vec::new(),
        })
    }
}
