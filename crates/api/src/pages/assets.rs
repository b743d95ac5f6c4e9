//! The stylesheet, compiled into the binary and served under a name that changes with its
//! content, so browsers may keep it for a year.

use std::sync::LazyLock;

use actix_web::{HttpResponse, get, http::header};

/// The one stylesheet of every page.
const STYLESHEET: &str = include_str!("../../static/wump.css");

/// Where pages link the stylesheet: its name carries a hash of its content.
static STYLESHEET_PATH: LazyLock<String> = LazyLock::new(|| {
    let digest = crate::cache::etag_of(STYLESHEET.as_bytes());
    format!("/static/wump.{}.css", &digest[1..13])
});

/// [`STYLESHEET_PATH`], for templates.
pub(crate) fn stylesheet_path() -> &'static str {
    &STYLESHEET_PATH
}

/// `GET /static/wump.<hash>.css`. Any hash is answered with the current stylesheet: a page
/// cached before a deploy still gets styles, and the next page links the new name.
#[get("/static/wump.{hash}.css")]
pub(crate) async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(STYLESHEET)
}

/// The icon browsers ask for on every page: wump's diamond.
const ICON: &str = include_str!("../../static/wump.svg");

/// `GET /favicon.svg`, which every page links (and so nothing asks for `/favicon.ico`).
#[get("/favicon.svg")]
pub(crate) async fn icon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(ICON)
}
