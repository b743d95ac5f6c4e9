//! The parts of Bitbucket Cloud's API 2.0 payloads wump reads, with Bitbucket's field names.

use serde::Deserialize;

/// Every listing: `{"pagelen", "page", "size", "next", "values"}`. `page` and `size` are
/// optional (Bitbucket leaves them out where counting is costly); paging follows `next`.
#[derive(Debug, Deserialize)]
pub(crate) struct Page<T> {
    #[serde(default = "Vec::new")]
    pub(crate) values: Vec<T>,
    /// The next page's full URL; absent on the last.
    pub(crate) next: Option<String>,
}

/// A repository as `GET /repositories`, `/repositories/{workspace}` and
/// `/repositories/{workspace}/{repo_slug}` describe it.
#[derive(Debug, Deserialize)]
pub(crate) struct Repository {
    /// `workspace/repo_slug`.
    pub(crate) full_name: String,
    pub(crate) description: Option<String>,
    /// Lower-case and free-form (`javascript`, `python`); often empty.
    pub(crate) language: Option<String>,
    #[serde(default)]
    pub(crate) is_private: bool,
    /// `null` for an empty repository.
    pub(crate) mainbranch: Option<Branch>,
    /// Set on forks: the repository this one was forked from.
    pub(crate) parent: Option<serde_json::Value>,
    pub(crate) owner: Option<Account>,
    /// Moves on pushes (and on settings changes).
    pub(crate) updated_on: Option<String>,
}

/// `{"type": "branch", "name": "main"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Branch {
    pub(crate) name: String,
}

/// A repository's owner: `type` is `team` for a team's workspace, `user` for a person's.
#[derive(Debug, Deserialize)]
pub(crate) struct Account {
    #[serde(rename = "type")]
    pub(crate) kind: String,
}

/// `GET /workspaces/{workspace}`: no description, website or avatar text beyond its name.
#[derive(Debug, Deserialize)]
pub(crate) struct Workspace {
    pub(crate) slug: String,
    pub(crate) name: Option<String>,
}

/// `GET /repositories/{workspace}/{repo_slug}/commit/{revision}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Commit {
    pub(crate) hash: String,
}

/// One entry of `GET /repositories/{workspace}/{repo_slug}/src/{commit}/?max_depth=`.
#[derive(Debug, Deserialize)]
pub(crate) struct SrcEntry {
    /// `commit_file` or `commit_directory`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) path: String,
    #[serde(default)]
    pub(crate) size: u64,
    /// `link` (a symlink), `subrepository` (a submodule), `executable`, `binary`, `lfs`.
    #[serde(default)]
    pub(crate) attributes: Vec<String>,
}
