//! Signing in to the dashboard with an admin key, and out again.
//!
//! The key goes through the guard's own authenticator (`state.auth`), so stored keys and
//! the bootstrap `[api] admin_key` sign in, revoked and expired ones do not, and a database
//! outage is the same 503 as on the API. Only the admin tier gets a session: a wrong key is
//! a 401 with the form again, a key of a lower tier a 403; neither stores anything.
//! Attempts count against the caller's page rate limit (the guard, `is_page`).

use actix_web::{
    HttpMessage, HttpRequest, HttpResponse, http::StatusCode, http::header, post, web,
};

use super::{MAX_FORM_BYTES, page, session};
use crate::{
    auth::{Caller, Tier},
    pages::{PageError, same_origin},
    problem::ApiError,
    state::AppState,
};

/// Why a form posted from elsewhere is refused.
pub(super) const CROSS_SITE: &str = "the dashboard only takes forms from wump's own pages";

/// The sign-in form.
#[derive(askama::Template)]
#[template(path = "admin/sign_in.html")]
struct SignIn {
    /// Why the last attempt failed.
    problem: Option<String>,
}

/// The sign-in form answered with `status`, saying `problem` when there is one.
pub(super) fn form(status: StatusCode, problem: Option<String>) -> Result<HttpResponse, PageError> {
    page(status, &SignIn { problem })
}

/// The `key` field of a urlencoded form body.
fn key_field(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(name, _)| name == "key")
        .map(|(_, value)| value.trim().to_owned())
}

/// `POST /admin/login`: an admin key in, a session cookie out, then back to `/admin`.
#[post("/login")]
pub(super) async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    same_origin(&req, CROSS_SITE)?;
    if body.len() > MAX_FORM_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_FORM_BYTES,
        }
        .into());
    }
    let Some(key) = key_field(&body).filter(|k| !k.is_empty()) else {
        return form(
            StatusCode::UNAUTHORIZED,
            Some("Type an admin API key.".to_owned()),
        );
    };
    // The guard resolved who is asking (the address, for the rate limit it already applied).
    let ip = req.extensions().get::<Caller>().map(|c| c.ip);
    let ip = ip.unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let caller = match state.auth.caller(Some(key.as_bytes()), ip).await {
        Ok(caller) => caller,
        Err(ApiError::Unauthenticated(reason)) => {
            tracing::info!("dashboard sign-in refused: not a valid key");
            return form(
                StatusCode::UNAUTHORIZED,
                Some(format!("Not signed in: {reason}.")),
            );
        }
        Err(other) => return Err(other.into()),
    };
    if caller.tier < Tier::Admin {
        tracing::info!(
            key.prefix = caller.key_prefix.as_deref(),
            tier = %caller.tier,
            "dashboard sign-in refused: not an admin key"
        );
        return form(
            StatusCode::FORBIDDEN,
            Some(format!(
                "Not signed in: this is a key of the {} tier; the dashboard needs an admin key.",
                caller.tier
            )),
        );
    }
    let who = caller.key_prefix.as_deref().map_or_else(
        || "the bootstrap admin key".to_owned(),
        |prefix| format!("admin key {prefix}"),
    );
    let created = session::create(&state, &who).await?;
    tracing::info!(
        key.prefix = caller.key_prefix.as_deref(),
        "dashboard sign-in"
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/admin"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(session::cookie(
            &created,
            state.settings.api.pages.admin_session_secs,
        ))
        .finish())
}

/// `POST /admin/logout`: ends the session (in Valkey and in the browser), back to the form.
#[post("/logout")]
pub(super) async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    same_origin(&req, CROSS_SITE)?;
    session::end(&state, &req).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/admin"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(session::removal())
        .finish())
}

#[cfg(test)]
mod tests {
    use super::key_field;

    #[test]
    fn the_key_is_read_from_the_form() {
        assert_eq!(
            key_field(b"key=wump_abc%2B_x+&other=1").as_deref(),
            Some("wump_abc+_x")
        );
        assert_eq!(key_field(b"other=1"), None);
    }
}
