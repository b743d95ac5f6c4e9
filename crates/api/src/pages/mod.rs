//! The HTML pages: what wump knows, for people, rendered on the server from the same
//! queries and through the same cache as the JSON API. Templates live in
//! `crates/api/templates` (askama: checked when the crate compiles, compiled into the
//! binary, escaped by default); one stylesheet, no script, nothing loaded from elsewhere, so
//! the pages work offline and behind a firewall.

mod admin;
pub(crate) mod assets;
mod chart;
mod error;
pub(crate) mod format;
mod home;
mod organization;
mod package;
mod refresh;
mod search;

use actix_web::{HttpRequest, http::StatusCode, http::header, web};

pub(crate) use self::{
    error::PageError,
    package::{api_href as package_api_href, href as package_href},
};
use crate::problem::ApiError;

/// The content type of every page.
const HTML: &str = "text/html; charset=utf-8";

/// Whether `path` is a page's (rate limited like the API; its errors shown as pages). The
/// stylesheet and the icon are not: a page costs one request, not three.
pub(crate) fn is_page(path: &str) -> bool {
    if path == "/" || path == "/search" || path == "/admin" || path.starts_with("/admin/") {
        return true;
    }
    let Some((first, rest)) = path[1..].split_once('/') else {
        return false;
    };
    !rest.is_empty()
        && (matches!(first, "orgs" | "jobs" | "refresh")
            || first.parse::<wump_core::Ecosystem>().is_ok())
}

/// Refuses a form posted from a page of another origin (403 saying `detail`), so no page
/// elsewhere can make visitors' browsers act here. Browsers say where a request comes from
/// in `Sec-Fetch-Site`; older ones only in `Origin` (which our `no-referrer` policy turns
/// into `null` on our own forms). A request with neither (a script, curl) is not a browser
/// being misused.
pub(crate) fn same_origin(req: &HttpRequest, detail: &str) -> Result<(), ApiError> {
    let headers = req.headers();
    let refused = match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        Some(site) => site != b"same-origin",
        None => match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            None | Some("null") => false,
            Some(origin) => {
                let host = req.connection_info().host().to_owned();
                !origin
                    .split_once("://")
                    .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(&host))
            }
        },
    };
    if refused {
        return Err(ApiError::Http {
            status: StatusCode::FORBIDDEN,
            detail: detail.to_owned(),
        });
    }
    Ok(())
}

/// Registers the pages. After the API's routes: the package page's pattern takes any path
/// under an ecosystem's id, and no API path starts with one.
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .service(assets::stylesheet)
        .service(assets::icon)
        .service(home::home)
        .service(search::show)
        .service(organization::show)
        .service(refresh::job)
        .configure(admin::configure)
        .service(refresh::resource())
        .service(package::resource());
}

#[cfg(test)]
mod tests {
    use super::is_page;

    #[test]
    fn pages_are_told_from_the_api_and_the_files() {
        for page in [
            "/",
            "/search",
            "/npm/left-pad",
            "/npm/@babel/core",
            "/orgs/acme",
            "/jobs/x",
            "/refresh/npm/x",
            "/admin",
            "/admin/login",
            "/admin/dead-letters/replay",
        ] {
            assert!(is_page(page), "{page}");
        }
        for other in [
            "/api/v1/stats",
            "/health",
            "/metrics",
            "/docs/",
            "/static/wump.1.css",
            "/favicon.svg",
            "/badges/npm/x/repositories.svg",
            "/npm",
            "/npm/",
            "/administrator",
            "/api/v1/admin/keys",
        ] {
            assert!(!is_page(other), "{other}");
        }
    }
}
