//! The OpenAPI document is complete and self-consistent; the docs page works offline.

use serde_json::Value;

use crate::TestApp;

fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(target)) => out.push(target),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_is_openapi_3_1_and_every_reference_resolves() {
    let app = TestApp::spawn().await;
    let answer = app.get_json("/api/v1/openapi.json").await;
    assert_eq!(answer.status, 200);
    let doc = answer.body;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );

    let paths = doc["paths"].as_object().unwrap();
    for expected in [
        "/api/v1/packages/{ecosystem}/{name}",
        "/api/v1/packages/lookup",
        "/api/v1/packages/{ecosystem}/{name}/dependents",
        "/api/v1/packages/{ecosystem}/{name}/organizations",
        "/api/v1/organizations/{login}",
        "/api/v1/organizations/{login}/repositories",
        "/api/v1/organizations/{login}/dependencies",
        "/api/v1/repositories/{owner}/{repo}",
        "/api/v1/search",
        "/api/v1/stats",
        "/api/v1/packages/{ecosystem}/{name}/refresh",
        "/api/v1/jobs/{id}",
        "/api/v1/admin/keys",
        "/api/v1/admin/jobs",
        "/api/v1/admin/dead-letters",
    ] {
        assert!(paths.contains_key(expected), "{expected} is not documented");
    }
    let mut operation_ids = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str();
            assert!(id.is_some(), "{method} {path} has no operationId");
            operation_ids.push(id.unwrap().to_owned());
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|status| status.starts_with('2')),
                "{method} {path} documents no success"
            );
            // The read endpoints take parameters that can be wrong: each documents its 400.
            if !path.contains("/admin/") && !path.contains("/jobs/") && method == "get" {
                assert!(responses.contains_key("400"), "{method} {path} has no 400");
            }
            // Every error a route documents is a problem.
            for (status, response) in responses {
                if status.starts_with('4') && status != "404" || status.starts_with('5') {
                    let problem =
                        &response["content"]["application/problem+json"]["schema"]["$ref"];
                    assert_eq!(
                        problem, "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "path" {
                    let name = parameter["name"].as_str().unwrap();
                    assert!(path.contains(&format!("{{{name}}}")), "{path} lacks {name}");
                }
            }
        }
    }
    let unique: std::collections::HashSet<_> = operation_ids.iter().collect();
    assert_eq!(unique.len(), operation_ids.len(), "operationIds are unique");

    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    assert!(!targets.is_empty());
    for target in targets {
        let pointer = target.strip_prefix('#').expect("only local references");
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["name"],
        "X-API-Key"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_docs_page_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let page = app.get("/docs/").await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
    let bare = app.get("/docs").await;
    assert_eq!(bare.status().as_u16(), 200, "/docs leads to the page");
    assert_eq!(bare.url().path(), "/docs/", "through a redirect to /docs/");
    let script = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(script.status().as_u16(), 200);
}
