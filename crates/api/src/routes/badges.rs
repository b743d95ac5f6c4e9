//! `GET /badges/{ecosystem}/{name}/{metric}.svg` and `.json`: README badges of a package.
//!
//! Outside `/api/v1` on purpose: no API key (a README cannot hold one) and no rate limit
//! per caller — GitHub's image proxy (camo) fetches every README's badges from a few
//! shared addresses, so a per-address limit would blank badges across GitHub. What bounds
//! the load instead: answers come from the response cache (the package's scope, so a
//! worker's bump refreshes them), proxies keep them for `badge_ttl_secs`, a `304` answers a
//! matching `If-None-Match`, and a miss reads one indexed row (`packages` by name; the
//! `stars` badge also sums the package's roll-up rows, an index-only range).

use actix_web::{
    HttpRequest, HttpResponse, get,
    http::header::{self, CacheControl, CacheDirective},
    web,
};
use serde::Deserialize;
use wump_db::tables::package_organizations;

use super::{
    connection,
    packages::{find_package, scope},
};
use crate::{
    badges::{
        Badge, Metric,
        svg::{self, Style},
    },
    cache::{CacheClass, Cached, Fresh, etag_of},
    params::{PackageKey, Query},
    problem::ApiError,
    state::AppState,
};

/// Longest `label=` override (characters).
pub(crate) const MAX_LABEL_CHARS: usize = 64;

/// How long proxies may keep a `404` badge (s): a package wump learns about soon shows up.
const UNKNOWN_MAX_AGE_SECS: u32 = 60;

/// The path: a package and `{metric}.{svg|json}`.
#[derive(Debug, Deserialize)]
pub(crate) struct BadgePath {
    ecosystem: String,
    name: String,
    file: String,
}

/// `?style=flat|flat-square&label=…`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BadgeParams {
    style: Option<String>,
    label: Option<String>,
}

/// The two forms of a badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Svg,
    /// shields.io's endpoint JSON.
    Json,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Svg => "image/svg+xml",
            Format::Json => "application/json",
        }
    }

    fn body(self, badge: &Badge, style: Style) -> Vec<u8> {
        match self {
            Format::Svg => svg::render(badge, style).into_bytes(),
            Format::Json => badge.endpoint_json(),
        }
    }
}

impl BadgeParams {
    /// The style and the label override; 400 naming the parameter when one is bad.
    fn validate(self) -> Result<(Style, Option<String>), ApiError> {
        let style = match self.style.as_deref() {
            None => Style::default(),
            Some(name) => Style::parse(name)
                .ok_or_else(|| ApiError::invalid("style", "must be `flat` or `flat-square`"))?,
        };
        if let Some(label) = &self.label {
            let chars = label.chars().count();
            if chars == 0 || chars > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
                return Err(ApiError::invalid(
                    "label",
                    format!("must be 1 to {MAX_LABEL_CHARS} characters, none a control character"),
                ));
            }
        }
        Ok((style, self.label))
    }
}

/// A package's badge: `repositories` (`used by | 1.2k repositories`), `organizations`
/// (`used by | 42 organizations`) or `stars` (`dependents' stars | 3.4M`), as an SVG or as
/// shields.io endpoint JSON. Unknown package, ecosystem or metric: a grey `unknown` badge
/// with status 404 (an image still renders).
#[get("/badges/{ecosystem}/{name}/{file}")]
pub(crate) async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<BadgePath>,
    query: Query<BadgeParams>,
) -> Result<HttpResponse, ApiError> {
    let (style, label) = query.into_inner().validate()?;
    let (metric_name, format) = match path.file.rsplit_once('.') {
        Some((metric, "svg")) => (metric, Format::Svg),
        Some((metric, "json")) => (metric, Format::Json),
        _ => (path.file.as_str(), Format::Svg),
    };
    let metric = Metric::parse(metric_name);
    let key = PackageKey::from_path(&path.ecosystem, &path.name);
    let unknown = || unknown_badge(format, style, metric, label.as_deref());
    let (Some(metric), Ok(key), true) = (metric, key, path.file.contains('.')) else {
        return Ok(unknown());
    };
    let count = match count(&state, key, metric).await {
        Ok(count) => count,
        Err(ApiError::NotFound(_)) => return Ok(unknown()),
        Err(err) => return Err(err),
    };
    let (value, cached) = count;
    let badge = Badge::count(metric, value, label.as_deref());
    let body = format.body(&badge, style);
    let answer = Cached {
        etag: etag_of(&body),
        body: body.into(),
        link: None,
        ..cached
    };
    Ok(answer.respond_as(&req, format.content_type()))
}

/// The package's count for `metric`, through the cache (the cached answer carries its
/// freshness for `Cache-Control`).
async fn count(
    state: &web::Data<AppState>,
    key: PackageKey,
    metric: Metric,
) -> Result<(i64, Cached), ApiError> {
    let scope = scope(&key);
    let variant = format!("badge:{}", metric.as_str());
    let cached = state
        .cache
        .get_or_load(&scope, CacheClass::Badge, &variant, || async {
            let mut conn = connection(state).await?;
            let package = find_package(&mut conn, &key).await?;
            let count = match metric {
                Metric::Repositories => i64::from(package.dependents_count),
                Metric::Organizations => i64::from(package.organizations_count),
                Metric::Stars => {
                    package_organizations::stars_of_package(&mut conn, package.id).await?
                }
            };
            Ok(Fresh::from(count))
        })
        .await?;
    let count: i64 = serde_json::from_slice(&cached.body)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a cached badge count: {e}")))?;
    Ok((count, cached))
}

/// The grey `unknown` badge, status 404, kept briefly by proxies.
fn unknown_badge(
    format: Format,
    style: Style,
    metric: Option<Metric>,
    label: Option<&str>,
) -> HttpResponse {
    let badge = Badge::unknown(metric, label);
    HttpResponse::NotFound()
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(UNKNOWN_MAX_AGE_SECS),
        ]))
        .insert_header((header::CONTENT_TYPE, format.content_type()))
        .body(format.body(&badge, style))
}
