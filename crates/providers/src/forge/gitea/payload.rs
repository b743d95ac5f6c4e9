//! The parts of Gitea's and Forgejo's API v1 payloads wump reads, with their field names.

use serde::Deserialize;

/// `GET /repos/search`: `{"ok": true, "data": [...]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct SearchResults {
    #[serde(default)]
    pub(crate) ok: bool,
    #[serde(default)]
    pub(crate) data: Vec<Repository>,
}

/// A repository as the search, the owner listings and `GET /repos/{owner}/{repo}`
/// describe it.
#[derive(Debug, Deserialize)]
pub(crate) struct Repository {
    pub(crate) name: String,
    pub(crate) owner: User,
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) fork: bool,
    #[serde(default)]
    pub(crate) archived: bool,
    #[serde(default)]
    pub(crate) empty: bool,
    #[serde(default)]
    pub(crate) private: bool,
    #[serde(default)]
    pub(crate) stars_count: u32,
    #[serde(default)]
    pub(crate) forks_count: u32,
    pub(crate) language: Option<String>,
    pub(crate) default_branch: Option<String>,
    pub(crate) updated_at: Option<String>,
}

/// A user or organization (`GET /users/{username}`, a repository's `owner`).
#[derive(Debug, Deserialize)]
pub(crate) struct User {
    /// The login (Gitea sends it again as `username`).
    pub(crate) login: String,
    pub(crate) full_name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) website: Option<String>,
}

/// `GET /orgs/{org}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Organization {
    /// The organization's login (Gitea sends it again as `username`).
    pub(crate) name: String,
    pub(crate) full_name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) website: Option<String>,
}

/// `GET /repos/{owner}/{repo}/branches/{branch}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Branch {
    pub(crate) commit: BranchCommit,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BranchCommit {
    pub(crate) id: String,
}

/// `GET /repos/{owner}/{repo}/git/trees/{sha}?recursive=true&page=&per_page=`.
#[derive(Debug, Deserialize)]
pub(crate) struct Tree {
    #[serde(default)]
    pub(crate) tree: Vec<TreeItem>,
    /// More entries than this page holds.
    #[serde(default)]
    pub(crate) truncated: bool,
    #[serde(default)]
    pub(crate) page: u32,
    #[serde(default)]
    pub(crate) total_count: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TreeItem {
    pub(crate) path: String,
    pub(crate) mode: Option<String>,
    /// `blob`, `tree` or `commit` (a submodule).
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) size: Option<u64>,
}
