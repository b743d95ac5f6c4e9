//! `GET /admin`: the operators' dashboard (signed in) or the sign-in form (signed out).
//!
//! Each section reads its own store (queues and dead letters and quotas from Valkey, runs
//! from PostgreSQL) within [`SECTION_TIMEOUT`]; a store that does not answer shows as that
//! section's error while the others still show, never as a failed page.

use std::{future::Future, time::Duration};

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use wump_core::jobs::{JobType, Priority};
use wump_db::{
    queue::{DeadJob, QueueDepth},
    tables::job_executions::{self, JobExecution, JobStatus, RunFilter},
};

use super::{page, quota, session, sign_in};
use crate::{pages::PageError, state::AppState};

/// Longest wait for one section's store.
const SECTION_TIMEOUT: Duration = Duration::from_secs(3);
/// Recent runs shown.
const RECENT_RUNS: i64 = 25;
/// Running jobs shown.
const RUNNING_RUNS: i64 = 20;
/// Dead letters shown (the newest); the total and the per-queue actions cover them all.
const DEAD_SHOWN: usize = 50;
/// Characters of an error or a payload shown in a table cell.
const CELL_CHARS: usize = 300;

/// A section's rows, or why they cannot be shown.
pub(super) type Section<T> = Result<T, &'static str>;

/// One queue (a job type at a priority).
pub(super) struct QueueRow {
    pub job_type: &'static str,
    pub priority: &'static str,
    pub depth: QueueDepth,
}

/// One run of a job.
pub(super) struct RunRow {
    pub started: String,
    pub finished: String,
    pub job_type: String,
    pub queue: String,
    pub attempt: i32,
    pub status: String,
    pub records: i32,
    pub error: String,
}

/// One dead job.
pub(super) struct DeadRow {
    pub id: String,
    pub short_id: String,
    pub job_type: String,
    pub queue: String,
    pub attempts: u32,
    pub dead_at: String,
    pub error: String,
    pub payload: String,
}

/// The dead letters of one queue, for its "replay all" and "purge all".
pub(super) struct DeadQueue {
    pub queue: String,
    pub count: usize,
}

/// The dead-letter section.
pub(super) struct DeadLetters {
    pub total: usize,
    pub queues: Vec<DeadQueue>,
    pub newest: Vec<DeadRow>,
}

/// One token bucket.
pub(super) struct QuotaRow {
    pub provider: String,
    pub label: String,
    pub resource: String,
    pub remaining: String,
    pub limit: String,
    pub reset: String,
    pub waiting_until: String,
}

/// The quota section.
pub(super) struct Quotas {
    pub rows: Vec<QuotaRow>,
    pub partial: bool,
}

