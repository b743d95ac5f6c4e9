//! The job runners on the queues: [`BackgroundJob`] for every payload type, each run
//! recorded in `job_executions` (through [`run_recorded`]) with its real queue and attempt,
//! and its follow-ups enqueued at their priority as they come.

use std::sync::Arc;

use wump_core::jobs::{CleanupJob, DiscoverJob, EnrichJob, JobType, ParseJob, ScrapeJob};
use wump_db::ValkeyError;

use super::{Delivery, FollowUp, FollowUpSink, Job, JobContext, JobError, run_recorded};
use crate::queue::{self, BackgroundJob, Queues};

/// What a queued run needs: the runners' context, with a follow-up sink onto `queues`.
#[derive(Debug, Clone)]
pub struct QueuedContext {
    pub jobs: JobContext,
    pub queues: Queues,
}

impl QueuedContext {
    /// `jobs` with its follow-ups going onto `queues` batch by batch (so a big scrape never
    /// holds them all).
    pub fn new(mut jobs: JobContext, queues: Queues) -> Self {
        jobs.follow_up_sink = Some(Arc::new(QueueSink {
            queues: queues.clone(),
        }));
        Self { jobs, queues }
    }
}

/// Enqueues follow-ups on the queues, each at its own priority.
#[derive(Debug)]
struct QueueSink {
    queues: Queues,
}

#[async_trait::async_trait]
impl FollowUpSink for QueueSink {
    async fn enqueue(&self, follow_ups: Vec<FollowUp>) -> Result<(), JobError> {
        enqueue_follow_ups(&self.queues, &follow_ups).await
    }
}

async fn enqueue_follow_ups(queues: &Queues, follow_ups: &[FollowUp]) -> Result<(), JobError> {
    for follow_up in follow_ups {
        let job = follow_up.to_job();
        queues
            .enqueue_payload(job.job_type(), job.payload_json(), follow_up.priority)
            .await
            .map_err(|e| JobError::Valkey(ValkeyError::Unavailable(e.to_string())))?;
    }
    Ok(())
}

/// Runs `job` as the queue delivered it: recorded, follow-ups enqueued, errors mapped onto
/// the queue's permanent/retryable.
async fn run_queued(
    ctx: QueuedContext,
    job: Job,
    delivery: queue::Delivery,
) -> Result<(), queue::JobError> {
    let job_id = delivery.id.to_string();
    let record = Delivery {
        job_id: &job_id,
        queue: &delivery.queue,
        attempt: i32::try_from(delivery.attempt).unwrap_or(i32::MAX),
    };
    let result = match run_recorded(&ctx.jobs, &job, &record).await {
        // Whatever the sink did not take yet (and every follow-up of runs that have no
        // sink of their own) goes now; a failure here retries the (idempotent) run.
        Ok(outcome) => enqueue_follow_ups(&ctx.queues, &outcome.follow_ups).await,
        Err(error) => Err(error),
    };
    result.map_err(|error| {
        if error.is_permanent() {
            queue::JobError::permanent(error)
        } else if let Some(wait) = error.retry_after() {
            queue::JobError::rate_limited(error, wait)
        } else if matches!(&error, JobError::Database(db) if db.is_unavailable()) {
            queue::JobError::database_unavailable(error)
        } else {
            queue::JobError::retryable(error)
        }
    })
}

macro_rules! queued {
    ($payload:ty, $variant:ident) => {
        impl BackgroundJob for $payload {
            type Context = QueuedContext;

            /// Outside a queue (the runner calls `run_delivered`): recorded as a job of
            /// its own on the normal queue.
            async fn run(self, ctx: QueuedContext, attempt: u32) -> Result<(), queue::JobError> {
                let delivery = queue::Delivery {
                    id: uuid::Uuid::now_v7(),
                    queue: ctx
                        .queues
                        .name(JobType::$variant, wump_core::jobs::Priority::Normal),
                    priority: wump_core::jobs::Priority::Normal,
                    attempt,
                };
                run_queued(ctx, Job::$variant(self), delivery).await
            }

            async fn run_delivered(
                self,
                ctx: QueuedContext,
                delivery: queue::Delivery,
            ) -> Result<(), queue::JobError> {
                run_queued(ctx, Job::$variant(self), delivery).await
            }
        }
    };
}

queued!(ScrapeJob, Scrape);
queued!(ParseJob, Parse);
queued!(EnrichJob, Enrich);
queued!(DiscoverJob, Discover);
queued!(CleanupJob, Cleanup);

/// Registers every job type on `runner`.
pub fn register_all(runner: queue::Runner, ctx: &QueuedContext) -> queue::Runner {
    runner
        .register::<ScrapeJob>(ctx.clone())
        .register::<ParseJob>(ctx.clone())
        .register::<EnrichJob>(ctx.clone())
        .register::<DiscoverJob>(ctx.clone())
        .register::<CleanupJob>(ctx.clone())
}
