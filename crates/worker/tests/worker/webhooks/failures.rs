//! Deliveries that fail: retries with backoff, the dead-letter list after the last
//! attempt, subscriptions disabled after a run of failures, refused addresses.

use std::time::Duration;

use wiremock::{Mock, MockServer, ResponseTemplate, matchers};
use wump_core::{EventKind, jobs::JobType, settings::WebhookSettings};
use wump_db::tables::{webhook_deliveries::DeliveryStatus, webhook_subscriptions::Scope};

use super::{World, local_settings, verified};
use crate::queue::support::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_500s_then_success_is_one_delivery_in_three_attempts() {
    let world = World::new(local_settings()).await;
    let receiver = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .mount(&receiver)
        .await;
    Mock::given(matchers::method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let (subscription, secret) = world
        .subscribe(
            &receiver.uri(),
            &[EventKind::DependentAdded],
            0,
            Scope::Packages(vec![world.left_pad]),
        )
        .await;
    world.depend(world.web, &[world.left_pad]).await;

    let delivered = world
        .settled(subscription.id, 1, Duration::from_secs(20))
        .await;
    let delivery = &delivered[0];
    assert_eq!(delivery.status(), DeliveryStatus::Delivered);
    assert_eq!(delivery.attempts, 3);
    assert_eq!(delivery.response_status, Some(200));
    let requests = receiver.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    // Every attempt is signed, with the same id and body.
    for request in &requests {
        verified(request, &secret);
        assert_eq!(
            request.headers["webhook-id"].to_str().unwrap(),
            delivery.id.to_string()
        );
        assert_eq!(request.body, requests[0].body);
    }
    assert_eq!(
        world
            .subscription(subscription.id)
            .await
            .consecutive_failures,
        0
    );
    assert!(world.queues.dead_letters().list().await.unwrap().is_empty());
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_in_time_is_dead_lettered_and_the_run_of_failures_disables_the_subscription()
 {
    let world = World::new(local_settings()).await;
    let receiver = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&receiver)
        .await;
    let url = format!("{}/slow", receiver.uri());
    let (subscription, _) = world
        .subscribe(
            &url,
            &[EventKind::DependentAdded],
            0,
            Scope::Packages(vec![world.left_pad]),
        )
        .await;
    // Two events, two deliveries: both fail three times; two failures in a row disable.
    world.depend(world.web, &[world.left_pad]).await;
    world.depend(world.tiny, &[world.left_pad]).await;

    let failed = world
        .settled(subscription.id, 2, Duration::from_secs(30))
        .await;
    for delivery in &failed {
        assert_eq!(delivery.status(), DeliveryStatus::Failed);
        assert_eq!(delivery.attempts, 3);
        assert_eq!(delivery.response_status, None);
        let error = delivery.error.as_deref().unwrap();
        assert!(error.contains("within 500 ms"), "{error}");
        assert!(delivery.finished_at.is_some());
    }
    let dead = eventually("two dead letters", Duration::from_secs(10), || async {
        let dead = world.queues.dead_letters().list().await.unwrap();
        (dead.len() == 2).then_some(dead)
    })
    .await;
    for job in &dead {
        assert_eq!(job.job_type, JobType::Deliver);
        assert_eq!(job.attempts, 3);
        assert!(!job.permanent());
        assert!(job.last_error().unwrap().error.contains("within 500 ms"));
        let id = job.payload["delivery_id"].as_str().unwrap();
        assert!(failed.iter().any(|d| d.id.to_string() == id));
    }
    // Retries waited for the backoff: three attempts each, about 1 s and 2 s apart.
    assert_eq!(receiver.received_requests().await.unwrap().len(), 6);

    let disabled = world.subscription(subscription.id).await;
    assert_eq!(disabled.consecutive_failures, 2);
    assert!(disabled.disabled_at.is_some());
    let reason = disabled.disabled_reason.unwrap();
    assert!(
        reason.starts_with("disabled after 2 consecutive failed deliveries; last: no answer from"),
        "{reason}"
    );
    assert!(reason.contains(&url), "{reason}");

    // A later event is not sent to a disabled subscription.
    world
        .depend(world.web, &[world.left_pad, world.react])
        .await;
    world.depend(world.web, &[]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.received_requests().await.unwrap().len(), 6);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_gone_fails_at_once_and_disables_the_subscription() {
    let world = World::new(local_settings()).await;
    let receiver = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .respond_with(ResponseTemplate::new(410))
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
    world.depend(world.web, &[world.left_pad]).await;
    // dependent.added and organization.added: the first 410 disables, the other is skipped
    // or fails the same way, whichever ran first.
    let finished = world
        .settled(subscription.id, 2, Duration::from_secs(20))
        .await;
    assert!(finished.iter().all(|d| d.attempts <= 1));
    assert!(finished.iter().any(|d| d.response_status == Some(410)));
    let disabled = world.subscription(subscription.id).await;
    assert!(disabled.disabled_at.is_some());
    assert!(disabled.disabled_reason.unwrap().contains("410 Gone"));
    // Each 410 is dead-lettered at once (permanent); a delivery skipped because the first
    // 410 disabled the subscription is not.
    let gone = finished
        .iter()
        .filter(|d| d.response_status == Some(410))
        .count();
    let dead = eventually(
        "the 410s dead-lettered",
        Duration::from_secs(10),
        || async {
            let dead = world.queues.dead_letters().list().await.unwrap();
            (dead.len() == gone).then_some(dead)
        },
    )
    .await;
    assert!(
        dead.iter().all(|job| job.permanent() && job.attempts == 1),
        "{dead:?}"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_resolving_to_loopback_is_refused_at_delivery_unless_allowed() {
    let settings = WebhookSettings {
        allowed_networks: Vec::new(),
        ..local_settings()
    };
    let world = World::new(settings).await;
    let receiver = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    // Stored directly: the API would refuse it, but a name can re-resolve after the check.
    let url = format!("http://localhost:{}/hook", receiver.address().port());
    let (subscription, _) = world
        .subscribe(
            &url,
            &[EventKind::DependentAdded],
            0,
            Scope::Packages(vec![world.left_pad]),
        )
        .await;
    world.depend(world.web, &[world.left_pad]).await;

    let refused = world
        .settled(subscription.id, 1, Duration::from_secs(20))
        .await;
    let delivery = &refused[0];
    assert_eq!(delivery.status(), DeliveryStatus::Failed);
    assert_eq!(delivery.attempts, 1, "a refused address is not retried");
    let error = delivery.error.as_deref().unwrap();
    assert!(error.contains("loopback"), "{error}");
    assert!(error.contains(&url), "{error}");
    assert!(receiver.received_requests().await.unwrap().is_empty());
    let dead = eventually(
        "the refusal dead-lettered",
        Duration::from_secs(10),
        || async {
            let dead = world.queues.dead_letters().list().await.unwrap();
            (!dead.is_empty()).then_some(dead)
        },
    )
    .await;
    assert_eq!(dead.len(), 1);
    assert!(dead[0].permanent());
    assert_eq!(
        world
            .subscription(subscription.id)
            .await
            .consecutive_failures,
        1
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_deliveries_fail_saying_how_to_set_one() {
    let settings = WebhookSettings {
        secret_key: None,
        ..local_settings()
    };
    let world = World::new(settings).await;
    let (subscription, _) = world
        .subscribe(
            "http://127.0.0.1:9/",
            &[EventKind::DependentAdded],
            0,
            Scope::Packages(vec![world.left_pad]),
        )
        .await;
    world.depend(world.web, &[world.left_pad]).await;
    let failed = world
        .settled(subscription.id, 1, Duration::from_secs(20))
        .await;
    assert_eq!(failed[0].attempts, 1);
    let error = failed[0].error.as_deref().unwrap();
    assert!(error.contains("WUMP__WEBHOOKS__SECRET_KEY"), "{error}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_a_failed_attempt_unless_allowed_and_then_each_hop_is_checked() {
    // Not followed by default.
    let world = World::new(WebhookSettings {
        max_attempts: 1,
        ..local_settings()
    })
    .await;
    let receiver = MockServer::start().await;
    Mock::given(matchers::path("/moved"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/final", receiver.uri())),
        )
        .mount(&receiver)
        .await;
    Mock::given(matchers::path("/final"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let (subscription, _) = world
        .subscribe(
            &format!("{}/moved", receiver.uri()),
            &[EventKind::DependentAdded],
            0,
            Scope::Packages(vec![world.left_pad]),
        )
        .await;
    world.depend(world.web, &[world.left_pad]).await;
    let failed = world
        .settled(subscription.id, 1, Duration::from_secs(20))
        .await;
    assert_eq!(failed[0].status(), DeliveryStatus::Failed);
    assert_eq!(failed[0].response_status, Some(302));
    let error = failed[0].error.as_deref().unwrap();
    assert!(
        error.contains("HTTP 302 Found") && error.contains("not followed"),
        "{error}"
    );
    let paths: Vec<String> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(paths, ["/moved"]);
    world.stop().await;

    // Followed when allowed: to an allowed address it arrives; to the metadata address it
    // is refused, without retries.
    let world = World::new(WebhookSettings {
        max_redirects: 2,
        ..local_settings()
    })
    .await;
    Mock::given(matchers::path("/to-metadata"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", "http://169.254.169.254/latest/meta-data/"),
        )
        .mount(&receiver)
        .await;
    let (followed, _) = world
        .subscribe(
            &format!("{}/moved", receiver.uri()),
            &[EventKind::DependentAdded],
            0,
            Scope::Packages(vec![world.left_pad]),
        )
        .await;
    let (refused, _) = world
        .subscribe(
            &format!("{}/to-metadata", receiver.uri()),
            &[EventKind::DependentAdded],
            0,
            Scope::Packages(vec![world.left_pad]),
        )
        .await;
    world.depend(world.web, &[world.left_pad]).await;
    let arrived = world.settled(followed.id, 1, Duration::from_secs(20)).await;
    assert_eq!(arrived[0].status(), DeliveryStatus::Delivered);
    let stopped = world.settled(refused.id, 1, Duration::from_secs(20)).await;
    assert_eq!(stopped[0].status(), DeliveryStatus::Failed);
    assert_eq!(stopped[0].attempts, 1, "a refused hop is not retried");
    let error = stopped[0].error.as_deref().unwrap();
    assert!(
        error.contains("169.254.169.254") && error.contains("refused"),
        "{error}"
    );
    world.stop().await;
}
