//! A package or organization over time: its counts at the end of each day, week or month,
//! read from the daily snapshots (`wump_db::history`).
//!
//! History starts when wump first sees an edge: a repository that depended on a package
//! before wump first parsed it has no `dependent.added` event, and the series begins with
//! the first daily snapshot. Every answer says so (`note`).

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wump_core::Ecosystem;
use wump_db::history::{self, Interval};

use super::{
    connection,
    organizations::{OrganizationPath, find_organization, organization},
    packages::{PackagePath, find_package, scope},
};
use crate::{
    cache::{CacheClass, Fresh},
    params::{self, Choice, Moment, PackageKey, Query, choice_name},
    problem::ApiError,
    state::AppState,
};

/// What every history answer says about where history starts.
pub(crate) const BACKFILL_NOTE: &str = "History starts when wump first saw each edge: \
    repositories that used the package before wump first parsed them have no \
    `dependent.added` event, and the series starts with the first daily snapshot \
    (`recorded_from`).";

/// The most points one series answers (about three years of days).
const MAX_POINTS: i64 = 1_100;
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
async fn load_history(
    conn: &mut wump_db::AsyncPgConnection,
    key: &PackageKey,
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
