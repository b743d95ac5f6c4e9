//! Atom feeds of a package's events, and of every package an organization publishes, for
//! feed readers: valid Atom with stable entry ids, cached like every answer.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use wump_core::EventKind;
use wump_db::tables::{
    dependency_events::{self, Event, EventFilter},
    packages,
};

use super::{
    connection,
    organizations::{OrganizationPath, find_organization, organization},
    packages::{PackagePath, find_package, scope},
};
use crate::{
    cache::{CacheClass, Fresh, Html},
    params::{NonNegative, PackageKey, Query},
    problem::ApiError,
    state::AppState,
};

/// The most entries a feed carries.
const FEED_ENTRIES: i64 = 50;

/// The most packages an organization's feed follows.
const FEED_PACKAGES: i64 = 1_000;
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
fn req_path(key: &PackageKey, min_stars: i64) -> String {
    let query = if min_stars > 0 {
        format!("?min_stars={min_stars}")
    } else {
        String::new()
    };
    let api = crate::pages::package_api_href(key.ecosystem, &key.name);
    format!("{api}/feed.atom{query}")
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
                let names: HashMap<Uuid, String> = packages::names_of(&mut conn, &owned)
                    .await?
                    .into_iter()
                    .map(|(id, _, name)| (id, name))
                    .collect();
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
