//! What can go wrong when asking a provider, typed so the worker can tell "retry later"
//! from "this will never work".

use std::{fmt, time::Duration};

/// A provider capability (see [`crate::DataProvider`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    DiscoverRepositories,
    ListFiles,
    FetchFile,
    FetchOwner,
    FetchPackage,
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Capability::DiscoverRepositories => "discover repositories",
            Capability::ListFiles => "list repository files",
            Capability::FetchFile => "fetch files",
            Capability::FetchOwner => "fetch owner profiles",
            Capability::FetchPackage => "fetch package metadata",
        })
    }
}

/// A failed provider call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider cannot do this at all.
    #[error("{provider} cannot {capability}")]
    Unsupported {
        provider: String,
        capability: Capability,
    },
    /// The repository, file, owner or package does not exist (any more).
    #[error("{provider}: not found: {what}")]
    NotFound { provider: String, what: String },
    /// The provider asked us to wait; nothing was sent that it would have refused.
    #[error("{provider}: rate limited, retry in {retry_after:?}")]
    RateLimited {
        provider: String,
        retry_after: Duration,
    },
    /// The provider failed (5xx) after our bounded retries.
    #[error("{provider}: server error {status} after retries: {message}")]
    Upstream {
        provider: String,
        status: u16,
        message: String,
    },
    /// The provider could not be reached or timed out, after our bounded retries.
    #[error("{provider}: network error: {message}")]
    Network { provider: String, message: String },
    /// The provider answered something we cannot read.
    #[error("{provider}: malformed response: {message}")]
    Malformed { provider: String, message: String },
    /// The provider refused the request itself (a 4xx other than authentication or not
    /// found, e.g. an invalid search query): sending it again cannot help.
    #[error("{provider}: request rejected ({status}): {message}")]
    Rejected {
        provider: String,
        status: u16,
        message: String,
    },
    /// Credentials are missing, wrong or lack permission.
    #[error("{provider}: credentials rejected ({status})")]
    Unauthorized { provider: String, status: u16 },
    /// A file is larger than the caller allows.
    #[error("{path} is {size} bytes, over the {limit}-byte limit")]
    TooLarge { path: String, size: u64, limit: u64 },
    /// The provider is configured wrongly (e.g. a missing root directory).
    #[error("{provider}: configuration: {message}")]
    Config { provider: String, message: String },
}

impl ProviderError {
    /// Whether trying again later (or another provider) cannot help: retrying a job that
    /// failed this way only wastes quota.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            ProviderError::Unsupported { .. }
                | ProviderError::NotFound { .. }
                | ProviderError::Rejected { .. }
                | ProviderError::TooLarge { .. }
                | ProviderError::Config { .. }
        )
    }

    /// How long the provider asked us to wait, when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}
