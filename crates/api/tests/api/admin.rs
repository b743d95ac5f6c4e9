//! Admin endpoints: only for admin keys; keys created, listed, revoked and rotated through
//! them; recent runs paged; dead letters viewed and replayed onto their queues.

use chrono::Utc;
use wump_api::auth::Tier;
use wump_core::jobs::{JobType, Priority};
use wump_db::{
    queue::{DeadJob, Envelope},
    tables::job_executions::{self, StartExecution},
};

use crate::{
    TestApp,
    auth::{create_key, get_with_key, probe_path},
    refresh::queues,
};

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    key: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("x-api-key", key);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

const ADMIN_ROUTES: [(&str, &str); 10] = [
    ("POST", "/api/v1/admin/keys"),
    ("GET", "/api/v1/admin/keys"),
    ("DELETE", "/api/v1/admin/keys/abcdefgh"),
    ("POST", "/api/v1/admin/keys/abcdefgh/rotate"),
    ("GET", "/api/v1/admin/jobs"),
    ("GET", "/api/v1/admin/dead-letters"),
    (
        "GET",
        "/api/v1/admin/dead-letters/0190a0c8-0000-7000-8000-000000000000",
    ),
    (
        "POST",
        "/api/v1/admin/dead-letters/0190a0c8-0000-7000-8000-000000000000/replay",
    ),
    ("POST", "/api/v1/admin/dead-letters/replay"),
    (
        "DELETE",
        "/api/v1/admin/dead-letters/0190a0c8-0000-7000-8000-000000000000",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn admin_endpoints_are_forbidden_below_admin_and_need_a_key() {
    let app = TestApp::spawn().await;
    let premium = create_key(&app, Tier::Premium, None).await;
    for (method, path) in ADMIN_ROUTES {
        let method: reqwest::Method = method.parse().unwrap();
        let (status, body) = send(&app, method.clone(), path, &premium, Some("{}")).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert_eq!(body["type"], "urn:wump:problem:forbidden");
        let status = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, 401, "{method} {path} without a key");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_created_listed_rotated_and_revoked_through_the_api() {
    let app = TestApp::spawn().await;
    let admin = create_key(&app, Tier::Admin, None).await;

    let (status, created) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/admin/keys",
        &admin,
        Some(r#"{"name":"ci","tier":"standard","expires_in_days":30,"rate_limit":100}"#),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    let prefix = created["api_key"]["prefix"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&format!("wump_{prefix}_")));
    assert_eq!(created["api_key"]["tier"], "standard");
    assert_eq!(created["api_key"]["rate_limit"], 100);
    assert!(created["api_key"]["expires_at"].is_string());
    assert_eq!(
        get_with_key(&app, &probe_path(), &key)
            .await
            .status()
            .as_u16(),
        404
    );

    // Listed, never with the key or its hash.
    let (status, list) = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/admin/keys",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let listed = list.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(!list.to_string().contains(&key[14..]));
    assert!(
        listed
            .iter()
            .all(|k| k.get("key").is_none() && k.get("key_hash").is_none())
    );

    // Rotated: the new key works at once, the old one is refused at once on this instance.
    let (status, rotated) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/admin/keys/{prefix}/rotate"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 201, "{rotated}");
    let new_key = rotated["key"].as_str().unwrap().to_owned();
    assert_eq!(rotated["replaces"]["prefix"], prefix.as_str());
    assert_eq!(rotated["api_key"]["name"], "ci");
    assert_eq!(rotated["api_key"]["rate_limit"], 100);
    assert_eq!(
        get_with_key(&app, &probe_path(), &key)
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        get_with_key(&app, &probe_path(), &new_key)
            .await
            .status()
            .as_u16(),
        404
    );

    // Revoked: refused at once.
    let new_prefix = rotated["api_key"]["prefix"].as_str().unwrap();
    let (status, revoked) = send(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/v1/admin/keys/{new_prefix}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(revoked["active"], false);
    assert_eq!(
        get_with_key(&app, &probe_path(), &new_key)
            .await
            .status()
            .as_u16(),
        401
    );

    let (status, _) = send(
        &app,
        reqwest::Method::DELETE,
        "/api/v1/admin/keys/zzzzzzzz",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_grace_keeps_the_old_key_working() {
    let app = TestApp::spawn().await;
    let admin = create_key(&app, Tier::Admin, None).await;
    let old = create_key(&app, Tier::Free, None).await;
    let (status, rotated) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/admin/keys/{}/rotate?grace_minutes=60", &old[5..13]),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 201, "{rotated}");
    assert_eq!(rotated["replaces"]["active"], true);
    assert_eq!(
        get_with_key(&app, &probe_path(), &old)
            .await
            .status()
            .as_u16(),
        404
    );
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/admin/keys/{}/rotate?grace=60", &old[5..13]),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["parameter"], "grace");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_key_requests_are_problems_naming_the_field() {
    let app = TestApp::spawn().await;
    let admin = create_key(&app, Tier::Admin, None).await;
    let post = |body: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            send(
                app,
                reqwest::Method::POST,
                "/api/v1/admin/keys",
                &admin,
                Some(&body),
            )
            .await
        }
    };
    for (body, status, field) in [
        (
            r#"{"name":"x","tier":"free","colour":"red"}"#,
            422,
            "colour",
        ),
        (r#"{"tier":"free"}"#, 422, "name"),
        (r#"{"name":"x","tier":"anonymous"}"#, 422, "tier"),
        (r#"{"name":"x","tier":"gold"}"#, 422, "body"),
        (
            r#"{"name":"x","tier":"free","expires_in_days":0}"#,
            422,
            "expires_in_days",
        ),
        (r#"{"name":"x","tier":"free","rate_limit":-1}"#, 422, "body"),
        (r#"{"name":"#, 400, "body"),
    ] {
        let (got, problem) = post(body.to_owned()).await;
        assert_eq!(got, status, "{body}: {problem}");
        assert_eq!(problem["parameter"], field, "{body}: {problem}");
    }
    let huge = format!(r#"{{"name":"{}","tier":"free"}}"#, "x".repeat(20_000));
    let (status, problem) = post(huge).await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(problem["type"], "urn:wump:problem:payload-too-large");
}

#[tokio::test(flavor = "multi_thread")]
async fn recent_job_runs_are_listed_newest_first_in_pages() {
    let app = TestApp::spawn().await;
    let admin = create_key(&app, Tier::Admin, None).await;
    let mut conn = app.db.connection().await;
    let mut job_ids = Vec::new();
    for i in 0..5 {
        let job_id = format!("job-{i}");
        job_executions::start(
            &mut conn,
            &StartExecution {
                job_id: &job_id,
                job_type: if i % 2 == 0 {
                    JobType::Discover
                } else {
                    JobType::Parse
                },
                queue: "q",
                attempt: 1,
                metadata: serde_json::json!({}),
            },
        )
        .await
        .unwrap();
        job_ids.push(job_id);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/admin/jobs?limit=2".to_owned();
    loop {
        let (status, page) = send(&app, reqwest::Method::GET, &path, &admin, None).await;
        assert_eq!(status, 200, "{page}");
        for run in page["runs"].as_array().unwrap() {
            seen.push(run["job_id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/admin/jobs?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    job_ids.reverse();
    assert_eq!(seen, job_ids);

    let (_, discover) = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/admin/jobs?job_type=discover",
        &admin,
        None,
    )
    .await;
    assert_eq!(discover["runs"].as_array().unwrap().len(), 3);
    for bad in [
        "limit=0",
        "limit=201",
        "job_type=nope",
        "status=nope",
        "cursor=%21%21",
        "page=2",
    ] {
        let (status, _) = send(
            &app,
            reqwest::Method::GET,
            &format!("/api/v1/admin/jobs?{bad}"),
            &admin,
            None,
        )
        .await;
        assert_eq!(status, 400, "{bad}");
    }
}

async fn bury(app: &TestApp, name: &str) -> DeadJob {
    let queues = queues(app).await;
    let envelope = Envelope::new(
        JobType::Discover,
        Priority::Normal,
        serde_json::json!({"ecosystem": "npm", "name": name}),
    );
    let mut dead =
        DeadJob::from_envelope(envelope, queues.name(JobType::Discover, Priority::Normal));
    dead.dead_at = Utc::now();
    queues.dead_letters().add(&dead).await.unwrap();
    dead
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_letters_are_listed_shown_and_replayed_onto_their_queue() {
    let app = TestApp::spawn().await;
    let admin = create_key(&app, Tier::Admin, None).await;
    let first = bury(&app, "a").await;
    let second = bury(&app, "b").await;
    let third = bury(&app, "c").await;

    let (status, list) = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/admin/dead-letters",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 3);
    let (status, shown) = send(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/admin/dead-letters/{}", first.id),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(shown["payload"]["name"], "a");
    assert_eq!(shown["job_type"], "discover");

    let queues = queues(&app).await;
    let (status, replayed) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/admin/dead-letters/{}/replay", first.id),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["replayed"], serde_json::json!([first.id]));
    let depth = queues
        .depth(JobType::Discover, Priority::Normal)
        .await
        .unwrap();
    assert_eq!(depth.total(), 1, "{depth:?}");
    let (status, _) = send(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/admin/dead-letters/{}", first.id),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 404);

    let (status, replayed) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/admin/dead-letters/replay",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let mut ids: Vec<String> = replayed["replayed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut expected = vec![second.id.to_string(), third.id.to_string()];
    expected.sort();
    assert_eq!(ids, expected);
    let depth = queues
        .depth(JobType::Discover, Priority::Normal)
        .await
        .unwrap();
    assert_eq!(depth.total(), 3, "{depth:?}");
    assert!(queues.dead_letters().is_empty().await.unwrap());
}
