//! The parts of GitHub's REST and GraphQL payloads wump reads, with GitHub's field names.

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// `GET /search/repositories`.
#[derive(Debug, Deserialize)]
pub(crate) struct SearchResult {
    pub(crate) total_count: u64,
    #[serde(default)]
    pub(crate) incomplete_results: bool,
    pub(crate) items: Vec<Repository>,
}

/// A repository as the search, `/orgs/{org}/repos` and `/repos/{owner}/{repo}` describe it.
#[derive(Debug, Deserialize)]
pub(crate) struct Repository {
    pub(crate) name: String,
    pub(crate) owner: Account,
    pub(crate) html_url: Option<String>,
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) fork: bool,
    #[serde(default)]
    pub(crate) archived: bool,
    pub(crate) pushed_at: Option<String>,
    #[serde(default)]
    pub(crate) stargazers_count: u32,
    #[serde(default)]
    pub(crate) forks_count: u32,
    pub(crate) language: Option<String>,
    pub(crate) default_branch: Option<String>,
}

/// The `owner` of a repository.
#[derive(Debug, Deserialize)]
pub(crate) struct Account {
    pub(crate) login: String,
    /// `User`, `Organization` or `Bot`.
    #[serde(rename = "type", default)]
    pub(crate) kind: String,
}

/// `GET /users/{username}` (answers for organizations too).
#[derive(Debug, Deserialize)]
pub(crate) struct User {
    pub(crate) login: String,
    #[serde(rename = "type", default)]
    pub(crate) kind: String,
    pub(crate) name: Option<String>,
    pub(crate) blog: Option<String>,
    pub(crate) bio: Option<String>,
    /// Present on `/orgs/{org}`; kept in case a GitHub Enterprise answers with it.
    pub(crate) description: Option<String>,
    pub(crate) public_repos: Option<u32>,
}

/// `GET /repos/{owner}/{repo}/git/trees/{tree_sha}?recursive=1`.
#[derive(Debug, Deserialize)]
pub(crate) struct Tree {
    pub(crate) tree: Vec<TreeItem>,
    #[serde(default)]
    pub(crate) truncated: bool,
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

/// A GraphQL answer.
#[derive(Debug, Deserialize)]
pub(crate) struct GraphqlResponse<T> {
    pub(crate) data: Option<T>,
    #[serde(default)]
    pub(crate) errors: Vec<GraphqlError>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct GraphqlError {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) message: String,
}

/// `repositoryOwner(login:)` with the fields wump asks for.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraphqlOwner {
    #[serde(rename = "__typename")]
    pub(crate) typename: String,
    pub(crate) login: String,
    pub(crate) name: Option<String>,
    /// Organizations.
    pub(crate) description: Option<String>,
    /// Users.
    pub(crate) bio: Option<String>,
    pub(crate) website_url: Option<String>,
    #[serde(default)]
    pub(crate) has_sponsors_listing: bool,
    pub(crate) sponsors_listing: Option<SponsorsListing>,
    pub(crate) repositories: Option<Count>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SponsorsListing {
    pub(crate) url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Count {
    pub(crate) total_count: u32,
}

/// GitHub's timestamps (ISO 8601, `Z`).
pub(crate) fn timestamp(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
