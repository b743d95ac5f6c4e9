//! The HTML pages: what wump knows, for people, rendered on the server from the same
//! queries and through the same cache as the JSON API. Templates live in
//! `crates/api/templates` (askama: checked when the crate compiles, compiled into the
//! binary, escaped by default); one stylesheet, no script, nothing loaded from elsewhere, so
//! the pages work offline and behind a firewall.

pub(crate) mod assets;
mod error;
pub(crate) mod format;
mod home;
mod organization;
mod package;
mod refresh;
mod search;

use actix_web::web;

pub(crate) use self::error::PageError;

/// The content type of every page.
const HTML: &str = "text/html; charset=utf-8";

/// Whether `path` is a page's (rate limited like the API; its errors shown as pages). The
/// stylesheet and the icon are not: a page costs one request, not three.
pub(crate) fn is_page(path: &str) -> bool {
    if path == "/" || path == "/search" {
        return true;
    }
    let Some((first, rest)) = path[1..].split_once('/') else {
        return false;
    };
    !rest.is_empty()
        && (matches!(first, "orgs" | "jobs" | "refresh")
            || first.parse::<wump_core::Ecosystem>().is_ok())
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
        ] {
            assert!(!is_page(other), "{other}");
        }
    }
}
