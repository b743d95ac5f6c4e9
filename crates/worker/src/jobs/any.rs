//! Any of our jobs as a value: for checking scheduled payloads and for callers that hold
//! jobs of several types (tests draining follow-ups). Running one is its type's
//! [`BackgroundJob::run`](super::BackgroundJob::run).

use serde_json::Value;
use wump_core::jobs::{
    CleanupJob, DeliverJob, DiscoverJob, DispatchJob, EnrichJob, JobType, ParseJob, ScrapeJob,
    SnapshotJob,
};

use super::JobError;

/// Any job with its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    Scrape(ScrapeJob),
    Parse(ParseJob),
    Enrich(EnrichJob),
    Discover(DiscoverJob),
    Cleanup(CleanupJob),
    Snapshot(SnapshotJob),
    Dispatch(DispatchJob),
    Deliver(DeliverJob),
}

impl Job {
    /// Its type.
    pub fn job_type(&self) -> JobType {
        match self {
            Job::Scrape(_) => JobType::Scrape,
            Job::Parse(_) => JobType::Parse,
            Job::Enrich(_) => JobType::Enrich,
            Job::Discover(_) => JobType::Discover,
            Job::Cleanup(_) => JobType::Cleanup,
            Job::Snapshot(_) => JobType::Snapshot,
            Job::Dispatch(_) => JobType::Dispatch,
            Job::Deliver(_) => JobType::Deliver,
        }
    }

    /// Its payload as JSON (the inverse of [`Job::from_json`]).
    pub fn payload_json(&self) -> Value {
        let value = match self {
            Job::Scrape(job) => serde_json::to_value(job),
            Job::Parse(job) => serde_json::to_value(job),
            Job::Enrich(job) => serde_json::to_value(job),
            Job::Discover(job) => serde_json::to_value(job),
            Job::Cleanup(job) => serde_json::to_value(job),
            Job::Snapshot(job) => serde_json::to_value(job),
            Job::Dispatch(job) => serde_json::to_value(job),
            Job::Deliver(job) => serde_json::to_value(job),
        };
        value.unwrap_or(Value::Null)
    }

    /// Reads a payload of `job_type` from JSON; a payload that does not fit is a permanent
    /// [`JobError::Payload`].
    pub fn from_json(job_type: JobType, payload: &Value) -> Result<Self, JobError> {
        fn read<T: serde::de::DeserializeOwned>(payload: &Value) -> Result<T, JobError> {
            T::deserialize(payload).map_err(|e| JobError::Payload(e.to_string()))
        }
        Ok(match job_type {
            JobType::Scrape => Job::Scrape(read(payload)?),
            JobType::Parse => Job::Parse(read(payload)?),
            JobType::Enrich => Job::Enrich(read(payload)?),
            JobType::Discover => Job::Discover(read(payload)?),
            JobType::Cleanup => Job::Cleanup(read(payload)?),
            JobType::Snapshot => Job::Snapshot(read(payload)?),
            JobType::Dispatch => Job::Dispatch(read(payload)?),
            JobType::Deliver => Job::Deliver(read(payload)?),
            JobType::Noop => {
                return Err(JobError::Payload(
                    "no-op jobs are for the queue benchmark only".into(),
                ));
            }
        })
    }
}
