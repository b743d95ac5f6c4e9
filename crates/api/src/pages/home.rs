//! The start page: a search box, the totals, the most depended-upon packages.

use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use wump_db::views;

use super::{HTML, PageError, format, package};
use crate::{
    cache::{CacheClass, Fresh, Html, Scope},
    problem::ApiError,
    routes::connection,
    state::AppState,
};

/// How many packages the page lists per ecosystem.
const TOP_PER_ECOSYSTEM: i64 = 5;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    repositories: String,
    organizations: String,
    dependencies: String,
    packages: String,
    ecosystems: Vec<EcosystemTop>,
}

struct EcosystemTop {
    id: &'static str,
    label: &'static str,
    packages: Vec<TopPackage>,
}

struct TopPackage {
    name: String,
    href: String,
    dependents: String,
}

/// `GET /`: cached as the stats are, for their TTL.
#[get("/")]
pub(crate) async fn home(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let load = {
        let state = state.clone();
        move || {
            let state = state.clone();
            async move { Ok(Fresh::from(Html(render(&state).await?))) }
        }
    };
    let cached = state
        .cache
        .get_or_load_warm(&Scope::Global, CacheClass::Stats, "page:home", load)
        .await?;
    Ok(cached.respond_as(&req, HTML))
}

async fn render(state: &AppState) -> Result<String, ApiError> {
    let mut conn = connection(state).await?;
    let stats = views::stats(&mut conn).await?;
    let top = views::most_depended_upon(&mut conn, TOP_PER_ECOSYSTEM).await?;
    let page = HomePage {
        repositories: format::count(stats.repositories),
        organizations: format::count(stats.organizations),
        dependencies: format::count(stats.dependencies),
        packages: format::count(
            stats
                .packages_by_ecosystem
                .iter()
                .map(|(_, all, _)| all)
                .sum::<i64>(),
        ),
        ecosystems: top
            .into_iter()
            .map(|(ecosystem, packages)| EcosystemTop {
                id: ecosystem.as_str(),
                label: ecosystem.label(),
                packages: packages
                    .into_iter()
                    .map(|p| TopPackage {
                        href: package::href(ecosystem, &p.name),
                        dependents: format::counted(
                            p.dependents_count,
                            "repository",
                            "repositories",
                        ),
                        name: p.name,
                    })
                    .collect(),
            })
            .collect(),
    };
    page.render().map_err(|e| ApiError::Internal(e.into()))
}
