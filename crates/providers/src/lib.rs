//! Data providers: where workers learn about repositories, their files, their owners and
//! packages. Providers never touch the database; the worker decides what to store.
//!
//! Every source implements [`DataProvider`]; a capability it lacks answers
//! [`ProviderError::Unsupported`]. A [`ProviderRegistry`] holds the configured providers by
//! name and kind and can try several in order ([`ProviderRegistry::fetch_with_fallback`]).

// The forge stand-ins' documented payloads are large `json!` literals.
#![recursion_limit = "256"]

pub mod aggregators;
pub mod backoff;
pub mod config;
mod error;
pub mod fleet;
pub mod forge;
#[cfg(feature = "test-support")]
pub mod forge_mock;
pub mod github;
pub mod http;
mod http_cache;
pub mod local;
pub mod metrics;
mod model;
mod provider;
pub mod registries;
mod registry;
#[cfg(feature = "test-support")]
pub mod test_mock;

pub use config::ProvidersConfig;
pub use error::{Capability, ProviderError};
pub use fleet::{FleetLimits, FleetPolicy, FleetStore};
pub use forge::{
    Forge, ForgeSettings, bitbucket::BitbucketProvider, gitea::GiteaProvider,
    gitlab::GitLabProvider,
};
pub use github::{GitHubConfig, GitHubProvider};
pub use http_cache::{CachedResponse, HttpCache, MemoryHttpCache};
pub use local::LocalProvider;
pub use model::{
    DiscoveredRepository, DiscoveryQuery, FileContent, FileTree, OwnerProfile, OwnerRef,
    PackageMetadata, PageToken, RateLimitStatus, RepoRef, RepositoryPage, TreeEntry,
};
pub use provider::{DataProvider, ProviderKind};
pub use registry::{Answered, ProviderRegistry};
