//! What a run did, and the jobs it asks for next (follow-ups), enqueued at their priority.

use serde_json::{Map, Value};
use uuid::Uuid;
use wump_core::jobs::{EnrichJob, ParseJob, Priority};
use wump_db::{ValkeyError, queue::Queues};

use super::{Job, JobError};

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobOutcome {
    /// Repositories, manifests, organizations or rows the run handled.
    pub records_processed: u64,
    /// Jobs to enqueue next, each once.
    pub follow_ups: Vec<FollowUp>,
    /// Packages whose stored answers changed (their cache versions were incremented).
    pub touched_packages: Vec<Uuid>,
    /// Organizations whose stored answers changed (their cache versions were incremented).
    pub touched_organizations: Vec<Uuid>,
    /// Details for `job_executions.metadata` and logs.
    pub metadata: Map<String, Value>,
    /// Rows the run wrote to `dependency_events`: when any, the runner wakes the webhook
    /// dispatch (which also runs every minute).
    pub events_recorded: usize,
}

/// A job a run asks to be enqueued once it has finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub job: FollowUpJob,
    pub priority: Priority,
}

/// The payload of a [`FollowUp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUpJob {
    Parse(ParseJob),
    Enrich(EnrichJob),
}

impl FollowUp {
    /// The follow-up as a job.
    pub fn to_job(&self) -> Job {
        match &self.job {
            FollowUpJob::Parse(job) => Job::Parse(job.clone()),
            FollowUpJob::Enrich(job) => Job::Enrich(job.clone()),
        }
    }
}

/// Takes follow-ups while a run is still going (the queue enqueues them); called after the
/// rows they are about have been written.
#[async_trait::async_trait]
pub trait FollowUpSink: Send + Sync + std::fmt::Debug {
    async fn enqueue(&self, follow_ups: Vec<FollowUp>) -> Result<(), JobError>;
}

/// Enqueues follow-ups on the queues, each at its own priority.
#[derive(Debug)]
pub(super) struct QueueSink {
    pub(super) queues: Queues,
}

#[async_trait::async_trait]
impl FollowUpSink for QueueSink {
    async fn enqueue(&self, follow_ups: Vec<FollowUp>) -> Result<(), JobError> {
        enqueue_follow_ups(&self.queues, &follow_ups).await
    }
}

/// Enqueues `follow_ups` on `queues`, each at its own priority; a queue that cannot be
/// reached is Valkey being unavailable (retryable).
pub async fn enqueue_follow_ups(queues: &Queues, follow_ups: &[FollowUp]) -> Result<(), JobError> {
    if follow_ups.is_empty() {
        return Ok(());
    }
    // One round trip per queue, not per job: a scrape's page brings a hundred parses.
    let jobs = follow_ups.iter().map(|follow_up| {
        let job = follow_up.to_job();
        (job.job_type(), job.payload_json(), follow_up.priority)
    });
    queues
        .enqueue_many(jobs)
        .await
        .map_err(|e| JobError::Valkey(ValkeyError::Unavailable(e.to_string())))?;
    Ok(())
}
