//! `wump-worker enqueue …` and `wump-worker dlq …`: operators' handles on the queues.

use std::io::Write;

use clap::{Args, Subcommand};
use uuid::Uuid;
use wump_core::{
    Ecosystem, RepoFullName,
    jobs::{
        CleanupJob, DiscoverJob, DispatchJob, EnrichJob, JobType, ParseJob, Priority, ScrapeJob,
        SnapshotJob,
    },
};

use super::{DeadJob, QueueError, Queues, Selection};

/// `wump-worker enqueue`.
#[derive(Debug, Args)]
pub struct EnqueueArgs {
    #[command(subcommand)]
    pub job: EnqueueJob,
    /// high (on-demand), normal (scheduled) or low (backfills).
    #[arg(long, global = true, default_value = "normal", value_parser = parse_priority)]
    pub priority: Priority,
}

/// The job to enqueue.
#[derive(Debug, Subcommand)]
pub enum EnqueueJob {
    /// Discover repositories through a provider: `--provider github|gitlab|gitea|bitbucket`
    /// with a `--query` (the forge's search, or `owner:LOGIN`), `--provider local` the local
    /// tree.
    Scrape {
        #[arg(long)]
        provider: String,
        #[arg(long)]
        query: Option<String>,
    },
    /// Read one repository's manifests.
    Parse {
        #[arg(long)]
        host: String,
        /// owner/name
        #[arg(long)]
        repository: RepoFullName,
    },
    /// Refresh an organization's profile and funding.
    Enrich {
        #[arg(long)]
        host: String,
        #[arg(long)]
        organization: String,
    },
    /// Find the dependents of a package.
    Discover {
        #[arg(long)]
        ecosystem: Ecosystem,
        #[arg(long)]
        name: String,
    },
    /// Remove what has gone stale.
    Cleanup,
    /// Record today's counts (the history) and prune old history.
    Snapshot,
    /// Match new dependency events against webhook subscriptions now.
    Dispatch,
}

fn parse_priority(value: &str) -> Result<Priority, String> {
    Priority::ALL
        .into_iter()
        .find(|p| p.as_str() == value)
        .ok_or_else(|| "expected high, normal or low".into())
}

impl EnqueueJob {
    /// The job type and its payload.
    pub fn payload(&self) -> Result<(JobType, serde_json::Value), serde_json::Error> {
        Ok(match self {
            EnqueueJob::Scrape { provider, query } => (
                JobType::Scrape,
                serde_json::to_value(ScrapeJob {
                    provider: provider.clone(),
                    query: query.clone(),
                })?,
            ),
            EnqueueJob::Parse { host, repository } => (
                JobType::Parse,
                serde_json::to_value(ParseJob {
                    host: host.clone(),
                    repository: repository.clone(),
                })?,
            ),
            EnqueueJob::Enrich { host, organization } => (
                JobType::Enrich,
                serde_json::to_value(EnrichJob {
                    host: host.clone(),
                    organization: organization.clone(),
                })?,
            ),
            EnqueueJob::Discover { ecosystem, name } => (
                JobType::Discover,
                serde_json::to_value(DiscoverJob {
                    ecosystem: *ecosystem,
                    name: name.clone(),
                })?,
            ),
            EnqueueJob::Cleanup => (JobType::Cleanup, serde_json::to_value(CleanupJob {})?),
            EnqueueJob::Snapshot => (JobType::Snapshot, serde_json::to_value(SnapshotJob {})?),
            EnqueueJob::Dispatch => (JobType::Dispatch, serde_json::to_value(DispatchJob {})?),
        })
    }
}

/// Enqueues the job; prints its id and queue.
pub async fn enqueue(
    queues: &Queues,
    args: &EnqueueArgs,
    out: &mut impl Write,
) -> Result<(), QueueError> {
    let (job_type, payload) = args.job.payload()?;
    let id = queues
        .enqueue_payload(job_type, payload, args.priority)
        .await?;
    let _ = writeln!(out, "{id} {}", queues.name(job_type, args.priority));
    Ok(())
}

/// `wump-worker dlq`.
#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    pub command: DlqCommand,
}

/// Dead-letter operations.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead jobs, most recent first (id, type, queue, attempts, last error).
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Show one dead job with its payload and every error, as JSON.
    Show { id: Uuid },
    /// Enqueue dead jobs again with fresh attempts.
    Replay(Which),
    /// Delete dead jobs.
    Purge(Which),
}

/// One job by id, or `--all`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Which {
    /// The dead job's id (see `dlq list`).
    pub id: Option<Uuid>,
    /// Every dead job.
    #[arg(long)]
    pub all: bool,
}

impl Which {
    fn selection(&self) -> Selection {
        match self.id {
            Some(id) if !self.all => Selection::One(id),
            _ => Selection::All,
        }
    }
}

/// Runs a dead-letter command; `Ok(false)` when the job asked for does not exist.
pub async fn dlq(
    queues: &Queues,
    args: &DlqArgs,
    out: &mut impl Write,
) -> Result<bool, QueueError> {
    let dead = queues.dead_letters();
    match &args.command {
        DlqCommand::List { json } => {
            for job in dead.list().await? {
                let line = if *json {
                    serde_json::to_string(&job)?
                } else {
                    summary(&job)
                };
                let _ = writeln!(out, "{line}");
            }
        }
        DlqCommand::Show { id } => match dead.show(*id).await? {
            Some(job) => {
                let _ = writeln!(out, "{}", serde_json::to_string_pretty(&job)?);
            }
            None => return Ok(false),
        },
        DlqCommand::Replay(which) => match dead.replay(which.selection()).await {
            Ok(ids) => {
                let _ = writeln!(out, "replayed {}", ids.len());
            }
            Err(QueueError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        },
        DlqCommand::Purge(which) => {
            let purged = dead.purge(which.selection()).await?;
            let _ = writeln!(out, "purged {purged}");
            if purged == 0 && which.id.is_some() {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

fn summary(job: &DeadJob) -> String {
    let error = job.last_error().map_or("", |e| e.error.as_str());
    let error: String = error.chars().take(120).collect();
    format!(
        "{}\t{}\t{}\t{} attempt(s)\t{}\t{}",
        job.id,
        job.job_type,
        job.queue,
        job.attempts,
        job.dead_at.to_rfc3339(),
        error.replace(['\n', '\t'], " ")
    )
}
