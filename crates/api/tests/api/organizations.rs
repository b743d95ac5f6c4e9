//! An organization, its repositories and what it depends on.

use crate::{
    TestApp,
    seed::{self, Edge, Repo, Seed},
};

#[tokio::test(flavor = "multi_thread")]
async fn an_organization_page_shows_its_profile_and_funding() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;

    let acme = app.get_json("/api/v1/organizations/ACME").await;
    assert_eq!(acme.status, 200, "{:#}", acme.body);
    assert_eq!(acme.body["login"], "acme");
    assert_eq!(acme.body["host"], "github.com");
    assert_eq!(
        acme.body["funding"]["sponsors_listing_url"],
        "https://github.com/sponsors/acme"
    );
    assert_eq!(acme.body["funding"]["links"][0]["platform"], "github");
    assert!(acme.body.get("id").is_none());

    let explicit = app
        .get_json("/api/v1/organizations/acme?host=github.com")
        .await;
    assert_eq!(explicit.body, acme.body);
    app.get_json("/api/v1/organizations/acme?host=gitlab.com")
        .await
        .assert_problem(404, None);
    app.get_json("/api/v1/organizations/nobody")
        .await
        .assert_problem(404, None);
    app.get_json("/api/v1/organizations/acme?host=a%20b")
        .await
        .assert_problem(400, Some("host"));
    app.get_json("/api/v1/organizations/acme?page=2")
        .await
        .assert_problem(400, Some("page"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organization_on_another_host_is_found_without_naming_the_host() {
    let app = TestApp::spawn().await;
    let mut seed = Seed::new(&app).await;
    let org = seed.organization_on("local", "demo-org").await;
    seed.repository_on("local", org, "demo-org/app", Repo::stars(1))
        .await;

    let page = app.get_json("/api/v1/organizations/demo-org").await;
    assert_eq!(page.status, 200, "{:#}", page.body);
    assert_eq!(page.body["host"], "local");
    let repo = app.get_json("/api/v1/repositories/demo-org/app").await;
    assert_eq!(repo.status, 200, "{:#}", repo.body);
    assert_eq!(repo.body["host"], "local");
}

#[tokio::test(flavor = "multi_thread")]
async fn repositories_are_listed_most_starred_first_across_pages() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;

    let repos = app
        .walk("/api/v1/organizations/globex/repositories?per_page=1")
        .await;
    let names: Vec<_> = repos
        .iter()
        .map(|r| r["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["globex/archive", "globex/tool", "globex/fork"]);
    app.get_json("/api/v1/organizations/globex/repositories?per_page=0")
        .await
        .assert_problem(400, Some("per_page"));
}

#[tokio::test(flavor = "multi_thread")]
async fn dependencies_are_ranked_by_how_many_repositories_use_them_with_funding() {
    let app = TestApp::spawn().await;
    let ids = seed::standard(&app).await;
    let mut seed = Seed::new(&app).await;
    let extra = seed
        .repository(ids.acme, "acme/extra", Repo::stars(1))
        .await;
    seed.depends(extra, &[Edge::runtime(ids.go_module).manifest("go.mod")])
        .await;

    let deps = app
        .walk("/api/v1/organizations/acme/dependencies?per_page=1")
        .await;
    let ranked: Vec<_> = deps
        .iter()
        .map(|d| {
            (
                d["package"]["name"].as_str().unwrap().to_owned(),
                d["repositories_count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ranked.len(), 4, "{ranked:?}");
    let mut top_two: Vec<_> = ranked[..2].to_vec();
    top_two.sort();
    assert_eq!(
        top_two,
        [("github.com/x/y".to_owned(), 2), ("left-pad".to_owned(), 2)]
    );
    let left_pad = deps
        .iter()
        .find(|d| d["package"]["name"] == "left-pad")
        .unwrap();
    assert_eq!(
        left_pad["package"]["funding"][0]["url"],
        "https://github.com/sponsors/pad"
    );
    assert_eq!(left_pad["package"]["ecosystem"], "npm");
    let _ = ids.globex;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_login_on_four_forges_is_four_organizations_each_labelled_with_its_host() {
    let app = TestApp::spawn().await;
    let mut seed = Seed::new(&app).await;
    let shared = seed
        .package(wump_core::Ecosystem::Npm, "forge-shared")
        .await;
    // Bitbucket has no stars: its repositories have 0.
    for (host, stars) in [
        ("github.com", 30),
        ("gitlab.com", 50),
        ("codeberg.org", 10),
        ("bitbucket.org", 0),
    ] {
        let org = seed.organization_on(host, "acme").await;
        let repo = seed
            .repository_on(host, org, "acme/app", Repo::stars(stars))
            .await;
        seed.depends(repo, &[Edge::runtime(shared)]).await;
    }

    let users = app
        .walk("/api/v1/packages/npm/forge-shared/organizations?sort=stars")
        .await;
    // Ranked across forges by stars, each under its own host.
    let listed: Vec<(&str, &str)> = users
        .iter()
        .map(|u| (u["host"].as_str().unwrap(), u["login"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("gitlab.com", "acme"),
            ("github.com", "acme"),
            ("codeberg.org", "acme"),
            ("bitbucket.org", "acme")
        ],
        "{users:#?}"
    );

    // Without a host, github.com's; with one, that forge's.
    let default = app.get_json("/api/v1/organizations/acme").await;
    assert_eq!(default.body["host"], "github.com", "{:#}", default.body);
    for host in ["gitlab.com", "codeberg.org", "bitbucket.org"] {
        let named = app
            .get_json(&format!("/api/v1/organizations/acme?host={host}"))
            .await;
        assert_eq!(named.status, 200, "{:#}", named.body);
        assert_eq!(named.body["host"], host);
        let repos = app
            .walk(&format!(
                "/api/v1/organizations/acme/repositories?host={host}"
            ))
            .await;
        assert_eq!(repos.len(), 1);
        assert_eq!(repos[0]["host"], host);
    }
}
