//! `/metrics`: Prometheus text with the request histogram by route pattern, the cache
//! counters, pool gauges and the rate limiter's decisions.

use crate::{TestApp, start_with, test_routes, test_settings};

#[tokio::test(flavor = "multi_thread")]
async fn metrics_show_requests_by_route_pattern_and_cache_lookups() {
    let base = TestApp::spawn().await;
    let address = start_with(
        test_settings(&base.db, &base.valkey),
        &base.valkey,
        test_routes::configure,
    );
    let client = reqwest::Client::new();
    for name in ["a", "b", "a"] {
        let response = client
            .get(format!("http://{address}/test/cached/{name}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    client
        .get(format!("http://{address}/no/such/route"))
        .send()
        .await
        .unwrap();
    // Through the guard: an anonymous caller's rate-limit decision.
    client
        .get(format!(
            "http://{address}/api/v1/jobs/{}",
            uuid::Uuid::now_v7()
        ))
        .send()
        .await
        .unwrap();

    let response = client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    let histogram = text
        .lines()
        .find(|l| {
            l.starts_with("http_server_request_duration_seconds_count")
                && l.contains(r#"http_route="/test/cached/{name}""#)
        })
        .unwrap_or_else(|| panic!("no request histogram for the route in:\n{text}"));
    assert!(
        histogram.contains(r#"http_response_status_code="200""#),
        "{histogram}"
    );
    assert!(
        !text.contains("/test/cached/a"),
        "raw paths must not become labels"
    );
    assert!(text.contains(r#"http_route="unmatched""#));
    assert!(
        text.contains(r#"wump_api_cache_lookups_total{result="hit""#),
        "{text}"
    );
    assert!(
        text.contains(r#"wump_api_cache_lookups_total{result="miss""#),
        "{text}"
    );
    assert!(
        text.contains(r#"wump_db_pool_size{pool="primary""#),
        "{text}"
    );
    // The meter provider is the test process's: other tests' decisions show up too.
    let labels = [
        r#"decision="allowed""#,
        r#"tier="anonymous""#,
        r#"backend="valkey""#,
    ];
    assert!(
        text.lines()
            .any(|l| l.starts_with("wump_api_rate_limit_decisions_total{")
                && labels.iter().all(|label| l.contains(label))),
        "no anonymous allowed decision in:\n{text}"
    );
}
