//! Every run of a job leaves a row in `job_executions`.

use serde_json::Value;
use wump_db::{
    DbPool,
    pool::{bounded, checkout},
    tables::job_executions::{self as executions, FinishExecution, JobStatus, StartExecution},
};

use super::{BackgroundJob, Delivery, JobError, JobOutcome};

/// Runs `job` and records the run in `job_executions`: `running` before it starts, then
/// `completed` with its records and metadata or `failed` with the error (and whether it
/// was permanent). Failing to record is an error of its own (the database is away).
pub async fn run_recorded<J: BackgroundJob>(
    db: &DbPool,
    job: &J,
    ctx: &J::Context,
    delivery: &Delivery,
) -> Result<JobOutcome, JobError> {
    let job_id = delivery.id.to_string();
    let id = bounded(db, async {
        let mut conn = checkout(db).await?;
        let start = StartExecution {
            job_id: &job_id,
            job_type: J::JOB_TYPE,
            queue: &delivery.queue,
            attempt: i32::try_from(delivery.attempt).unwrap_or(i32::MAX),
            metadata: serde_json::json!({
                "payload": serde_json::to_value(job).unwrap_or(Value::Null)
            }),
        };
        Ok::<_, JobError>(executions::start(&mut conn, &start).await?)
    })
    .await?;
    let result = job.run(ctx, delivery).await;
    let (status, records, error, metadata) = match &result {
        Ok(outcome) => (
            JobStatus::Completed,
            outcome.records_processed,
            None,
            Value::Object(outcome.metadata.clone()),
        ),
        Err(e) => (
            JobStatus::Failed,
            0,
            Some(e.to_string()),
            match e.retry_after() {
                Some(wait) => serde_json::json!({
                    "permanent": e.is_permanent(),
                    "rate_limit_wait_secs": wait.as_secs_f64(),
                }),
                None => serde_json::json!({ "permanent": e.is_permanent() }),
            },
        ),
    };
    let end = FinishExecution {
        status,
        records_processed: i32::try_from(records).unwrap_or(i32::MAX),
        error: error.as_deref(),
        metadata,
    };
    bounded(db, async {
        let mut conn = checkout(db).await?;
        Ok::<_, JobError>(executions::finish(&mut conn, id, &end).await?)
    })
    .await?;
    result
}
