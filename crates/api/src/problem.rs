//! The one mapping from what went wrong to what the client sees: RFC 9457 problem details
//! (`application/problem+json`) with a stable `type` per kind of error.
//!
//! Handlers and extractors return [`ApiError`]; nothing else builds an error response.
//! Server-side failures are logged here with their cause and answered without it.

use std::time::Duration;

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use serde::Serialize;
use wump_db::{DbError, ValkeyError, queue::QueueError};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answered to the client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No such package, organization, repository, job or route.
    #[error("{0}")]
    NotFound(String),
    /// A path segment names nothing that exists (e.g. an unknown ecosystem).
    #[error("invalid parameter `{parameter}`: {reason}")]
    NotFoundParameter { parameter: String, reason: String },
    /// A path or query parameter is malformed or out of range.
    #[error("invalid parameter `{parameter}`: {reason}")]
    InvalidParameter { parameter: String, reason: String },
    /// A request body is well-formed JSON but cannot be acted on.
    #[error("invalid field `{field}`: {reason}")]
    Unprocessable { field: String, reason: String },
    /// The request body is larger than the route accepts.
    #[error("the request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// No key where one is needed, or a key that is unknown, expired or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller's tier is below what the route needs.
    #[error("this endpoint needs the {required} tier or above")]
    Forbidden { required: String },
    /// The caller spent its rate limit.
    #[error("rate limit exceeded; retry in {} s", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    /// A dependency (the database, the queues) is down or overloaded; try again later.
    #[error("{what} is unavailable")]
    Unavailable {
        what: &'static str,
        retry_after: Duration,
    },
    /// A feature the operator has not configured (webhooks without a key): the detail says
    /// what to set.
    #[error("{0}")]
    NotConfigured(String),
    /// A bug or an unexpected failure; the cause is logged, not shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
    /// The request broke a rule of HTTP itself that the framework enforces (a method the
    /// route does not take, an unsupported media type, headers too large): the status
    /// says which, RFC 9457's `about:blank` type.
    #[error("{detail}")]
    Http { status: StatusCode, detail: String },
}

impl ApiError {
    /// An invalid `parameter`, saying why.
    pub fn invalid(parameter: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::InvalidParameter {
            parameter: parameter.into(),
            reason: reason.into(),
        }
    }

    /// The stable problem type: a URN clients can match on (listed in docs/api.md).
    pub fn problem_type(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) | ApiError::NotFoundParameter { .. } => {
                "urn:wump:problem:not-found"
            }
            ApiError::InvalidParameter { .. } => "urn:wump:problem:invalid-parameter",
            ApiError::Unprocessable { .. } => "urn:wump:problem:unprocessable",
            ApiError::PayloadTooLarge { .. } => "urn:wump:problem:payload-too-large",
            ApiError::Unauthenticated(_) => "urn:wump:problem:unauthenticated",
            ApiError::Forbidden { .. } => "urn:wump:problem:forbidden",
            ApiError::RateLimited { .. } => "urn:wump:problem:rate-limited",
            ApiError::Unavailable { .. } => "urn:wump:problem:unavailable",
            ApiError::NotConfigured(_) => "urn:wump:problem:not-configured",
            ApiError::Internal(_) => "urn:wump:problem:internal",
            ApiError::Http { .. } => "about:blank",
        }
    }

    /// The problem's short, fixed title.
    pub(crate) fn title(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) | ApiError::NotFoundParameter { .. } => "Not found",
            ApiError::InvalidParameter { .. } => "Invalid parameter",
            ApiError::Unprocessable { .. } => "Unprocessable request",
            ApiError::PayloadTooLarge { .. } => "Payload too large",
            ApiError::Unauthenticated(_) => "Unauthenticated",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::RateLimited { .. } => "Too many requests",
            ApiError::Unavailable { .. } | ApiError::NotConfigured(_) => "Service unavailable",
            ApiError::Internal(_) => "Internal server error",
            ApiError::Http { status, .. } => status.canonical_reason().unwrap_or("Error"),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::RateLimited { retry_after } | ApiError::Unavailable { retry_after, .. } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }
}

/// One kind of problem as the OpenAPI document describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentedProblem {
    pub status: StatusCode,
    pub problem_type: &'static str,
    /// What it means to a client.
    pub meaning: &'static str,
}

