//! Liveness never depends on the database; readiness says whether it answers.

use std::net::SocketAddr;

use secrecy::SecretString;
use wump_db::test_support::{TestDatabase, TestValkey};

use crate::{start, test_settings};

/// Starts the API on a free port with `database`; returns its address.
async fn spawn(database: wump_core::settings::DatabaseSettings) -> SocketAddr {
    let db = TestDatabase::new().await;
    let valkey = TestValkey::new().await;
    let mut settings = test_settings(&db, &valkey);
    settings.database = database;
    start(settings, &valkey)
}

async fn get(address: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let response = reqwest::get(format!("http://{address}{path}"))
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_readiness_answer_when_the_database_is_up() {
    let db = TestDatabase::new().await;
    let address = spawn(db.settings().clone()).await;
    assert_eq!(
        get(address, "/health").await,
        (200, serde_json::json!({"status": "ok"}))
    );
    let (status, body) = get(address, "/health/ready").await;
    assert_eq!((status, body["database"].as_str()), (200, Some("ok")));
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_answers_503_while_liveness_stays_up_when_the_database_is_down() {
    let mut database = wump_core::settings::DatabaseSettings {
        url: SecretString::from("postgres://wump:wump@127.0.0.1:1/wump"),
        ..Default::default()
    };
    database.connect_timeout_ms = 500;
    database.pool_wait_timeout_ms = 500;
    let address = spawn(database).await;

    assert_eq!(get(address, "/health").await.0, 200);
    let response = reqwest::get(format!("http://{address}/health/ready"))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["database"], "unavailable");
}

#[tokio::test(flavor = "multi_thread")]
async fn database_health_reports_the_breaker_and_the_pool() {
    let app = crate::TestApp::spawn().await;
    let response = app.get("/health/db").await;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["breaker"], "closed");
    assert_eq!(body["pool"]["max_size"], app.db.settings().pool_max_size);
    assert!(body["pool"]["size"].as_u64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn valkey_health_is_503_while_valkey_is_unreachable() {
    let up = crate::TestApp::spawn().await;
    let (status, body) = get(up.address, "/health/valkey").await;
    assert_eq!((status, body["valkey"].as_str()), (200, Some("ok")));

    let down = crate::TestApp::spawn_with(|s| {
        s.valkey.url = SecretString::from("redis://127.0.0.1:1");
        s.valkey.command_timeout_ms = 300;
    })
    .await;
    let response = down.get("/health/valkey").await;
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["valkey"], "unavailable");
    // The API itself is alive.
    assert_eq!(down.get("/health").await.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn job_health_shows_depths_dead_letters_and_last_successes_and_fails_over_the_threshold() {
    use wump_core::jobs::{JobType, Priority};
    use wump_db::{
        queue::{DeadJob, Envelope, Queues},
        tables::job_executions::{FinishExecution, JobStatus, StartExecution},
    };

    let app = crate::TestApp::spawn_with(|s| s.api.health.dead_letter_threshold = 1).await;
    // The API's queues live under its key prefix, as every Valkey key it touches.
    let queue_prefix = app.valkey.prefix().to_owned();

    let (status, body) = get(app.address, "/health/jobs").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dead_letters"], 0);
    assert_eq!(body["last_success"], serde_json::json!({}));
    let queue = format!(
        "{queue_prefix}{}",
        wump_core::jobs::queue_name(JobType::Scrape, Priority::High)
    );
    assert_eq!(body["queues"][&queue]["pending"], 0, "{body}");

    let mut conn = app.db.connection().await;
    let run = wump_db::tables::job_executions::start(
        &mut conn,
        &StartExecution {
            job_id: "job-1",
            job_type: JobType::Scrape,
            queue: "scrape",
            attempt: 1,
            metadata: serde_json::json!({}),
        },
    )
    .await
    .unwrap();
    wump_db::tables::job_executions::finish(
        &mut conn,
        run,
        &FinishExecution {
            status: JobStatus::Completed,
            records_processed: 3,
            error: None,
            metadata: serde_json::json!({}),
        },
    )
    .await
    .unwrap();
    let queues = Queues::connect(app.valkey.settings(), Default::default())
        .await
        .unwrap()
        .with_prefix(queue_prefix.clone());
    for _ in 0..2 {
        let envelope = Envelope::new(JobType::Parse, Priority::Normal, serde_json::json!({}));
        queues
            .dead_letters()
            .add(&DeadJob::from_envelope(envelope, "parse".into()))
            .await
            .unwrap();
    }

    let response = app.get("/health/jobs").await;
    assert_eq!(response.status().as_u16(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["dead_letters"], 2);
    assert_eq!(body["dead_letter_threshold"], 1);
    assert!(body["last_success"]["scrape"].is_string(), "{body}");
    queues
        .dead_letters()
        .purge(wump_db::queue::Selection::All)
        .await
        .unwrap();
}
