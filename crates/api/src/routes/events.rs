//! A package's events: the dependents and organizations it gained and lost, newest first
//! (`dependency_events`, written by the edge writers with the counts).

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use wump_core::{DependencyKind, EventKind};
use wump_db::tables::dependency_events::{self, Event, EventFilter};

use super::{
    connection,
    history::BACKFILL_NOTE,
    packages::{PackagePath, find_package, scope},
};
use crate::{
    cache::CacheClass,
    listing::{Listing, PageRequest},
    pagination::{Canonical, SortKey},
    params::{Moment, NonNegative, PerPage, Query},
    problem::ApiError,
    state::AppState,
    views::PageItem,
};

/// A repository named by an event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct EventRepositoryView {
    pub(crate) host: String,
    pub(crate) full_name: String,
    /// Its page on the forge.
    pub(crate) url: String,
}

/// The organization named by an event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct EventOrganizationView {
    pub(crate) host: String,
    pub(crate) login: String,
}

/// A dependent or organization gained or lost.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct EventView {
    /// Increases with time; stable (feed entry ids and webhook payloads use it).
    pub(crate) id: i64,
    #[schema(value_type = EventKind)]
    pub(crate) event: EventKind,
    pub(crate) occurred_at: DateTime<Utc>,
    /// Dependent events: the repository (its name when it happened).
    pub(crate) repository: Option<EventRepositoryView>,
    pub(crate) organization: EventOrganizationView,
    /// Dependent events: the kind the repository used the package as.
    #[schema(value_type = Option<DependencyKind>)]
    pub(crate) kind: Option<DependencyKind>,
    /// The repository's stars (dependent events) or the organization's star sum over its
    /// repositories using the package (organization events), when it happened.
    pub(crate) stars: i64,
}

impl From<Event> for EventView {
    fn from(e: Event) -> Self {
        EventView {
            id: e.id,
            event: e.event,
            occurred_at: e.occurred_at,
            repository: e.repository.map(|full_name| EventRepositoryView {
                url: format!("https://{}/{full_name}", e.host),
                host: e.host.clone(),
                full_name,
            }),
            organization: EventOrganizationView {
                host: e.host,
                login: e.organization,
            },
            kind: e.kind,
            stars: e.stars,
        }
    }
}

/// A page of a package's events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventsPage {
    pub(crate) items: Vec<EventView>,
    /// Pass as `cursor` to get the next page (the `Link` header carries the same link).
    pub(crate) next_cursor: Option<String>,
    /// Where history starts.
    pub(crate) note: &'static str,
}

impl PageItem for EventView {
    type Page = EventsPage;
    fn page(items: Vec<Self>, next_cursor: Option<String>) -> EventsPage {
        EventsPage {
            items,
            next_cursor,
            note: BACKFILL_NOTE,
        }
    }
}

/// Filters and page of the events listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsParams {
    /// Only this event (default: all four).
    #[param(inline)]
    event: Option<EventKind>,
    /// Only events of repositories (or organizations, by their star sum) with at least
    /// this many stars.
    #[param(inline)]
    min_stars: Option<NonNegative>,
    /// Only events at or after this day or time.
    #[param(inline)]
    since: Option<Moment>,
    /// Page size, 1 to 100 (default 30).
    #[param(inline)]
    per_page: Option<PerPage>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A package's events: the repositories that started or stopped depending on it (a
/// manifest changed, the repository was archived, forked, restored or is gone) and the
/// organizations whose first repository started or last stopped, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/packages/{ecosystem}/{name}/events",
    tag = "packages",
    operation_id = "list_package_events",
    params(PackagePath, EventsParams),
    responses((status = 200, description = "A page of events", body = EventsPage))
)]
#[get("/api/v1/packages/{ecosystem}/{name}/events")]
pub(crate) async fn package_events(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<PackagePath>,
    query: Query<EventsParams>,
) -> Result<HttpResponse, ApiError> {
    let key = path.key()?;
    let params = query.into_inner();
    let mut canonical = Canonical::default();
    canonical
        .push_some("event", params.event.map(EventKind::as_str))
        .push_some("min_stars", params.min_stars.map(|n| n.0))
        .push_some("since", params.since);
    let listing = Listing {
        class: CacheClass::Dependents,
        route: "events",
        sort: "events:id",
    };
    let page = PageRequest::new(listing, canonical, params.per_page, params.cursor)?;
    let filter = EventFilter {
        events: params.event.into_iter().collect(),
        min_stars: params.min_stars.map_or(0, |n| i64::from(n.0)),
        before_id: page.after_number()?.map(|(id, _)| id),
        since: params.since.map(|m| m.0),
    };
    let limit = page.limit();
    let load = {
        let (state, key) = (state.clone(), key.clone());
        move || {
            let (state, key, filter) = (state.clone(), key.clone(), filter.clone());
            async move {
                let mut conn = connection(&state).await?;
                let package = find_package(&mut conn, &key).await?;
                let ids = [package.id];
                let rows = dependency_events::of_packages(&mut conn, &ids, &filter, limit);
                Ok(rows.await?)
            }
        }
    };
    // Event ids are unique and ordered: the id is the whole cursor (the tie-break id of
    // the cursor format is unused).
    let cursor_of = |row: &Event| (SortKey::Number(row.id), Uuid::nil());
    page.respond(&state, &req, &scope(&key), load, cursor_of, EventView::from)
        .await
}
