//! A package over time: its daily counts as a series, its events (dependents and
//! organizations gained and lost) as a listing, and those events as Atom feeds per package
//! and per organization.
//!
//! History starts when wump first sees an edge: a repository that depended on a package
//! before wump first parsed it has no `dependent.added` event, and the series begins with
//! the first daily snapshot. Every answer says so (`note`).

use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use wump_core::{DependencyKind, Ecosystem, EventKind};
use wump_db::{
    history::{self, Interval},
    tables::{
        dependency_events::{self, Event, EventFilter},
        packages,
    },
};

use super::{
    connection,
    organizations::{OrganizationPath, find_organization, organization},
    packages::{PackagePath, find_package, scope},
};
use crate::{
    cache::{CacheClass, Fresh, Html},
    listing::{Listing, PageRequest},
    pagination::{Canonical, SortKey},
    params::{self, Choice, Moment, NonNegative, PerPage, Query, choice_name},
    problem::ApiError,
    state::AppState,
    views::PageItem,
};

/// What every history answer says about where history starts.
pub(crate) const BACKFILL_NOTE: &str = "History starts when wump first saw each edge: \
    repositories that used the package before wump first parsed them have no \
    `dependent.added` event, and the series starts with the first daily snapshot \
    (`recorded_from`).";

/// The most points one series answers (about three years of days).
const MAX_POINTS: i64 = 1_100;

/// The most entries a feed carries.
const FEED_ENTRIES: i64 = 50;

/// The most packages an organization's feed follows.
const FEED_PACKAGES: i64 = 1_000;

/// `interval` of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum IntervalParam {
    /// One point per day (the default).
    Day,
    /// One point per ISO week (starting Monday).
    Week,
    /// One point per month.
    Month,
}

params::choice_param!(IntervalParam);

impl Choice for IntervalParam {
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("day", IntervalParam::Day),
        ("week", IntervalParam::Week),
        ("month", IntervalParam::Month),
    ];
}

impl IntervalParam {
    fn interval(self) -> Interval {
        match self {
            IntervalParam::Day => Interval::Day,
            IntervalParam::Week => Interval::Week,
            IntervalParam::Month => Interval::Month,
        }
    }

    /// Roughly how many days one point spans (for the point cap).
    fn days(self) -> i64 {
        match self {
            IntervalParam::Day => 1,
            IntervalParam::Week => 7,
            IntervalParam::Month => 28,
        }
    }
}

/// The range and width of a series.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryParams {
    /// The first day (default: a year before `to`).
    #[param(inline)]
    from: Option<Moment>,
    /// The last day (default: today, UTC).
    #[param(inline)]
    to: Option<Moment>,
    #[param(inline)]
    interval: Option<IntervalParam>,
}

impl HistoryParams {
    /// `(from, to, interval)`, validated: 400 naming the parameter.
    fn validate(&self) -> Result<(NaiveDate, NaiveDate, IntervalParam), ApiError> {
        series_range(self.from, self.to, self.interval)
    }
}

/// The days and width of a series from its optional parameters: 400 naming the parameter.
fn series_range(
    from: Option<Moment>,
    to: Option<Moment>,
    interval: Option<IntervalParam>,
) -> Result<(NaiveDate, NaiveDate, IntervalParam), ApiError> {
    let interval = IntervalParam::or_default(interval);
    let to = to.map_or_else(history::today, Moment::day);
    let from = from.map_or_else(|| to - Duration::days(365), Moment::day);
    if from > to {
        return Err(ApiError::invalid("from", "must not be after `to`"));
    }
    if (to - from).num_days() / interval.days() >= MAX_POINTS {
        return Err(ApiError::invalid(
            "from",
            format!(
                "asks for more than {MAX_POINTS} points: narrow the range or use a wider \
                     `interval` (week, month)"
            ),
        ));
    }
    Ok((from, to, interval))
}

/// A package's counts at the end of one period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct HistoryPoint {
    /// The period's first day.
    #[schema(value_type = String, format = Date, example = "2026-11-01")]
    pub(crate) period: NaiveDate,
    pub(crate) dependents_count: i32,
    pub(crate) organizations_count: i32,
    /// The stars of the counted dependents.
    pub(crate) stars_sum: i64,
    /// Counted dependents per kind (each repository under its main kind).
    #[schema(value_type = Object, example = json!({"runtime": 40, "development": 2}))]
    pub(crate) kinds: std::collections::BTreeMap<String, i64>,
}

