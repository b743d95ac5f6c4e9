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
mod search;

use actix_web::web;

pub(crate) use self::error::PageError;

/// The content type of every page.
const HTML: &str = "text/html; charset=utf-8";

/// Registers the pages. After the API's routes: the package page's pattern takes any path
/// under an ecosystem's id, and no API path starts with one.
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .service(assets::stylesheet)
        .service(assets::icon)
        .service(home::home)
        .service(search::show)
        .service(organization::show)
        .service(package::resource());
}
