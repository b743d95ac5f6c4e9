//! What every request goes through besides its handler: request ids, the tracing span
//! (continuing the caller's W3C trace), security headers, CORS, size limits, the request
//! timeout, and turning every framework error into a problem+json answer.
//!
//! `server.rs` wires them; the order there matters (outermost first): request id →
//! span → security headers → metrics → CORS → header limit → error conversion → timeout.

use std::time::Duration;

use actix_cors::Cors;
use actix_web::{
    Error, HttpMessage, HttpRequest, HttpResponse, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    error::JsonPayloadError,
    http::{
        StatusCode,
        header::{self, HeaderMap, HeaderName, HeaderValue},
    },
    middleware::{Condition, ErrorHandlerResponse, ErrorHandlers, Next},
    web,
};
use opentelemetry::{global, propagation::Extractor, trace::TraceContextExt as _};
use tracing::{Span, field::Empty};
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use wump_core::settings::HttpSettings;

use crate::{
    problem::{ApiError, PROBLEM_JSON},
    state::AppState,
};

/// The request id header, accepted from clients and always answered.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-chosen request id we keep; longer (or odd) ones are replaced.
const MAX_REQUEST_ID: usize = 128;

/// A request's id (the client's `X-Request-Id` when sane, else a new UUID), in the request's
/// extensions for the span and for handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

fn acceptable_request_id(value: &HeaderValue) -> Option<String> {
    let id = value.to_str().ok()?;
    let sane = !id.is_empty()
        && id.len() <= MAX_REQUEST_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    sane.then(|| id.to_owned())
}

/// Middleware: decides the request id and echoes it on the response.
pub(crate) async fn request_id(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(acceptable_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.call(request).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    Ok(response)
}

/// The request span: our request id, and the caller's trace as parent when a valid
/// `traceparent` came with the request (read through the global propagator, which
/// `telemetry::init` sets to W3C TraceContext).
#[derive(Debug)]
pub struct ApiRootSpan;

impl RootSpanBuilder for ApiRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .unwrap_or_default();
        let method = request.method().as_str();
        let span = tracing::info_span!(
            "HTTP request",
            http.method = %method,
            http.route = Empty,
            http.target = %request.uri().path_and_query().map_or("", |p| p.as_str()),
            http.status_code = Empty,
            otel.name = %format!("{method} request"),
            otel.kind = "server",
            otel.status_code = Empty,
            request_id = %request_id,
            exception.message = Empty,
            exception.details = Empty,
        );
        let parent =
            global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(request.headers())));
        if parent.span().span_context().is_valid() {
            // Fails only without an OpenTelemetry layer, when there is no trace to join.
            let _ = span.set_parent(parent);
        }
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        if let Ok(response) = outcome {
            let route = response.request().match_pattern();
            let route = route.as_deref().unwrap_or("unmatched");
            span.record("http.route", route);
            let method = response.request().method().as_str();
            span.record("otel.name", format!("{method} {route}"));
        }
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Reads propagation headers out of actix's header map.
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// CSP for JSON: nothing may load, nothing may frame it.
const JSON_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// CSP for the docs page: its own (vendored) scripts, styles and images, and calls to us.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'";

/// CSP for the HTML pages: their stylesheet, forms to us, no script at all.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
    form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Middleware: the security headers every response carries (a handler's own win).
pub(crate) async fn security_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let docs = request.path() == "/docs" || request.path().starts_with("/docs/");
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    let html = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"text/html"));
    let csp = match (docs, html) {
        (true, _) => DOCS_CSP,
        (false, true) => PAGE_CSP,
        (false, false) => JSON_CSP,
    };
    for (name, value) in [
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, csp),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    Ok(response)
}

/// CORS for the configured origins (none configured: no CORS headers, browsers refuse).
pub(crate) fn cors(settings: &HttpSettings) -> Condition<Cors> {
    let origins: Vec<&str> = settings
        .cors_allowed_origins
        .iter()
        .map(String::as_str)
        .filter(|origin| {
            let valid = *origin == "*"
                || ((origin.starts_with("https://") || origin.starts_with("http://"))
                    && HeaderValue::from_str(origin).is_ok());
            if !valid {
                tracing::error!(
                    origin,
                    "api.http.cors_allowed_origins: ignoring an invalid origin"
                );
            }
            valid
        })
        .collect();
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST"])
        .allowed_headers([
            header::ACCEPT,
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
            HeaderName::from_static("x-api-key"),
            X_REQUEST_ID,
            HeaderName::from_static("traceparent"),
            HeaderName::from_static("tracestate"),
        ])
        .expose_headers([
            header::ETAG,
            header::LINK,
            header::LOCATION,
            header::RETRY_AFTER,
            HeaderName::from_static("ratelimit-limit"),
            HeaderName::from_static("ratelimit-remaining"),
            HeaderName::from_static("ratelimit-reset"),
            HeaderName::from_static("ratelimit-policy"),
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
            HeaderName::from_static("x-cache"),
            X_REQUEST_ID,
        ])
        .max_age(3_600);
    if origins.contains(&"*") {
        cors = cors.allow_any_origin().send_wildcard();
    } else {
        for origin in &origins {
            cors = cors.allowed_origin(origin);
        }
    }
    Condition::new(!origins.is_empty(), cors)
}

