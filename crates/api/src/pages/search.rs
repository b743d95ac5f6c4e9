//! Search results (`/search?q=`): packages and organizations whose names are like the text.

use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use serde::Deserialize;
use wump_core::Ecosystem;
use wump_db::views::{self, SearchHit, SearchTarget};

use super::{HTML, PageError, format, package};
use crate::{
    cache::{CacheClass, Fresh, Html, Scope},
    params::query,
    problem::ApiError,
    routes::{connection, search::check_text},
    state::AppState,
};

/// How many results of each kind the page shows.
const RESULTS: i64 = 20;

/// The search form's one field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchForm {
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    query: String,
    packages: Vec<Hit>,
    organizations: Vec<Hit>,
}

struct Hit {
    name: String,
    href: String,
    /// The ecosystem or the host.
    scope: String,
    /// Dependents or stars, worded.
    weight: String,
}

/// `GET /search?q=…`: cached per lower-cased text, as the API's search is.
#[get("/search")]
pub(crate) async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let form: SearchForm = query::parse(req.query_string())?;
    let text = form
        .q
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    check_text(&text)?;
    let variant = format!("page:search:{}", text.to_lowercase());
    let load = {
        let state = state.clone();
        move || {
            let (state, text) = (state.clone(), text.clone());
            async move { Ok(Fresh::from(Html(render(&state, &text).await?))) }
        }
    };
    let cached = state
        .cache
        .get_or_load(&Scope::Global, CacheClass::Search, &variant, load)
        .await?;
    Ok(cached.respond_as(&req, HTML))
}

async fn render(state: &AppState, text: &str) -> Result<String, ApiError> {
    let mut conn = connection(state).await?;
    let packages = views::search(&mut conn, SearchTarget::Packages, text, None, RESULTS).await?;
    let organizations =
        views::search(&mut conn, SearchTarget::Organizations, text, None, RESULTS).await?;
    let page = SearchPage {
        query: text.to_owned(),
        packages: packages.into_iter().map(package_hit).collect(),
        organizations: organizations
            .into_iter()
            .map(|hit| Hit {
                href: format!("/orgs/{}?host={}", hit.name, hit.scope),
                weight: format::counted(hit.weight, "star", "stars"),
                name: hit.name,
                scope: hit.scope,
            })
            .collect(),
    };
    page.render().map_err(|e| ApiError::Internal(e.into()))
}

fn package_hit(hit: SearchHit) -> Hit {
    let ecosystem: Option<Ecosystem> = hit.scope.parse().ok();
    Hit {
        href: ecosystem.map_or_else(String::new, |e| package::href(e, &hit.name)),
        weight: format::counted(hit.weight, "dependent", "dependents"),
        scope: ecosystem.map_or(hit.scope.clone(), |e| e.label().to_owned()),
        name: hit.name,
    }
}
