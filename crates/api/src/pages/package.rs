//! A package's page (`/{ecosystem}/{name}`): what it is, who to ask for funding, and its
//! dependents with the API's filters as a form whose URL can be shared.

use actix_web::{HttpRequest, HttpResponse, Resource, web};
use askama::Template;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use wump_core::{DependencyKind, Ecosystem};
use wump_db::{
    history::{self, Interval},
    tables::dependency_events::{self, EventFilter},
    views::{self, DependentsSort, OrganizationsSort},
};

use super::{
    HTML, PageError,
    chart::{self, Chart},
    format,
};
use crate::{
    cache::{CacheClass, Fresh, Html},
    params::{PackageKey, query},
    problem::ApiError,
    routes::{
        connection,
        packages::{
            DependentsParams, DependentsRequest, dependent_key, dependents_of, find_package, scope,
        },
    },
    state::AppState,
    views::{DependentView, OrganizationUsageView, PackageView},
};

/// How many organizations "who to ask" lists.
const WHO_TO_ASK: i64 = 10;

/// How many days the history chart covers.
const CHART_DAYS: i64 = 90;

/// How many of the latest events the page lists.
const RECENT_EVENTS: i64 = 5;

/// What a package name keeps unescaped in a page's path: `/` and `@` read as themselves.
const NAME: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// What a package name escapes as one segment of an API or badge path: everything but
/// RFC 3986's unreserved characters (so `/` is `%2F` and `@` is `%40`, as the API wants).
const SEGMENT: &AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The path of `name`'s page in `ecosystem`.
pub(crate) fn href(ecosystem: Ecosystem, name: &str) -> String {
    format!(
        "/{}/{}",
        ecosystem.as_str(),
        utf8_percent_encode(name, NAME)
    )
}

/// The path of `name`'s resource in the JSON API (`/api/v1/packages/npm/%40babel%2Fcore`):
/// the name is one escaped segment, as the API's routes want.
pub(crate) fn api_href(ecosystem: Ecosystem, name: &str) -> String {
    format!(
        "/api/v1/packages/{}/{}",
        ecosystem.as_str(),
        utf8_percent_encode(name, SEGMENT)
    )
}

/// `GET /{ecosystem}/{name}`: the ecosystem one of wump's ids, the name everything after
/// it, `/` and `@` included (`/npm/@babel/core`, `/go/github.com/gorilla/mux`).
pub(crate) fn resource() -> Resource {
    let ids = Ecosystem::ids().join("|");
    web::resource(format!("/{{ecosystem:(?:{ids})}}/{{name:.+}}")).route(web::get().to(show))
}

async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (ecosystem, name) = path.into_inner();
    let key = PackageKey::from_path(&ecosystem, &name)?;
    let scope = scope(&key);
    // Parsed here, not by an extractor, so a bad filter is an error page, not a problem.
    let (who, filters) = split_query(req.query_string())?;
    let params: DependentsParams = query::parse(&filters)?;
    let request = params.validate()?;
    let variant = format!(
        "{}:who={}",
        request.page.variant("page:package"),
        who.name()
    );
    let path = href(key.ecosystem, &key.name);
    let view = std::sync::Arc::new(PageRequest {
        request,
        who,
        filters,
        path,
    });
    let load = {
        let state = state.clone();
        move || {
            let (state, key, view) = (state.clone(), key.clone(), view.clone());
            async move { Ok(Fresh::from(Html(render(&state, &key, &view).await?))) }
        }
    };
    let cached = state
        .cache
        .get_or_load_warm(&scope, CacheClass::Dependents, &variant, load)
        .await?;
    Ok(cached.respond_as(&req, HTML))
}

/// What a package page was asked for.
struct PageRequest {
    request: DependentsRequest,
    who: Who,
    /// The dependents' filters as given (what the "who to ask" links keep).
    filters: String,
    /// The page's own path.
    path: String,
}

/// The order of "who to ask" (`?who=`): by the stars of an organization's repositories
/// using the package, or by how many of them do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Stars,
    Repositories,
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Stars => "stars",
            Who::Repositories => "repositories",
        }
    }
}

/// `query` split into the order of "who to ask" and the dependents' filters, without empty
/// fields: a form sends every field, filled in or not, and an empty one means "no filter".
fn split_query(query: &str) -> Result<(Who, String), ApiError> {
    let mut who = Who::Stars;
    let mut filters = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match (&*name, &*value) {
            (_, "") => {}
            ("who", "stars") => who = Who::Stars,
            ("who", "repositories") => who = Who::Repositories,
            ("who", _) => {
                return Err(ApiError::invalid(
                    "who",
                    "must be `stars` or `repositories`",
                ));
            }
            _ => {
                filters.append_pair(&name, &value);
            }
        }
    }
    Ok((who, filters.finish()))
}

