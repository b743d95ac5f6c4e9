//! What providers answer, independent of any one source's API.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use wump_core::{FundingLink, OrganizationKind, PackageRef, RepoFullName};

/// A repository on a host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RepoRef {
    /// `github.com`, `local`, …
    pub host: String,
    pub full_name: RepoFullName,
}

/// What to discover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum DiscoveryQuery {
    /// Everything the provider can enumerate (the local directory).
    All,
    /// A provider-specific search, e.g. GitHub's `stars:>1000 language:rust`.
    Search { query: String },
    /// Every repository of one owner.
    Owner { login: String },
    /// Repositories that depend on a package (aggregators).
    DependentsOf { package: PackageRef },
}

/// Where the next page of a discovery starts; opaque to callers, so a job can store it
/// and resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageToken(pub String);

/// One page of discovered repositories.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RepositoryPage {
    pub repositories: Vec<DiscoveredRepository>,
    /// `None` on the last page.
    pub next: Option<PageToken>,
}

/// An owner (organization or user) as a repository listing names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OwnerRef {
    pub login: String,
    pub kind: OrganizationKind,
}

/// A repository as a provider describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveredRepository {
    pub repo: RepoRef,
    pub owner: OwnerRef,
    pub description: Option<String>,
    pub language: Option<String>,
    pub default_branch: Option<String>,
    pub stars: u32,
    pub forks: u32,
    pub archived: bool,
    pub fork: bool,
    pub pushed_at: Option<DateTime<Utc>>,
    /// Moves whenever the repository's files may have changed (pushed_at, a tree SHA, a
    /// digest of local files): the worker re-parses only when it moved.
    pub change_token: Option<String>,
}

/// One file in a repository tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// `/`-separated, relative to the repository root.
    pub path: String,
    pub size: u64,
}

/// A repository's files at one revision.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileTree {
    /// The revision listed (commit or tree SHA, or a digest for local trees).
    pub revision: String,
    pub entries: Vec<TreeEntry>,
    /// The host cut the listing short (GitHub does past 100,000 entries).
    pub truncated: bool,
}

/// A file's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContent {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// An organization's or user's profile with the ways to fund it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OwnerProfile {
    pub login: String,
    pub kind: OrganizationKind,
    pub name: Option<String>,
    pub description: Option<String>,
    pub website_url: Option<String>,
    /// GitHub Sponsors (or similar) page, when the owner has one.
    pub sponsors_listing_url: Option<String>,
    /// From FUNDING.yml and the like.
    pub funding: Vec<FundingLink>,
    pub repositories_count: Option<u32>,
}

/// What a registry says about a package.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageMetadata {
    pub package: PackageRef,
    pub description: Option<String>,
    pub homepage_url: Option<String>,
    pub repository_url: Option<String>,
    pub latest_version: Option<String>,
    pub funding: Vec<FundingLink>,
}

/// Remaining quota in one of a provider's buckets (a token, a search bucket, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// Which bucket: e.g. `core (token 2)`, `search`.
    pub bucket: String,
    pub remaining: u32,
    pub limit: u32,
    pub reset_at: Option<DateTime<Utc>>,
}
