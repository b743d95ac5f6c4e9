//! A repository with its dependencies grouped by manifest.

use crate::{TestApp, seed};

#[tokio::test(flavor = "multi_thread")]
async fn a_repository_lists_its_dependencies_by_manifest() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;

    let repo = app.get_json("/api/v1/repositories/Acme/App").await;
    assert_eq!(repo.status, 200, "{:#}", repo.body);
    assert_eq!(repo.body["full_name"], "acme/app");
    assert_eq!(repo.body["stars"], 100);
    let manifests: Vec<(String, Vec<String>)> = repo.body["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let names = m["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .collect();
            (m["path"].as_str().unwrap().to_owned(), names)
        })
        .collect();
    assert_eq!(
        manifests,
        [
            ("go.mod".to_owned(), vec!["github.com/x/y".to_owned()]),
            (
                "package.json".to_owned(),
                vec!["@scope/Pkg".to_owned(), "left-pad".to_owned()]
            ),
            ("pom.xml".to_owned(), vec!["org.example:lib".to_owned()]),
        ]
    );
    let maven = &repo.body["manifests"][2]["dependencies"][0];
    assert_eq!(maven["direct"], false);
    assert_eq!(maven["ecosystem"], "maven");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_repositories_and_bad_segments_are_problems() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;

    app.get_json("/api/v1/repositories/acme/nothing")
        .await
        .assert_problem(404, None);
    app.get_json("/api/v1/repositories/nobody/app")
        .await
        .assert_problem(404, None);
    app.get_json(&format!("/api/v1/repositories/acme/{}", "r".repeat(101)))
        .await
        .assert_problem(400, Some("repo"));
    app.get_json("/api/v1/repositories/acme/a%2Fb")
        .await
        .assert_problem(400, Some("repo"));
}
