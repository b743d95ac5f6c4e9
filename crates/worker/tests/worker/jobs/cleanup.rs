//! Recorded runs and cleanup.

use wump_core::jobs::{CleanupJob, JobType, ParseJob};
use wump_db::jobs;
use wump_worker::jobs::{Delivery, Job, run, run_recorded};

use super::Harness;

#[tokio::test(flavor = "multi_thread")]
async fn recorded_runs_say_how_they_ended_and_cleanup_prunes_old_ones() {
    let h = Harness::new().await;
    h.scrape_all().await;

    let parse = Job::Parse(ParseJob {
        host: "local".into(),
        repository: "acme/web".parse().unwrap(),
    });
    let delivery = Delivery {
        job_id: "j-1",
        queue: "{wump:parse:normal}",
        attempt: 2,
    };
    run_recorded(&h.ctx, &parse, &delivery).await.unwrap();
    let missing = Job::Parse(ParseJob {
        host: "local".into(),
        repository: "acme/nothing".parse().unwrap(),
    });
    let err = run_recorded(
        &h.ctx,
        &missing,
        &Delivery {
            job_id: "j-2",
            ..delivery.clone()
        },
    )
    .await
    .unwrap_err();
    assert!(err.is_permanent());

    let mut conn = h.conn().await;
    let recent = jobs::recent(&mut conn, Some(JobType::Parse), 10)
        .await
        .unwrap();
    let summary: Vec<(&str, &str, i32, i32, bool)> = recent
        .iter()
        .map(|r| {
            (
                r.job_id.as_str(),
                r.status.as_str(),
                r.attempt,
                r.records_processed,
                r.error.is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("j-2", "failed", 2, 0, true),
            ("j-1", "completed", 2, 1, false),
        ]
    );
    assert_eq!(recent[0].metadata["permanent"], true);
    assert_eq!(recent[1].metadata["manifests"], 1);
    // The payload is kept as JSON and reads back as the same job.
    assert_eq!(
        Job::from_json(JobType::Parse, &recent[1].metadata["payload"]).unwrap(),
        parse
    );

    // Nothing is old enough yet; with no retention everything finished goes.
    let cleanup = Job::Cleanup(CleanupJob {});
    assert_eq!(run(&h.ctx, &cleanup).await.unwrap().records_processed, 0);
    let mut ctx = h.ctx.clone();
    ctx.job_retention = chrono::Duration::seconds(-1);
    let outcome = run(&ctx, &cleanup).await.unwrap();
    assert_eq!(outcome.records_processed, 2);
    assert_eq!(outcome.metadata["job_executions_pruned"], 2);
}
