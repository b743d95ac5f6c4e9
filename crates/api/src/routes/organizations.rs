//! An organization, its repositories and the packages it depends on.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use wump_db::{
    AsyncPgConnection,
    tables::{
        self,
        organizations::{self, Organization},
        repositories::Repository,
    },
    views::{self, OrganizationDependency},
};

use super::connection;
use crate::{
    cache::{CacheClass, Fresh, Scope},
    listing::{Listing, PageRequest},
    pagination::{self, Canonical, SortKey},
    params::{self, PerPage, Query},
    problem::ApiError,
    state::AppState,
    views::{
        OrganizationDependenciesPage, OrganizationDependencyView, OrganizationView,
        RepositoriesPage, RepositorySummary,
    },
};

/// An organization in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct OrganizationPath {
    /// The organization's (or user's) login, case-insensitive.
    #[param(
        example = "rust-lang",
        pattern = "^[^/]+$",
        min_length = 1,
        max_length = 100
    )]
    pub(crate) login: String,
}

/// Which host the login is on.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct HostParams {
    /// The forge, e.g. `github.com` (`local` for the local provider). Default: the host
    /// wump knows the login on, `github.com` first.
    #[param(
        example = "github.com",
        pattern = "^[A-Za-z0-9.:-]+$",
        max_length = 100
    )]
    pub(crate) host: Option<String>,
}

impl HostParams {
    /// The host asked for, if any.
    pub(crate) fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }
}

/// A page of an organization's listing, on a host.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct OrganizationPageParams {
    /// The forge, e.g. `github.com`. Default: the host wump knows the login on,
    /// `github.com` first.
    #[param(
        example = "github.com",
        pattern = "^[A-Za-z0-9.:-]+$",
        max_length = 100
    )]
    host: Option<String>,
    /// Page size, 1 to 100 (default 30).
    #[param(inline)]
    per_page: Option<PerPage>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The host of `login`: the one asked for, else the one wump knows it on (looked up
/// through the cache, so a database outage does not stop cached organization pages).
pub(crate) async fn resolve_host(
    state: &AppState,
    login: &str,
    given: Option<&str>,
) -> Result<String, ApiError> {
    if let Some(host) = given {
        return params::host(host);
    }
    let variant = format!("organization-host:{}", login.to_lowercase());
    let cached = state
        .cache
        .get_or_load(
            &Scope::Global,
            CacheClass::Organization,
            &variant,
            || async {
                let mut conn = connection(state).await?;
                let host = organizations::host_of_login(&mut conn, login)
                    .await?
                    .ok_or_else(|| not_found(login))?;
                Ok(Fresh::from(host))
            },
        )
        .await?;
    serde_json::from_slice(&cached.body).map_err(|e| ApiError::Internal(e.into()))
}

fn not_found(login: &str) -> ApiError {
    ApiError::NotFound(format!("wump knows no organization or user `{login}`"))
}

pub(crate) async fn find_organization(
    conn: &mut AsyncPgConnection,
    host: &str,
    login: &str,
) -> Result<Organization, ApiError> {
    organizations::by_login(conn, host, login)
        .await?
        .ok_or_else(|| not_found(login))
}

/// The validated path and host of an organization request, and its cache scope.
pub(crate) async fn organization(
    state: &AppState,
    path: &OrganizationPath,
    host: Option<&str>,
) -> Result<(String, String, Scope), ApiError> {
    let login = params::login(&path.login, "login")?;
    let host = resolve_host(state, &login, host).await?;
    let scope = Scope::Organization {
        host: host.clone(),
        login: login.to_lowercase(),
    };
    Ok((login, host, scope))
}

/// An organization (or user): profile, funding, repositories and stars.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{login}",
    tag = "organizations",
    operation_id = "get_organization",
    params(OrganizationPath, HostParams),
    responses((status = 200, description = "The organization", body = OrganizationView))
)]
#[get("/api/v1/organizations/{login}")]
pub(crate) async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<OrganizationPath>,
    query: Query<HostParams>,
) -> Result<HttpResponse, ApiError> {
    let (login, host, scope) = organization(&state, &path, query.host.as_deref()).await?;
    let cached = state
        .cache
        .get_or_load(&scope, CacheClass::Organization, "organization", || async {
            let mut conn = connection(&state).await?;
            let organization = find_organization(&mut conn, &host, &login).await?;
            Ok(Fresh::from(OrganizationView::from(organization)))
        })
        .await?;
    Ok(cached.respond(&req))
}

