//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations,
//! served at `/api/v1/openapi.json` with Swagger UI at `/docs`.
//!
//! One document, built one way for every route. What operations share is added here rather
//! than repeated on each handler:
//! - problem+json error responses, derived from what an operation takes (parameters, a
//!   body, a path naming a thing, the tier it requires) and described once by the error
//!   mapping ([`ApiError::documented`]);
//! - on the cached read endpoints (every tag but [`UNCACHED_TAGS`]), `304 Not Modified`
//!   and the caching headers (and `Link` on listings) of the 200 answer;
//! - the optional `X-API-Key` scheme.

use std::{collections::BTreeMap, sync::OnceLock};

use actix_web::http::StatusCode;
use utoipa::{
    IntoResponses, Modify, OpenApi,
    openapi::{
        Content, Header, ObjectBuilder, OpenApi as Document, Ref, RefOr, Response, ResponseBuilder,
        path::Operation,
        schema::Type,
        security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme},
    },
};

use crate::{
    problem::{ApiError, Problem},
    routes::{self, admin},
};

/// The name of the API-key security scheme in the document.
pub const API_KEY_SCHEME: &str = "api_key";

/// The tags of the routes that answer from the database or the queues directly, never
/// from the response cache (refresh, job status, admin, webhooks).
pub const UNCACHED_TAGS: [&str; 3] = ["jobs", "admin", "webhooks"];

/// The role an admin route names in its `security(("api_key" = ["admin"]))`.
pub const ADMIN_ROLE: &str = "admin";

/// wump's API, as documented.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "wump",
        description = "Who uses a package: its dependents, the organizations behind them and how \
                       to fund them. Errors are RFC 9457 problem details; listings are \
                       keyset-paginated (`cursor`, `Link: <…>; rel=\"next\"`). See docs/api.md.",
        version = "1"
    ),
    paths(
        routes::packages::show,
        routes::packages::lookup,
        routes::packages::dependents,
        routes::packages::organizations,
        routes::history::package_history,
        routes::events::package_events,
        routes::feeds::package_feed,
        routes::feeds::organization_feed,
        routes::history::organization_history,
        routes::organizations::show,
        routes::organizations::repositories,
        routes::organizations::dependencies,
        routes::repositories::show,
        routes::search::search,
        routes::stats::stats,
        routes::jobs::refresh_package,
        routes::jobs::job_status,
        admin::keys::create_key,
        admin::keys::list_keys,
        admin::keys::revoke_key,
        admin::keys::rotate_key,
        admin::runs::list_runs,
        admin::dead_letters::list,
        admin::dead_letters::show,
        admin::dead_letters::replay_one,
        admin::dead_letters::replay_all,
        admin::dead_letters::purge_one,
        routes::webhooks::create,
        routes::webhooks::list,
        routes::webhooks::show,
        routes::webhooks::update,
        routes::webhooks::remove,
        routes::webhooks::rotate_secret,
        routes::webhooks::enable,
        routes::webhooks::deliveries,
    ),
    components(schemas(Problem)),
    modifiers(&Conventions),
    tags(
        (name = "packages", description = "A package, who depends on it and which organizations"),
        (name = "organizations", description = "An organization, its repositories and dependencies"),
        (name = "repositories", description = "A repository and its manifests"),
        (name = "search", description = "Find packages and organizations by name"),
        (name = "stats", description = "Totals and freshness"),
        (name = "jobs", description = "On-demand refreshes and job status"),
        (name = "admin", description = "API keys, job runs and dead letters (admin tier)"),
        (name = "webhooks", description = "Signed notifications of new and lost dependents (any API key)"),
    )
)]
pub struct ApiDoc;

/// The document, built once.
pub fn document() -> &'static Document {
    static DOCUMENT: OnceLock<Document> = OnceLock::new();
    DOCUMENT.get_or_init(ApiDoc::openapi)
}

/// For a route's `responses(...)`: a 422 problem it answers without taking a body (the
/// document derives 422 only from a request body).
#[derive(Debug)]
pub struct AlsoUnprocessable;

impl IntoResponses for AlsoUnprocessable {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        BTreeMap::from([(
            status.as_str().to_owned(),
            RefOr::T(problem_response(status)),
        )])
    }
}

/// Adds what every operation shares.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "Optional: without a key requests are anonymous, limited by client IP.",
            ))),
        );
        // Anonymous access or a key: either satisfies the document.
        openapi.security = Some(vec![
            SecurityRequirement::default(),
            SecurityRequirement::new(API_KEY_SCHEME, Vec::<String>::new()),
        ]);

        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ];
            for operation in operations.into_iter().flatten() {
                let read = !operation
                    .tags
                    .iter()
                    .flatten()
                    .any(|tag| UNCACHED_TAGS.contains(&tag.as_str()));
                if read {
                    add_read_conventions(operation);
                }
                for status in problems(path, operation, read) {
                    operation
                        .responses
                        .responses
                        .entry(status.as_str().to_owned())
                        .or_insert_with(|| RefOr::T(problem_response(status)));
                }
            }
        }
    }
}

