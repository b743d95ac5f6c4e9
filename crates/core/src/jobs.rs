//! Job payloads and queue names, shared by the api (which enqueues on-demand work) and the
//! worker (which runs it).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Ecosystem, RepoFullName};

/// The kinds of background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::AsExpression, diesel::FromSqlRow),
    diesel(sql_type = diesel::sql_types::Text)
)]
pub enum JobType {
    Scrape,
    Parse,
    Enrich,
    Discover,
    Cleanup,
    /// Record the day's counts of every package and organization whose counts changed.
    Snapshot,
    /// Match new dependency events against webhook subscriptions (the outbox).
    Dispatch,
    /// Send one webhook delivery.
    Deliver,
    /// Does nothing ([`NoopJob`]): only the queue benchmark runs it, and only a worker with
    /// `worker.noop_jobs` set takes it. Left out of [`JobType::ALL`].
    Noop,
}

impl JobType {
    /// Every job type production runs (not [`JobType::Noop`]).
    pub const ALL: [JobType; 8] = [
        JobType::Scrape,
        JobType::Parse,
        JobType::Enrich,
        JobType::Discover,
        JobType::Cleanup,
        JobType::Snapshot,
        JobType::Dispatch,
        JobType::Deliver,
    ];

    /// The lower-case id stored in `job_executions.job_type`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobType::Scrape => "scrape",
            JobType::Parse => "parse",
            JobType::Enrich => "enrich",
            JobType::Discover => "discover",
            JobType::Cleanup => "cleanup",
            JobType::Snapshot => "snapshot",
            JobType::Dispatch => "dispatch",
            JobType::Deliver => "deliver",
            JobType::Noop => "noop",
        }
    }
}

impl fmt::Display for JobType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The id given was not a job type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown job type `{0}` (expected scrape, parse, enrich, discover, cleanup, snapshot, \
     dispatch or deliver)"
)]
pub struct UnknownJobType(pub String);

impl std::str::FromStr for JobType {
    type Err = UnknownJobType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|j| j.as_str() == s)
            .ok_or_else(|| UnknownJobType(s.to_owned()))
    }
}

/// Queue priority: on-demand work from the API goes first, backfills last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    High,
    Normal,
    Low,
}

impl Priority {
    /// Every priority, highest first.
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Normal, Priority::Low];

    /// The lower-case id used in queue names.
    pub const fn as_str(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

/// The Valkey queue holding jobs of `job_type` at `priority`.
///
/// Braced so that every key of one queue hashes to the same slot should the queue server
/// ever be clustered.
pub fn queue_name(job_type: JobType, priority: Priority) -> String {
    format!("{{wump:{}:{}}}", job_type.as_str(), priority.as_str())
}

/// A job payload: what goes on a queue, and which queues it goes to.
pub trait JobPayload: Serialize {
    /// The job type; decides the queues the payload goes to.
    const JOB_TYPE: JobType;
}

/// Discover repositories through a provider and upsert them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeJob {
    /// The provider's configured name (`github`, `local`, …).
    pub provider: String,
    /// Provider-specific query, e.g. a GitHub search query; `None` scrapes everything.
    pub query: Option<String>,
}

/// Read a repository's manifests and replace its dependency edges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParseJob {
    /// The host the repository lives on (`github.com`, `local`, …).
    pub host: String,
    pub repository: RepoFullName,
}

/// Refresh an organization's profile, funding and the stars copied onto its edges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichJob {
    pub host: String,
    pub organization: String,
}

/// Ask aggregators which repositories depend on a package and parse them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoverJob {
    pub ecosystem: Ecosystem,
    pub name: String,
}

/// Remove what has gone stale: vanished repositories, old job executions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupJob {}

/// Record today's counts of every package and organization whose counts changed since
/// their last recorded day, and drop history older than the retention.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotJob {}

/// Match dependency events not yet dispatched against the webhook subscriptions, record a
/// delivery per match and enqueue a [`DeliverJob`] for each (scheduled every minute, and
/// asked for by any run that recorded events).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchJob {}

/// Send one recorded webhook delivery (`webhook_deliveries.id`), signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverJob {
    pub delivery_id: uuid::Uuid,
}

impl JobPayload for DispatchJob {
    const JOB_TYPE: JobType = JobType::Dispatch;
}

impl JobPayload for DeliverJob {
    const JOB_TYPE: JobType = JobType::Deliver;
}

/// Does nothing: what `wump-bench queue` enqueues to measure the queues alone. A worker
/// runs it only with `worker.noop_jobs` set (never by default) and never records it in
/// `job_executions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoopJob {}

impl JobPayload for NoopJob {
    const JOB_TYPE: JobType = JobType::Noop;
}

impl JobPayload for ScrapeJob {
    const JOB_TYPE: JobType = JobType::Scrape;
}

impl JobPayload for ParseJob {
    const JOB_TYPE: JobType = JobType::Parse;
}

impl JobPayload for EnrichJob {
    const JOB_TYPE: JobType = JobType::Enrich;
}

impl JobPayload for DiscoverJob {
    const JOB_TYPE: JobType = JobType::Discover;
}

impl JobPayload for CleanupJob {
    const JOB_TYPE: JobType = JobType::Cleanup;
}

impl JobPayload for SnapshotJob {
    const JOB_TYPE: JobType = JobType::Snapshot;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_types_round_trip_through_their_ids() {
        for job_type in JobType::ALL {
            assert_eq!(job_type.as_str().parse::<JobType>(), Ok(job_type));
        }
        assert_eq!(
            "Parse".parse::<JobType>(),
            Err(UnknownJobType("Parse".to_owned()))
        );
    }

    #[test]
    fn queue_names_are_explicit_and_braced() {
        assert_eq!(
            queue_name(JobType::Parse, Priority::High),
            "{wump:parse:high}"
        );
    }

    #[test]
    fn payloads_reject_unknown_fields() {
        let err = serde_json::from_str::<DiscoverJob>(
            r#"{"ecosystem":"npm","name":"left-pad","extra":1}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let job: ParseJob =
            serde_json::from_str(r#"{"host":"github.com","repository":"serde-rs/serde"}"#).unwrap();
        assert_eq!(job.repository.owner(), "serde-rs");
    }
}
