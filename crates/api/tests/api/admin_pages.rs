//! The operators' dashboard (`/admin`) against the real app, PostgreSQL and Valkey: the
//! sign-in with an admin key (wrong keys 401, lower tiers 403, nothing stored for either),
//! a session kept only as its hash and ended by signing out or its TTL, cross-site forms
//! refused, and in a headless Chromium the queue depths, dead letters and token quotas the
//! test wrote, with replay and purge acting on them. Screenshots land in
//! `target/tmp/screenshots`.

use std::time::{Duration, Instant};

use chrono::Utc;
use fantoccini::Locator;
use fred::interfaces::KeysInterface;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use wump_api::auth::Tier;
use wump_core::jobs::{JobType, Priority};
use wump_db::{
    Keys,
    queue::{DeadJob, Envelope, FailedAttempt},
    tables::job_executions::JobStatus,
};
use wump_providers::{FleetStore, fleet::Outcome};
use wump_worker::fleet_limits::ValkeyFleetStore;

use crate::{
    TestApp,
    auth::create_key,
    browser::{Browser, VIEWPORTS, screenshot_dir},
    refresh::{finish_run, queues, start_run},
};

/// The bootstrap admin key of these tests' instances.
const ADMIN_KEY: &str = "admin-key-for-the-dashboard-tests-0123456789";

async fn spawn() -> TestApp {
    spawn_with_ttl(28_800).await
}

async fn spawn_with_ttl(session_secs: u64) -> TestApp {
    TestApp::spawn_with(|settings| {
        settings.api.admin_key = Some(SecretString::from(ADMIN_KEY));
        settings.api.pages.admin_session_secs = session_secs;
    })
    .await
}

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `POST path` with a urlencoded `form`, the session `cookie` and extra `headers`.
async fn post(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut request = client()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("wump_admin={cookie}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// `GET /admin` with the session `cookie`.
async fn dashboard(app: &TestApp, cookie: Option<&str>) -> (u16, String) {
    let mut request = client().get(app.url("/admin"));
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("wump_admin={cookie}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "the dashboard is never cached"
    );
    (status, response.text().await.unwrap())
}

fn shows_the_form(html: &str) -> bool {
    html.contains(r#"action="/admin/login""#) && html.contains(r#"type="password""#)
}

fn shows_the_dashboard(html: &str) -> bool {
    html.contains("<h1>Operations</h1>")
}

/// The `wump_admin` cookie `response` sets: its value and its attributes.
fn session_cookie(response: &reqwest::Response) -> Option<(String, String)> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("wump_admin="))
        .map(|rest| {
            let (value, attributes) = rest.split_once(';').unwrap_or((rest, ""));
            (value.to_owned(), attributes.to_owned())
        })
}

/// Signs in with `key`; returns the session token.
async fn sign_in(app: &TestApp, key: &str) -> String {
    let response = post(app, "/admin/login", &[("key", key)], None, &[]).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "/admin");
    session_cookie(&response).expect("a session cookie").0
}

/// Every session key stored under the test's prefix.
async fn stored_sessions(app: &TestApp) -> Vec<String> {
    let pattern = format!("{}wump:admin-session:*", app.valkey.prefix());
    let mut conn = queues(app).await.connection();
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, page): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1_000)
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.extend(page);
        cursor = next;
        if cursor == 0 {
            return keys;
        }
    }
}

/// Where the session with `token` is stored: under its SHA-256.
fn session_key(app: &TestApp, token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    Keys::new(app.valkey.prefix()).admin_session(&wump_core::hex::encode(digest.as_slice()))
}