/// What the dashboard shows.
#[derive(askama::Template)]
#[template(path = "admin/dashboard.html")]
struct Dashboard {
    who: String,
    notice: Option<String>,
    queues: Section<Vec<QueueRow>>,
    /// Every queue is empty.
    idle: bool,
    running: Section<Vec<RunRow>>,
    runs: Section<Vec<RunRow>>,
    dead: Section<DeadLetters>,
    quotas: Section<Quotas>,
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `text` cut to [`CELL_CHARS`] characters.
fn cell(text: &str) -> String {
    let mut chars = text.chars();
    let mut cut: String = chars.by_ref().take(CELL_CHARS).collect();
    if chars.next().is_some() {
        cut.push('…');
    }
    cut
}

/// `read` within [`SECTION_TIMEOUT`]; a failure is logged and shown as `unavailable`.
async fn section<T, E: std::fmt::Display>(
    what: &'static str,
    unavailable: &'static str,
    read: impl Future<Output = Result<T, E>>,
) -> Section<T> {
    match tokio::time::timeout(SECTION_TIMEOUT, read).await {
        Ok(Ok(rows)) => Ok(rows),
        Ok(Err(error)) => {
            tracing::warn!(error = %error, section = what, "dashboard section unavailable");
            Err(unavailable)
        }
        Err(_) => {
            tracing::warn!(section = what, "dashboard section timed out");
            Err(unavailable)
        }
    }
}

const VALKEY_AWAY: &str = "Valkey (the job queues) does not answer; this part cannot be shown now.";
const VALKEY_QUOTAS_AWAY: &str = "Valkey does not answer; the quotas cannot be shown now.";
const POSTGRES_AWAY: &str = "PostgreSQL does not answer; this part cannot be shown now.";

async fn queue_rows(state: &AppState) -> Result<Vec<QueueRow>, String> {
    let queues = state.queues.get().await.map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for job_type in JobType::ALL {
        for priority in Priority::ALL {
            let depth = queues
                .depth(job_type, priority)
                .await
                .map_err(|e| e.to_string())?;
            rows.push(QueueRow {
                job_type: job_type.as_str(),
                priority: priority.as_str(),
                depth,
            });
        }
    }
    Ok(rows)
}

fn run_row(run: JobExecution) -> RunRow {
    RunRow {
        started: when(run.started_at),
        finished: run.finished_at.map(when).unwrap_or_default(),
        job_type: run.job_type.to_string(),
        queue: run.queue,
        attempt: run.attempt,
        status: run.status.to_string(),
        records: run.records_processed,
        error: run.error.as_deref().map(cell).unwrap_or_default(),
    }
}

async fn run_rows(
    state: &AppState,
    status: Option<JobStatus>,
    limit: i64,
) -> Result<Vec<RunRow>, String> {
    let mut conn = wump_db::pool::checkout(&state.db)
        .await
        .map_err(|e| e.to_string())?;
    let filter = RunFilter {
        job_type: None,
        status,
        after: None,
    };
    let runs = job_executions::recent_runs(&mut conn, &filter, limit)
        .await
        .map_err(|e| e.to_string())?;
    Ok(runs.into_iter().map(run_row).collect())
}

fn dead_row(job: &DeadJob) -> DeadRow {
    let id = job.id.to_string();
    DeadRow {
        // The end of the id: the start of a UUIDv7 is its timestamp, shared by neighbours.
        short_id: id[id.len() - 8..].to_owned(),
        id,
        job_type: job.job_type.as_str().to_owned(),
        queue: job.queue.clone(),
        attempts: job.attempts,
        dead_at: when(job.dead_at),
        error: job.last_error().map(|e| cell(&e.error)).unwrap_or_default(),
        payload: cell(&job.payload.to_string()),
    }
}

async fn dead_letters(state: &AppState) -> Result<DeadLetters, String> {
    let queues = state.queues.get().await.map_err(|e| e.to_string())?;
    let jobs = queues
        .dead_letters()
        .list()
        .await
        .map_err(|e| e.to_string())?;
    let mut per_queue: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for job in &jobs {
        *per_queue.entry(job.queue.as_str()).or_default() += 1;
    }
    Ok(DeadLetters {
        total: jobs.len(),
        queues: per_queue
            .into_iter()
            .map(|(queue, count)| DeadQueue {
                queue: queue.to_owned(),
                count,
            })
            .collect(),
        newest: jobs.iter().take(DEAD_SHOWN).map(dead_row).collect(),
    })
}

async fn quotas(state: &AppState) -> Result<Quotas, String> {
    let prefix = format!(
        "{}{}",
        state.keys.prefix(),
        state.settings.queues.key_prefix
    );
    let found = quota::read(&state.valkey, &prefix)
        .await
        .map_err(|e| e.to_string())?;
    let number = |n: Option<u64>| n.map_or_else(|| "unknown".to_owned(), |n| n.to_string());
    Ok(Quotas {
        partial: found.partial,
        rows: found
            .tokens
            .into_iter()
            .map(|t| QuotaRow {
                provider: t.provider,
                label: t.label,
                resource: t.resource,
                remaining: number(t.remaining),
                limit: number(t.limit),
                reset: t.reset.map(when).unwrap_or_default(),
                waiting_until: t.waiting_until.map(when).unwrap_or_default(),
            })
            .collect(),
    })
}

/// What the last action did, from the query string it redirected to.
fn notice(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find_map(|(k, v)| {
        let n: u64 = v.parse().ok()?;
        let jobs = if n == 1 { "job" } else { "jobs" };
        match k.as_ref() {
            "replayed" => Some(format!("Replayed {n} dead {jobs} onto their queues.")),
            "purged" => Some(format!("Purged {n} dead {jobs}.")),
            _ => None,
        }
    })
}

/// `GET /admin`: the dashboard when signed in, else the sign-in form. Never cached.
#[get("")]
pub(super) async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let Some(who) = session::current(&state, &req).await? else {
        return sign_in::form(actix_web::http::StatusCode::OK, None);
    };
    let (queues, running, runs, dead, quotas) = tokio::join!(
        section("queues", VALKEY_AWAY, queue_rows(&state)),
        section(
            "running",
            POSTGRES_AWAY,
            run_rows(&state, Some(JobStatus::Running), RUNNING_RUNS)
        ),
        section("runs", POSTGRES_AWAY, run_rows(&state, None, RECENT_RUNS)),
        section("dead letters", VALKEY_AWAY, dead_letters(&state)),
        section("quotas", VALKEY_QUOTAS_AWAY, quotas(&state)),
    );
    let idle = queues
        .as_ref()
        .is_ok_and(|rows| rows.iter().all(|r| r.depth.total() == 0));
    page(
        actix_web::http::StatusCode::OK,
        &Dashboard {
            who,
            notice: notice(req.query_string()),
            queues,
            idle,
            running,
            runs,
            dead,
            quotas,
        },
    )
}