/// A package's counts over time.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HistoryView {
    #[schema(value_type = Ecosystem)]
    pub(crate) ecosystem: Ecosystem,
    pub(crate) name: String,
    #[schema(value_type = IntervalParam)]
    pub(crate) interval: &'static str,
    #[schema(value_type = String, format = Date)]
    pub(crate) from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub(crate) to: NaiveDate,
    /// The first day with recorded counts; periods before it are left out.
    #[schema(value_type = Option<String>, format = Date)]
    pub(crate) recorded_from: Option<NaiveDate>,
    /// Counts now (the last point may be up to a day older).
    pub(crate) dependents_count: i32,
    pub(crate) organizations_count: i32,
    /// One point per period with recorded counts, oldest first.
    pub(crate) points: Vec<HistoryPoint>,
    /// Where history starts.
    pub(crate) note: &'static str,
}

/// A package's history: its counts at the end of each day, week or month, carried
/// forward from the daily snapshots (taken once a day, kept only on days something
/// changed).
#[utoipa::path(
    get,
    path = "/api/v1/packages/{ecosystem}/{name}/history",
    tag = "packages",
    operation_id = "get_package_history",
    params(PackagePath, HistoryParams),
    responses((status = 200, description = "The series", body = HistoryView))
)]
#[get("/api/v1/packages/{ecosystem}/{name}/history")]
pub(crate) async fn package_history(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<PackagePath>,
    query: Query<HistoryParams>,
) -> Result<HttpResponse, ApiError> {
    let key = path.key()?;
    let (from, to, interval) = query.validate()?;
    let variant = format!(
        "history:from={from}:to={to}:interval={}",
        choice_name(interval)
    );
    let load = {
        let state = state.clone();
        let key = key.clone();
        move || {
            let (state, key) = (state.clone(), key.clone());
            async move {
                let mut conn = connection(&state).await?;
                let view = load_history(&mut conn, &key, from, to, interval).await?;
                Ok(Fresh::from(view))
            }
        }
    };
    let cached = state
        .cache
        .get_or_load_warm(&scope(&key), CacheClass::Package, &variant, load)
        .await?;
    Ok(cached.respond(&req))
}

/// The series of `key` from the database.
pub(crate) async fn load_history(
    conn: &mut wump_db::AsyncPgConnection,
    key: &params::PackageKey,
    from: NaiveDate,
    to: NaiveDate,
    interval: IntervalParam,
) -> Result<HistoryView, ApiError> {
    let package = find_package(conn, key).await?;
    let points = history::package_series(conn, package.id, from, to, interval.interval()).await?;
    let recorded_from = history::package_recorded_from(conn, package.id).await?;
    Ok(HistoryView {
        ecosystem: package.ecosystem,
        name: package.name,
        interval: choice_name(interval),
        from,
        to,
        recorded_from,
        dependents_count: package.dependents_count,
        organizations_count: package.organizations_count,
        points: points
            .into_iter()
            .map(|p| HistoryPoint {
                period: p.period,
                dependents_count: p.dependents_count,
                organizations_count: p.organizations_count,
                stars_sum: p.stars_sum,
                kinds: p.kinds(),
            })
            .collect(),
        note: BACKFILL_NOTE,
    })
}

/// An organization's counts at the end of one period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct OrganizationHistoryPoint {
    /// The period's first day.
    #[schema(value_type = String, format = Date, example = "2026-11-01")]
    pub(crate) period: NaiveDate,
    /// Its repositories wump knows.
    pub(crate) repositories_count: i32,
    /// Their stars.
    pub(crate) stars_total: i64,
    /// How many packages its counted repositories use.
    pub(crate) packages_count: i32,
}

/// An organization's counts over time.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrganizationHistoryView {
    pub(crate) host: String,
    pub(crate) login: String,
    #[schema(value_type = IntervalParam)]
    pub(crate) interval: &'static str,
    #[schema(value_type = String, format = Date)]
    pub(crate) from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub(crate) to: NaiveDate,
    /// One point per period with recorded counts, oldest first.
    pub(crate) points: Vec<OrganizationHistoryPoint>,
    /// Where history starts.
    pub(crate) note: &'static str,
}

/// The range, width and forge of an organization's series.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct OrganizationHistoryParams {
    /// The forge, when the login is on several (`github.com`, `gitlab.com`, …).
    host: Option<String>,
    /// The first day (default: a year before `to`).
    #[param(inline)]
    from: Option<Moment>,
    /// The last day (default: today, UTC).
    #[param(inline)]
    to: Option<Moment>,
    #[param(inline)]
    interval: Option<IntervalParam>,
}

