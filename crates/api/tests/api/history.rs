//! A package's history after a sequence of writes that add and remove dependents: its
//! events, its daily series, `since=` on the listings, and the Atom feeds read by a feed
//! parser no one here wrote (feed-rs).

use chrono::{Duration, Utc};
use serde_json::Value;
use wump_core::Ecosystem;
use wump_db::{
    history,
    tables::packages::{self, PackageMetadataInput},
};

use crate::{
    TestApp,
    seed::{Edge, Repo, Seed},
};

/// What the sequence below leaves, newest first: `(event, repository or organization,
/// stars)`.
const ALL_EVENTS: [(&str, &str, i64); 6] = [
    ("organization.removed", "acme", 100),
    ("dependent.removed", "acme/app", 100),
    ("dependent.removed", "acme/blog", 5),
    ("dependent.added", "acme/blog", 5),
    ("organization.added", "acme", 100),
    ("dependent.added", "acme/app", 100),
];

/// acme/app (100 stars) and acme/blog (5) start using left-pad (day 1); acme/blog stops
/// (day 2); acme/app is parsed again unchanged, then archived (today). A snapshot after
/// each day.
async fn a_month_of_left_pad(app: &TestApp) -> Seed {
    let mut seed = Seed::new(app).await;
    let acme = seed.organization("acme").await;
    let left_pad = seed.package(Ecosystem::Npm, "left-pad").await;
    packages::update_metadata(
        &mut seed.conn,
        left_pad,
        Some(&PackageMetadataInput {
            description: None,
            homepage_url: None,
            repository_url: Some("https://github.com/pad/left-pad".into()),
            latest_version: None,
            funding: Vec::new(),
        }),
    )
    .await
    .unwrap();
    let app_repo = seed.repository(acme, "acme/app", Repo::stars(100)).await;
    let blog = seed.repository(acme, "acme/blog", Repo::stars(5)).await;
    let today = history::today();

    seed.depends(app_repo, &[Edge::runtime(left_pad)]).await;
    seed.depends(blog, &[Edge::runtime(left_pad)]).await;
    let written = history::snapshot_packages(&mut seed.conn, today - Duration::days(2));
    assert_eq!(written.await.unwrap(), 1);
    let written = history::snapshot_organizations(&mut seed.conn, today - Duration::days(2));
    assert_eq!(written.await.unwrap(), 1);

    seed.depends(blog, &[]).await;
    let written = history::snapshot_packages(&mut seed.conn, today - Duration::days(1));
    assert_eq!(written.await.unwrap(), 1);

    // An unchanged parse writes no event, and an unchanged day no row.
    seed.depends(app_repo, &[Edge::runtime(left_pad)]).await;
    let written = history::snapshot_packages(&mut seed.conn, today - Duration::days(1));
    assert_eq!(
        written.await.unwrap(),
        0,
        "nothing changed since the last row"
    );

    seed.repository(acme, "acme/app", Repo::stars(100).archived())
        .await;
    wump_db::edges::sync_repository_attributes(&mut seed.conn, &[app_repo])
        .await
        .unwrap();
    let written = history::snapshot_packages(&mut seed.conn, today);
    assert_eq!(written.await.unwrap(), 1);
    let written = history::snapshot_organizations(&mut seed.conn, today);
    assert_eq!(written.await.unwrap(), 1, "acme uses no package any more");
    seed
}

