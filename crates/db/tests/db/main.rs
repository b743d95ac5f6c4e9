//! Integration tests of the data layer against a real PostgreSQL server (see
//! `wump_db::test_support`): one test binary, one fresh database per test.

mod edges;
mod jobs;
mod listings;
mod migrations;
mod schema;
mod tls;
mod typed_columns;
mod unavailable;
mod upserts;
mod valkey;

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;
use wump_core::{DependencyKind, Ecosystem, OrganizationKind};
use wump_db::{
    AsyncPgConnection,
    edges::EdgeInput,
    tables::{
        organizations::{self, OrganizationInput},
        packages,
        repositories::{self, RepositoryInput},
    },
};

// `packages` is both the table module imported above and the helper below (modules and
// functions live in different namespaces): `use crate::packages` brings both.

/// An organization on the test host.
pub async fn organization(conn: &mut AsyncPgConnection, login: &str) -> Uuid {
    let input = OrganizationInput {
        host: "github.com".into(),
        login: login.into(),
        kind: OrganizationKind::Organization,
    };
    organizations::upsert(conn, &[input]).await.unwrap()[0]
}

/// A repository input with the given owner and attributes, everything else empty.
pub fn repository_input(
    organization_id: Uuid,
    full_name: &str,
    stars: i32,
    pushed_at: Option<DateTime<Utc>>,
) -> RepositoryInput {
    RepositoryInput {
        host: "github.com".into(),
        full_name: full_name.into(),
        organization_id,
        description: None,
        language: None,
        default_branch: Some("main".into()),
        stars,
        forks: 0,
        archived: false,
        fork: false,
        pushed_at,
        change_token: pushed_at.map(|t| t.to_rfc3339()),
    }
}

/// Upserts one repository and returns its id.
pub async fn repository(conn: &mut AsyncPgConnection, input: RepositoryInput) -> Uuid {
    repositories::upsert(conn, &[input]).await.unwrap()[0].id
}

/// Package ids for npm packages with these names.
pub async fn packages(conn: &mut AsyncPgConnection, names: &[&str]) -> Vec<Uuid> {
    let input: Vec<(Ecosystem, &str)> = names.iter().map(|n| (Ecosystem::Npm, *n)).collect();
    packages::upsert(conn, &input).await.unwrap()
}

/// An edge to `package_id` of the given kinds.
pub fn edge(package_id: Uuid, kinds: &[DependencyKind]) -> EdgeInput {
    EdgeInput {
        package_id,
        kinds: kinds.iter().copied().collect::<BTreeSet<_>>(),
        requirement: "^1.0.0".into(),
        resolved_version: None,
        direct: Some(true),
        manifest_paths: vec!["package.json".into()],
    }
}

/// A fixed instant `days` days after 2026-01-01.
pub fn day(days: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::days(days)
}
