//! Rows as they are read from and written to the database.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;
use wump_core::FundingLink;

use crate::schema::{dependencies, organizations, packages, repositories};

/// A package known to wump, with its stored dependents counts.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = packages, check_for_backend(diesel::pg::Pg))]
pub struct Package {
    pub id: Uuid,
    pub ecosystem: String,
    pub name: String,
    pub normalized_name: String,
    pub description: Option<String>,
    pub homepage_url: Option<String>,
    pub repository_url: Option<String>,
    pub latest_version: Option<String>,
    pub funding: serde_json::Value,
    /// Repositories (neither archived nor forks) that depend on it.
    pub dependents_count: i32,
    /// Organizations owning those repositories.
    pub organizations_count: i32,
    pub metadata_refreshed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A GitHub organization or user (or the owner folder of the local provider).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = organizations, check_for_backend(diesel::pg::Pg))]
pub struct Organization {
    pub id: Uuid,
    pub host: String,
    pub login: String,
    pub kind: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub website_url: Option<String>,
    pub sponsors_listing_url: Option<String>,
    pub funding: serde_json::Value,
    pub repositories_count: i32,
    pub stars_total: i64,
    pub enriched_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A repository whose manifests wump reads.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = repositories, check_for_backend(diesel::pg::Pg))]
pub struct Repository {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub host: String,
    pub full_name: String,
    pub description: Option<String>,
    pub language: Option<String>,
    pub default_branch: Option<String>,
    pub stars: i32,
    pub forks: i32,
    pub archived: bool,
    pub fork: bool,
    pub pushed_at: Option<DateTime<Utc>>,
    pub change_token: Option<String>,
    pub parsed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When a parse last found it gone from its host; `None` while it exists.
    pub gone_at: Option<DateTime<Utc>>,
}

/// An edge: a repository depends on a package.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = dependencies, check_for_backend(diesel::pg::Pg))]
pub struct Dependency {
    pub package_id: Uuid,
    pub repository_id: Uuid,
    pub kind: String,
    pub kinds: Vec<String>,
    pub requirement: String,
    pub resolved_version: Option<String>,
    pub direct: Option<bool>,
    pub manifest_paths: Vec<String>,
    pub organization_id: Uuid,
    pub repo_stars: i32,
    pub repo_pushed_at: Option<DateTime<Utc>>,
    pub repo_archived: bool,
    pub repo_fork: bool,
}

/// Reads a stored JSON list of funding links, skipping entries that are not links.
pub fn funding_links(value: &serde_json::Value) -> Vec<FundingLink> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|link| serde_json::from_value(link.clone()).ok())
        .collect()
}

/// Encodes funding links for storage.
pub fn funding_json(links: &[FundingLink]) -> serde_json::Value {
    serde_json::Value::Array(
        links
            .iter()
            .map(|l| serde_json::json!({ "platform": l.platform, "url": l.url }))
            .collect(),
    )
}

/// One run of a background job.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = crate::schema::job_executions, check_for_backend(diesel::pg::Pg))]
pub struct JobExecution {
    pub id: Uuid,
    pub job_id: String,
    pub job_type: String,
    pub queue: String,
    pub attempt: i32,
    /// `running`, `completed` or `failed`.
    pub status: String,
    pub records_processed: i32,
    pub error: Option<String>,
    pub metadata: serde_json::Value,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}
