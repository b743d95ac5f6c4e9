//! The response cache end to end on the read endpoints: a miss then a hit, `304` for a
//! current ETag, and a worker-style version bump that makes every page fresh again.

use wump_api::cache::Scope;
use wump_core::Ecosystem;

use crate::{
    TestApp, bump,
    seed::{self, Answer, Edge, Repo, Seed, full_names},
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
    // Not warmed, so the first read after the bump shows the load (warming: below).
    let app = TestApp::spawn_with(|s| s.api.cache.warm = false).await;
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
    let app = TestApp::spawn_with(|s| s.api.cache.warm = false).await;
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

/// Waits (at most 10 s) until Valkey holds an answer of `scope_part` (e.g.
/// `package:npm:left-pad`) under `version`: what warming stores.
async fn stored_under(app: &TestApp, scope_part: &str, version: u64) {
    use fred::interfaces::ClientLike;
    let pattern = app
        .valkey
        .key(&format!("wump:cache:v1:{scope_part}:{version}:*"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let keys: Vec<String> = app
            .valkey
            .pool()
            .next()
            .custom(
                fred::types::CustomCommand::new_static(
                    "KEYS",
                    fred::types::ClusterHash::Random,
                    false,
                ),
                vec![pattern.clone()],
            )
            .await
            .unwrap();
        if keys.len() >= 2 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing was rendered under version {version}: {keys:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Asks for the package page and a dependents page a few times (hot), adds a dependent,
/// bumps the version as the worker does, and returns what the next reader of each sees.
async fn after_a_bump_of_hot_pages(app: &TestApp) -> (Answer, Answer) {
    let ids = seed::standard(app).await;
    let package = "/api/v1/packages/npm/left-pad";
    let dependents = "/api/v1/packages/npm/left-pad/dependents?min_stars=40";
    for _ in 0..3 {
        app.get_json(package).await;
        app.get_json(dependents).await;
    }
    let mut seed = Seed::new(app).await;
    let repo = seed
        .repository(ids.acme, "acme/new", Repo::stars(1000))
        .await;
    seed.depends(repo, &[Edge::runtime(ids.left_pad)]).await;
    let left_pad = Scope::Package {
        ecosystem: Ecosystem::Npm,
        normalized_name: "left-pad".into(),
    };
    bump(&app.state, &app.valkey, &left_pad).await;
    if app.state.settings.api.cache.warm {
        stored_under(app, "package:npm:left-pad", 1).await;
    }
    (app.get_json(package).await, app.get_json(dependents).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn hot_pages_are_rendered_again_when_the_worker_bumps_their_package() {
    let app = TestApp::spawn().await;
    let (package, dependents) = after_a_bump_of_hot_pages(&app).await;
    assert_eq!(
        package.header("x-cache"),
        Some("HIT"),
        "warmed before the reader came"
    );
    assert_eq!(package.body["dependents_count"], 6, "…with the new data");
    assert_eq!(dependents.header("x-cache"), Some("HIT"));
    assert_eq!(
        full_names(dependents.body["items"].as_array().unwrap())[0],
        "acme/new"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_warming_the_first_reader_after_a_bump_loads_the_page() {
    let app = TestApp::spawn_with(|s| s.api.cache.warm = false).await;
    let (package, dependents) = after_a_bump_of_hot_pages(&app).await;
    assert_eq!(package.header("x-cache"), Some("MISS"));
    assert_eq!(package.body["dependents_count"], 6);
    assert_eq!(dependents.header("x-cache"), Some("MISS"));
}
