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
