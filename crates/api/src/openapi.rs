//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations,
//! served at `/api/v1/openapi.json` with Swagger UI at `/docs`.
//!
//! What every operation shares is added here rather than repeated on each handler:
//! the problem+json error responses, `304 Not Modified`, the caching headers (and `Link`
//! on listings) of the 200 answer, and the optional `X-API-Key` scheme.

use std::sync::OnceLock;

use utoipa::{
    Modify, OpenApi,
    openapi::{
        Content, Header, ObjectBuilder, OpenApi as Document, Ref, RefOr, Response, ResponseBuilder,
        schema::Type,
        security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme},
    },
};

use crate::{problem::Problem, routes};

/// The name of the API-key security scheme in the document.
pub const API_KEY_SCHEME: &str = "api_key";

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
        routes::organizations::show,
        routes::organizations::repositories,
        routes::organizations::dependencies,
        routes::repositories::show,
        routes::search::search,
        routes::stats::stats,
    ),
    components(schemas(Problem)),
    modifiers(&Conventions),
    tags(
        (name = "packages", description = "A package, who depends on it and which organizations"),
        (name = "organizations", description = "An organization, its repositories and dependencies"),
        (name = "repositories", description = "A repository and its manifests"),
        (name = "search", description = "Find packages and organizations by name"),
        (name = "stats", description = "Totals and freshness"),
    )
)]
pub struct ApiDoc;

/// The document, built once.
pub fn document() -> &'static Document {
    static DOCUMENT: OnceLock<Document> = OnceLock::new();
    // The access routes (refresh, jobs, admin) are merged after the read conventions were
    // applied: they are not cached, and their key requirement is their own.
    DOCUMENT.get_or_init(|| {
        let mut document = ApiDoc::openapi();
        document.merge(crate::AccessApi::openapi());
        add_guard_responses(&mut document);
        document
    })
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
            // Everything that names a thing can miss it; search and stats cannot.
            let names_a_thing = path.contains('{') || path.ends_with("/lookup");
            let Some(operation) = item.get.as_mut() else {
                continue;
            };
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
            let mut problems = vec![
                (
                    "400",
                    "A parameter is invalid or unknown (`parameter` names it).",
                ),
                ("429", "Rate limit exceeded; see `Retry-After`."),
                ("500", "Internal error."),
                ("503", "The database is unavailable; see `Retry-After`."),
            ];
            if names_a_thing {
                problems.push((
                    "404",
                    "No such package, organization, repository or ecosystem.",
                ));
            }
            for (status, description) in problems {
                responses
                    .entry(status.into())
                    .or_insert_with(|| RefOr::T(problem_response(description)));
            }
        }
    }
}

/// What the guard, the timeout and any handler can answer on every `/api/v1` operation,
/// whatever the route documents itself.
fn add_guard_responses(openapi: &mut Document) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
            continue;
        }
        let operations = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ];
        for operation in operations.into_iter().flatten() {
            for (status, description) in [
                (
                    "401",
                    "The `X-API-Key` is malformed, unknown, expired or revoked.",
                ),
                ("429", "Rate limit exceeded; see `Retry-After`."),
                ("500", "Internal error."),
                (
                    "503",
                    "A dependency is unavailable or the request timed out; see `Retry-After`.",
                ),
            ] {
                operation
                    .responses
                    .responses
                    .entry(status.into())
                    .or_insert_with(|| RefOr::T(problem_response(description)));
            }
        }
    }
}

fn problem_response(description: &str) -> Response {
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
