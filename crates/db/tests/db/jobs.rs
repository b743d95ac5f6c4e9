//! `job_executions`: start, finish, prune, recent.

use chrono::Utc;
use diesel_async::RunQueryDsl;
use serde_json::json;
use wump_core::jobs::JobType;
use wump_db::{
    tables::job_executions::{self, FinishExecution, JobStatus, StartExecution},
    test_support::TestDatabase,
};

fn started<'a>(job_id: &'a str, job_type: JobType) -> StartExecution<'a> {
    StartExecution {
        job_id,
        job_type,
        queue: "{wump:parse:normal}",
        attempt: 1,
        metadata: json!({ "provider": "local" }),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_starts_running_and_finishes_once() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;

    let id = job_executions::start(&mut conn, &started("job-1", JobType::Parse))
        .await
        .unwrap();
    let running = job_executions::recent(&mut conn, None, 10).await.unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].status, JobStatus::Running);
    assert_eq!(running[0].finished_at, None);

    let end = FinishExecution {
        status: JobStatus::Failed,
        records_processed: 7,
        error: Some("provider unavailable"),
        metadata: json!({ "rate_limit_wait_ms": 1500 }),
    };
    job_executions::finish(&mut conn, id, &end).await.unwrap();
    let done = &job_executions::recent(&mut conn, Some(JobType::Parse), 10)
        .await
        .unwrap()[0];
    assert_eq!(done.status, JobStatus::Failed);
    assert_eq!(done.records_processed, 7);
    assert_eq!(done.error.as_deref(), Some("provider unavailable"));
    // Start metadata is kept, finish metadata is merged over it.
    assert_eq!(
        done.metadata,
        json!({ "provider": "local", "rate_limit_wait_ms": 1500 })
    );
    assert!(done.finished_at.is_some());

    // Finishing twice, or as running, is refused.
    assert_eq!(
        job_executions::finish(&mut conn, id, &end)
            .await
            .unwrap_err(),
        diesel::result::Error::NotFound
    );
    let other = job_executions::start(&mut conn, &started("job-2", JobType::Scrape))
        .await
        .unwrap();
    let still_running = FinishExecution {
        status: JobStatus::Running,
        ..end.clone()
    };
    assert!(
        job_executions::finish(&mut conn, other, &still_running)
            .await
            .is_err()
    );
    assert!(
        job_executions::recent(&mut conn, Some(JobType::Enrich), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        job_executions::recent(&mut conn, None, 1).await.unwrap()[0].id,
        other
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_deletes_old_finished_runs_only() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;

    let old_done = job_executions::start(&mut conn, &started("old-done", JobType::Parse))
        .await
        .unwrap();
    job_executions::finish(
        &mut conn,
        old_done,
        &FinishExecution {
            status: JobStatus::Completed,
            records_processed: 1,
            error: None,
            metadata: json!({}),
        },
    )
    .await
    .unwrap();
    let _old_running = job_executions::start(&mut conn, &started("old-running", JobType::Parse))
        .await
        .unwrap();
    diesel::sql_query("UPDATE job_executions SET created_at = now() - interval '100 days'")
        .execute(&mut conn)
        .await
        .unwrap();
    let recent_done = job_executions::start(&mut conn, &started("recent", JobType::Cleanup))
        .await
        .unwrap();
    job_executions::finish(
        &mut conn,
        recent_done,
        &FinishExecution {
            status: JobStatus::Completed,
            records_processed: 0,
            error: None,
            metadata: json!({}),
        },
    )
    .await
    .unwrap();

    let cutoff = Utc::now() - chrono::Duration::days(90);
    assert_eq!(job_executions::prune(&mut conn, cutoff).await.unwrap(), 1);
    assert_eq!(job_executions::prune(&mut conn, cutoff).await.unwrap(), 0);
    let left: Vec<String> = job_executions::recent(&mut conn, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.job_id)
        .collect();
    assert_eq!(left, vec!["recent".to_owned(), "old-running".to_owned()]);
}