/// An organization's history: its repositories, their stars and how many packages they
/// use, at the end of each day, week or month.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{login}/history",
    tag = "organizations",
    operation_id = "get_organization_history",
    params(OrganizationPath, OrganizationHistoryParams),
    responses((status = 200, description = "The series", body = OrganizationHistoryView))
)]
#[get("/api/v1/organizations/{login}/history")]
pub(crate) async fn organization_history(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<OrganizationPath>,
    query: Query<OrganizationHistoryParams>,
) -> Result<HttpResponse, ApiError> {
    let (from, to, interval) = series_range(query.from, query.to, query.interval)?;
    let (login, host, scope) = organization(&state, &path, query.host.as_deref()).await?;
    let variant = format!(
        "history:from={from}:to={to}:interval={}",
        choice_name(interval)
    );
    let cached = state
        .cache
        .get_or_load(&scope, CacheClass::Organization, &variant, || async {
            let mut conn = connection(&state).await?;
            let org = find_organization(&mut conn, &host, &login).await?;
            let points =
                history::organization_series(&mut conn, org.id, from, to, interval.interval())
                    .await?;
            Ok(Fresh::from(OrganizationHistoryView {
                host: org.host,
                login: org.login,
                interval: choice_name(interval),
                from,
                to,
                points: points
                    .into_iter()
                    .map(|p| OrganizationHistoryPoint {
                        period: p.period,
                        repositories_count: p.repositories_count,
                        stars_total: p.stars_total,
                        packages_count: p.packages_count,
                    })
                    .collect(),
                note: BACKFILL_NOTE,
            }))
        })
        .await?;
    Ok(cached.respond(&req))
}

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

/// Filters of a feed.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct FeedParams {
    /// Only repositories (or organizations, by their star sum) with at least this many
    /// stars (default 0).
    #[param(inline)]
    min_stars: Option<NonNegative>,
}

/// An Atom feed.
#[derive(Template)]
#[template(path = "feed.xml")]
struct Feed {
    /// A stable id (`tag:` URI) for the feed.
    id: String,
    title: String,
    /// The page people open from a reader.
    alternate: String,
    /// The feed's own address.
    self_href: String,
    updated: String,
    entries: Vec<Entry>,
}

/// One entry of a feed.
struct Entry {
    id: String,
    title: String,
    link: String,
    updated: String,
    summary: String,
}

/// What the feeds are served as.
const ATOM: &str = "application/atom+xml; charset=utf-8";

/// The `tag:` authority of every feed and entry id: stable whatever host serves the feed.
const TAG: &str = "tag:wump.invalid,2026";

/// New and lost dependents of a package above `min_stars`, as an Atom feed for feed
/// readers (newest 50).
#[utoipa::path(
    get,
    path = "/api/v1/packages/{ecosystem}/{name}/feed.atom",
    tag = "packages",
    operation_id = "get_package_feed",
    params(PackagePath, FeedParams),
    responses((status = 200, description = "An Atom feed", content_type = "application/atom+xml", body = String))
)]
#[get("/api/v1/packages/{ecosystem}/{name}/feed.atom")]
pub(crate) async fn package_feed(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<PackagePath>,
    query: Query<FeedParams>,
) -> Result<HttpResponse, ApiError> {
    let key = path.key()?;
    let min_stars = query.min_stars.map_or(0, |n| i64::from(n.0));
    let load = {
        let (state, key) = (state.clone(), key.clone());
        move || {
            let (state, key) = (state.clone(), key.clone());
            async move {
                let mut conn = connection(&state).await?;
                let package = find_package(&mut conn, &key).await?;
                let filter = EventFilter {
                    min_stars,
                    ..EventFilter::default()
                };
                let events =
                    dependency_events::of_packages(&mut conn, &[package.id], &filter, FEED_ENTRIES)
                        .await?;
                let base = state.settings.api.public_url.trim_end_matches('/');
                let page = crate::pages::package_href(package.ecosystem, &package.name);
                let feed = Feed {
                    id: format!("{TAG}:package/{}/{}", package.ecosystem, package.name),
                    title: format!("Who uses {} ({})", package.name, package.ecosystem),
                    alternate: format!("{base}{page}"),
                    self_href: format!("{base}{}", req_path(&key, min_stars)),
                    updated: updated(&events),
                    entries: entries(&events, |_| package.name.clone(), base),
                };
                Ok(Fresh::from(Html(render_feed(&feed)?)))
            }
        }
    };
    let variant = format!("feed:min_stars={min_stars}");
    let cached = state
        .cache
        .get_or_load_warm(&scope(&key), CacheClass::Dependents, &variant, load)
        .await?;
    Ok(cached.respond_as(&req, ATOM))
}

