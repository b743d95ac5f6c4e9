//! Search packages or organizations by name.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use wump_db::views::{self, SearchHit, SearchTarget};

use super::connection;
use crate::{
    cache::{CacheClass, Scope},
    listing::{Listing, PageRequest},
    pagination::{self, Canonical, SortKey},
    params::{self, Choice, PerPage, Query, choice_name},
    problem::ApiError,
    state::AppState,
    views::{SearchHitView, SearchPage},
};

/// Shortest query, in characters: shorter ones match almost everything.
pub(crate) const MIN_QUERY_CHARS: usize = 2;
/// Longest query, in characters.
pub(crate) const MAX_QUERY_CHARS: usize = 100;

/// What to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum SearchType {
    /// Package names (the default).
    Package,
    /// Organization and user logins.
    Organization,
}

params::choice_param!(SearchType);

impl Choice for SearchType {
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("package", SearchType::Package),
        ("organization", SearchType::Organization),
    ];
}

/// The query, what to search and the page.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchParams {
    /// The text to look for, 2 to 100 characters (matched by trigram similarity and as a
    /// substring of the name, case-insensitive).
    #[param(required = true, value_type = String, min_length = 2, max_length = 100, example = "babel")]
    q: Option<String>,
    #[param(inline)]
    r#type: Option<SearchType>,
    /// Page size, 1 to 100 (default 30).
    #[param(inline)]
    per_page: Option<PerPage>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A search text, checked: 400 naming `q` when it is too short, too long or has control
/// characters.
pub(crate) fn check_text(text: &str) -> Result<(), ApiError> {
    let chars = text.chars().count();
    if !(MIN_QUERY_CHARS..=MAX_QUERY_CHARS).contains(&chars) || text.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "q",
            format!(
                "must be {MIN_QUERY_CHARS} to {MAX_QUERY_CHARS} characters, without control characters"
            ),
        ));
    }
    Ok(())
}

impl SearchParams {
    /// What to search and the page, for the query `text` (trimmed `q`).
    fn validate(&self, text: &str) -> Result<(SearchType, PageRequest), ApiError> {
        check_text(text)?;
        let target = SearchType::or_default(self.r#type);
        let sort = match target {
            SearchType::Package => "search:package",
            SearchType::Organization => "search:organization",
        };
        let listing = Listing {
            class: CacheClass::Search,
            route: "search",
            sort,
        };
        let mut canonical = Canonical::default();
        canonical
            .push("q", text.to_lowercase())
            .push("type", choice_name(target));
        let page = PageRequest::new(listing, canonical, self.per_page, self.cursor.clone())?;
        Ok((target, page))
    }
}

/// Packages or organizations whose name resembles `q`, the most similar first (ties: the
/// most used first).
#[utoipa::path(
    get,
    path = "/api/v1/search",
    tag = "search",
    operation_id = "search",
    params(SearchParams),
    responses((status = 200, description = "A page of results", body = SearchPage))
)]
#[get("/api/v1/search")]
pub(crate) async fn search(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<SearchParams>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let text = query.q.as_deref().map(str::trim).unwrap_or_default();
    let (target, page) = query.validate(text)?;
    let after = match page.after()? {
        Some((SortKey::Score(similarity, weight), id)) => Some((similarity, weight, id)),
        Some(_) => return Err(pagination::foreign_cursor()),
        None => None,
    };
    let limit = page.limit();
    let db_target = match target {
        SearchType::Package => SearchTarget::Packages,
        SearchType::Organization => SearchTarget::Organizations,
    };
    let load = {
        let (state, text) = (state.clone(), text.to_owned());
        move || {
            let (state, text) = (state.clone(), text.clone());
            async move {
                let mut conn = connection(&state).await?;
                Ok(views::search(&mut conn, db_target, &text, after, limit).await?)
            }
        }
    };
    let cursor_of = |hit: &SearchHit| (SortKey::Score(hit.similarity, hit.weight), hit.id);
    let item = move |hit| SearchHitView::new(hit, target == SearchType::Package);
    page.respond(&state, &req, &Scope::Global, load, cursor_of, item)
        .await
}
