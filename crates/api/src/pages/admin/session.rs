//! Operators' sign-ins to the dashboard. Browsers cannot send `X-API-Key`, so an admin key
//! typed into the sign-in form buys a session: 32 random bytes from the operating system,
//! sent as a cookie (`HttpOnly; SameSite=Strict; Secure; Path=/admin`) and kept in Valkey
//! only as their SHA-256, with `[api.pages] admin_session_secs` to live. A leaked Valkey
//! dump therefore holds no usable session; neither tokens nor keys are ever logged.

use std::time::Duration;

use actix_web::{
    HttpRequest,
    cookie::{Cookie, SameSite, time},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use fred::{
    interfaces::KeysInterface,
    types::{Expiration, Expiration::EX},
};
use rand::{TryRng, rngs::SysRng};
use sha2::{Digest, Sha256};

use crate::{
    problem::{ApiError, UNAVAILABLE_RETRY_AFTER},
    state::AppState,
};

/// The cookie holding the session's token.
pub(super) const COOKIE: &str = "wump_admin";
/// The cookie's path: only the dashboard's own requests carry it.
const COOKIE_PATH: &str = "/admin";
/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;
/// Longest wait for Valkey on a session: the page says the store is away instead of hanging.
const VALKEY_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest accepted cookie value (a token is 43 characters): anything longer is not ours.
const MAX_TOKEN_LEN: usize = 64;

/// A session just created: the token for the cookie (never stored, never logged).
pub(super) struct NewSession {
    token: String,
}

/// The Valkey key of the session whose token is `token`: its SHA-256, never the token.
fn stored_key(state: &AppState, token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    state
        .keys
        .admin_session(&wump_core::hex::encode(digest.as_slice()))
}

/// The session store cannot be reached: a 503 page, not a 500.
fn unavailable(error: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %error, "admin sessions unavailable: valkey does not answer");
    ApiError::Unavailable {
        what: "the sign-in store (Valkey)",
        retry_after: UNAVAILABLE_RETRY_AFTER,
    }
}

async fn bounded<T>(
    call: impl Future<Output = Result<T, fred::error::Error>>,
) -> Result<T, ApiError> {
    match tokio::time::timeout(VALKEY_TIMEOUT, call).await {
        Ok(answer) => answer.map_err(unavailable),
        Err(_) => Err(unavailable(format!("no answer within {VALKEY_TIMEOUT:?}"))),
    }
}

/// Starts a session for `who` (what the dashboard shows as signed in: a key's prefix, never
/// a key), stored for `[api.pages] admin_session_secs`.
pub(super) async fn create(state: &AppState, who: &str) -> Result<NewSession, ApiError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness for a session: {e}")))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let ttl = i64::try_from(state.settings.api.pages.admin_session_secs.max(1)).unwrap_or(i64::MAX);
    let expiry: Expiration = EX(ttl);
    bounded(state.valkey.set::<(), _, _>(
        stored_key(state, &token),
        who,
        Some(expiry),
        None,
        false,
    ))
    .await?;
    Ok(NewSession { token })
}

/// Who the request's session belongs to; `None` when it carries none, or one that ended
/// (signed out, expired, never issued).
pub(super) async fn current(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<String>, ApiError> {
    let Some(token) = token(req) else {
        return Ok(None);
    };
    bounded(
        state
            .valkey
            .get::<Option<String>, _>(stored_key(state, &token)),
    )
    .await
}

/// Ends the request's session, if it has one.
pub(super) async fn end(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    if let Some(token) = token(req) {
        bounded(state.valkey.del::<u64, _>(stored_key(state, &token))).await?;
    }
    Ok(())
}

/// The token of the request's cookie, when it looks like one of ours.
fn token(req: &HttpRequest) -> Option<String> {
    let cookie = req.cookie(COOKIE)?;
    let value = cookie.value();
    (!value.is_empty() && value.len() <= MAX_TOKEN_LEN).then(|| value.to_owned())
}

/// The cookie that carries `session` for `ttl_secs`. `Secure` always: browsers keep it on
/// plain HTTP only for `localhost` and `127.0.0.1` (trustworthy origins), never elsewhere.
pub(super) fn cookie(session: &NewSession, ttl_secs: u64) -> Cookie<'static> {
    Cookie::build(COOKIE, session.token.clone())
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::seconds(
            i64::try_from(ttl_secs).unwrap_or(i64::MAX),
        ))
        .finish()
}

/// The cookie that makes the browser forget the session.
pub(super) fn removal() -> Cookie<'static> {
    let mut cookie = Cookie::build(COOKIE, "")
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .finish();
    cookie.make_removal();
    cookie
}