/// A dead job of `name` on the normal discover queue, failed with `error`.
async fn bury(app: &TestApp, name: &str, error: &str) -> DeadJob {
    let queues = queues(app).await;
    let mut envelope = Envelope::new(
        JobType::Discover,
        Priority::Normal,
        serde_json::json!({"ecosystem": "npm", "name": name}),
    );
    envelope.attempt = 3;
    envelope.errors = (1..=3)
        .map(|attempt| FailedAttempt {
            attempt,
            at: Utc::now(),
            error: error.to_owned(),
            permanent: false,
        })
        .collect();
    let mut dead =
        DeadJob::from_envelope(envelope, queues.name(JobType::Discover, Priority::Normal));
    dead.dead_at = Utc::now();
    queues.dead_letters().add(&dead).await.unwrap();
    dead
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_out_the_dashboard_is_a_sign_in_form() {
    let app = spawn().await;
    let (status, html) = dashboard(&app, None).await;
    assert_eq!(status, 200);
    assert!(shows_the_form(&html), "{html}");
    assert!(!shows_the_dashboard(&html));
    // A cookie that names no session is the same as none.
    let (status, html) = dashboard(&app, Some("made-up-token")).await;
    assert_eq!(status, 200);
    assert!(shows_the_form(&html) && !shows_the_dashboard(&html));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_is_a_401_page_with_the_form_and_stores_nothing() {
    let app = spawn().await;
    for wrong in [
        "not-a-key",
        "wump_abcdefgh_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "",
    ] {
        let response = post(&app, "/admin/login", &[("key", wrong)], None, &[]).await;
        assert_eq!(response.status().as_u16(), 401, "{wrong:?}");
        assert!(session_cookie(&response).is_none(), "{wrong:?}");
        let html = response.text().await.unwrap();
        assert!(shows_the_form(&html), "{html}");
        assert!(
            html.contains("Not signed in") || html.contains("Type an admin"),
            "{html}"
        );
        assert!(
            !html.contains(wrong) || wrong.is_empty(),
            "the key is not echoed"
        );
    }
    assert_eq!(stored_sessions(&app).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_below_the_admin_tier_is_a_403_page_and_stores_nothing() {
    let app = spawn().await;
    for tier in [Tier::Free, Tier::Premium] {
        let key = create_key(&app, tier, None).await;
        let response = post(&app, "/admin/login", &[("key", &key)], None, &[]).await;
        assert_eq!(response.status().as_u16(), 403, "{tier}");
        assert!(session_cookie(&response).is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("needs an admin key"), "{html}");
        assert!(shows_the_form(&html));
    }
    assert_eq!(stored_sessions(&app).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_key_signs_in_with_a_strict_cookie_and_only_the_tokens_hash_is_stored() {
    let app = spawn().await;
    let stored_admin = create_key(&app, Tier::Admin, None).await;
    for key in [ADMIN_KEY, stored_admin.as_str()] {
        let response = post(&app, "/admin/login", &[("key", key)], None, &[]).await;
        assert_eq!(response.status().as_u16(), 303);
        assert_eq!(response.headers()["location"], "/admin");
        let (token, attributes) = session_cookie(&response).expect("a session cookie");
        assert_eq!(token.len(), 43, "32 random bytes, base64url");
        for attribute in [
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/admin",
            "Max-Age=28800",
        ] {
            assert!(
                attributes.contains(attribute),
                "{attribute} in {attributes}"
            );
        }
        let stored = session_key(&app, &token);
        let ttl: i64 = app.valkey.pool().ttl(&stored).await.unwrap();
        assert!((1..=28_800).contains(&ttl), "ttl {ttl}");
        // Nothing stored names the token itself.
        for session in stored_sessions(&app).await {
            assert!(!session.contains(&token), "{session}");
            let value: Option<String> = app.valkey.pool().get(&session).await.unwrap();
            assert!(!value.unwrap_or_default().contains(&token));
        }
        let (status, html) = dashboard(&app, Some(&token)).await;
        assert_eq!(status, 200);
        assert!(shows_the_dashboard(&html), "{html}");
        assert!(!html.contains(key), "the key is never shown");
    }
    let (_, html) = dashboard(&app, Some(&sign_in(&app, &stored_admin).await)).await;
    let prefix = stored_admin.split('_').nth(1).unwrap();
    assert!(html.contains(&format!("admin key {prefix}")), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_ends_the_session_in_valkey_and_for_the_cookie() {
    let app = spawn().await;
    let token = sign_in(&app, ADMIN_KEY).await;
    let other = sign_in(&app, ADMIN_KEY).await;
    let stored = session_key(&app, &token);
    let exists: u64 = app.valkey.pool().exists(&stored).await.unwrap();
    assert_eq!(exists, 1);

    let response = post(&app, "/admin/logout", &[], Some(&token), &[]).await;
    assert_eq!(response.status().as_u16(), 303);
    let (value, attributes) = session_cookie(&response).expect("the cookie is cleared");
    assert_eq!(value, "");
    assert!(attributes.contains("Max-Age=0"), "{attributes}");
    let exists: u64 = app.valkey.pool().exists(&stored).await.unwrap();
    assert_eq!(exists, 0, "the stored hash is gone");
    let (status, html) = dashboard(&app, Some(&token)).await;
    assert_eq!(status, 200);
    assert!(shows_the_form(&html) && !shows_the_dashboard(&html));
    // The old cookie cannot act either; another session is untouched.
    let response = post(
        &app,
        "/admin/dead-letters/purge",
        &[("queue", "x")],
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(response.status().as_u16(), 401);
    assert!(shows_the_dashboard(&dashboard(&app, Some(&other)).await.1));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_shows_the_form_again() {
    let app = spawn_with_ttl(1).await;
    let token = sign_in(&app, ADMIN_KEY).await;
    assert!(shows_the_dashboard(&dashboard(&app, Some(&token)).await.1));
    let stored = session_key(&app, &token);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let exists: u64 = app.valkey.pool().exists(&stored).await.unwrap();
        if exists == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the session never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, html) = dashboard(&app, Some(&token)).await;
    assert_eq!(status, 200);
    assert!(
        shows_the_form(&html) && !shows_the_dashboard(&html),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_posted_from_another_site_are_refused() {
    let app = spawn().await;
    let token = sign_in(&app, ADMIN_KEY).await;
    let dead = bury(&app, "kept", "boom").await;
    let id = dead.id.to_string();
    let cross_site: [(&str, &str); 2] = [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ];
    for header in cross_site {
        let login = post(&app, "/admin/login", &[("key", ADMIN_KEY)], None, &[header]).await;
        assert_eq!(login.status().as_u16(), 403, "{header:?}");
        assert!(session_cookie(&login).is_none());
        assert!(login.text().await.unwrap().contains("own pages"));
        for (path, form) in [
            ("/admin/dead-letters/replay", [("id", id.as_str())]),
            ("/admin/dead-letters/purge", [("id", id.as_str())]),
            ("/admin/logout", [("x", "")]),
        ] {
            let response = post(&app, path, &form, Some(&token), &[header]).await;
            assert_eq!(response.status().as_u16(), 403, "{path} {header:?}");
        }
    }
    // Nothing happened: the dead job and the session are still there, one session only.
    let queues = queues(&app).await;
    assert!(queues.dead_letters().show(dead.id).await.unwrap().is_some());
    assert_eq!(stored_sessions(&app).await.len(), 1);
    assert!(shows_the_dashboard(&dashboard(&app, Some(&token)).await.1));
    // Our own pages' forms (same-origin) act.
    let own = post(
        &app,
        "/admin/dead-letters/purge",
        &[("id", &id)],
        Some(&token),
        &[("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(own.status().as_u16(), 303);
    assert!(queues.dead_letters().show(dead.id).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_and_purge_need_a_session() {
    let app = spawn().await;
    let dead = bury(&app, "kept", "boom").await;
    for path in ["/admin/dead-letters/replay", "/admin/dead-letters/purge"] {
        let response = post(&app, path, &[("id", &dead.id.to_string())], None, &[]).await;
        assert_eq!(response.status().as_u16(), 401, "{path}");
    }
    let queues = queues(&app).await;
    assert!(queues.dead_letters().show(dead.id).await.unwrap().is_some());
    let depth = queues
        .depth(JobType::Discover, Priority::Normal)
        .await
        .unwrap();
    assert_eq!(depth.total(), 0, "nothing replayed");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_purges_one_dead_letter() {
    let app = spawn().await;
    let purged = bury(&app, "purged", "boom").await;
    let kept = bury(&app, "kept", "boom").await;
    let delete = |id: uuid::Uuid, key: &str| {
        client()
            .delete(app.url(&format!("/api/v1/admin/dead-letters/{id}")))
            .header("x-api-key", key)
            .send()
    };
    let free = create_key(&app, Tier::Free, None).await;
    assert_eq!(
        delete(purged.id, &free).await.unwrap().status().as_u16(),
        403
    );
    assert_eq!(
        delete(purged.id, ADMIN_KEY)
            .await
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    assert_eq!(
        delete(purged.id, ADMIN_KEY)
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    let dead_letters = queues(&app).await.dead_letters();
    assert!(dead_letters.show(purged.id).await.unwrap().is_none());
    assert!(dead_letters.show(kept.id).await.unwrap().is_some());
}

/// The text of the cell `css` in the row `row` of the current page.
async fn cell(browser: &Browser, row: &str, css: &str) -> String {
    browser
        .texts(&format!("{row} {css}"))
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {row} {css}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn in_a_browser_the_dashboard_shows_queues_dead_letters_and_quotas_and_acts_on_them() {
    let app = spawn().await;
    let queues = queues(&app).await;
    for name in ["a", "b"] {
        queues
            .enqueue_payload(
                JobType::Discover,
                serde_json::json!({"ecosystem": "npm", "name": name}),
                Priority::Normal,
            )
            .await
            .unwrap();
    }
    queues
        .enqueue_payload(
            JobType::Scrape,
            serde_json::json!({"ecosystem": "npm"}),
            Priority::Low,
        )
        .await
        .unwrap();
    let replayed = bury(&app, "replay-me", "registry said 500").await;
    let purged = bury(&app, "purge-me", "registry said 404").await;
    let failed = start_run(&app, "job-1", 1).await;
    finish_run(&app, failed, JobStatus::Failed).await;
    start_run(&app, "job-2", 1).await;
    // A token's quota as a worker records it after GitHub's answer.
    let token = "ghp_the-token-never-shown-0123456789";
    let fingerprint = wump_providers::fleet::fingerprint(token);
    ValkeyFleetStore::new(app.valkey.pool().clone(), app.valkey.prefix())
        .finish(
            "github",
            &fingerprint,
            "lease",
            &Outcome::Observed {
                resource: "core".to_owned(),
                limit: 5_000,
                remaining: 4_321,
                reset_in: Some(Duration::from_secs(1_800)),
                free: false,
            },
        )
        .await
        .unwrap();

    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = screenshot_dir();
    browser.open(&app.url("/admin")).await;
    assert_eq!(browser.texts("h1").await, ["Operators' sign-in"]);
    assert_eq!(
        browser.accessibility_violations().await,
        Vec::<String>::new()
    );
    for (label, width, height) in VIEWPORTS {
        browser
            .screenshot(&dir, "admin-sign-in", label, width, height)
            .await;
    }
    browser
        .client
        .find(Locator::Css("#admin-key"))
        .await
        .unwrap()
        .send_keys(ADMIN_KEY)
        .await
        .unwrap();
    browser.click_through("form.sign-in button").await;
    assert_eq!(browser.location().await, "/admin");
    assert_eq!(browser.texts("h1").await, ["Operations"]);
    let cookies = browser.client.get_all_cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|c| c.name() == "wump_admin")
        .expect("the browser keeps the session cookie");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(session.secure(), Some(true));
    assert_eq!(format!("{:?}", session.same_site()), "Some(Strict)");

    let discover = "tr[data-queue='discover:normal']";
    assert_eq!(cell(&browser, discover, "td.ready").await, "2");
    assert_eq!(
        cell(&browser, "tr[data-queue='scrape:low']", "td.ready").await,
        "1"
    );
    assert_eq!(
        browser.texts("table.ops.runs tbody tr").await.len(),
        3,
        "1 running, 2 recent"
    );
    assert!(
        browser
            .texts("#runs td.error-text")
            .await
            .contains(&"boom".to_owned())
    );
    let dead_rows = browser.texts("table.dead tbody tr").await;
    assert_eq!(dead_rows.len(), 2, "{dead_rows:?}");
    let replay_row = format!("tr[data-id='{}']", replayed.id);
    assert_eq!(
        cell(&browser, &replay_row, "td.error-text").await,
        "registry said 500"
    );
    let quota_row = format!("tr[data-token='{}']", &fingerprint[..8]);
    assert_eq!(cell(&browser, &quota_row, "td.remaining").await, "4321");
    assert_eq!(cell(&browser, &quota_row, "td.limit").await, "5000");
    let page = browser.client.source().await.unwrap();
    assert!(
        !page.contains(token) && !page.contains(&fingerprint),
        "only the label is shown"
    );
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
    assert_eq!(
        browser.accessibility_violations().await,
        Vec::<String>::new()
    );
    for (label, width, height) in VIEWPORTS {
        browser
            .screenshot(&dir, "admin-dashboard", label, width, height)
            .await;
    }
    // On a phone the wide tables scroll inside their box; the page itself does not.
    browser.client.set_window_size(390, 844).await.unwrap();
    let overflow = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth \
             || `${document.documentElement.scrollWidth} > ${window.innerWidth}`;",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        overflow, true,
        "the page itself scrolls sideways on a phone"
    );
    browser.client.set_window_size(1280, 900).await.unwrap();

    // Replay: the job is back on its queue, gone from the dead letters.
    browser
        .click_through(&format!("{replay_row} button.replay"))
        .await;
    assert_eq!(
        browser.texts("p.notice").await,
        ["Replayed 1 dead job onto their queues."]
    );
    assert_eq!(cell(&browser, discover, "td.ready").await, "3");
    assert!(
        queues
            .dead_letters()
            .show(replayed.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        queues
            .depth(JobType::Discover, Priority::Normal)
            .await
            .unwrap()
            .pending,
        3
    );
    assert_eq!(browser.texts("table.dead tbody tr").await.len(), 1);

    // Purge: the job is gone and nothing was queued.
    browser
        .click_through(&format!("tr[data-id='{}'] button.purge", purged.id))
        .await;
    assert_eq!(browser.texts("p.notice").await, ["Purged 1 dead job."]);
    assert!(
        queues
            .dead_letters()
            .show(purged.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(cell(&browser, discover, "td.ready").await, "3");
    assert!(
        browser
            .texts("#dead p.empty")
            .await
            .first()
            .is_some_and(|t| t.starts_with("No dead letters"))
    );

    // Sign out: the form again, the stored session gone.
    browser.click_through("form.inline button").await;
    assert_eq!(browser.texts("h1").await, ["Operators' sign-in"]);
    assert_eq!(stored_sessions(&app).await, Vec::<String>::new());
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_all_and_purge_all_act_on_one_queue_only() {
    let app = spawn().await;
    let token = sign_in(&app, ADMIN_KEY).await;
    let queues = queues(&app).await;
    let normal = [bury(&app, "a", "x").await, bury(&app, "b", "x").await];
    let mut other = DeadJob::from_envelope(
        Envelope::new(JobType::Scrape, Priority::Low, serde_json::json!({})),
        queues.name(JobType::Scrape, Priority::Low),
    );
    other.dead_at = Utc::now();
    queues.dead_letters().add(&other).await.unwrap();
    let discover = queues.name(JobType::Discover, Priority::Normal);

    let response = post(
        &app,
        "/admin/dead-letters/replay",
        &[("queue", &discover)],
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "/admin?replayed=2");
    assert_eq!(
        queues
            .depth(JobType::Discover, Priority::Normal)
            .await
            .unwrap()
            .pending,
        2
    );
    for job in &normal {
        assert!(queues.dead_letters().show(job.id).await.unwrap().is_none());
    }
    assert!(
        queues
            .dead_letters()
            .show(other.id)
            .await
            .unwrap()
            .is_some()
    );

    let scrape = queues.name(JobType::Scrape, Priority::Low);
    let response = post(
        &app,
        "/admin/dead-letters/purge",
        &[("queue", &scrape)],
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(response.headers()["location"], "/admin?purged=1");
    assert!(queues.dead_letters().is_empty().await.unwrap());
    assert_eq!(
        queues
            .depth(JobType::Scrape, Priority::Low)
            .await
            .unwrap()
            .total(),
        0,
        "purged, not replayed"
    );
    let (_, html) = dashboard(&app, Some(&token)).await;
    assert!(html.contains("No dead letters"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_postgresql_away_the_runs_say_so_and_the_rest_still_shows() {
    use secrecy::ExposeSecret;
    use wump_db::test_proxy::{Mode, Proxy};

    let db = wump_db::test_support::TestDatabase::new().await;
    let valkey = wump_db::test_support::TestValkey::new().await;
    let proxy = Proxy::start(crate::outages::address_of(
        db.settings().url.expose_secret(),
    ))
    .await
    .unwrap();
    let mut settings = crate::test_settings(&db, &valkey);
    settings.api.admin_key = Some(SecretString::from(ADMIN_KEY));
    settings.database.url = crate::outages::via(db.settings().url.expose_secret(), proxy.address());
    settings.database.pool_wait_timeout_ms = 500;
    settings.database.connect_timeout_ms = 500;
    let state = crate::state(settings, &valkey);
    let (server, address) = wump_api::server::build_with(state.clone(), |_| {}).unwrap();
    tokio::spawn(server);
    let app = TestApp {
        address,
        state,
        db,
        valkey,
        client: reqwest::Client::new(),
    };
    bury(&app, "still-shown", "boom").await;
    // The bootstrap key needs no database to sign in.
    let token = sign_in(&app, ADMIN_KEY).await;
    let (_, html) = dashboard(&app, Some(&token)).await;
    assert!(html.contains("No job has run yet."), "{html}");

    proxy.set(Mode::Cut);
    let started = Instant::now();
    let (status, html) = dashboard(&app, Some(&token)).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(
        html.matches("PostgreSQL does not answer").count(),
        2,
        "running and recent runs: {html}"
    );
    assert!(
        html.contains("data-queue=\"discover:normal\""),
        "queues shown"
    );
    assert!(html.contains("still-shown"), "dead letters shown");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread")]
async fn with_valkey_away_the_dashboard_is_a_503_page_not_a_500() {
    use secrecy::ExposeSecret;
    use wump_db::test_proxy::{Mode, Proxy};

    let valkey = wump_db::test_support::TestValkey::new().await;
    let proxy = Proxy::start(crate::outages::address_of(
        valkey.settings().url.expose_secret(),
    ))
    .await
    .unwrap();
    let app = TestApp::spawn_with(|settings| {
        settings.api.admin_key = Some(SecretString::from(ADMIN_KEY));
        settings.valkey.url = SecretString::from(format!("redis://{}", proxy.address()));
        settings.valkey.command_timeout_ms = 500;
    })
    .await;
    let token = sign_in(&app, ADMIN_KEY).await;
    assert!(shows_the_dashboard(&dashboard(&app, Some(&token)).await.1));

    proxy.set(Mode::Cut);
    let (status, html) = dashboard(&app, Some(&token)).await;
    assert_eq!(status, 503, "{html}");
    assert!(html.contains("sign-in store"), "{html}");
    let response = post(&app, "/admin/login", &[("key", ADMIN_KEY)], None, &[]).await;
    assert_eq!(response.status().as_u16(), 503);
    assert!(session_cookie(&response).is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_ins_are_rate_limited_like_every_page() {
    let app = TestApp::spawn_with(|settings| {
        crate::auth::small_limits(settings);
        settings.api.admin_key = Some(SecretString::from(ADMIN_KEY));
    })
    .await;
    // A burst of 2 for anonymous callers: two guesses, then a 429 page, even for the right key.
    for _ in 0..2 {
        let response = post(&app, "/admin/login", &[("key", "guess")], None, &[]).await;
        assert_eq!(response.status().as_u16(), 401);
    }
    let refused = post(&app, "/admin/login", &[("key", ADMIN_KEY)], None, &[]).await;
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(session_cookie(&refused).is_none());
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("rate limit exceeded")
    );
    assert_eq!(stored_sessions(&app).await, Vec::<String>::new());
}
