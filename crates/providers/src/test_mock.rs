//! GitHub's response shapes for tests' mock servers (wiremock): the provider tests and the
//! worker's fleet tests answer with the same rate-limit headers and error bodies, as GitHub
//! documents them (<https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api>).

use serde_json::json;
use wiremock::ResponseTemplate;

/// `template` with GitHub's headers for a response counted against `resource`: a window of
/// `limit` requests with `remaining` left that resets at `reset_epoch` (Unix seconds), read
/// against the server clock `date` (an HTTP date).
pub fn github_limited(
    template: ResponseTemplate,
    date: &str,
    resource: &str,
    limit: u32,
    remaining: u32,
    reset_epoch: i64,
) -> ResponseTemplate {
    template
        .insert_header("date", date)
        .insert_header("x-github-api-version-selected", "2022-11-28")
        .insert_header("x-ratelimit-limit", limit.to_string())
        .insert_header("x-ratelimit-remaining", remaining.to_string())
        .insert_header("x-ratelimit-used", (limit - remaining).to_string())
        .insert_header("x-ratelimit-reset", reset_epoch.to_string())
        .insert_header("x-ratelimit-resource", resource)
}

/// GitHub's JSON error response: `status` with `message` and its `documentation_url`.
pub fn github_error(status: u16, message: &str, documentation_url: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        json!({
            "message": message,
            "documentation_url": documentation_url,
            "status": status.to_string(),
        })
        .to_string(),
        "application/json; charset=utf-8",
    )
}
