//! An organization's page (`/orgs/{login}`, `?host=` when the login is on several forges):
//! its profile and funding, the packages it depends on most, its repositories.

use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use wump_db::{tables::repositories, views};

use super::{HTML, PageError, format, package};
use crate::{
    cache::{CacheClass, Fresh, Html},
    params::query,
    problem::ApiError,
    routes::{
        connection,
        organizations::{HostParams, OrganizationPath, find_organization, organization},
    },
    state::AppState,
    views::{FundingLinkView, OrganizationView},
};

/// How many rows each list shows; the JSON API has the rest.
const ROWS: i64 = 30;

#[derive(Template)]
#[template(path = "organization.html")]
struct OrganizationPage {
    login: String,
    display: String,
    host: String,
    kind: String,
    description: Option<String>,
    profile_url: String,
    website: Option<String>,
    api_href: String,
    /// Whether its profile was read from the forge (the totals come from there).
    enriched: bool,
    repositories_count: String,
    stars: String,
    sponsors_url: Option<String>,
    funding: Vec<FundingLinkView>,
    packages: Vec<PackageRow>,
    repositories: Vec<RepositoryRow>,
}

struct PackageRow {
    name: String,
    href: String,
    ecosystem: &'static str,
    repositories: String,
    dependents: String,
}

struct RepositoryRow {
    full_name: String,
    url: String,
    stars: String,
    language: String,
    pushed: String,
    tags: Vec<&'static str>,
}

/// `GET /orgs/{login}`.
#[get("/orgs/{login}")]
pub(crate) async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let params: HostParams = query::parse(req.query_string())?;
    let path = OrganizationPath {
        login: path.into_inner(),
    };
    let (login, host, scope) = organization(&state, &path, params.host.as_deref()).await?;
    let load = {
        let state = state.clone();
        move || {
            let (state, host, login) = (state.clone(), host.clone(), login.clone());
            async move { Ok(Fresh::from(Html(render(&state, &host, &login).await?))) }
        }
    };
    let cached = state
        .cache
        .get_or_load_warm(&scope, CacheClass::Organization, "page:organization", load)
        .await?;
    Ok(cached.respond_as(&req, HTML))
}

async fn render(state: &AppState, host: &str, login: &str) -> Result<String, ApiError> {
    let mut conn = connection(state).await?;
    let organization = find_organization(&mut conn, host, login).await?;
    let id = organization.id;
    let packages = views::organization_dependencies(&mut conn, id, None, ROWS).await?;
    let repositories = repositories::of_organization(&mut conn, id, None, ROWS).await?;
    let view = OrganizationView::from(organization);
    let page = OrganizationPage {
        display: view.name.clone().unwrap_or_else(|| view.login.clone()),
        profile_url: format!("https://{}/{}", view.host, view.login),
        api_href: format!("/api/v1/organizations/{}?host={}", view.login, view.host),
        enriched: view.enriched_at.is_some(),
        repositories_count: format::count(view.repositories_count),
        stars: format::count(view.stars_total),
        kind: if view.kind == "user" {
            "User"
        } else {
            "Organization"
        }
        .to_owned(),
        description: view.description,
        website: view.funding.website_url,
        sponsors_url: view.funding.sponsors_listing_url,
        funding: view.funding.links,
        packages: packages
            .into_iter()
            .map(|d| PackageRow {
                href: package::href(d.package.ecosystem, &d.package.name),
                ecosystem: d.package.ecosystem.label(),
                repositories: format::count(d.repositories_count),
                dependents: format::count(d.package.dependents_count),
                name: d.package.name,
            })
            .collect(),
        repositories: repositories
            .into_iter()
            .map(|r| {
                let mut tags = Vec::new();
                if r.archived {
                    tags.push("archived");
                }
                if r.fork {
                    tags.push("fork");
                }
                RepositoryRow {
                    url: format!("https://{}/{}", r.host, r.full_name),
                    stars: format::count(r.stars),
                    language: r.language.unwrap_or_default(),
                    pushed: format::day(r.pushed_at),
                    full_name: r.full_name,
                    tags,
                }
            })
            .collect(),
        host: view.host,
        login: view.login,
    };
    page.render().map_err(|e| ApiError::Internal(e.into()))
}
