//! Keyset pagination: every row exactly once, whatever the sort, filters and page size,
//! also while rows are inserted between page fetches; `Link` points at the next page.

use std::collections::HashSet;

use wump_core::Ecosystem;

use crate::{
    TestApp,
    seed::{Edge, Repo, Seed, full_names, link_target},
};

/// 30 repositories of 3 organizations using `npm/widget`, with many star and push ties,
/// some archived, some forks, some never pushed.
async fn crowd(app: &TestApp) -> Seed {
    let mut seed = Seed::new(app).await;
    let widget = seed.package(Ecosystem::Npm, "widget").await;
    let orgs = [
        seed.organization("alpha").await,
        seed.organization("beta").await,
        seed.organization("gamma").await,
    ];
    for i in 0..30 {
        let org = orgs[i % 3];
        let login = ["alpha", "beta", "gamma"][i % 3];
        let mut repo = Repo::stars((i as i32 % 7) * 10).pushed_days(i as i64 % 4);
        if i % 11 == 0 {
            repo = repo.never_pushed();
        }
        if i % 9 == 0 {
            repo = repo.archived();
        }
        if i % 13 == 0 {
            repo = repo.fork();
        }
        let id = seed
            .repository(org, &format!("{login}/repo-{i:02}"), repo)
            .await;
        let edge = if i % 2 == 0 {
            Edge::runtime(widget)
        } else {
            Edge::runtime(widget).transitive()
        };
        seed.depends(id, &[edge]).await;
    }
    seed
}

#[tokio::test(flavor = "multi_thread")]
async fn walking_every_page_returns_the_same_rows_as_one_big_page() {
    let app = TestApp::spawn().await;
    crowd(&app).await;
    let base = "/api/v1/packages/npm/widget/dependents";

    for filters in [
        "sort=stars",
        "sort=pushed_at",
        "sort=stars&include_archived=true&include_forks=true",
        "sort=pushed_at&include_archived=true&include_forks=true",
        "sort=stars&direct=true",
        "sort=pushed_at&organization=beta",
        "sort=stars&min_stars=30",
    ] {
        let all = app
            .get_json(&format!("{base}?{filters}&per_page=100"))
            .await;
        let expected = full_names(all.body["items"].as_array().unwrap());
        assert!(all.body["next_cursor"].is_null());
        assert!(!expected.is_empty(), "{filters}");
        for per_page in [1, 2, 7] {
            let walked = full_names(
                &app.walk(&format!("{base}?{filters}&per_page={per_page}"))
                    .await,
            );
            assert_eq!(
                walked, expected,
                "{filters} per_page={per_page}: same rows, same order"
            );
        }
    }

    let orgs = app
        .walk("/api/v1/packages/npm/widget/organizations?sort=repositories&per_page=1")
        .await;
    assert_eq!(orgs.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_that_did_not_change_are_neither_repeated_nor_skipped_while_rows_are_inserted() {
    let app = TestApp::spawn().await;
    let mut seed = crowd(&app).await;
    let widget = seed.package(Ecosystem::Npm, "widget").await;
    let newcomer_org = seed.organization("delta").await;

    for sort in ["stars", "pushed_at"] {
        let before = full_names(
            app.get_json(&format!(
                "/api/v1/packages/npm/widget/dependents?sort={sort}&per_page=100"
            ))
            .await
            .body["items"]
                .as_array()
                .unwrap(),
        );
        let mut seen = Vec::new();
        let mut next = Some(format!(
            "/api/v1/packages/npm/widget/dependents?sort={sort}&per_page=3"
        ));
        let mut inserted = 0;
        while let Some(path) = next.take() {
            let page = app.get_json(&path).await;
            assert_eq!(page.status, 200);
            seen.extend(full_names(page.body["items"].as_array().unwrap()));
            next = page.header("link").map(link_target);
            // Between pages, new dependents appear above, among and below what was read.
            for stars in [1000, 30, 0] {
                let name = format!("delta/{sort}-new-{inserted}");
                inserted += 1;
                let repo = seed
                    .repository(
                        newcomer_org,
                        &name,
                        Repo::stars(stars).pushed_days(stars as i64 % 4),
                    )
                    .await;
                seed.depends(repo, &[Edge::runtime(widget)]).await;
            }
        }
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: a row came twice");
        for name in &before {
            assert!(seen.contains(name), "{sort}: {name} was skipped");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_link_header_carries_the_query_and_the_next_cursor_and_is_absent_on_the_last_page() {
    let app = TestApp::spawn().await;
    crowd(&app).await;
    let path = "/api/v1/packages/npm/widget/dependents?min_stars=10&sort=pushed_at&per_page=4";

    let first = app.get_json(path).await;
    let link = first.header("link").unwrap().to_owned();
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let target = link_target(&link);
    assert!(
        target.starts_with("/api/v1/packages/npm/widget/dependents?"),
        "{link}"
    );
    for part in [
        "min_stars=10",
        "sort=pushed_at",
        "per_page=4",
        &format!("cursor={cursor}"),
    ] {
        assert!(target.contains(part), "{part} missing from {link}");
    }
    let second = app.get_json(&target).await;
    assert_eq!(second.status, 200);
    let first_names = full_names(first.body["items"].as_array().unwrap());
    let second_names = full_names(second.body["items"].as_array().unwrap());
    assert!(first_names.iter().all(|n| !second_names.contains(n)));

    let last = app
        .get_json("/api/v1/packages/npm/widget/dependents?per_page=100")
        .await;
    assert!(last.header("link").is_none());
    assert!(last.body["next_cursor"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_link_of_a_name_with_a_slash_keeps_it_escaped() {
    let app = TestApp::spawn().await;
    let mut seed = Seed::new(&app).await;
    let scoped = seed.package(Ecosystem::Npm, "@types/node").await;
    let org = seed.organization("alpha").await;
    for i in 0..3 {
        let repo = seed
            .repository(org, &format!("alpha/r{i}"), Repo::stars(i))
            .await;
        seed.depends(repo, &[Edge::runtime(scoped)]).await;
    }
    let walked = app
        .walk("/api/v1/packages/npm/%40types%2Fnode/dependents?per_page=1")
        .await;
    assert_eq!(full_names(&walked), ["alpha/r2", "alpha/r1", "alpha/r0"]);
}
