//! A repository and what it depends on.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use wump_db::views;

use super::{connection, organizations::HostParams};
use crate::{
    cache::{CacheClass, Fresh, Scope},
    params,
    problem::ApiError,
    state::AppState,
    views::RepositoryView,
};

/// A repository in the path: `/repositories/{owner}/{repo}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct RepositoryPath {
    /// The owning organization's or user's login.
    #[param(
        example = "rust-lang",
        pattern = "^[^/]+$",
        min_length = 1,
        max_length = 100
    )]
    owner: String,
    /// The repository's name.
    #[param(
        example = "crates.io",
        pattern = "^[^/]+$",
        min_length = 1,
        max_length = 100
    )]
    repo: String,
}

/// A repository and its dependencies, grouped by the manifest or lockfile declaring them.
#[utoipa::path(
    get,
    path = "/api/v1/repositories/{owner}/{repo}",
    tag = "repositories",
    operation_id = "get_repository",
    params(RepositoryPath, HostParams),
    responses((status = 200, description = "The repository", body = RepositoryView))
)]
#[get("/api/v1/repositories/{owner}/{repo}")]
pub(crate) async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<RepositoryPath>,
    query: crate::params::Query<HostParams>,
) -> Result<HttpResponse, ApiError> {
    let owner = params::login(&path.owner, "owner")?;
    let repo = params::login(&path.repo, "repo")?;
    let host = super::organizations::resolve_host(&state, &owner, query.host()).await?;
    let full_name = format!("{owner}/{repo}");
    let scope = Scope::Organization {
        host: host.clone(),
        login: owner.to_lowercase(),
    };
    let variant = format!("repository:{}", repo.to_lowercase());
    let cached = state
        .cache
        .get_or_load(&scope, CacheClass::Repository, &variant, || async {
            let mut conn = connection(&state).await?;
            let (repository, edges) =
                views::repository_with_dependencies(&mut conn, &host, &full_name)
                    .await?
                    .ok_or_else(|| {
                        ApiError::NotFound(format!("wump knows no repository `{full_name}`"))
                    })?;
            Ok(Fresh::from(RepositoryView::new(repository, edges)))
        })
        .await?;
    Ok(cached.respond(&req))
}
