//! A package page, its dependents and organizations, names that need escaping, and every
//! parameter error as a problem naming the parameter.

use crate::{
    TestApp,
    seed::{self, full_names},
};

#[tokio::test(flavor = "multi_thread")]
async fn a_package_page_shows_metadata_funding_counts_and_top_organizations() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;

    let page = app.get_json("/api/v1/packages/npm/left-pad").await;
    assert_eq!(page.status, 200, "{:#}", page.body);
    let body = &page.body;
    assert_eq!(body["ecosystem"], "npm");
    assert_eq!(body["name"], "left-pad");
    assert_eq!(body["description"], "pads strings on the left");
    assert_eq!(body["funding"][0]["url"], "https://github.com/sponsors/pad");
    assert_eq!(
        body["dependents_count"], 5,
        "archived and forked repositories do not count"
    );
    assert_eq!(body["organizations_count"], 3);
    let top: Vec<_> = body["top_organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["login"].as_str().unwrap(),
                o["stars_sum"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(top, [("acme", 150), ("initech", 103), ("globex", 10)]);
    let acme = &body["top_organizations"][0];
    assert_eq!(
        acme["funding"]["sponsors_listing_url"],
        "https://github.com/sponsors/acme"
    );
    assert_eq!(acme["funding"]["website_url"], "https://example.org");
    assert!(body.get("id").is_none(), "internal ids stay inside");
    assert!(page.header("etag").is_some());
    assert_eq!(page.header("x-cache"), Some("MISS"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_counts_on_the_package_page_equal_what_the_default_listings_return() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;

    let package = app.get_json("/api/v1/packages/npm/left-pad").await.body;
    let dependents = app
        .walk("/api/v1/packages/npm/left-pad/dependents?per_page=2")
        .await;
    let organizations = app
        .walk("/api/v1/packages/npm/left-pad/organizations?per_page=2")
        .await;
    assert_eq!(
        dependents.len() as i64,
        package["dependents_count"].as_i64().unwrap()
    );
    assert_eq!(
        organizations.len() as i64,
        package["organizations_count"].as_i64().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn names_with_slashes_at_signs_and_colons_resolve_in_paths_and_lookups() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;

    for (path, name) in [
        ("/api/v1/packages/npm/%40scope%2Fpkg", "@scope/Pkg"),
        ("/api/v1/packages/npm/@scope%2FPKG", "@scope/Pkg"),
        ("/api/v1/packages/go/github.com%2Fx%2Fy", "github.com/x/y"),
        ("/api/v1/packages/maven/org.example:lib", "org.example:lib"),
        (
            "/api/v1/packages/maven/org.example%3Alib",
            "org.example:lib",
        ),
        (
            "/api/v1/packages/lookup?ecosystem=npm&name=%40scope%2Fpkg",
            "@scope/Pkg",
        ),
        (
            "/api/v1/packages/lookup?purl=pkg:npm/%2540scope/pkg@1.0",
            "@scope/Pkg",
        ),
        (
            "/api/v1/packages/lookup?purl=pkg%3Agolang%2Fgithub.com%2Fx%2Fy%40v1.2.0",
            "github.com/x/y",
        ),
        (
            "/api/v1/packages/lookup?purl=pkg:maven/org.example/lib@2",
            "org.example:lib",
        ),
    ] {
        let page = app.get_json(path).await;
        assert_eq!(page.status, 200, "{path}: {:#}", page.body);
        assert_eq!(page.body["name"], name, "{path}");
    }
    let dependents = app
        .get_json("/api/v1/packages/npm/%40scope%2Fpkg/dependents?kind=development")
        .await;
    assert_eq!(
        full_names(dependents.body["items"].as_array().unwrap()),
        ["acme/app"]
    );
    // A Go module path split into segments is not a package route.
    app.get_json("/api/v1/packages/go/github.com/x/y")
        .await
        .assert_problem(404, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn dependents_filter_by_kind_stars_archived_forks_organization_and_directness() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;
    let base = "/api/v1/packages/npm/left-pad/dependents";

    let names = |query: &'static str| {
        let app = &app;
        async move {
            let page = app.get_json(&format!("{base}?{query}")).await;
            assert_eq!(page.status, 200, "{query}: {:#}", page.body);
            full_names(page.body["items"].as_array().unwrap())
        }
    };
    let mut ties = names("").await;
    // acme/app and initech/api both have 100 stars: ties are ordered by an internal id.
    ties[..2].sort();
    assert_eq!(
        ties,
        [
            "acme/app",
            "initech/api",
            "acme/site",
            "globex/tool",
            "initech/old"
        ]
    );
    assert_eq!(names("kind=development").await, ["globex/tool"]);
    assert_eq!(names("min_stars=50").await.len(), 3);
    assert_eq!(names("include_archived=true").await[0], "globex/archive");
    assert!(
        names("include_forks=true")
            .await
            .contains(&"globex/fork".to_owned())
    );
    assert_eq!(names("organization=ACME").await, ["acme/app", "acme/site"]);
    assert_eq!(names("organization=nobody").await, Vec::<String>::new());
    assert_eq!(names("direct=false").await, ["initech/old"]);
    let mut by_push = names("sort=pushed_at").await;
    by_push[..2].sort();
    assert_eq!(
        by_push,
        [
            "acme/site",
            "initech/api",
            "acme/app",
            "globex/tool",
            "initech/old"
        ],
        "most recently pushed first, never pushed last"
    );

    let first = app.get_json(&format!("{base}?per_page=1")).await;
    let usage = &first.body["items"][0]["usage"];
    assert_eq!(usage["kind"], "runtime");
    assert_eq!(usage["manifest_paths"][0], "package.json");
    assert_eq!(usage["requirement"], "^1.0.0");
}

#[tokio::test(flavor = "multi_thread")]
async fn organizations_rank_by_stars_or_repositories_and_filter_by_funding() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;
    let base = "/api/v1/packages/npm/left-pad/organizations";
    let logins = |body: &serde_json::Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["login"].as_str().unwrap().to_owned())
            .collect()
    };

    let by_stars = app.get_json(base).await;
    assert_eq!(logins(&by_stars.body), ["acme", "initech", "globex"]);
    assert_eq!(by_stars.body["items"][0]["repositories_count"], 2);
    assert_eq!(by_stars.body["items"][0]["stars_sum"], 150);

    let by_repositories = app.get_json(&format!("{base}?sort=repositories")).await;
    let mut order = logins(&by_repositories.body);
    order[..2].sort();
    assert_eq!(order, ["acme", "initech", "globex"]);

    let funded = app.get_json(&format!("{base}?has_funding=true")).await;
    assert_eq!(logins(&funded.body), ["acme", "initech"]);
    assert_eq!(
        funded.body["items"][1]["funding"]["links"][0]["url"],
        "https://opencollective.com/initech"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_parameter_error_is_a_problem_naming_the_parameter() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;
    let long_name = "a".repeat(257);
    let dependents = "/api/v1/packages/npm/left-pad/dependents";
    let cases: Vec<(String, u16, Option<&str>)> = vec![
        (
            "/api/v1/packages/npmx/left-pad".into(),
            404,
            Some("ecosystem"),
        ),
        (
            "/api/v1/packages/npmx/left-pad/dependents".into(),
            404,
            Some("ecosystem"),
        ),
        ("/api/v1/packages/npm/no-such-package".into(), 404, None),
        (
            format!("/api/v1/packages/npm/{long_name}"),
            400,
            Some("name"),
        ),
        ("/api/v1/packages/npm/%20".into(), 400, Some("name")),
        (format!("{dependents}?per_page=0"), 400, Some("per_page")),
        (format!("{dependents}?per_page=101"), 400, Some("per_page")),
        (format!("{dependents}?per_page=abc"), 400, Some("per_page")),
        (
            format!("{dependents}?per_page=2&per_page=3"),
            400,
            Some("per_page"),
        ),
        (format!("{dependents}?colour=blue"), 400, Some("colour")),
        (format!("{dependents}?sort=name"), 400, Some("sort")),
        (format!("{dependents}?kind=everything"), 400, Some("kind")),
        (format!("{dependents}?min_stars=-1"), 400, Some("min_stars")),
        (
            format!("{dependents}?min_stars=99999999999"),
            400,
            Some("min_stars"),
        ),
        (
            format!("{dependents}?include_forks=maybe"),
            400,
            Some("include_forks"),
        ),
        (format!("{dependents}?direct=2"), 400, Some("direct")),
        (
            format!("{dependents}?cursor=not-a-cursor"),
            400,
            Some("cursor"),
        ),
        (format!("{dependents}?cursor=%FF%FE"), 400, Some("cursor")),
        (
            "/api/v1/packages/npm/left-pad/organizations?sort=stars&has_funding=yes".into(),
            400,
            Some("has_funding"),
        ),
        (
            "/api/v1/packages/npm/left-pad?verbose=1".into(),
            400,
            Some("verbose"),
        ),
        (
            "/api/v1/packages/lookup?ecosystem=npm".into(),
            400,
            Some("name"),
        ),
        (
            "/api/v1/packages/lookup?name=x".into(),
            400,
            Some("ecosystem"),
        ),
        (
            "/api/v1/packages/lookup?ecosystem=nope&name=x".into(),
            400,
            Some("ecosystem"),
        ),
        (
            "/api/v1/packages/lookup?purl=npm/left-pad".into(),
            400,
            Some("purl"),
        ),
        (
            "/api/v1/packages/lookup?purl=pkg:npm/x&name=x".into(),
            400,
            Some("purl"),
        ),
        ("/api/v1/no/such/route".into(), 404, None),
    ];
    for (path, status, parameter) in cases {
        let answer = app.get_json(&path).await;
        assert_eq!(answer.status, status, "{path}: {:#}", answer.body);
        answer.assert_problem(status, parameter);
        assert!(
            answer.body["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:wump:problem:")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_from_another_sort_or_listing_is_refused() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;
    let base = "/api/v1/packages/npm/left-pad";
    let page = app.get_json(&format!("{base}/dependents?per_page=1")).await;
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();

    app.get_json(&format!("{base}/dependents?sort=pushed_at&cursor={cursor}"))
        .await
        .assert_problem(400, Some("cursor"));
    app.get_json(&format!("{base}/organizations?cursor={cursor}"))
        .await
        .assert_problem(400, Some("cursor"));
    let mut edited = cursor.clone();
    edited.insert(5, 'x');
    app.get_json(&format!("{base}/dependents?cursor={edited}"))
        .await
        .assert_problem(400, Some("cursor"));
    let next = app
        .get_json(&format!("{base}/dependents?per_page=1&cursor={cursor}"))
        .await;
    assert_eq!(next.status, 200);
}