/// The feed's own path and query.
fn req_path(key: &params::PackageKey, min_stars: i64) -> String {
    let name: String = form_urlencoded::byte_serialize(key.name.as_bytes()).collect();
    let query = if min_stars > 0 {
        format!("?min_stars={min_stars}")
    } else {
        String::new()
    };
    format!(
        "/api/v1/packages/{}/{}/feed.atom{query}",
        key.ecosystem,
        name.replace('+', "%20")
    )
}

/// New and lost dependents of every package an organization publishes (packages whose
/// registry names a repository of the organization), as an Atom feed (newest 50).
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{login}/feed.atom",
    tag = "organizations",
    operation_id = "get_organization_feed",
    params(OrganizationPath, OrganizationFeedParams),
    responses((status = 200, description = "An Atom feed", content_type = "application/atom+xml", body = String))
)]
#[get("/api/v1/organizations/{login}/feed.atom")]
pub(crate) async fn organization_feed(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<OrganizationPath>,
    query: Query<OrganizationFeedParams>,
) -> Result<HttpResponse, ApiError> {
    let (login, host, scope) = organization(&state, &path, query.host.as_deref()).await?;
    let min_stars = query.min_stars.map_or(0, |n| i64::from(n.0));
    let load = {
        let state = state.clone();
        move || {
            let (state, host, login) = (state.clone(), host.clone(), login.clone());
            async move {
                let mut conn = connection(&state).await?;
                let org = find_organization(&mut conn, &host, &login).await?;
                let owned = packages::owned_by(&mut conn, &host, &org.login, FEED_PACKAGES).await?;
                let filter = EventFilter {
                    min_stars,
                    ..EventFilter::default()
                };
                let events =
                    dependency_events::of_packages(&mut conn, &owned, &filter, FEED_ENTRIES)
                        .await?;
                let names = packages::names(&mut conn, &owned).await?;
                let base = state.settings.api.public_url.trim_end_matches('/');
                let feed = Feed {
                    id: format!("{TAG}:organization/{host}/{}", org.login.to_lowercase()),
                    title: format!("Who uses the packages of {}", org.login),
                    alternate: format!("{base}/orgs/{}", org.login),
                    self_href: format!("{base}/api/v1/organizations/{}/feed.atom", org.login),
                    updated: updated(&events),
                    entries: entries(
                        &events,
                        |id| names.get(&id).cloned().unwrap_or_default(),
                        base,
                    ),
                };
                Ok(Fresh::from(Html(render_feed(&feed)?)))
            }
        }
    };
    let variant = format!("feed:min_stars={min_stars}");
    let cached = state
        .cache
        .get_or_load(&scope, CacheClass::Organization, &variant, load)
        .await?;
    Ok(cached.respond_as(&req, ATOM))
}

/// Filters of an organization's feed.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct OrganizationFeedParams {
    /// The forge, when the login is on several (`github.com`, `gitlab.com`, …).
    host: Option<String>,
    /// Only repositories (or organizations, by their star sum) with at least this many
    /// stars (default 0).
    #[param(inline)]
    min_stars: Option<NonNegative>,
}

/// When the feed last changed: its newest entry, or the epoch for an empty feed (a fixed
/// value, so an unchanged feed keeps its ETag).
fn updated(events: &[Event]) -> String {
    events
        .first()
        .map_or(DateTime::<Utc>::UNIX_EPOCH, |e| e.occurred_at)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The feed entries of `events`; `package_name` names each event's package.
fn entries(events: &[Event], package_name: impl Fn(Uuid) -> String, base: &str) -> Vec<Entry> {
    events
        .iter()
        .map(|e| {
            let package = package_name(e.package_id);
            let (subject, link) = match &e.repository {
                Some(full_name) => (
                    format!("{} ({} stars)", full_name, e.stars),
                    format!("https://{}/{full_name}", e.host),
                ),
                None => (
                    format!("The organization {} ({} stars)", e.organization, e.stars),
                    format!("{base}/orgs/{}", e.organization),
                ),
            };
            let verb = match e.event {
                EventKind::DependentAdded => "started depending on",
                EventKind::DependentRemoved => "stopped depending on",
                EventKind::OrganizationAdded => "started using",
                EventKind::OrganizationRemoved => "stopped using",
            };
            let kind = e
                .kind
                .map(|k| format!(" as a {k} dependency"))
                .unwrap_or_default();
            Entry {
                id: format!("{TAG}:event/{}", e.id),
                title: format!("{subject} {verb} {package}"),
                link,
                updated: e
                    .occurred_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                summary: format!(
                    "{subject} {verb} {package}{kind} ({} on {}).",
                    e.event,
                    e.occurred_at.format("%Y-%m-%d")
                ),
            }
        })
        .collect()
}

fn render_feed(feed: &Feed) -> Result<String, ApiError> {
    feed.render().map_err(|e| ApiError::Internal(e.into()))
}
