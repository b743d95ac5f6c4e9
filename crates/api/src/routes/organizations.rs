//! An organization, its repositories and the packages it depends on.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use wump_db::{
    AsyncPgConnection,
    tables::{
        self,
        organizations::{self, Organization},
    },
    views,
};

use super::connection;
use crate::{
    cache::{CacheClass, Fresh, Scope},
    pagination::{self, Canonical, SortKey, split_page},
    params,
    problem::ApiError,
    state::AppState,
    views::{
        OrganizationDependenciesPage, OrganizationDependencyView, OrganizationView,
        RepositoriesPage,
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
    login: String,
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
    host: Option<String>,
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
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    per_page: Option<String>,
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

async fn find_organization(
    conn: &mut AsyncPgConnection,
    host: &str,
    login: &str,
) -> Result<Organization, ApiError> {
    organizations::by_login(conn, host, login)
        .await?
        .ok_or_else(|| not_found(login))
}

/// The validated path and host of an organization request, and its cache scope.
async fn organization(
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
    query: web::Query<HostParams>,
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

struct PageRequest {
    per_page: u32,
    after: Option<(i64, uuid::Uuid)>,
    canonical: Canonical,
    cursor: Option<String>,
}

impl OrganizationPageParams {
    fn validate(&self, host: &str, listing: &str) -> Result<PageRequest, ApiError> {
        let per_page = params::per_page(self.per_page.as_deref())?;
        let after = self
            .cursor
            .as_deref()
            .map(|raw| {
                let (key, id) = pagination::decode(raw, listing)?;
                Ok::<_, ApiError>((pagination::number(key)?, id))
            })
            .transpose()?;
        let mut canonical = Canonical::default();
        if self.host.is_some() {
            canonical.push("host", host);
        }
        canonical.push("per_page", per_page);
        Ok(PageRequest {
            per_page,
            after,
            canonical,
            cursor: self.cursor.clone(),
        })
    }
}

fn int4(value: i64) -> Result<i32, ApiError> {
    i32::try_from(value).map_err(|_| ApiError::invalid("cursor", "is not a cursor this API issued"))
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
    query: web::Query<OrganizationPageParams>,
) -> Result<HttpResponse, ApiError> {
    const LISTING: &str = "organization-repositories:stars";
    let (login, host, scope) = organization(&state, &path, query.host.as_deref()).await?;
    let page = query.validate(&host, LISTING)?;
    let after = page
        .after
        .map(|(stars, id)| Ok::<_, ApiError>((int4(stars)?, id)))
        .transpose()?;
    let variant = page
        .canonical
        .variant("repositories", page.cursor.as_deref());
    let cached = state
        .cache
        .get_or_load(&scope, CacheClass::Organization, &variant, || async {
            let mut conn = connection(&state).await?;
            let organization = find_organization(&mut conn, &host, &login).await?;
            let rows = tables::repositories::of_organization(
                &mut conn,
                organization.id,
                after,
                i64::from(page.per_page) + 1,
            )
            .await?;
            let (rows, next) = split_page(rows, page.per_page, |r| {
                pagination::encode(LISTING, SortKey::Number(r.stars.into()), r.id)
            });
            let link = next
                .as_deref()
                .map(|c| page.canonical.next_link(req.path(), c));
            let body = RepositoriesPage {
                items: rows.into_iter().map(Into::into).collect(),
                next_cursor: next,
            };
            Ok(Fresh { body, link })
        })
        .await?;
    Ok(cached.respond(&req))
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
    query: web::Query<OrganizationPageParams>,
) -> Result<HttpResponse, ApiError> {
    const LISTING: &str = "organization-dependencies:repositories";
    let (login, host, scope) = organization(&state, &path, query.host.as_deref()).await?;
    let page = query.validate(&host, LISTING)?;
    let after = page
        .after
        .map(|(count, id)| Ok::<_, ApiError>((int4(count)?, id)))
        .transpose()?;
    let variant = page
        .canonical
        .variant("dependencies", page.cursor.as_deref());
    let cached = state
        .cache
        .get_or_load(&scope, CacheClass::Organization, &variant, || async {
            let mut conn = connection(&state).await?;
            let organization = find_organization(&mut conn, &host, &login).await?;
            let rows = views::organization_dependencies(
                &mut conn,
                organization.id,
                after,
                i64::from(page.per_page) + 1,
            )
            .await?;
            let (rows, next) = split_page(rows, page.per_page, |d| {
                let key = SortKey::Number(d.repositories_count.into());
                pagination::encode(LISTING, key, d.package.id)
            });
            let link = next
                .as_deref()
                .map(|c| page.canonical.next_link(req.path(), c));
            let body = OrganizationDependenciesPage {
                items: rows
                    .into_iter()
                    .map(OrganizationDependencyView::from)
                    .collect(),
                next_cursor: next,
            };
            Ok(Fresh { body, link })
        })
        .await?;
    Ok(cached.respond(&req))
}
