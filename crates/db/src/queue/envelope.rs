//! What we store in apalis for every job: the payload plus our own attempt bookkeeping.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wump_core::jobs::{JobType, Priority};

/// A job as it travels through a queue. apalis' own attempt counter is not used: the
/// attempt and the errors of earlier attempts travel with the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Stays the same across attempts; the job's id in the dead-letter list.
    pub id: Uuid,
    pub job_type: JobType,
    pub priority: Priority,
    /// The attempt this run is, from 1.
    pub attempt: u32,
    /// When the job was first enqueued (or replayed).
    pub enqueued_at: DateTime<Utc>,
    /// Failures of the earlier attempts, oldest first.
    #[serde(default)]
    pub errors: Vec<FailedAttempt>,
    /// The job itself, as its payload type serializes it.
    pub payload: serde_json::Value,
}

/// One failed attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedAttempt {
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub error: String,
    /// The error said retrying cannot help.
    #[serde(default)]
    pub permanent: bool,
}

impl Envelope {
    /// A first attempt of `payload`.
    pub fn new(job_type: JobType, priority: Priority, payload: serde_json::Value) -> Self {
        Self {
            id: Uuid::now_v7(),
            job_type,
            priority,
            attempt: 1,
            enqueued_at: Utc::now(),
            errors: Vec::new(),
            payload,
        }
    }
}