/// The problems an operation can answer, from what it takes.
fn problems(path: &str, operation: &Operation, read: bool) -> Vec<StatusCode> {
    // The guard (key, rate limit), the timeout and any handler, on every route.
    let mut statuses = vec![
        StatusCode::UNAUTHORIZED,
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::SERVICE_UNAVAILABLE,
    ];
    let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_body = operation.request_body.is_some();
    // Read endpoints refuse unknown query parameters, so every one can answer 400.
    if read || has_parameters || has_body {
        statuses.push(StatusCode::BAD_REQUEST);
    }
    // Everything that names a thing can miss it; search, stats and lists cannot.
    if path.contains('{') || path.ends_with("/lookup") {
        statuses.push(StatusCode::NOT_FOUND);
    }
    if has_body {
        statuses.extend([
            StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNPROCESSABLE_ENTITY,
        ]);
    }
    let roles = operation
        .security
        .iter()
        .flatten()
        .filter_map(|requirement| {
            serde_json::to_value(requirement).ok()?[API_KEY_SCHEME]
                .as_array()
                .cloned()
        });
    if roles.flatten().any(|role| role == ADMIN_ROLE) {
        statuses.push(StatusCode::FORBIDDEN);
    }
    statuses
}

/// `304` and the caching headers of a cached read endpoint.
fn add_read_conventions(operation: &mut Operation) {
    let paged = operation
        .operation_id
        .as_deref()
        .is_some_and(|id| id.starts_with("list_") || id == "search");
    let responses = &mut operation.responses.responses;
    if let Some(RefOr::T(ok)) = responses.get_mut("200") {
        add_cache_headers(ok, paged);
    }
    responses.insert(
        "304".into(),
        RefOr::T(Response::new(
            "Not modified: the `If-None-Match` ETag is current.",
        )),
    );
}

/// The problem+json response for `status`, described by the error mapping.
fn problem_response(status: StatusCode) -> Response {
    let description = ApiError::documented()
        .into_iter()
        .filter(|kind| kind.status == status)
        .map(|kind| format!("{} Problem type `{}`.", kind.meaning, kind.problem_type))
        .collect::<Vec<_>>()
        .join(" ");
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::problem::PROBLEM_JSON,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
}

fn string_header(description: &str) -> Header {
    let mut header = Header::new(ObjectBuilder::new().schema_type(Type::String));
    header.description = Some(description.to_owned());
    header
}

fn add_cache_headers(response: &mut Response, paged: bool) {
    let mut headers = vec![
        (
            "ETag",
            "Validator of the body: send it back in `If-None-Match`.",
        ),
        (
            "Cache-Control",
            "How long shared caches may keep the answer.",
        ),
        ("X-Cache", "HIT, MISS or STALE: where the answer came from."),
    ];
    if paged {
        headers.push((
            "Link",
            "`<url>; rel=\"next\"` to the next page, absent on the last page.",
        ));
    }
    for (name, description) in headers {
        response
            .headers
            .insert(name.into(), RefOr::T(string_header(description)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_access_route_is_documented_with_the_api_key_scheme() {
        let doc = serde_json::to_value(document()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for (path, method) in [
            ("/api/v1/packages/{ecosystem}/{name}/refresh", "post"),
            ("/api/v1/jobs/{id}", "get"),
            ("/api/v1/admin/keys", "post"),
            ("/api/v1/admin/keys", "get"),
            ("/api/v1/admin/keys/{prefix}", "delete"),
            ("/api/v1/admin/keys/{prefix}/rotate", "post"),
            ("/api/v1/admin/jobs", "get"),
            ("/api/v1/admin/dead-letters", "get"),
            ("/api/v1/admin/dead-letters/{id}", "get"),
            ("/api/v1/admin/dead-letters/{id}/replay", "post"),
            ("/api/v1/admin/dead-letters/replay", "post"),
        ] {
            assert!(paths[path][method].is_object(), "{method} {path} missing");
        }
        let scheme = &doc["components"]["securitySchemes"]["api_key"];
        assert_eq!(scheme["type"], "apiKey");
        assert_eq!(scheme["name"], "X-API-Key");
        let refresh = &paths["/api/v1/packages/{ecosystem}/{name}/refresh"]["post"];
        assert!(refresh["responses"]["202"]["headers"]["Location"].is_object());
        assert_eq!(refresh["security"][0]["api_key"], serde_json::json!([]));
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for schema in [
            "RefreshAccepted",
            "JobStatusBody",
            "CreateKeyRequest",
            "Problem",
        ] {
            assert!(schemas.contains_key(schema), "{schema} missing");
        }
    }

    #[test]
    fn problems_follow_from_what_an_operation_takes() {
        let doc = serde_json::to_value(document()).unwrap();
        let statuses = |path: &str, method: &str| -> Vec<String> {
            let responses = doc["paths"][path][method]["responses"].as_object().unwrap();
            responses.keys().cloned().collect()
        };
        // Admin: 403; a body: 400, 413, 422; no path segment: no 404.
        assert_eq!(
            statuses("/api/v1/admin/keys", "post"),
            [
                "201", "400", "401", "403", "413", "422", "429", "500", "503"
            ]
        );
        // No parameters, no body: no 400.
        assert_eq!(
            statuses("/api/v1/admin/keys", "get"),
            ["200", "401", "403", "429", "500", "503"]
        );
        // Rotating a revoked key is a 422 without a body.
        assert!(statuses("/api/v1/admin/keys/{prefix}/rotate", "post").contains(&"422".into()));
        // Refresh needs a key but no tier above free: no 403.
        assert_eq!(
            statuses("/api/v1/packages/{ecosystem}/{name}/refresh", "post"),
            ["202", "400", "401", "404", "429", "500", "503"]
        );
        // Reads are cached: 304; search names nothing: no 404.
        assert_eq!(
            statuses("/api/v1/search", "get"),
            ["200", "304", "400", "401", "429", "500", "503"]
        );
        let not_found = &doc["paths"]["/api/v1/jobs/{id}"]["get"]["responses"]["404"];
        assert!(
            not_found["description"]
                .as_str()
                .unwrap()
                .contains("urn:wump:problem:not-found"),
            "{not_found}"
        );
    }
}
