//! Refreshing a package: a key is needed, calls while one is pending share a job, the job
//! sits on the high-priority discover queue, and its status follows its runs.

use secrecy::SecretString;
use wump_api::auth::Tier;
use wump_core::{
    jobs::{JobType, Priority},
    settings::QueueSettings,
};
use wump_db::{
    queue::Queues,
    tables::job_executions::{self, FinishExecution, JobStatus, StartExecution},
};

use crate::{
    TestApp,
    auth::{create_key, get_with_key},
};

/// The queues as the worker sees them in this test.
pub(crate) async fn queues(app: &TestApp) -> Queues {
    Queues::connect(app.valkey.settings(), QueueSettings::default())
        .await
        .unwrap()
        .with_prefix(app.valkey.prefix())
}

pub(crate) async fn post_with_key(app: &TestApp, path: &str, key: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
}

async fn refresh(app: &TestApp, key: &str, path: &str) -> (u16, Option<String>, serde_json::Value) {
    let response = post_with_key(app, path, key).await;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (status, location, response.json().await.unwrap())
}

async fn job_state(app: &TestApp, key: &str, job_id: &str) -> String {
    let response = get_with_key(app, &format!("/api/v1/jobs/{job_id}"), key).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["status"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_needs_an_api_key() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/packages/npm/left-pad/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_refreshes_queue_one_high_priority_discovery_with_one_job_id() {
    let app = TestApp::spawn().await;
    let key = create_key(&app, Tier::Free, None).await;
    let path = "/api/v1/packages/npm/@babel%2Fcore/refresh";

    let (status, location, first) = refresh(&app, &key, path).await;
    assert_eq!(status, 202, "{first}");
    let job_id = first["job_id"].as_str().unwrap().to_owned();
    assert_eq!(first["status_url"], format!("/api/v1/jobs/{job_id}"));
    assert_eq!(
        location.as_deref(),
        Some(&*format!("/api/v1/jobs/{job_id}"))
    );
    assert_eq!(first["enqueued"], true);

    // The same package under another spelling npm considers equal.
    let (status, _, second) =
        refresh(&app, &key, "/api/v1/packages/npm/@Babel%2FCore/refresh").await;
    assert_eq!(status, 202);
    assert_eq!(second["job_id"], job_id.as_str());
    assert_eq!(second["enqueued"], false);

    let queues = queues(&app).await;
    let high = queues
        .depth(JobType::Discover, Priority::High)
        .await
        .unwrap();
    assert_eq!(high.total(), 1, "{high:?}");
    let normal = queues
        .depth(JobType::Discover, Priority::Normal)
        .await
        .unwrap();
    assert_eq!(normal.total(), 0);

    // The queued envelope is the discovery of the decoded name, under the returned id.
    let mut conn = queues.connection();
    let config = queues.config(JobType::Discover, Priority::High);
    let payloads: Vec<String> = redis::AsyncCommands::hvals(&mut conn, config.job_data_hash())
        .await
        .unwrap();
    assert_eq!(payloads.len(), 1);
    assert!(payloads[0].contains(&job_id), "{}", payloads[0]);
    assert!(payloads[0].contains("@babel/core"), "{}", payloads[0]);

    assert_eq!(job_state(&app, &key, &job_id).await, "queued");
}

pub(crate) async fn start_run(app: &TestApp, job_id: &str, attempt: i32) -> uuid::Uuid {
    let mut conn = app.db.connection().await;
    job_executions::start(
        &mut conn,
        &StartExecution {
            job_id,
            job_type: JobType::Discover,
            queue: "{wump:discover:high}",
            attempt,
            metadata: serde_json::json!({}),
        },
    )
    .await
    .unwrap()
}

pub(crate) async fn finish_run(app: &TestApp, run: uuid::Uuid, status: JobStatus) {
    let mut conn = app.db.connection().await;
    job_executions::finish(
        &mut conn,
        run,
        &FinishExecution {
            status,
            records_processed: 0,
            error: (status == JobStatus::Failed).then_some("boom"),
            metadata: serde_json::json!({}),
        },
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jobs_status_follows_its_runs_and_a_finished_job_frees_the_package() {
    let app = TestApp::spawn().await;
    let key = create_key(&app, Tier::Free, None).await;
    let path = "/api/v1/packages/cargo/serde/refresh";
    let (_, _, first) = refresh(&app, &key, path).await;
    let job_id = first["job_id"].as_str().unwrap().to_owned();
    assert_eq!(job_state(&app, &key, &job_id).await, "queued");

    // As the worker records it: running, then completed.
    let run = start_run(&app, &job_id, 1).await;
    assert_eq!(job_state(&app, &key, &job_id).await, "running");
    let (_, _, again) = refresh(&app, &key, path).await;
    assert_eq!(
        again["job_id"],
        job_id.as_str(),
        "still pending while running"
    );
    finish_run(&app, run, JobStatus::Completed).await;
    assert_eq!(job_state(&app, &key, &job_id).await, "completed");

    // Done: the next refresh is a new job.
    let (status, _, next) = refresh(&app, &key, path).await;
    assert_eq!(status, 202);
    assert_ne!(next["job_id"], job_id.as_str());
    assert_eq!(next["enqueued"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_attempt_with_attempts_left_is_queued_and_the_last_one_failed() {
    let app = TestApp::spawn().await;
    let key = create_key(&app, Tier::Free, None).await;
    let (_, _, first) = refresh(&app, &key, "/api/v1/packages/pypi/requests/refresh").await;
    let job_id = first["job_id"].as_str().unwrap().to_owned();
    let max_attempts = QueueSettings::default().max_attempts as i32;

    let run = start_run(&app, &job_id, 1).await;
    finish_run(&app, run, JobStatus::Failed).await;
    assert_eq!(job_state(&app, &key, &job_id).await, "queued");

    let run = start_run(&app, &job_id, max_attempts).await;
    finish_run(&app, run, JobStatus::Failed).await;
    assert_eq!(job_state(&app, &key, &job_id).await, "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_malformed_job_ids_are_404_and_400() {
    let app = TestApp::spawn().await;
    let response = app
        .get(&format!("/api/v1/jobs/{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(response.status().as_u16(), 404);
    let response = app.get("/api/v1/jobs/not-a-uuid").await;
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["parameter"], "id");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_ecosystem_is_a_404_naming_it_as_on_every_package_path() {
    let app = TestApp::spawn().await;
    let key = create_key(&app, Tier::Free, None).await;
    let (status, _, body) = refresh(&app, &key, "/api/v1/packages/cobol/x/refresh").await;
    assert_eq!(status, 404);
    assert_eq!(body["parameter"], "ecosystem");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_valkey_away_the_api_starts_and_a_refresh_is_a_503() {
    let admin_key = "bootstrap-admin-key-0123456789abcdef";
    let app = TestApp::spawn_with(|s| {
        s.valkey.url = SecretString::from("redis://127.0.0.1:1");
        s.api.admin_key = Some(SecretString::from(admin_key));
    })
    .await;
    let response = post_with_key(&app, "/api/v1/packages/npm/react/refresh", admin_key).await;
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["type"], "urn:wump:problem:unavailable");
}