fn events_of(body: &Value) -> Vec<(String, String, i64)> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let subject = e["repository"]["full_name"]
                .as_str()
                .or(e["organization"]["login"].as_str())
                .unwrap();
            (
                e["event"].as_str().unwrap().to_owned(),
                subject.to_owned(),
                e["stars"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn owned(events: &[(&str, &str, i64)]) -> Vec<(String, String, i64)> {
    events
        .iter()
        .map(|(e, s, n)| ((*e).to_owned(), (*s).to_owned(), *n))
        .collect()
}

/// Each `(query, parameter)` on `path` is a 400 problem naming the parameter.
async fn refused(app: &TestApp, path: &str, cases: &[(&str, &str)]) {
    for (query, parameter) in cases {
        let bad = app.get_json(&format!("{path}?{query}")).await;
        assert_eq!(bad.status, 400, "{query}: {:#}", bad.body);
        assert!(
            bad.body["detail"].as_str().unwrap().contains(parameter),
            "{query}: {:#}",
            bad.body
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn events_list_every_dependent_and_organization_gained_and_lost_newest_first() {
    let app = TestApp::spawn().await;
    a_month_of_left_pad(&app).await;

    let all = app.get_json("/api/v1/packages/npm/left-pad/events").await;
    assert_eq!(all.status, 200, "{:#}", all.body);
    assert_eq!(events_of(&all.body), owned(&ALL_EVENTS));
    assert!(
        all.body["note"].as_str().unwrap().contains("first saw"),
        "the answer says where history starts"
    );
    let first = &all.body["items"][1];
    assert_eq!(first["repository"]["url"], "https://github.com/acme/app");
    assert_eq!(first["kind"], "runtime");

    let notable = app
        .get_json("/api/v1/packages/npm/left-pad/events?min_stars=50")
        .await;
    let expected: Vec<_> = ALL_EVENTS.iter().filter(|e| e.2 >= 50).copied().collect();
    assert_eq!(events_of(&notable.body), owned(&expected));

    let added = app
        .get_json("/api/v1/packages/npm/left-pad/events?event=dependent.added")
        .await;
    assert_eq!(
        events_of(&added.body),
        owned(&[
            ("dependent.added", "acme/blog", 5),
            ("dependent.added", "acme/app", 100)
        ])
    );

    // Keyset pages of two walk the same six events.
    let walked = app
        .walk("/api/v1/packages/npm/left-pad/events?per_page=2")
        .await;
    let walked: Vec<_> = walked
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<_> = ALL_EVENTS.iter().map(|e| e.0.to_owned()).collect();
    assert_eq!(walked, expected);

    let future = app
        .get_json(&format!(
            "/api/v1/packages/npm/left-pad/events?since={}",
            Utc::now().date_naive() + Duration::days(1)
        ))
        .await;
    assert_eq!(future.body["items"], serde_json::json!([]));

    refused(
        &app,
        "/api/v1/packages/npm/left-pad/events",
        &[
            ("event=dependent.changed", "event"),
            ("since=yesterday", "since"),
            ("min_stars=-1", "min_stars"),
            ("cursor=nope", "cursor"),
        ],
    )
    .await;
    let unknown = app.get_json("/api/v1/packages/npm/right-pad/events").await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn history_is_a_series_of_daily_counts_carried_over_days_without_changes() {
    let app = TestApp::spawn().await;
    a_month_of_left_pad(&app).await;
    let today = history::today();

    let days = app
        .get_json(&format!(
            "/api/v1/packages/npm/left-pad/history?from={}",
            today - Duration::days(4)
        ))
        .await;
    assert_eq!(days.status, 200, "{:#}", days.body);
    let points: Vec<_> = days.body["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["period"].as_str().unwrap().to_owned(),
                p["dependents_count"].as_i64().unwrap(),
                p["organizations_count"].as_i64().unwrap(),
                p["stars_sum"].as_i64().unwrap(),
            )
        })
        .collect();
    let day = |n: i64| (today - Duration::days(n)).to_string();
    assert_eq!(
        points,
        [(day(2), 2, 1, 105), (day(1), 1, 1, 100), (day(0), 0, 0, 0)],
        "days before the first snapshot are left out"
    );
    assert_eq!(days.body["recorded_from"], day(2));
    assert_eq!(days.body["points"][0]["kinds"]["runtime"], 2);
    assert!(days.body["note"].as_str().unwrap().contains("first saw"));

    // A month's point is the counts at the end of that month (or of `to`).
    let months = app
        .get_json(&format!(
            "/api/v1/packages/npm/left-pad/history?interval=month&from={}&to={}",
            today - Duration::days(2),
            today - Duration::days(1),
        ))
        .await;
    let last = months.body["points"].as_array().unwrap().last().unwrap();
    assert_eq!(last["dependents_count"], 1, "{:#}", months.body);

    let acme = app
        .get_json(&format!(
            "/api/v1/organizations/acme/history?from={}",
            today - Duration::days(4)
        ))
        .await;
    assert_eq!(acme.status, 200, "{:#}", acme.body);
    let used: Vec<_> = acme.body["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["period"].as_str().unwrap().to_owned(),
                p["packages_count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(used, [(day(2), 1), (day(1), 1), (day(0), 0)]);

    refused(
        &app,
        "/api/v1/packages/npm/left-pad/history",
        &[
            ("interval=year", "interval"),
            ("from=2026-12-31&to=2026-01-01", "from"),
            ("from=2000-01-01&to=2026-01-01", "from"),
            ("to=soon", "to"),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn since_lists_only_dependents_and_organizations_first_seen_after_it() {
    use diesel_async::RunQueryDsl;

    let app = TestApp::spawn().await;
    let mut seed = Seed::new(&app).await;
    let left_pad = seed.package(Ecosystem::Npm, "left-pad").await;
    for (org, repo) in [("old", "old/app"), ("new", "new/app")] {
        let org = seed.organization(org).await;
        let repo = seed.repository(org, repo, Repo::stars(10)).await;
        seed.depends(repo, &[Edge::runtime(left_pad)]).await;
    }
    // old/app has used it for two months.
    diesel::sql_query(
        "UPDATE dependencies SET created_at = now() - interval '60 days'
          WHERE repository_id = (SELECT id FROM repositories WHERE full_name = 'old/app')",
    )
    .execute(&mut seed.conn)
    .await
    .unwrap();
    diesel::sql_query(
        "UPDATE package_organizations SET first_seen_at = now() - interval '60 days'
          WHERE organization_id = (SELECT id FROM organizations WHERE login = 'old')",
    )
    .execute(&mut seed.conn)
    .await
    .unwrap();
    let month_ago = history::today() - Duration::days(30);

    let recent = app
        .get_json(&format!(
            "/api/v1/packages/npm/left-pad/dependents?since={month_ago}"
        ))
        .await;
    assert_eq!(recent.status, 200, "{:#}", recent.body);
    let names: Vec<_> = recent.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["repository"]["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["new/app"]);

    let organizations = app
        .get_json(&format!(
            "/api/v1/packages/npm/left-pad/organizations?since={month_ago}"
        ))
        .await;
    let logins: Vec<_> = organizations.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, ["new"]);

    let everyone = app
        .get_json("/api/v1/packages/npm/left-pad/dependents?since=2000-01-01")
        .await;
    assert_eq!(everyone.body["items"].as_array().unwrap().len(), 2);

    // The package page's filter form takes the same filter.
    let page = app
        .get(&format!("/npm/left-pad?since={month_ago}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!(r#"name="since" type="date" value="{month_ago}""#)));
    // (The latest changes above it name both: read the dependents table alone.)
    let table = &page[page.find(r#"id="dependents-title""#).unwrap()..];
    assert!(table.contains("new/app") && !table.contains("old/app"));
}

#[tokio::test(flavor = "multi_thread")]
async fn feeds_are_valid_atom_with_stable_entry_ids_per_package_and_per_organization() {
    let app = TestApp::spawn().await;
    let mut seed = a_month_of_left_pad(&app).await;
    seed.organization("pad").await;

    let response = app
        .get("/api/v1/packages/npm/left-pad/feed.atom?min_stars=50")
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    assert!(response.headers().contains_key("etag"));
    let body = response.bytes().await.unwrap();
    let feed = feed_rs::parser::parse(&body[..]).expect("a valid feed");
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    let titles: Vec<_> = feed
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert_eq!(
        titles,
        [
            "The organization acme (100 stars) stopped using left-pad",
            "acme/app (100 stars) stopped depending on left-pad",
            "The organization acme (100 stars) started using left-pad",
            "acme/app (100 stars) started depending on left-pad",
        ]
    );
    assert_eq!(feed.entries[1].links[0].href, "https://github.com/acme/app");

    // Every event keeps its entry id, whatever else the feed holds.
    let everything = app.get("/api/v1/packages/npm/left-pad/feed.atom").await;
    let everything = feed_rs::parser::parse(&everything.bytes().await.unwrap()[..]).unwrap();
    assert_eq!(everything.entries.len(), ALL_EVENTS.len());
    let ids: Vec<_> = everything.entries.iter().map(|e| e.id.clone()).collect();
    for entry in &feed.entries {
        assert!(ids.contains(&entry.id), "{} kept its id", entry.id);
    }

    // The organization that publishes left-pad (its registry names pad/left-pad).
    let org_feed = app.get("/api/v1/organizations/pad/feed.atom").await;
    assert_eq!(org_feed.status(), 200);
    let org_feed = feed_rs::parser::parse(&org_feed.bytes().await.unwrap()[..]).unwrap();
    assert_eq!(org_feed.entries.len(), ALL_EVENTS.len());
    assert_eq!(
        org_feed.entries.iter().map(|e| &e.id).collect::<Vec<_>>(),
        ids.iter().collect::<Vec<_>>()
    );

    let unknown = app.get("/api/v1/packages/npm/right-pad/feed.atom").await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_package_page_draws_its_history_lists_the_latest_changes_and_links_its_feed() {
    let app = TestApp::spawn().await;
    a_month_of_left_pad(&app).await;

    let html = app.get("/npm/left-pad").await.text().await.unwrap();
    assert!(
        html.contains(
            r#"<link rel="alternate" type="application/atom+xml" title="New and lost dependents of left-pad" href="/api/v1/packages/npm/left-pad/feed.atom">"#
        ),
        "feed readers find the feed from the page"
    );
    let Some(browser) = crate::browser::Browser::start().await else {
        return;
    };
    browser.open(&app.url("/npm/left-pad")).await;
    // Two recorded days before today and the count now: three points, ending at zero.
    let points = browser
        .client
        .execute(
            "return document.querySelector('figure.chart polyline').points.numberOfItems;",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(points, 3);
    let today = history::today();
    let caption = browser.texts("figure.chart figcaption").await;
    assert_eq!(
        caption,
        [format!(
            "Repositories using it: 2 on {}, 0 on {} (highest 2).",
            (today - Duration::days(2)).format("%-d %B %Y"),
            today.format("%-d %B %Y")
        )]
    );
    let latest = browser.texts("ul.events li").await;
    assert_eq!(latest.len(), 5, "{latest:?}");
    assert!(
        latest[1].starts_with("acme/app stopped depending on it"),
        "{latest:?}"
    );
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
    assert_eq!(
        browser.accessibility_violations().await,
        Vec::<String>::new()
    );
    for (label, width, height) in crate::browser::VIEWPORTS {
        browser
            .screenshot(
                &crate::browser::screenshot_dir(),
                "package-history",
                label,
                width,
                height,
            )
            .await;
    }
}
