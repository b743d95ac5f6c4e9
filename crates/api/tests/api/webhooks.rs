//! Webhook subscriptions through the API: owned by the key that made them, secrets shown
//! once and stored encrypted, URLs checked against the address rules, and why a
//! subscription was disabled visible to its owner.

use secrecy::SecretString;
use serde_json::{Value, json};
use wump_core::{Ecosystem, Tier, settings::WebhookSettings};
use wump_db::tables::{packages, webhook_subscriptions};

use crate::{TestApp, auth::create_key};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Webhooks on, receivers on this machine allowed (`localhost` resolves to loopback).
fn local(settings: &mut wump_core::Settings) {
    settings.webhooks = WebhookSettings {
        secret_key: Some(SecretString::from(KEY)),
        allowed_networks: vec!["127.0.0.0/8".into(), "::1/128".into()],
        max_subscriptions_per_key: 3,
        ..WebhookSettings::default()
    };
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn seed_package(app: &TestApp, name: &str) {
    let mut conn = app.db.connection().await;
    packages::upsert(&mut conn, &[(Ecosystem::Npm, name)])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn create_list_show_rotate_and_delete_a_subscription() {
    let app = TestApp::spawn_with(local).await;
    seed_package(&app, "left-pad").await;
    let key = create_key(&app, Tier::Free, None).await;
    let other = create_key(&app, Tier::Free, None).await;

    let (status, created) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/webhooks",
        Some(&key),
        Some(json!({
            "url": "https://localhost/hooks/wump",
            "description": "alerts",
            "events": ["dependent.added", "organization.added"],
            "min_stars": 100,
            "packages": [{"ecosystem": "npm", "name": "left-pad"}]
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(standardwebhooks::Webhook::new(&secret).is_ok());
    let webhook = &created["webhook"];
    let id = webhook["id"].as_str().unwrap().to_owned();
    assert_eq!(webhook["url"], "https://localhost/hooks/wump");
    assert_eq!(
        webhook["events"],
        json!(["dependent.added", "organization.added"])
    );
    assert_eq!(webhook["min_stars"], 100);
    assert_eq!(
        webhook["packages"],
        json!([{"ecosystem": "npm", "name": "left-pad"}])
    );
    assert_eq!(webhook["enabled"], true);
    assert_eq!(webhook["consecutive_failures"], 0);

    // Stored encrypted: the row decrypts to the secret shown, and holds no copy of it.
    let mut conn = app.db.connection().await;
    let row = webhook_subscriptions::by_id(&mut conn, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let cipher = wump_core::webhooks::SecretCipher::from_base64(KEY).unwrap();
    assert_eq!(
        cipher.decrypt(&row.secret_ciphertext).unwrap().reveal(),
        secret
    );
    assert!(!String::from_utf8_lossy(&row.secret_ciphertext).contains(&secret[6..]));

    // Shown without the secret; listed for its owner only; never kept by a shared cache.
    let path = format!("/api/v1/webhooks/{id}");
    let response = app
        .client
        .get(app.url(&path))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, shown) = send(&app, reqwest::Method::GET, &path, Some(&key), None).await;
    assert_eq!(status, 200);
    assert!(shown.get("secret").is_none());
    assert!(!shown.to_string().contains(&secret[6..]));
    let (status, page) = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/webhooks",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["next_cursor"], Value::Null);
    let (_, theirs) = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/webhooks",
        Some(&other),
        None,
    )
    .await;
    assert_eq!(theirs["items"], json!([]));
    let (status, _) = send(&app, reqwest::Method::GET, &path, Some(&other), None).await;
    assert_eq!(
        status, 404,
        "another key's subscription does not exist for it"
    );
    let (status, _) = send(&app, reqwest::Method::DELETE, &path, Some(&other), None).await;
    assert_eq!(status, 404);

    // PATCH changes what is given only.
    let (status, changed) = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        Some(&key),
        Some(json!({"min_stars": 5, "description": null})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["min_stars"], 5);
    assert_eq!(changed["description"], Value::Null);
    assert_eq!(changed["url"], "https://localhost/hooks/wump");

    // Rotation: a new secret, once; the old one no longer matches what is stored.
    let (status, rotated) = send(
        &app,
        reqwest::Method::POST,
        &format!("{path}/rotate-secret"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let row = webhook_subscriptions::by_id(&mut conn, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        cipher.decrypt(&row.secret_ciphertext).unwrap().reveal(),
        new_secret
    );

    // Deliveries: none yet.
    let (status, deliveries) = send(
        &app,
        reqwest::Method::GET,
        &format!("{path}/deliveries"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(deliveries["items"], json!([]));

    let (status, _) = send(&app, reqwest::Method::DELETE, &path, Some(&key), None).await;
    assert_eq!(status, 204);
    let (status, _) = send(&app, reqwest::Method::GET, &path, Some(&key), None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_callers_get_401_and_bad_requests_422_naming_the_field() {
    let app = TestApp::spawn_with(local).await;
    seed_package(&app, "left-pad").await;
    let (status, problem) = send(&app, reqwest::Method::GET, "/api/v1/webhooks", None, None).await;
    assert_eq!(status, 401, "{problem}");
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/webhooks",
        None,
        Some(json!({"url": "https://localhost/", "organization": {"host": "github.com", "login": "acme"}})),
    )
    .await;
    assert_eq!(status, 401);

    // Every route about one subscription: 401 before the id is looked at, then an id that
    // is no UUID names no subscription.
    let key = create_key(&app, Tier::Free, None).await;
    let id = "01a24c6e-8347-7751-9c7b-83e1061879ee";
    for (method, suffix) in [
        (reqwest::Method::GET, ""),
        (reqwest::Method::PATCH, ""),
        (reqwest::Method::DELETE, ""),
        (reqwest::Method::POST, "/rotate-secret"),
        (reqwest::Method::POST, "/enable"),
        (reqwest::Method::GET, "/deliveries"),
    ] {
        let body = (method == reqwest::Method::PATCH).then(|| json!({}));
        let path = format!("/api/v1/webhooks/{id}{suffix}");
        let (status, problem) = send(&app, method.clone(), &path, None, body.clone()).await;
        assert_eq!(status, 401, "{method} {path}: {problem}");
        let path = format!("/api/v1/webhooks/not-a-uuid{suffix}");
        let (status, problem) = send(&app, method.clone(), &path, Some(&key), body).await;
        assert_eq!(status, 404, "{method} {path}: {problem}");
        assert!(
            problem
                .to_string()
                .contains("no webhook with id `not-a-uuid`"),
            "{problem}"
        );
    }

    let create = |body: Value| {
        let app = &app;
        let key = key.clone();
        async move {
            send(
                app,
                reqwest::Method::POST,
                "/api/v1/webhooks",
                Some(&key),
                Some(body),
            )
            .await
        }
    };
    for (body, field, says) in [
        (
            json!({"url": "https://localhost/", "packages": [{"ecosystem": "npm", "name": "no-such-package"}]}),
            "packages[0]",
            "no-such-package",
        ),
        (
            json!({"url": "https://localhost/"}),
            "packages",
            "exactly one",
        ),
        (
            json!({"url": "https://localhost/", "packages": [{"ecosystem": "npm", "name": "left-pad"}],
                   "organization": {"host": "github.com", "login": "acme"}}),
            "packages",
            "exactly one",
        ),
        (
            json!({"url": "https://localhost/", "packages": []}),
            "packages",
            "1 to 100",
        ),
        (
            json!({"url": "https://localhost/", "events": [], "organization": {"host": "github.com", "login": "acme"}}),
            "events",
            "at least one",
        ),
        (
            // serde names the variant, not the field (the body parser's limit).
            json!({"url": "https://localhost/", "events": ["dependent.renamed"], "organization": {"host": "github.com", "login": "acme"}}),
            "body",
            "unknown variant `dependent.renamed`",
        ),
        (
            json!({"url": "http://localhost/", "organization": {"host": "github.com", "login": "acme"}}),
            "url",
            "https",
        ),
        (
            json!({"url": "https://169.254.169.254/latest/meta-data/", "organization": {"host": "github.com", "login": "acme"}}),
            "url",
            "169.254.0.0/16",
        ),
        (
            json!({"url": "https://10.1.2.3/", "organization": {"host": "github.com", "login": "acme"}}),
            "url",
            "private",
        ),
        (
            json!({"url": "https://[fd00:ec2::254]/", "organization": {"host": "github.com", "login": "acme"}}),
            "url",
            "fc00::/7",
        ),
        (
            json!({"url": "https://localhost/", "min_stars": -1, "organization": {"host": "github.com", "login": "acme"}}),
            "min_stars",
            "0 or more",
        ),
    ] {
        let (status, problem) = create(body.clone()).await;
        assert_eq!(status, 422, "{body} → {problem}");
        assert_eq!(problem["parameter"], field, "{body} → {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{body} → {problem}"
        );
    }

    // The per-key limit.
    for _ in 0..3 {
        let (status, body) = create(json!({"url": "https://localhost/", "organization": {"host": "github.com", "login": "acme"}})).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, problem) = create(json!({"url": "https://localhost/", "organization": {"host": "github.com", "login": "acme"}})).await;
    assert_eq!(status, 422);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("max_subscriptions_per_key")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_resolving_to_loopback_is_refused_unless_an_operator_allows_it() {
    let app = TestApp::spawn_with(|settings| {
        local(settings);
        settings.webhooks.allowed_networks.clear();
    })
    .await;
    let key = create_key(&app, Tier::Free, None).await;
    let (status, problem) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/webhooks",
        Some(&key),
        Some(json!({"url": "https://localhost:8443/hook", "organization": {"host": "github.com", "login": "acme"}})),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["parameter"], "url");
    assert!(
        problem["detail"].as_str().unwrap().contains("loopback"),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_key_the_routes_answer_503_saying_how_to_set_one() {
    let app = TestApp::spawn().await;
    let key = create_key(&app, Tier::Free, None).await;
    let (status, problem) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/webhooks",
        Some(&key),
        Some(json!({"url": "https://localhost/", "organization": {"host": "github.com", "login": "acme"}})),
    )
    .await;
    assert_eq!(status, 503, "{problem}");
    assert_eq!(problem["type"], "urn:wump:problem:not-configured");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("WUMP__WEBHOOKS__SECRET_KEY")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_subscription_shows_why_and_can_be_enabled_again() {
    let app = TestApp::spawn_with(local).await;
    let key = create_key(&app, Tier::Free, None).await;
    let (_, created) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/webhooks",
        Some(&key),
        Some(json!({"url": "https://localhost/", "organization": {"host": "github.com", "login": "acme"}})),
    )
    .await;
    let id: uuid::Uuid = created["webhook"]["id"].as_str().unwrap().parse().unwrap();
    // What the deliver job does after the last failed attempt of the fifth delivery.
    let mut conn = app.db.connection().await;
    for _ in 0..5 {
        webhook_subscriptions::record_failure(
            &mut conn,
            id,
            5,
            "HTTP 500 Internal Server Error from https://localhost/",
        )
        .await
        .unwrap();
    }
    let path = format!("/api/v1/webhooks/{id}");
    let (status, shown) = send(&app, reqwest::Method::GET, &path, Some(&key), None).await;
    assert_eq!(status, 200);
    assert_eq!(shown["enabled"], false);
    assert_eq!(shown["consecutive_failures"], 5);
    assert_eq!(
        shown["disabled_reason"],
        "disabled after 5 consecutive failed deliveries; last: HTTP 500 Internal Server Error from https://localhost/"
    );
    let (status, enabled) = send(
        &app,
        reqwest::Method::POST,
        &format!("{path}/enable"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(enabled["enabled"], true);
    assert_eq!(enabled["disabled_reason"], Value::Null);
    assert_eq!(enabled["consecutive_failures"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_are_listed_newest_first_page_by_page_and_patch_checks_the_url() {
    let app = TestApp::spawn_with(local).await;
    let key = create_key(&app, Tier::Free, None).await;
    let (_, created) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/webhooks",
        Some(&key),
        Some(json!({"url": "https://localhost/", "organization": {"host": "github.com", "login": "acme"}})),
    )
    .await;
    let id: uuid::Uuid = created["webhook"]["id"].as_str().unwrap().parse().unwrap();
    let path = format!("/api/v1/webhooks/{id}");

    let (status, problem) = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        Some(&key),
        Some(json!({"url": "https://169.254.169.254/"})),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["parameter"], "url");

    // Three deliveries, as dispatch stores them, a second apart.
    let mut conn = app.db.connection().await;
    let mut stored = Vec::new();
    for event_id in 1..=3 {
        let ids = wump_db::tables::webhook_deliveries::insert_new(
            &mut conn,
            &[wump_db::tables::webhook_deliveries::NewDelivery {
                id: uuid::Uuid::now_v7(),
                subscription_id: id,
                event_id,
                event: wump_core::EventKind::DependentAdded,
                payload: json!({"type": "dependent.added", "data": {"event_id": event_id}}),
            }],
        )
        .await
        .unwrap();
        stored.push(ids[0].to_string());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let listing = format!("{path}/deliveries");
    let (status, first) = send(
        &app,
        reqwest::Method::GET,
        &format!("{listing}?per_page=2"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first), [stored[2].clone(), stored[1].clone()]);
    assert_eq!(first["items"][0]["status"], "pending");
    assert_eq!(first["items"][0]["payload"]["data"]["event_id"], 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (status, second) = send(
        &app,
        reqwest::Method::GET,
        &format!("{listing}?per_page=2&cursor={cursor}"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(ids(&second), [stored[0].clone()]);
    assert_eq!(second["next_cursor"], Value::Null);

    // Another key sees none of it; a cursor of another listing is refused.
    let other = create_key(&app, Tier::Free, None).await;
    let (status, _) = send(&app, reqwest::Method::GET, &listing, Some(&other), None).await;
    assert_eq!(status, 404);
    let (status, problem) = send(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/webhooks?cursor={cursor}"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["parameter"], "cursor");
}