/// Middleware: 431 when the request line and headers exceed `max_header_bytes`.
pub(crate) async fn header_limit<B: MessageBody + 'static>(
    request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let limit = http_settings(request.request()).map(|s| s.max_header_bytes);
    if let Some(limit) = limit {
        let size = request.uri().to_string().len()
            + request
                .headers()
                .iter()
                .map(|(name, value)| name.as_str().len() + value.len() + 4)
                .sum::<usize>();
        if size > limit {
            let error = ApiError::Http {
                status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                detail: format!("the request line and headers exceed {limit} bytes"),
            };
            return Ok(request.error_response(error));
        }
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

/// Middleware: a 503 problem instead of an answer that takes longer than
/// `request_timeout_ms` (the handler is dropped, and with it its database work).
///
/// It answers with an error rather than a response: a middleware cannot keep the request
/// to build one (actix refuses to route a request that has clones), so the problem is
/// rendered by actix itself, outside the other middleware — without the security headers
/// and `X-Request-Id`, which a JSON error body does not need.
pub(crate) async fn timeout<B: MessageBody + 'static>(
    request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(limit) = http_settings(request.request()).map(|s| s.request_timeout_ms) else {
        return Ok(next.call(request).await?.map_into_boxed_body());
    };
    match tokio::time::timeout(Duration::from_millis(limit), next.call(request)).await {
        Ok(response) => Ok(response?.map_into_boxed_body()),
        Err(_) => {
            tracing::warn!(timeout_ms = limit, "request timed out");
            Err(ApiError::Unavailable {
                what: "an answer within the request timeout",
                retry_after: Duration::from_secs(1),
            }
            .into())
        }
    }
}

fn http_settings(request: &HttpRequest) -> Option<&HttpSettings> {
    request
        .app_data::<web::Data<AppState>>()
        .map(|state| &state.settings.api.http)
}

/// Turns every error answer that is not JSON already (the framework's own: unknown routes,
/// methods, media types, oversized payloads) into a problem, through [`ApiError`].
pub(crate) fn problem_errors() -> ErrorHandlers<BoxBody> {
    ErrorHandlers::new().default_handler(|response: ServiceResponse<BoxBody>| {
        // Problems, JSON bodies a handler chose (health checks' 503s), the pages' own error
        // pages and SVG badges (the grey 404 `unknown` badge: an image must still render)
        // stay as they are.
        let is_json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|ct| {
                let ct = ct.as_bytes();
                ct.starts_with(PROBLEM_JSON.as_bytes())
                    || ct.starts_with(b"application/json")
                    || ct.starts_with(b"image/svg+xml")
                    || ct.starts_with(b"text/html")
            });
        if is_json {
            return Ok(ErrorHandlerResponse::Response(
                response.map_into_left_body(),
            ));
        }
        let status = response.status();
        let detail = response
            .response()
            .error()
            .map(|e| e.to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
        let error = match status {
            StatusCode::NOT_FOUND => ApiError::NotFound(format!(
                "no route for {} {}",
                response.request().method(),
                response.request().path()
            )),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
                limit: http_settings(response.request()).map_or(0, |s| s.json_body_limit_bytes),
            },
            StatusCode::INTERNAL_SERVER_ERROR => ApiError::Internal(anyhow::anyhow!(detail)),
            status => ApiError::Http { status, detail },
        };
        let mut problem = error.error_response();
        // Keep what the framework said about the method (`Allow`) or the wait.
        for name in [header::ALLOW, header::RETRY_AFTER] {
            if let Some(value) = response.headers().get(&name) {
                problem.headers_mut().insert(name, value.clone());
            }
        }
        let (request, _) = response.into_parts();
        Ok(ErrorHandlerResponse::Response(
            ServiceResponse::new(request, problem).map_into_right_body(),
        ))
    })
}

/// Unknown routes: a 404 problem.
pub(crate) async fn not_found(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        request.method(),
        request.path()
    )))
}

/// JSON bodies: at most `json_body_limit_bytes`, every failure a problem.
pub(crate) fn json_config(settings: &HttpSettings) -> web::JsonConfig {
    let limit = settings.json_body_limit_bytes;
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |error, _request| json_error(error, limit).into())
}

fn json_error(error: JsonPayloadError, limit: usize) -> ApiError {
    match error {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::PayloadTooLarge { limit }
        }
        JsonPayloadError::ContentType => ApiError::Http {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            detail: "the body must be JSON (Content-Type: application/json)".into(),
        },
        JsonPayloadError::Deserialize(cause) if cause.is_data() => ApiError::Unprocessable {
            field: "body".into(),
            reason: cause.to_string(),
        },
        other => ApiError::invalid("body", other.to_string()),
    }
}

/// Other bodies: the same byte limit.
pub(crate) fn payload_config(settings: &HttpSettings) -> web::PayloadConfig {
    web::PayloadConfig::default().limit(settings.json_body_limit_bytes)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider};
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[test]
    fn request_ids_are_kept_when_sane_and_replaced_otherwise() {
        let ok = HeaderValue::from_static("req-1.abc_DEF:9");
        assert_eq!(
            acceptable_request_id(&ok).as_deref(),
            Some("req-1.abc_DEF:9")
        );
        for bad in ["", "has space", "semi;colon", &"x".repeat(129)] {
            assert_eq!(
                acceptable_request_id(&HeaderValue::from_str(bad).unwrap()),
                None,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_traceparent_makes_the_request_span_continue_the_callers_trace() {
        global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let request = TestRequest::default()
                .insert_header((
                    "traceparent",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                ))
                .to_srv_request();
            let span = ApiRootSpan::on_request_start(&request);
            let context = span.context();
            assert_eq!(
                context.span().span_context().trace_id().to_string(),
                "4bf92f3577b34da6a3ce929d0e0e4736"
            );

            let without = ApiRootSpan::on_request_start(&TestRequest::default().to_srv_request());
            assert_ne!(
                without
                    .context()
                    .span()
                    .span_context()
                    .trace_id()
                    .to_string(),
                "4bf92f3577b34da6a3ce929d0e0e4736"
            );
        });
    }
}
