//! Our dead-letter list: jobs that spent their attempts or failed permanently, from every
//! queue, in one Valkey hash (`{wump:dead}`: job id → JSON), listable, replayable and
//! purgeable by operators (`wump-worker dlq …`) and the api's admin endpoints.

use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wump_core::jobs::{JobType, Priority};

use super::{Envelope, FailedAttempt, QueueError, Queues};

/// A job in the dead-letter list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadJob {
    pub id: Uuid,
    pub job_type: JobType,
    pub priority: Priority,
    /// The queue it failed in.
    pub queue: String,
    /// Attempts made.
    pub attempts: u32,
    pub payload: serde_json::Value,
    /// Every failed attempt, oldest first.
    pub errors: Vec<FailedAttempt>,
    /// When the job was enqueued (or last replayed).
    pub enqueued_at: DateTime<Utc>,
    /// When it entered the dead-letter list.
    pub dead_at: DateTime<Utc>,
}

impl DeadJob {
    /// The first attempt's error.
    pub fn first_error(&self) -> Option<&FailedAttempt> {
        self.errors.first()
    }

    /// The last attempt's error.
    pub fn last_error(&self) -> Option<&FailedAttempt> {
        self.errors.last()
    }

    /// Whether the last error said retrying cannot help.
    pub fn permanent(&self) -> bool {
        self.last_error().is_some_and(|e| e.permanent)
    }

    pub fn from_envelope(envelope: Envelope, queue: String) -> Self {
        Self {
            id: envelope.id,
            job_type: envelope.job_type,
            priority: envelope.priority,
            queue,
            attempts: envelope.attempt,
            payload: envelope.payload,
            errors: envelope.errors,
            enqueued_at: envelope.enqueued_at,
            dead_at: Utc::now(),
        }
    }
}

/// Which dead jobs an operation applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    One(Uuid),
    All,
}

/// The dead-letter list of a set of [`Queues`].
#[derive(Debug, Clone)]
pub struct DeadLetters {
    queues: Queues,
    key: String,
}

impl DeadLetters {
    pub(super) fn new(queues: Queues) -> Self {
        let key = crate::Keys::new(queues.prefix()).dead_letters();
        Self { queues, key }
    }

    /// The Valkey hash holding the list.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Adds (or replaces) a dead job.
    pub async fn add(&self, job: &DeadJob) -> Result<(), QueueError> {
        let mut conn = self.queues.connection();
        let _: () = conn
            .hset(&self.key, job.id.to_string(), serde_json::to_string(job)?)
            .await?;
        Ok(())
    }

    /// Every dead job, most recent first.
    pub async fn list(&self) -> Result<Vec<DeadJob>, QueueError> {
        let mut conn = self.queues.connection();
        let values: Vec<String> = conn.hvals(&self.key).await?;
        let mut jobs = values
            .iter()
            .map(|v| serde_json::from_str::<DeadJob>(v))
            .collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by(|a, b| b.dead_at.cmp(&a.dead_at).then(b.id.cmp(&a.id)));
        Ok(jobs)
    }

    /// How many dead jobs there are.
    pub async fn len(&self) -> Result<u64, QueueError> {
        let mut conn = self.queues.connection();
        Ok(conn.hlen(&self.key).await?)
    }

    /// Whether the list is empty.
    pub async fn is_empty(&self) -> Result<bool, QueueError> {
        Ok(self.len().await? == 0)
    }

    /// One dead job.
    pub async fn show(&self, id: Uuid) -> Result<Option<DeadJob>, QueueError> {
        let mut conn = self.queues.connection();
        let value: Option<String> = conn.hget(&self.key, id.to_string()).await?;
        Ok(value.map(|v| serde_json::from_str(&v)).transpose()?)
    }

    /// Enqueues the selected dead jobs again, on their queues, with fresh attempts; removes
    /// them from the list. Returns the replayed ids.
    pub async fn replay(&self, selection: Selection) -> Result<Vec<Uuid>, QueueError> {
        let jobs = self.select(selection).await?;
        let mut replayed = Vec::with_capacity(jobs.len());
        for job in jobs {
            let mut envelope = Envelope::new(job.job_type, job.priority, job.payload);
            envelope.id = job.id;
            // Enqueue first: a crash in between leaves a duplicate, never a lost job.
            self.queues
                .push(envelope, std::time::Duration::ZERO)
                .await?;
            let mut conn = self.queues.connection();
            let _: u64 = conn.hdel(&self.key, job.id.to_string()).await?;
            tracing::info!(job.id = %job.id, job.type = %job.job_type, "dead job replayed");
            replayed.push(job.id);
        }
        Ok(replayed)
    }

    /// Deletes the selected dead jobs; returns how many were deleted.
    pub async fn purge(&self, selection: Selection) -> Result<u64, QueueError> {
        let mut conn = self.queues.connection();
        Ok(match selection {
            Selection::One(id) => conn.hdel(&self.key, id.to_string()).await?,
            Selection::All => {
                let count: u64 = conn.hlen(&self.key).await?;
                let _: u64 = conn.del(&self.key).await?;
                count
            }
        })
    }

    async fn select(&self, selection: Selection) -> Result<Vec<DeadJob>, QueueError> {
        match selection {
            Selection::All => self.list().await,
            Selection::One(id) => Ok(vec![
                self.show(id)
                    .await?
                    .ok_or_else(|| QueueError::NotFound(id.to_string()))?,
            ]),
        }
    }
}