#[derive(Template)]
#[template(path = "package.html")]
struct PackagePage {
    name: String,
    ecosystem_label: &'static str,
    latest_version: Option<String>,
    description: Option<String>,
    homepage_url: Option<String>,
    repository_url: Option<String>,
    api_href: String,
    dependents: String,
    organizations: String,
    funding: Vec<crate::views::FundingLinkView>,
    /// When the registry's metadata was last read.
    refreshed: Option<String>,
    refresh_action: String,
    who: Vec<WhoToAsk>,
    badges: Vec<Badge>,
    /// What to paste into a README for those badges.
    badge_markdown: String,
    /// The dependents listing of the JSON API, which `format=` exports.
    export_base: String,
    /// "Who to ask" in the other order: its label and link.
    who_order: &'static str,
    who_other: (&'static str, String),
    path: String,
    sorts: Vec<Choice>,
    kinds: Vec<Choice>,
    directs: Vec<Choice>,
    min_stars: String,
    /// The day of the `since` filter (`YYYY-MM-DD`), empty for none.
    since: String,
    organization: String,
    include_archived: bool,
    include_forks: bool,
    rows: Vec<Row>,
    first_href: Option<String>,
    next_href: Option<String>,
    /// Dependents over the last [`CHART_DAYS`], when at least two days are recorded.
    chart: Option<Chart>,
    /// The latest events, newest first.
    recent: Vec<crate::routes::events::EventView>,
    /// The package's Atom feed and its events and history in JSON.
    feed_href: String,
    events_href: String,
    history_href: String,
}

/// One organization to ask for funding.
struct WhoToAsk {
    login: String,
    display: String,
    href: String,
    repositories: String,
    stars: String,
    sponsors_url: Option<String>,
    funding: Vec<crate::views::FundingLinkView>,
    website: Option<String>,
}

/// A badge of the package (`/badges/…`, `crate::routes::badges`).
struct Badge {
    src: String,
    alt: &'static str,
}

/// The package's badges, and the Markdown that shows them (linking to this page) from
/// `public_url`.
fn badges(key: &PackageKey, page: &str, public_url: &str) -> (Vec<Badge>, String) {
    let name = utf8_percent_encode(&key.name, SEGMENT);
    let ecosystem = key.ecosystem.as_str();
    let metrics = [
        ("repositories", "used by: repositories"),
        ("organizations", "used by: organizations"),
        ("stars", "dependents' stars"),
    ];
    let badges: Vec<Badge> = metrics
        .iter()
        .map(|&(metric, alt)| Badge {
            src: format!("/badges/{ecosystem}/{name}/{metric}.svg"),
            alt,
        })
        .collect();
    let base = public_url.trim_end_matches('/');
    let markdown = badges
        .iter()
        .map(|b| format!("[![{}]({base}{})]({base}{page})", b.alt, b.src))
        .collect::<Vec<_>>()
        .join(" ");
    (badges, markdown)
}

/// An option of a filter's `<select>`.
struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

impl Choice {
    fn list(options: &[(&'static str, &'static str)], selected: &str) -> Vec<Self> {
        options
            .iter()
            .map(|&(value, label)| Choice {
                value,
                label,
                selected: value == selected,
            })
            .collect()
    }
}

/// One dependent in the table.
struct Row {
    full_name: String,
    url: String,
    stars: String,
    pushed: String,
    kinds: String,
    requirement: String,
    tags: Vec<&'static str>,
}

impl From<DependentView> for Row {
    fn from(d: DependentView) -> Self {
        let r = d.repository;
        let mut tags = Vec::new();
        if r.archived {
            tags.push("archived");
        }
        if r.fork {
            tags.push("fork");
        }
        match d.usage.direct {
            Some(true) => tags.push("direct"),
            Some(false) => tags.push("transitive"),
            None => {}
        }
        Row {
            url: format!("https://{}/{}", r.host, r.full_name),
            full_name: r.full_name,
            stars: format::count(r.stars),
            pushed: format::day(r.pushed_at),
            kinds: d.usage.kinds.join(", "),
            requirement: d.usage.requirement,
            tags,
        }
    }
}

impl From<OrganizationUsageView> for WhoToAsk {
    fn from(o: OrganizationUsageView) -> Self {
        WhoToAsk {
            href: format!("/orgs/{}?host={}", o.login, o.host),
            display: o.name.clone().unwrap_or_else(|| o.login.clone()),
            repositories: format::counted(o.repositories_count, "repository", "repositories"),
            stars: format::counted(o.stars_sum, "star", "stars"),
            sponsors_url: o.funding.sponsors_listing_url,
            funding: o.funding.links,
            website: o.funding.website_url,
            login: o.login,
        }
    }
}

async fn render(
    state: &AppState,
    key: &PackageKey,
    view: &PageRequest,
) -> Result<String, ApiError> {
    let PageRequest {
        request,
        who: order,
        filters: given,
        path,
    } = view;
    let (order, path) = (*order, path.as_str());
    let mut conn = connection(state).await?;
    let package = find_package(&mut conn, key).await?;
    let sort = match order {
        Who::Stars => OrganizationsSort::Stars,
        Who::Repositories => OrganizationsSort::Repositories,
    };
    let who = views::organizations_using(
        &mut conn,
        package.id,
        sort,
        &Default::default(),
        None,
        WHO_TO_ASK,
    )
    .await?;
    let today = history::today();
    let mut series: Vec<(chrono::NaiveDate, i64)> = history::package_series(
        &mut conn,
        package.id,
        today - chrono::Duration::days(CHART_DAYS - 1),
        today,
        Interval::Day,
    )
    .await?
    .into_iter()
    .map(|p| (p.period, i64::from(p.dependents_count)))
    .collect();
    // The line ends at the count now, which may be newer than today's snapshot.
    series.retain(|(day, _)| *day < today);
    if !series.is_empty() {
        series.push((today, i64::from(package.dependents_count)));
    }
    let recent = dependency_events::of_packages(
        &mut conn,
        &[package.id],
        &EventFilter::default(),
        RECENT_EVENTS,
    )
    .await?;
    let mut query = request.query.clone();
    let rows = dependents_of(
        &mut conn,
        package.id,
        &mut query,
        request.organization.as_deref(),
    )
    .await?;
    let sort = query.sort;
    let (rows, next_href) = request
        .page
        .split(rows, path, |row| dependent_key(row, sort));
    let view = PackageView::new(package, Vec::new());
    let first_href = request
        .page
        .is_later()
        .then(|| format!("{path}?{}", request.page.first_query()));
    let filters = &request.query;
    let kind = filters.kind.map_or("", DependencyKind::as_str);
    let direct = match filters.direct {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    };
    let sort = match filters.sort {
        DependentsSort::Stars => "stars",
        DependentsSort::PushedAt => "pushed_at",
    };
    let (badges, badge_markdown) = badges(key, path, &state.settings.api.public_url);
    let api_base = api_href(key.ecosystem, &key.name);
    let mut kinds = vec![("", "any")];
    kinds.extend(DependencyKind::ALL.iter().map(|k| (k.as_str(), k.as_str())));
    let page = PackagePage {
        ecosystem_label: key.ecosystem.label(),
        api_href: api_href(key.ecosystem, &view.name),
        dependents: format::count(view.dependents_count),
        organizations: format::count(view.organizations_count),
        name: view.name,
        latest_version: view.latest_version,
        description: view.description,
        homepage_url: view.homepage_url,
        repository_url: view.repository_url,
        funding: view.funding,
        refreshed: view
            .metadata_refreshed_at
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
        refresh_action: format!("/refresh{path}"),
        who: who
            .into_iter()
            .map(OrganizationUsageView::from)
            .map(WhoToAsk::from)
            .collect(),
        badges,
        badge_markdown,
        export_base: format!("{api_base}/dependents"),
        who_order: match order {
            Who::Stars => "by the stars of those repositories",
            Who::Repositories => "by how many of their repositories use it",
        },
        who_other: {
            let other = match order {
                Who::Stars => Who::Repositories,
                Who::Repositories => Who::Stars,
            };
            let separator = if given.is_empty() { "" } else { "&" };
            let label = match other {
                Who::Stars => "Rank by stars",
                Who::Repositories => "Rank by repositories",
            };
            (
                label,
                format!("{path}?{given}{separator}who={}#who-title", other.name()),
            )
        },
        path: path.to_owned(),
        sorts: Choice::list(
            &[("stars", "most stars"), ("pushed_at", "latest push")],
            sort,
        ),
        kinds: Choice::list(&kinds, kind),
        directs: Choice::list(
            &[
                ("", "direct or transitive"),
                ("true", "direct only"),
                ("false", "transitive only"),
            ],
            direct,
        ),
        min_stars: filters.min_stars.map(|n| n.to_string()).unwrap_or_default(),
        since: filters
            .since
            .map(|at| at.date_naive().to_string())
            .unwrap_or_default(),
        organization: request.organization.clone().unwrap_or_default(),
        include_archived: filters.include_archived,
        include_forks: filters.include_forks,
        rows: rows
            .into_iter()
            .map(DependentView::from)
            .map(Row::from)
            .collect(),
        first_href,
        next_href,
        chart: chart::line(&series, "Repositories using it"),
        recent: recent.into_iter().map(Into::into).collect(),
        feed_href: format!("{api_base}/feed.atom"),
        events_href: format!("{api_base}/events"),
        history_href: format!("{api_base}/history"),
    };
    page.render().map_err(|e| ApiError::Internal(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_form_fields_are_no_filter_and_who_is_the_pages_own() {
        let (who, filters) =
            split_query("sort=stars&kind=&min_stars=&organization=acme&who=repositories").unwrap();
        assert_eq!(who, Who::Repositories);
        assert_eq!(filters, "sort=stars&organization=acme");
        assert_eq!(split_query("").unwrap(), (Who::Stars, String::new()));
        assert!(split_query("who=money").is_err());
    }

    #[test]
    fn names_keep_their_slashes_and_at_signs_in_page_paths() {
        assert_eq!(href(Ecosystem::Npm, "@babel/core"), "/npm/@babel/core");
        assert_eq!(href(Ecosystem::Go, "github.com/x/y"), "/go/github.com/x/y");
        assert_eq!(href(Ecosystem::Npm, "a b?c#d"), "/npm/a%20b%3Fc%23d");
    }
}
