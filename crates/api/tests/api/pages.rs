//! The HTML pages in a real headless Chromium, against the real app, PostgreSQL and Valkey:
//! they load without console errors and without serious accessibility violations, their
//! filters give the API's rows, pagination walks every row once, and unknown packages get
//! a page a person can read. Screenshots of each page land in `target/tmp/screenshots`.

use fantoccini::Locator;
use wump_core::jobs::{JobType, Priority};
use wump_db::tables::job_executions::JobStatus;

use crate::{
    TestApp,
    auth::small_limits,
    browser::{Browser, VIEWPORTS, screenshot_dir},
    refresh::{finish_run, queues, start_run},
    seed,
};

/// The `full_name`s the API lists for `package`'s dependents with `query`.
async fn api_rows(app: &TestApp, package: &str, query: &str) -> Vec<String> {
    let separator = if query.is_empty() { "" } else { "&" };
    let path = format!("/api/v1/packages/npm/{package}/dependents?{query}{separator}per_page=100");
    let body: serde_json::Value = app.get(&path).await.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items for {path}: {body}"))
        .iter()
        .map(|d| d["repository"]["full_name"].as_str().unwrap().to_owned())
        .collect()
}

/// The repositories in the page's dependents table.
async fn page_rows(browser: &Browser) -> Vec<String> {
    browser
        .texts("table.dependents tbody td:first-child a")
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_loads_without_console_errors_or_serious_accessibility_violations() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let pages = [
        ("home", "/"),
        ("package", "/npm/left-pad"),
        ("package-scoped", "/npm/@scope/Pkg"),
        ("package-go", "/go/github.com/x/y"),
        (
            "package-filtered",
            "/npm/left-pad?kind=development&include_archived=true",
        ),
        ("organization", "/orgs/acme"),
        ("search", "/search?q=left"),
        ("not-found", "/npm/no-such-package"),
    ];
    for (name, path) in pages {
        browser.open(&app.url(path)).await;
        let title = browser.client.title().await.unwrap();
        assert!(title.ends_with("· wump"), "{path}: title {title:?}");
        // The stylesheet loaded and applies (a rule of ours, not the browser's default).
        let styled = browser
            .client
            .execute(
                "return getComputedStyle(document.querySelector('header.site')).display;",
                Vec::new(),
            )
            .await
            .unwrap();
        assert_eq!(styled, "flex", "{path}: stylesheet not applied");
        let mut errors = browser.console_errors().await;
        if name == "not-found" {
            // The browser reports the page's own 404; nothing else may fail.
            errors.retain(|e| !e.contains("status of 404"));
        }
        assert_eq!(errors, Vec::<String>::new(), "{path}");
        assert_eq!(
            browser.accessibility_violations().await,
            Vec::<String>::new(),
            "{path}"
        );
        for (label, width, height) in VIEWPORTS {
            browser
                .screenshot(&screenshot_dir(), name, label, width, height)
                .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_package_page_shows_counts_that_equal_its_lists_and_who_to_ask() {
    let app = TestApp::spawn().await;
    let mut seed = seed::Seed::new(&app).await;
    let standard = seed::standard_into(&mut seed).await;
    // Many small repositories: first by repositories, last by stars.
    let hooli = seed.organization("hooli").await;
    for i in 0..3 {
        let name = format!("hooli/tool-{i}");
        let repo = seed
            .repository(hooli, &name, seed::Repo::stars(1).pushed_days(1))
            .await;
        seed.depends(repo, &[seed::Edge::runtime(standard.left_pad)])
            .await;
    }
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.open(&app.url("/npm/left-pad")).await;
    let rows = page_rows(&browser).await;
    let count = browser.texts("#dependents-count").await;
    assert_eq!(count, [rows.len().to_string()]);
    assert_eq!(rows, api_rows(&app, "left-pad", "").await);
    // acme is funded through GitHub Sponsors: its button leads there.
    let sponsor = browser
        .client
        .find(Locator::Css("ol.who a.sponsor"))
        .await
        .unwrap();
    assert_eq!(sponsor.text().await.unwrap(), "Sponsor acme");
    assert_eq!(
        sponsor.attr("href").await.unwrap().as_deref(),
        Some("https://github.com/sponsors/acme")
    );
    let organizations = browser.texts("ol.who .org").await;
    assert_eq!(
        browser.texts("#organizations-count").await,
        [organizations.len().to_string()]
    );

    // Ranked in the API's order, and in the other one on request.
    let by = |sort: &'static str| {
        let app = &app;
        async move {
            let path = format!("/api/v1/packages/npm/left-pad/organizations?sort={sort}");
            let body: serde_json::Value = app.get(&path).await.json().await.unwrap();
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["login"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_ne!(
        by("repositories").await,
        by("stars").await,
        "the fixture tells them apart"
    );
    assert_eq!(who_to_ask(&browser).await, by("stars").await);
    browser.click_through("#who-order").await;
    assert!(browser.location().await.contains("who=repositories"));
    assert_eq!(who_to_ask(&browser).await, by("repositories").await);

    // The badges are drawn (the browser decoded each SVG), their Markdown links back here
    // from the public address, and the CSV export holds the listed rows.
    let drawn = browser
        .client
        .execute(
            "return Array.from(document.querySelectorAll('.badges img'))
                .map(i => i.complete && i.naturalWidth > 0);",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(drawn, serde_json::json!([true, true, true]));
    let markdown = browser
        .client
        .find(Locator::Css("#badge-markdown"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    let public = &app.state.settings.api.public_url;
    assert!(
        markdown.starts_with(&format!(
            "[![used by: repositories]({public}/badges/npm/left"
        )),
        "{markdown}"
    );
    assert!(
        markdown.contains(&format!("]({public}/npm/left-pad)")),
        "{markdown}"
    );
    let csv_link = browser
        .client
        .find(Locator::LinkText("CSV"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let csv = app.get(&csv_link).await.text().await.unwrap();
    let exported: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|line| line.split(',').next().unwrap().to_owned())
        .collect();
    assert_eq!(exported, api_rows(&app, "left-pad", "").await);
}

/// The logins "who to ask" lists, in order.
async fn who_to_ask(browser: &Browser) -> Vec<String> {
    let mut logins = Vec::new();
    for link in browser
        .client
        .find_all(Locator::Css("ol.who a.org"))
        .await
        .unwrap()
    {
        let href = link.attr("href").await.unwrap().unwrap();
        let login = href.trim_start_matches("/orgs/").split('?').next().unwrap();
        logins.push(login.to_owned());
    }
    logins
}

#[tokio::test(flavor = "multi_thread")]
async fn the_filter_form_gives_the_apis_rows_under_a_url_that_can_be_shared() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.open(&app.url("/npm/left-pad")).await;
    let all = page_rows(&browser).await;

    // Each change through the form, one after the other, as a person would.
    let steps: [(&str, &str); 4] = [
        ("#f-sort", "pushed_at"),
        ("#f-kind", "development"),
        ("#f-direct", "true"),
        ("#f-kind", ""),
    ];
    let mut seen = Vec::new();
    for (select, value) in steps {
        let field = browser.client.find(Locator::Css(select)).await.unwrap();
        field.select_by_value(value).await.unwrap();
        browser
            .click_through("form.filters button[type=submit]")
            .await;
        let location = browser.location().await;
        let query = location.split_once('?').map_or("", |(_, q)| q).to_owned();
        let rows = page_rows(&browser).await;
        let api_query: String = form_urlencoded::parse(query.as_bytes())
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(
            rows,
            api_rows(&app, "left-pad", &api_query).await,
            "{location}"
        );
        // The URL alone gives the same page.
        browser.open(&app.url(&location)).await;
        assert_eq!(page_rows(&browser).await, rows, "{location} opened again");
        seen.push(rows);
    }
    assert_ne!(seen[0], all, "the sort changed nothing");
    assert_ne!(seen[1], seen[0], "the kind filter changed nothing");
    assert_ne!(seen[3], seen[0], "the direct filter changed nothing");

    // Checkboxes and a number too: archived repositories appear, few stars go.
    browser
        .open(&app.url("/npm/left-pad?include_archived=true&min_stars=50"))
        .await;
    let rows = page_rows(&browser).await;
    assert_eq!(
        rows,
        api_rows(&app, "left-pad", "include_archived=true&min_stars=50").await
    );
    assert!(rows.contains(&"globex/archive".to_owned()), "{rows:?}");
    assert!(!rows.contains(&"globex/tool".to_owned()), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn next_page_links_walk_every_dependent_exactly_once() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser
        .open(&app.url("/npm/left-pad?per_page=2&include_archived=true&include_forks=true"))
        .await;
    let mut walked = page_rows(&browser).await;
    let mut pages = 1;
    while browser
        .client
        .find(Locator::Css("a[rel=next]"))
        .await
        .is_ok()
    {
        browser.click_through("a[rel=next]").await;
        walked.extend(page_rows(&browser).await);
        pages += 1;
        assert!(pages <= 10, "pagination does not end");
    }
    let expected = api_rows(&app, "left-pad", "include_archived=true&include_forks=true").await;
    assert_eq!(walked, expected);
    assert_eq!(pages, expected.len().div_ceil(2));
    // A later page links back to the first.
    assert!(
        browser
            .client
            .find(Locator::LinkText("First page"))
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_package_or_a_bad_filter_is_a_page_a_person_can_read() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;
    for (path, status) in [
        ("/npm/no-such-package", 404),
        ("/npm/left-pad?min_stars=lots", 400),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
    }
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.open(&app.url("/npm/no-such-package")).await;
    assert_eq!(browser.texts("h1").await, ["Not found"]);
    let detail = browser.texts("section.error p").await;
    assert!(detail[0].contains("no-such-package"), "{detail:?}");
    browser.open(&app.url("/npm/left-pad?min_stars=lots")).await;
    let detail = browser.texts("section.error p").await;
    assert!(detail[0].contains("min_stars"), "{detail:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_search_box_leads_to_a_package_and_an_organization_page() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.open(&app.url("/")).await;
    browser
        .client
        .find(Locator::Css("#home-q"))
        .await
        .unwrap()
        .send_keys("left")
        .await
        .unwrap();
    browser.click_through("form.search.big button").await;
    assert_eq!(browser.location().await, "/search?q=left");
    let packages = browser
        .texts("section[aria-labelledby=pkg-title] li a")
        .await;
    assert_eq!(packages, ["left-pad"]);
    browser
        .click_through("section[aria-labelledby=pkg-title] li a")
        .await;
    assert_eq!(browser.location().await, "/npm/left-pad");

    // From "who to ask" to the organization's own page.
    browser.click_through("ol.who a.org").await;
    assert!(
        browser.location().await.starts_with("/orgs/acme"),
        "{}",
        browser.location().await
    );
    let repositories = browser
        .texts("table.repositories tbody td:first-child a")
        .await;
    assert_eq!(repositories, ["acme/app", "acme/site"]);
    // The totals are the API's.
    let api: serde_json::Value = app
        .get("/api/v1/organizations/acme")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        browser.texts("#repositories-count").await,
        [api["repositories_count"].to_string()]
    );
    let packages = browser.texts("table.packages tbody td:first-child a").await;
    assert!(packages.contains(&"left-pad".to_owned()), "{packages:?}");
    assert!(
        packages.contains(&"github.com/x/y".to_owned()),
        "{packages:?}"
    );
    assert_eq!(browser.texts("a.sponsor").await, ["Sponsor acme"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_refresh_button_queues_one_discovery_and_its_page_follows_the_job() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.open(&app.url("/npm/left-pad")).await;
    browser.click_through("form.refresh button").await;
    let location = browser.location().await;
    let shown = browser.texts("main").await;
    let job_id = location
        .strip_prefix("/jobs/")
        .and_then(|rest| rest.split_once('?'))
        .map(|(id, _)| id.to_owned())
        .unwrap_or_else(|| panic!("not a job page: {location}: {shown:?}"));
    assert_eq!(browser.texts("h1").await, ["Refresh queued"]);
    let high = queues(&app)
        .await
        .depth(JobType::Discover, Priority::High)
        .await
        .unwrap();
    assert_eq!(high.total(), 1, "{high:?}");

    // Pressed again while pending: the same job, nothing more queued.
    browser.open(&app.url("/npm/left-pad")).await;
    browser.click_through("form.refresh button").await;
    assert!(
        browser
            .location()
            .await
            .starts_with(&format!("/jobs/{job_id}?"))
    );
    let high = queues(&app)
        .await
        .depth(JobType::Discover, Priority::High)
        .await
        .unwrap();
    assert_eq!(high.total(), 1, "{high:?}");

    // The worker runs it: the page says so and stops reloading itself.
    let run = start_run(&app, &job_id, 1).await;
    finish_run(&app, run, JobStatus::Completed).await;
    browser.open(&app.url(&browser.location().await)).await;
    assert_eq!(browser.texts("h1").await, ["Refresh completed"]);
    let reloads = browser
        .client
        .find_all(Locator::Css("meta[http-equiv=refresh]"))
        .await
        .unwrap();
    assert!(reloads.is_empty());
    browser.click_through("section.job a").await;
    assert_eq!(browser.location().await, "/npm/left-pad");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_posted_from_another_site_is_refused() {
    let app = TestApp::spawn().await;
    seed::standard(&app).await;
    // What a browser sends with a form another site posts to us: a modern one, an old one.
    let cross_site: [(&str, &str); 2] = [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ];
    for (name, value) in cross_site {
        let response = app
            .client
            .post(app.url("/refresh/npm/left-pad"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403, "{name}: {value}");
        let body = response.text().await.unwrap();
        assert!(body.contains("own pages"), "{body}");
    }
    let high = queues(&app)
        .await
        .depth(JobType::Discover, Priority::High)
        .await
        .unwrap();
    assert_eq!(high.total(), 0, "nothing was queued");
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_share_the_callers_rate_limit_and_say_so_as_a_page() {
    let app = TestApp::spawn_with(small_limits).await;
    seed::standard(&app).await;
    // A burst of 2 for anonymous callers; the stylesheet does not count.
    for path in ["/npm/left-pad", "/"] {
        assert_eq!(app.get(path).await.status().as_u16(), 200, "{path}");
        // Any hash names the current stylesheet.
        let css = app.get("/static/wump.0123456789ab.css").await;
        assert_eq!(css.status().as_u16(), 200);
    }
    let refused = app.get("/search?q=left").await;
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let content_type = refused.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("rate limit exceeded")
    );
}
