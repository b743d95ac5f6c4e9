//! The middleware in front of every `/api/v1` route and every page: resolves the [`Caller`] (401 for a bad
//! key), applies its rate limit (429 with `Retry-After`), stores the caller in the
//! request's extensions and puts the rate-limit headers on the response.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::{
    HttpMessage,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web,
};

use crate::{
    auth::{API_KEY_HEADER, Caller},
    problem::ApiError,
    state::AppState,
};

/// What a guarded path serves, which decides how a refusal reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Api,
    Page,
}

/// Whether `path` is guarded, and as what.
fn guarded(path: &str) -> Option<Surface> {
    if path == "/api/v1" || path.starts_with("/api/v1/") {
        Some(Surface::Api)
    } else if crate::pages::is_page(path) {
        Some(Surface::Page)
    } else {
        None
    }
}

/// `error` as the response `surface` answers with: a problem, or a page.
fn refusal(req: ServiceRequest, surface: Surface, error: ApiError) -> ServiceResponse<BoxBody> {
    match surface {
        Surface::Api => req.error_response(error).map_into_boxed_body(),
        Surface::Page => req
            .error_response(crate::pages::PageError(error))
            .map_into_boxed_body(),
    }
}

/// Authenticates and rate-limits `/api/v1` requests (`middleware::from_fn(guard::guard)`).
pub async fn guard<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(surface), Some(state)) = (guarded(req.path()), state) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    let ip = state.auth.proxies().client_ip(peer, forwarded.into_iter());
    let api_key = req.headers().get(API_KEY_HEADER).map(|v| v.as_bytes());
    let caller: Caller = match state.auth.caller(api_key, ip).await {
        Ok(caller) => caller,
        Err(error) => return Ok(refusal(req, surface, error)),
    };
    let verdict = state.limiter.check(&caller).await;
    if let Some(verdict) = verdict.filter(|v| !v.decision.allowed) {
        tracing::debug!(
            tier = %caller.tier,
            key.prefix = caller.key_prefix.as_deref(),
            "rate limited"
        );
        let error = ApiError::RateLimited {
            retry_after: verdict.retry_after(),
        };
        let mut response = refusal(req, surface, error);
        for (name, value) in verdict.headers() {
            response.headers_mut().insert(name, value);
        }
        return Ok(response);
    }
    req.extensions_mut().insert(caller);
    let mut response = next.call(req).await?;
    if let Some(verdict) = verdict {
        for (name, value) in verdict.headers() {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response.map_into_boxed_body())
}
