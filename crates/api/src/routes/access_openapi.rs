//! The OpenAPI fragment of the access endpoints (refresh, job status, admin) and the
//! `api_key` security scheme they refer to; the document in `openapi.rs` merges it
//! (`ApiDoc::openapi().merge_from(AccessApi::openapi())`) or lists the same paths.

use utoipa::OpenApi;

use super::{admin, jobs};
use crate::auth::ApiKeySecurity;

/// Refresh, job status and the admin endpoints.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(
        jobs::refresh_package,
        jobs::job_status,
        admin::keys::create_key,
        admin::keys::list_keys,
        admin::keys::revoke_key,
        admin::keys::rotate_key,
        admin::runs::list_runs,
        admin::dead_letters::list,
        admin::dead_letters::show,
        admin::dead_letters::replay_one,
        admin::dead_letters::replay_all,
    ),
    modifiers(&ApiKeySecurity),
    tags(
        (name = "jobs", description = "On-demand refreshes and job status"),
        (name = "admin", description = "API keys, job runs and dead letters (admin tier)"),
    )
)]
pub struct AccessApi;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_access_route_is_documented_with_the_api_key_scheme() {
        let doc = serde_json::to_value(AccessApi::openapi()).unwrap();
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
}
