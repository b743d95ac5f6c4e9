//! The middleware in front of every `/api/v1` route: resolves the [`Caller`] (401 for a bad
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

/// Whether `path` is guarded.
fn guarded(path: &str) -> bool {
    path == "/api/v1" || path.starts_with("/api/v1/")
}

/// Authenticates and rate-limits `/api/v1` requests (`middleware::from_fn(guard::guard)`).
pub async fn guard<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (true, Some(state)) = (guarded(req.path()), state) else {
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
        Err(error) => return Ok(req.error_response(error).map_into_boxed_body()),
    };
    let verdict = state.limiter.check(&caller).await;
    if let Some(verdict) = verdict.filter(|v| !v.decision.allowed) {
        tracing::debug!(
            tier = %caller.tier,
            key.prefix = caller.key_prefix.as_deref(),
            "rate limited"
        );
        let mut response = req.error_response(ApiError::RateLimited {
            retry_after: verdict.retry_after(),
        });
        for (name, value) in verdict.headers() {
            response.headers_mut().insert(name, value);
        }
        return Ok(response.map_into_boxed_body());
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
