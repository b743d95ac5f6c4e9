//! The trait every data source implements.

use async_trait::async_trait;
use wump_core::PackageRef;

use crate::{
    Capability, DiscoveryQuery, FileContent, FileTree, OwnerProfile, PackageMetadata, PageToken,
    ProviderError, RateLimitStatus, RepoRef, RepositoryPage,
};

/// What a provider is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// Hosts repositories and their files (GitHub, the local directory).
    RepositoryHost,
    /// A package registry (npm, PyPI, crates.io, …): package metadata.
    Registry,
    /// Knows who depends on what across registries (Libraries.io, ecosyste.ms).
    Aggregator,
}

/// A source of repositories, files, owners and packages. Capabilities a provider lacks keep
/// their default, which answers [`ProviderError::Unsupported`].
#[async_trait]
pub trait DataProvider: Send + Sync + std::fmt::Debug {
    /// The name it is configured under (`github`, `local`, `npm`, …).
    fn name(&self) -> &str;

    /// What it is for.
    fn kind(&self) -> ProviderKind;

    /// Whether it serves repositories on `host` (`github.com`, `gitlab.com`, a
    /// self-managed instance's host): how the worker finds a repository's provider.
    fn serves_host(&self, host: &str) -> bool {
        let _ = host;
        false
    }

    /// Whether it can be used right now (reachable, credentials accepted).
    async fn health(&self) -> Result<(), ProviderError>;

    /// Remaining quota per bucket, as last seen (no request is made).
    fn rate_limit_status(&self) -> Vec<RateLimitStatus> {
        Vec::new()
    }

    /// One page of repositories matching `query`, from `page` (`None`: the first).
    async fn discover_repositories(
        &self,
        query: &DiscoveryQuery,
        page: Option<&PageToken>,
    ) -> Result<RepositoryPage, ProviderError> {
        let _ = (query, page);
        Err(self.unsupported(Capability::DiscoverRepositories))
    }

    /// Every file of `repo` at `revision` (`None`: the default branch).
    async fn list_files(
        &self,
        repo: &RepoRef,
        revision: Option<&str>,
    ) -> Result<FileTree, ProviderError> {
        let _ = (repo, revision);
        Err(self.unsupported(Capability::ListFiles))
    }

    /// One file's contents, refusing files over `max_bytes` with [`ProviderError::TooLarge`].
    async fn fetch_file(
        &self,
        repo: &RepoRef,
        path: &str,
        revision: Option<&str>,
        max_bytes: u64,
    ) -> Result<FileContent, ProviderError> {
        let _ = (repo, path, revision, max_bytes);
        Err(self.unsupported(Capability::FetchFile))
    }

    /// An organization's or user's profile and funding.
    async fn fetch_owner(&self, login: &str) -> Result<OwnerProfile, ProviderError> {
        let _ = login;
        Err(self.unsupported(Capability::FetchOwner))
    }

    /// A package's metadata and funding.
    async fn fetch_package(&self, package: &PackageRef) -> Result<PackageMetadata, ProviderError> {
        let _ = package;
        Err(self.unsupported(Capability::FetchPackage))
    }

    /// The error a capability this provider lacks answers with.
    fn unsupported(&self, capability: Capability) -> ProviderError {
        ProviderError::Unsupported {
            provider: self.name().to_owned(),
            capability,
        }
    }
}
