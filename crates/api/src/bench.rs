//! Benchmark-only pieces (feature `bench`, used by `just bench-api`, never in a release
//! image): a seeding command for a package with many dependents, and two routes that answer
//! its first page of dependents, one through the response cache and one straight from
//! PostgreSQL, so the cache's worth can be measured against the same query and the same
//! JSON.

use std::collections::BTreeSet;

use diesel::{OptionalExtension, QueryableByName, sql_types::Text};
use diesel_async::RunQueryDsl;
use secrecy::{ExposeSecret, SecretString};

use actix_web::{HttpRequest, HttpResponse, get, web};
use anyhow::Context;
use serde::Serialize;
use uuid::Uuid;
use wump_core::{DependencyKind, Ecosystem, OrganizationKind, Settings};
use wump_db::{
    edges::EdgeInput,
    tables::{organizations::OrganizationInput, packages, repositories::RepositoryInput},
    views::{self, DependentsQuery},
};

use crate::{
    cache::{CacheClass, Fresh, Scope},
    problem::ApiError,
    state::AppState,
};

/// The benchmark's package.
pub const PACKAGE: &str = "bench-serde";

/// Registers `/bench/dependents` (cached) and `/bench/dependents/uncached`.
pub fn configure(config: &mut web::ServiceConfig) {
    config.service(cached).service(uncached);
}

#[derive(Debug, Serialize)]
struct Row {
    repository: String,
    organization: String,
    stars: i32,
    kind: String,
    requirement: String,
}

async fn first_page(state: &AppState) -> Result<Vec<Row>, ApiError> {
    let mut conn = wump_db::pool::checkout(state.read_db()).await?;
    let package = packages::by_name(&mut conn, Ecosystem::Cargo, PACKAGE)
        .await?
        .ok_or_else(|| ApiError::NotFound("run `wump-api bench-seed` first".into()))?;
    let query = DependentsQuery {
        limit: 30,
        ..DependentsQuery::default()
    };
    let rows = views::dependents(&mut conn, package.id, &query).await?;
    Ok(rows
        .into_iter()
        .map(|d| Row {
            repository: d.repository.full_name,
            organization: d.organization_login,
            stars: d.repository.stars,
            kind: d.edge.kind.to_string(),
            requirement: d.edge.requirement,
        })
        .collect())
}

/// The first page of dependents, through the cache.
#[get("/bench/dependents")]
async fn cached(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let scope = Scope::Package {
        ecosystem: Ecosystem::Cargo,
        normalized_name: Ecosystem::Cargo.normalize_name(PACKAGE),
    };
    let answer = state
        .cache
        .get_or_load(&scope, CacheClass::Dependents, "per_page=30", || async {
            Ok(Fresh::from(first_page(&state).await?))
        })
        .await?;
    Ok(answer.respond(&request))
}

/// The same page from PostgreSQL every time.
#[get("/bench/dependents/uncached")]
async fn uncached(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(first_page(&state).await?))
}

/// Creates (when missing) and migrates the database `settings.database.url` names, then
/// gives [`PACKAGE`] `dependents` dependent repositories across 100 organizations, unless
/// it has them already.
pub async fn seed(settings: &Settings, dependents: usize) -> anyhow::Result<()> {
    create_database(settings).await?;
    wump_db::migrations::migrate(&settings.database)
        .await
        .context("migrating the benchmark database")?;
    let pool = wump_db::connect(&settings.database)?;
    let mut conn = wump_db::pool::checkout(&pool).await?;
    let package_id =
        wump_db::tables::packages::upsert(&mut conn, &[(Ecosystem::Cargo, PACKAGE)]).await?[0];
    let existing = views::dependents(
        &mut conn,
        package_id,
        &DependentsQuery {
            limit: i64::try_from(dependents).unwrap_or(i64::MAX),
            include_archived: true,
            include_forks: true,
            ..DependentsQuery::default()
        },
    )
    .await?
    .len();
    if existing >= dependents {
        tracing::info!(existing, "benchmark data already seeded");
        return Ok(());
    }
    let organizations: Vec<OrganizationInput> = (0..100)
        .map(|i| OrganizationInput {
            host: "github.com".into(),
            login: format!("bench-org-{i}"),
            kind: OrganizationKind::Organization,
        })
        .collect();
    let organization_ids =
        wump_db::tables::organizations::upsert(&mut conn, &organizations).await?;
    let edge = EdgeInput {
        package_id,
        kinds: BTreeSet::from([DependencyKind::Runtime]),
        requirement: "^1.0".into(),
        resolved_version: Some("1.0.200".into()),
        direct: Some(true),
        manifest_paths: vec!["Cargo.toml".into()],
    };
    for batch in (0..dependents).collect::<Vec<_>>().chunks(500) {
        let repositories: Vec<RepositoryInput> = batch
            .iter()
            .map(|i| RepositoryInput {
                host: "github.com".into(),
                full_name: format!("bench-org-{}/repo-{i}", i % 100),
                organization_id: organization_ids[i % 100],
                description: Some(format!("benchmark repository {i}")),
                language: Some("Rust".into()),
                default_branch: Some("main".into()),
                stars: i32::try_from((i * 7919) % 50_000).unwrap_or(0),
                forks: 0,
                archived: false,
                fork: false,
                pushed_at: None,
                change_token: Some(Uuid::new_v4().to_string()),
            })
            .collect();
        let upserted = wump_db::tables::repositories::upsert(&mut conn, &repositories).await?;
        for repository in upserted {
            wump_db::edges::replace_repository_edges(
                &mut conn,
                repository.id,
                std::slice::from_ref(&edge),
            )
            .await?;
        }
        tracing::info!(
            done = batch.last().map_or(0, |i| i + 1),
            "seeding dependents"
        );
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    datname: String,
}

/// `CREATE DATABASE` for the URL's database, through the server's `wump` database.
async fn create_database(settings: &Settings) -> anyhow::Result<()> {
    let url = settings.database.url.expose_secret();
    let base = url.split('?').next().unwrap_or(url);
    let (server, name) = base
        .rsplit_once('/')
        .context("database.url names no database")?;
    anyhow::ensure!(
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "the benchmark database name must be [A-Za-z0-9_]+"
    );
    let mut maintenance = settings.database.clone();
    maintenance.url = SecretString::from(format!("{server}/wump"));
    let mut conn = wump_db::pool::connect_once(&maintenance).await?;
    let exists = diesel::sql_query("SELECT datname FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(name)
        .get_result::<Name>(&mut conn)
        .await
        .optional()?;
    if exists.is_none() {
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}
