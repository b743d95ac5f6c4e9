//! The parts of GitLab's REST API v4 payloads wump reads, with GitLab's field names.

use serde::Deserialize;

/// A project as `GET /projects`, `/groups/:id/projects`, `/users/:id/projects` and
/// `GET /projects/:id` describe it.
#[derive(Debug, Deserialize)]
pub(crate) struct Project {
    /// The project's URL name (`path_with_namespace` ends in it).
    pub(crate) path: String,
    pub(crate) path_with_namespace: String,
    pub(crate) namespace: Namespace,
    pub(crate) description: Option<String>,
    pub(crate) default_branch: Option<String>,
    #[serde(default)]
    pub(crate) star_count: u32,
    #[serde(default)]
    pub(crate) forks_count: u32,
    #[serde(default)]
    pub(crate) archived: bool,
    /// Set on forks (present only when the fork's source is visible).
    pub(crate) forked_from_project: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) empty_repo: bool,
    pub(crate) last_activity_at: Option<String>,
    pub(crate) visibility: Option<String>,
}

/// Where a project lives: a group (maybe nested) or a user.
#[derive(Debug, Deserialize)]
pub(crate) struct Namespace {
    /// `group` or `user`.
    pub(crate) kind: String,
    /// `group/subgroup` for nested groups.
    pub(crate) full_path: String,
}

/// `GET /groups/:id`.
#[derive(Debug, Deserialize)]
pub(crate) struct Group {
    pub(crate) full_path: String,
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
}

/// `GET /users?username=` (a list) and `GET /users/:id`.
#[derive(Debug, Deserialize)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) username: String,
    pub(crate) name: Option<String>,
    pub(crate) bio: Option<String>,
    pub(crate) website_url: Option<String>,
}

/// `GET /projects/:id/repository/commits/:sha`.
#[derive(Debug, Deserialize)]
pub(crate) struct Commit {
    pub(crate) id: String,
}

/// One entry of `GET /projects/:id/repository/tree`.
#[derive(Debug, Deserialize)]
pub(crate) struct TreeItem {
    pub(crate) path: String,
    /// `blob`, `tree` or `commit` (a submodule).
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) mode: Option<String>,
}
