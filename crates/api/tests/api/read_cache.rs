//! The response cache end to end on the read endpoints: a miss then a hit, `304` for a
//! current ETag, and a worker-style version bump that makes every page fresh again.

use wump_api::cache::Scope;
use wump_core::Ecosystem;

use crate::{
    TestApp, bump,
    seed::{self, Edge, Repo, Seed, full_names},
};

#[tokio::test(flavor = "multi_thread")]
async fn a_package_page_is_a_miss_then_a_hit_and_a_304_for_its_etag() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;
    let path = "/api/v1/packages/npm/left-pad";

    let miss = app.get_json(path).await;
    let hit = app.get_json(path).await;
    assert_eq!(miss.header("x-cache"), Some("MISS"));
    assert_eq!(hit.header("x-cache"), Some("HIT"));
    assert_eq!(hit.body, miss.body);
    let etag = miss.header("etag").unwrap();
    assert_eq!(hit.header("etag"), Some(etag));

    let revalidated = app
        .client
        .get(app.url(path))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status().as_u16(), 304);
    assert_eq!(revalidated.headers()["etag"], etag);
    assert!(revalidated.bytes().await.unwrap().is_empty());

    let stale_tag = app
        .client
        .get(app.url(path))
        .header("If-None-Match", "\"not-the-etag\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale_tag.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_page_keeps_its_link_header() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;
    let path = "/api/v1/packages/npm/left-pad/dependents?per_page=2";

    let miss = app.get_json(path).await;
    let hit = app.get_json(path).await;
    assert_eq!(hit.header("x-cache"), Some("HIT"));
    assert!(miss.header("link").is_some());
    assert_eq!(hit.header("link"), miss.header("link"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_version_bump_makes_every_page_of_the_package_fresh() {
    let app = TestApp::spawn().await;
    let ids = seed::standard(&app).await;
    let dependents = "/api/v1/packages/npm/left-pad/dependents?min_stars=40";
    let package = "/api/v1/packages/npm/left-pad";

    let before = app.get_json(dependents).await;
    assert_eq!(before.header("x-cache"), Some("MISS"));
    assert_eq!(app.get_json(package).await.body["dependents_count"], 5);

    // The worker writes a new dependent…
    let mut seed = Seed::new(&app).await;
    let repo = seed
        .repository(ids.acme, "acme/new", Repo::stars(1000))
        .await;
    seed.depends(repo, &[Edge::runtime(ids.left_pad)]).await;
    let cached = app.get_json(dependents).await;
    assert_eq!(
        cached.header("x-cache"),
        Some("HIT"),
        "no bump yet: the cached page stands"
    );
    assert_eq!(cached.body, before.body);

    // …and bumps the package's cache version, as wump-worker does after a write.
    let left_pad = Scope::Package {
        ecosystem: Ecosystem::Npm,
        normalized_name: "left-pad".into(),
    };
    bump(&app.state, &app.valkey, &left_pad).await;

    let after = app.get_json(dependents).await;
    assert_eq!(after.header("x-cache"), Some("MISS"));
    assert_eq!(
        full_names(after.body["items"].as_array().unwrap())[0],
        "acme/new"
    );
    let page = app.get_json(package).await;
    assert_eq!(page.header("x-cache"), Some("MISS"));
    assert_eq!(page.body["dependents_count"], 6);
    assert_ne!(page.header("etag"), before.header("etag"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organization_version_bump_refreshes_its_pages() {
    let app = TestApp::spawn().await;
    let ids = seed::standard(&app).await;
    let path = "/api/v1/organizations/acme/repositories";

    let before = app.get_json(path).await;
    assert_eq!(before.header("x-cache"), Some("MISS"));
    let mut seed = Seed::new(&app).await;
    seed.repository(ids.acme, "acme/brand-new", Repo::stars(9999))
        .await;
    assert_eq!(app.get_json(path).await.header("x-cache"), Some("HIT"));

    let acme = Scope::Organization {
        host: "github.com".into(),
        login: "acme".into(),
    };
    bump(&app.state, &app.valkey, &acme).await;
    let after = app.get_json(path).await;
    assert_eq!(after.header("x-cache"), Some("MISS"));
    assert_eq!(after.body["items"][0]["full_name"], "acme/brand-new");
}