impl ApiError {
    /// Every kind of problem a route can answer, its status and type taken from one error
    /// of that kind through the mapping above, so the document cannot drift from it.
    pub fn documented() -> Vec<DocumentedProblem> {
        let kinds = [
            (
                ApiError::invalid("", ""),
                "A parameter or the body is invalid or unknown (`parameter` names it).",
            ),
            (
                ApiError::NotFound(String::new()),
                "No such package, organization, repository, ecosystem, job or key.",
            ),
            (
                ApiError::Unprocessable {
                    field: String::new(),
                    reason: String::new(),
                },
                "The request is well-formed but cannot be acted on (`parameter` names the field).",
            ),
            (
                ApiError::PayloadTooLarge { limit: 0 },
                "The request body is too large.",
            ),
            (
                ApiError::Unauthenticated(String::new()),
                "The `X-API-Key` is missing where one is needed, malformed, unknown, expired or revoked.",
            ),
            (
                ApiError::Forbidden {
                    required: String::new(),
                },
                "The key's tier is below what the endpoint needs.",
            ),
            (
                ApiError::RateLimited {
                    retry_after: Duration::ZERO,
                },
                "Rate limit exceeded; see `Retry-After`.",
            ),
            (
                ApiError::Unavailable {
                    what: "",
                    retry_after: Duration::ZERO,
                },
                "A dependency (the database, the job queue) is unavailable or the request timed out; see `Retry-After`.",
            ),
            (
                ApiError::NotConfigured(String::new()),
                "The operator has not configured this feature (webhooks without \
                 `webhooks.secret_key`); the detail says what to set.",
            ),
            (ApiError::Internal(anyhow::anyhow!("")), "Internal error."),
        ];
        kinds
            .into_iter()
            .map(|(error, meaning)| DocumentedProblem {
                status: error.status_code(),
                problem_type: error.problem_type(),
                meaning,
            })
            .collect()
    }
}

/// The body of every error response (RFC 9457 §3, with two extension members).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of error, e.g. `urn:wump:problem:invalid-parameter`.
    #[serde(rename = "type")]
    pub problem_type: &'static str,
    pub title: &'static str,
    pub status: u16,
    /// What went wrong with this request, for humans.
    pub detail: String,
    /// The offending path or query parameter (or body field), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) | ApiError::NotFoundParameter { .. } => StatusCode::NOT_FOUND,
            ApiError::InvalidParameter { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } | ApiError::NotConfigured(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Http { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let parameter = match self {
            ApiError::InvalidParameter { parameter, .. }
            | ApiError::NotFoundParameter { parameter, .. } => Some(parameter.clone()),
            ApiError::Unprocessable { field, .. } => Some(field.clone()),
            _ => None,
        };
        let problem = Problem {
            problem_type: self.problem_type(),
            title: self.title(),
            status: status.as_u16(),
            detail: self.to_string(),
            parameter,
        };
        let mut response = HttpResponse::build(status);
        response.content_type(PROBLEM_JSON);
        if let Some(wait) = self.retry_after() {
            // Whole seconds, at least 1: `Retry-After: 0` invites a retry storm.
            response.insert_header((header::RETRY_AFTER, wait.as_secs().max(1).to_string()));
        }
        if matches!(self, ApiError::Unauthenticated(_)) {
            response.insert_header((header::WWW_AUTHENTICATE, "ApiKey header=\"X-API-Key\""));
        }
        response.json(problem)
    }
}

/// How long clients are asked to wait when a dependency is down.
pub const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(5);

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                ApiError::Unavailable {
                    what: "the database",
                    retry_after: UNAVAILABLE_RETRY_AFTER,
                }
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        DbError::from(err).into()
    }
}

impl From<QueueError> for ApiError {
    fn from(err: QueueError) -> Self {
        match err {
            QueueError::Valkey(cause) => {
                tracing::warn!(error = %cause, "job queues unavailable");
                ApiError::Unavailable {
                    what: "the job queue",
                    retry_after: UNAVAILABLE_RETRY_AFTER,
                }
            }
            QueueError::NotFound(id) => ApiError::NotFound(format!("no dead job with id {id}")),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<ValkeyError> for ApiError {
    fn from(err: ValkeyError) -> Self {
        ApiError::Internal(err.into())
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::*;

    async fn render(error: ApiError) -> (StatusCode, HttpResponse<()>, serde_json::Value) {
        let response = error.error_response();
        let status = response.status();
        let (head, body) = response.into_parts();
        let body = to_bytes(body).await.unwrap();
        (status, head, serde_json::from_slice(&body).unwrap())
    }

    #[actix_web::test]
    async fn an_invalid_parameter_is_a_400_problem_naming_the_parameter() {
        let (status, head, body) = render(ApiError::invalid("per_page", "must be 1..=100")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            head.headers().get(header::CONTENT_TYPE).unwrap(),
            PROBLEM_JSON
        );
        assert_eq!(body["type"], "urn:wump:problem:invalid-parameter");
        assert_eq!(body["status"], 400);
        assert_eq!(body["parameter"], "per_page");
        assert!(body["detail"].as_str().unwrap().contains("1..=100"));
    }

    #[actix_web::test]
    async fn an_unavailable_database_is_a_503_with_retry_after() {
        let error = ApiError::from(DbError::Unavailable("connection refused".into()));
        let (status, head, body) = render(error).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(head.headers().get(header::RETRY_AFTER).unwrap(), "5");
        assert!(
            !body.to_string().contains("refused"),
            "causes stay in the logs"
        );
    }

    #[actix_web::test]
    async fn internal_errors_do_not_leak_their_cause() {
        let error = ApiError::Internal(anyhow::anyhow!("password=hunter2 in a query"));
        let (status, _, body) = render(error).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("hunter2"));
        assert_eq!(body["type"], "urn:wump:problem:internal");
    }
}
