//! Errors on pages: the same [`ApiError`]s as the API, with the same statuses, shown as a
//! page a person can read instead of a problem document.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use askama::Template;

use super::HTML;
use crate::problem::ApiError;

/// An [`ApiError`] met while answering a page.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct PageError(#[from] pub ApiError);

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    detail: String,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        // The API's response carries what is logged and the headers (`Retry-After`); only
        // the body changes.
        let api = self.0.error_response();
        let page = ErrorPage {
            title: self.0.title(),
            detail: self.0.to_string(),
        };
        let mut response = HttpResponse::build(api.status());
        for (name, value) in api.headers() {
            if name != actix_web::http::header::CONTENT_TYPE {
                response.insert_header((name.clone(), value.clone()));
            }
        }
        match page.render() {
            Ok(body) => response.content_type(HTML).body(body),
            Err(_) => api,
        }
    }
}
