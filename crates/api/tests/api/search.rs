//! Search by name, packages or organizations, paged; the stats page.

use crate::{TestApp, seed};

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_packages_and_organizations_by_similar_names() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;

    let packages = app.get_json("/api/v1/search?q=left-pa").await;
    assert_eq!(packages.status, 200, "{:#}", packages.body);
    assert_eq!(packages.body["items"][0]["name"], "left-pad");
    assert_eq!(packages.body["items"][0]["ecosystem"], "npm");
    let similarity = packages.body["items"][0]["similarity"].as_f64().unwrap();
    assert!(similarity > 0.0 && similarity <= 1.0);

    let orgs = app.get_json("/api/v1/search?q=ACM&type=organization").await;
    assert_eq!(orgs.status, 200, "{:#}", orgs.body);
    assert_eq!(orgs.body["items"][0]["name"], "acme");
    assert_eq!(orgs.body["items"][0]["host"], "github.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn search_results_page_without_repeats() {
    let app = TestApp::spawn().await;
    let mut seed = seed::Seed::new(&app).await;
    for i in 0..12 {
        seed.package(wump_core::Ecosystem::Npm, &format!("plugin-{i}"))
            .await;
    }
    let all = app.get_json("/api/v1/search?q=plugin&per_page=100").await;
    let expected: Vec<_> = all.body["items"].as_array().unwrap().clone();
    assert_eq!(expected.len(), 12);
    let walked = app.walk("/api/v1/search?q=plugin&per_page=5").await;
    assert_eq!(walked, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn search_parameters_are_validated() {
    let app = TestApp::spawn().await;
    for (path, parameter) in [
        ("/api/v1/search", "q"),
        ("/api/v1/search?q=a", "q"),
        ("/api/v1/search?q=%20%20", "q"),
        ("/api/v1/search?q=left&type=repository", "type"),
        ("/api/v1/search?q=left&per_page=1000", "per_page"),
        ("/api/v1/search?q=left&cursor=xyz", "cursor"),
        ("/api/v1/search?q=left&sort=stars", "sort"),
    ] {
        app.get_json(path)
            .await
            .assert_problem(400, Some(parameter));
    }
    let long = "x".repeat(101);
    app.get_json(&format!("/api/v1/search?q={long}"))
        .await
        .assert_problem(400, Some("q"));
    let wildcard = app.get_json("/api/v1/search?q=%25_").await;
    assert_eq!(wildcard.status, 200, "LIKE wildcards are matched literally");
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_count_what_the_database_holds() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;

    let stats = app.get_json("/api/v1/stats").await;
    assert_eq!(stats.status, 200, "{:#}", stats.body);
    assert_eq!(stats.body["repositories"], 7);
    assert_eq!(stats.body["organizations"], 3);
    let npm = stats.body["ecosystems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["ecosystem"] == "npm")
        .unwrap();
    assert_eq!(npm["packages"], 2);
    assert_eq!(npm["packages_with_dependents"], 2);
    app.get_json("/api/v1/stats?x=1")
        .await
        .assert_problem(400, Some("x"));
}
