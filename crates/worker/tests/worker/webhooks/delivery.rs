//! Deliveries that arrive: signed, filtered, recorded; secrets never stored in clear.

use std::time::Duration;

use diesel::{QueryableByName, sql_types::Bytea};
use diesel_async::RunQueryDsl;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};
use wump_core::EventKind;
use wump_db::tables::{webhook_deliveries::DeliveryStatus, webhook_subscriptions::Scope};

use super::{World, local_settings, verified};
use crate::queue::support::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_dependent_reaches_the_receiver_signed_as_standard_webhooks_says_filtered_by_min_stars()
 {
    let world = World::new(local_settings()).await;
    let receiver = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    // By package, through a host name (resolved and checked by the delivery client).
    let by_package = format!("http://localhost:{}/by-package", receiver.address().port());
    let (package_sub, package_secret) = world
        .subscribe(
            &by_package,
            &[EventKind::DependentAdded],
            100,
            Scope::Packages(vec![world.left_pad]),
        )
        .await;
    // By organization: left-pad's repository is under github.com/Pad-Org (case differs).
    let (org_sub, org_secret) = world
        .subscribe(
            &format!("{}/by-org", receiver.uri()),
            &EventKind::ALL,
            0,
            Scope::Organization {
                host: "github.com".into(),
                login: "pad-org".into(),
            },
        )
        .await;
    // A subscription to another package hears nothing.
    let (react_sub, _) = world
        .subscribe(
            &receiver.uri(),
            &EventKind::ALL,
            0,
            Scope::Packages(vec![world.react]),
        )
        .await;

    // acme/web (500 stars) and acme/tiny (3 stars) start using left-pad.
    world.depend(world.web, &[world.left_pad]).await;
    world.depend(world.tiny, &[world.left_pad]).await;

    let delivered = world
        .settled(package_sub.id, 1, Duration::from_secs(20))
        .await;
    // dependent.added ×2 and organization.added ×1 for the organization subscription.
    let org_delivered = world.settled(org_sub.id, 3, Duration::from_secs(20)).await;
    let requests = eventually("four requests", Duration::from_secs(10), || async {
        let requests = receiver.received_requests().await.unwrap_or_default();
        (requests.len() == 4).then_some(requests)
    })
    .await;

    let to_package: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/by-package")
        .collect();
    assert_eq!(
        to_package.len(),
        1,
        "min_stars 100 leaves out acme/tiny (3 stars)"
    );
    let body = verified(to_package[0], &package_secret);
    assert_eq!(body["type"], "dependent.added");
    assert_eq!(body["data"]["package"]["ecosystem"], "npm");
    assert_eq!(body["data"]["package"]["name"], "left-pad");
    assert_eq!(
        body["data"]["package"]["url"],
        "https://wump.example/api/v1/packages/npm/left-pad"
    );
    assert_eq!(body["data"]["repository"]["full_name"], "acme/web");
    assert_eq!(
        body["data"]["repository"]["url"],
        "https://github.com/acme/web"
    );
    assert_eq!(body["data"]["repository"]["stars"], 500);
    assert_eq!(body["data"]["organization"]["login"], "acme");
    assert_eq!(body["data"]["kind"], "runtime");
    // The webhook-id is the delivery's id, the same on every attempt.
    let delivery = &delivered[0];
    assert_eq!(
        to_package[0].headers["webhook-id"].to_str().unwrap(),
        delivery.id.to_string()
    );
    assert_eq!(
        to_package[0].headers["content-type"].to_str().unwrap(),
        "application/json"
    );
    assert_eq!(delivery.status(), DeliveryStatus::Delivered);
    assert_eq!(delivery.attempts, 1);
    assert_eq!(delivery.response_status, Some(204));
    assert!(delivery.latency_ms.is_some());
    assert_eq!(delivery.payload, body, "the stored body is the one sent");
    assert!(delivery.enqueued_at.is_some());

    // A secret of another subscription does not verify these.
    let to_org: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/by-org")
        .collect();
    let mut types: Vec<String> = to_org
        .iter()
        .map(|r| {
            verified(r, &org_secret)["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    types.sort();
    assert_eq!(
        types,
        ["dependent.added", "dependent.added", "organization.added"]
    );
    assert!(
        standardwebhooks::Webhook::new(&package_secret)
            .unwrap()
            .verify(&to_org[0].body, &to_org[0].headers)
            .is_err()
    );
    assert!(
        org_delivered
            .iter()
            .all(|d| d.status() == DeliveryStatus::Delivered)
    );
    assert!(world.deliveries(react_sub.id).await.is_empty());

    // Every event was dispatched once; dispatching again stores nothing more.
    let mut conn = world.db.connection().await;
    assert_eq!(wump_db::outbox::undispatched(&mut conn).await.unwrap(), 0);
    world
        .queues
        .enqueue(
            &wump_core::jobs::DispatchJob {},
            wump_core::jobs::Priority::Normal,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(world.deliveries(org_sub.id).await.len(), 3);
    assert_eq!(receiver.received_requests().await.unwrap().len(), 4);
    world.stop().await;
}

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Bytea)]
    row: Vec<u8>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_is_not_stored_in_clear() {
    let world = World::new(local_settings()).await;
    let (subscription, secret) = world
        .subscribe(
            "https://hooks.example.com/",
            &EventKind::ALL,
            0,
            Scope::Packages(vec![world.react]),
        )
        .await;
    let raw = wump_core::webhooks::SigningSecret::parse(&secret).unwrap();
    let mut conn = world.db.connection().await;
    // The whole row as text, then as bytes: neither the shown secret nor its key bytes.
    let row: Stored = diesel::sql_query(
        "SELECT convert_to(s::text, 'UTF8') || s.secret_ciphertext AS row
           FROM webhook_subscriptions s WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(subscription.id)
    .get_result(&mut conn)
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&row.row);
    assert!(!text.contains(&secret));
    assert!(!text.contains(&secret["whsec_".len()..]));
    assert!(
        !row.row
            .windows(raw.as_bytes().len())
            .any(|w| w == raw.as_bytes())
    );
    assert_eq!(
        world
            .cipher
            .decrypt(&subscription.secret_ciphertext)
            .unwrap(),
        raw
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_rotation_deliveries_verify_with_the_new_secret_only() {
    let world = World::new(local_settings()).await;
    let receiver = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let (subscription, old) = world
        .subscribe(
            &receiver.uri(),
            &[EventKind::DependentAdded],
            0,
            Scope::Packages(vec![world.left_pad]),
        )
        .await;
    // What POST /api/v1/webhooks/{id}/rotate-secret stores.
    let new = wump_core::webhooks::SigningSecret::generate();
    let mut conn = world.db.connection().await;
    wump_db::tables::webhook_subscriptions::replace_secret(
        &mut conn,
        world.key_id,
        subscription.id,
        &world.cipher.encrypt(&new),
    )
    .await
    .unwrap()
    .unwrap();
    world.depend(world.web, &[world.left_pad]).await;
    world
        .settled(subscription.id, 1, Duration::from_secs(20))
        .await;
    let requests = receiver.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    verified(&requests[0], &new.reveal());
    let stale = standardwebhooks::Webhook::new(&old)
        .unwrap()
        .verify(&requests[0].body, &requests[0].headers);
    assert!(
        matches!(stale, Err(standardwebhooks::WebhookError::InvalidSignature)),
        "{stale:?}"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_prunes_finished_deliveries_past_the_retention_and_keeps_pending_ones() {
    let world = World::new(local_settings()).await;
    let (subscription, _) = world
        .subscribe(
            "https://hooks.example.com/",
            &EventKind::ALL,
            0,
            Scope::Packages(vec![world.react]),
        )
        .await;
    let mut conn = world.db.connection().await;
    let delivery = |event_id: i64| wump_db::tables::webhook_deliveries::NewDelivery {
        id: uuid::Uuid::now_v7(),
        subscription_id: subscription.id,
        event_id,
        event: EventKind::DependentAdded,
        payload: serde_json::json!({}),
    };
    let ids = wump_db::tables::webhook_deliveries::insert_new(
        &mut conn,
        &[delivery(1), delivery(2), delivery(3)],
    )
    .await
    .unwrap();
    // 1: delivered 40 days ago; 2: failed yesterday; 3: still pending after 40 days (a
    // receiver down for long keeps its retries).
    for (event_id, status, age) in [
        (1i64, "delivered", "40 days"),
        (2, "failed", "1 day"),
        (3, "pending", "40 days"),
    ] {
        diesel::sql_query(
            "UPDATE webhook_deliveries SET status = $1, enqueued_at = now(),
                    created_at = now() - $2::interval
              WHERE event_id = $3",
        )
        .bind::<diesel::sql_types::Text, _>(status)
        .bind::<diesel::sql_types::Text, _>(age)
        .bind::<diesel::sql_types::BigInt, _>(event_id)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    world
        .queues
        .enqueue(
            &wump_core::jobs::DispatchJob {},
            wump_core::jobs::Priority::Normal,
        )
        .await
        .unwrap();
    let left = eventually(
        "the old delivery pruned",
        Duration::from_secs(10),
        || async {
            let left = world.deliveries(subscription.id).await;
            (left.len() == 2).then_some(left)
        },
    )
    .await;
    let mut kept: Vec<_> = left.iter().map(|d| d.event_id).collect();
    kept.sort();
    assert_eq!(kept, [2, 3]);
    assert!(left.iter().all(|d| d.id != ids[0]));
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_keys_subscriptions_hear_nothing() {
    let world = World::new(local_settings()).await;
    let receiver = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let (subscription, _) = world
        .subscribe(
            &receiver.uri(),
            &EventKind::ALL,
            0,
            Scope::Packages(vec![world.left_pad]),
        )
        .await;
    let mut conn = world.db.connection().await;
    diesel::sql_query("UPDATE api_keys SET revoked_at = now() WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(world.key_id)
        .execute(&mut conn)
        .await
        .unwrap();
    world.depend(world.web, &[world.left_pad]).await;
    eventually("the events dispatched", Duration::from_secs(10), || async {
        let mut conn = world.db.connection().await;
        (wump_db::outbox::undispatched(&mut conn).await.unwrap() == 0).then_some(())
    })
    .await;
    assert!(world.deliveries(subscription.id).await.is_empty());
    assert!(receiver.received_requests().await.unwrap().is_empty());
    world.stop().await;
}