impl OrganizationPageParams {
    /// The page of `listing` (cached under `route`) on `host`; the host is part of the
    /// canonical query only when it was asked for.
    fn page(
        &self,
        route: &'static str,
        sort: &'static str,
        host: &str,
    ) -> Result<PageRequest, ApiError> {
        let mut canonical = Canonical::default();
        if self.host.is_some() {
            canonical.push("host", host);
        }
        let listing = Listing {
            class: CacheClass::Organization,
            route,
            sort,
        };
        PageRequest::new(listing, canonical, self.per_page, self.cursor.clone())
    }
}

/// The `int4` sort value (stars, a count) and id where the previous page ended.
fn after_count(page: &PageRequest) -> Result<Option<(i32, Uuid)>, ApiError> {
    page.after_number()?
        .map(|(count, id)| Ok((pagination::int4(count)?, id)))
        .transpose()
}

/// An organization's repositories, most-starred first.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{login}/repositories",
    tag = "organizations",
    operation_id = "list_organization_repositories",
    params(OrganizationPath, OrganizationPageParams),
    responses((status = 200, description = "A page of repositories", body = RepositoriesPage))
)]
#[get("/api/v1/organizations/{login}/repositories")]
pub(crate) async fn repositories(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<OrganizationPath>,
    query: Query<OrganizationPageParams>,
) -> Result<HttpResponse, ApiError> {
    let (login, host, scope) = organization(&state, &path, query.host.as_deref()).await?;
    let page = query.page("repositories", "organization-repositories:stars", &host)?;
    let (after, limit) = (after_count(&page)?, page.limit());
    let load = {
        let state = state.clone();
        move || {
            let (state, host, login) = (state.clone(), host.clone(), login.clone());
            async move {
                let mut conn = connection(&state).await?;
                let organization = find_organization(&mut conn, &host, &login).await?;
                let rows =
                    tables::repositories::of_organization(&mut conn, organization.id, after, limit);
                Ok(rows.await?)
            }
        }
    };
    let cursor_of = |r: &Repository| (SortKey::Number(r.stars.into()), r.id);
    let item = RepositorySummary::from;
    page.respond(&state, &req, &scope, load, cursor_of, item)
        .await
}

/// The packages an organization's repositories depend on, the most used first, with each
/// package's funding: what an organization that wants to fund its dependencies reads.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{login}/dependencies",
    tag = "organizations",
    operation_id = "list_organization_dependencies",
    params(OrganizationPath, OrganizationPageParams),
    responses((status = 200, description = "A page of packages", body = OrganizationDependenciesPage))
)]
#[get("/api/v1/organizations/{login}/dependencies")]
pub(crate) async fn dependencies(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<OrganizationPath>,
    query: Query<OrganizationPageParams>,
) -> Result<HttpResponse, ApiError> {
    let (login, host, scope) = organization(&state, &path, query.host.as_deref()).await?;
    let page = query.page(
        "dependencies",
        "organization-dependencies:repositories",
        &host,
    )?;
    let (after, limit) = (after_count(&page)?, page.limit());
    let load = {
        let state = state.clone();
        move || {
            let (state, host, login) = (state.clone(), host.clone(), login.clone());
            async move {
                let mut conn = connection(&state).await?;
                let organization = find_organization(&mut conn, &host, &login).await?;
                let rows =
                    views::organization_dependencies(&mut conn, organization.id, after, limit);
                Ok(rows.await?)
            }
        }
    };
    let cursor_of =
        |d: &OrganizationDependency| (SortKey::Number(d.repositories_count.into()), d.package.id);
    let item = OrganizationDependencyView::from;
    page.respond(&state, &req, &scope, load, cursor_of, item)
        .await
}
