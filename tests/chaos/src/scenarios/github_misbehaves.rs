//! Scenario 4: the GitHub stand-in misbehaves for a while.
//!
//! Three workers with two tokens scrape a generated tree through the GitHub stand-in
//! (`wump-worker enqueue scrape --provider github --query …` → parse → enrich). Once the
//! scrape is under way the stand-in misbehaves for `misbehave_for` (a minute in the full
//! run): secondary 403s with `retry-after`, primary 403s with `x-ratelimit-remaining: 0`,
//! 5xx bursts, responses that never come and bodies that trickle. While it misbehaves and
//! the queues run dry, every repository's parse is enqueued again, so the workers keep
//! asking. Then it behaves, and the backlog must drain.
//!
//! Criteria: no process exits by itself; every job completes or is dead-lettered; no
//! request arrives inside a wait the stand-in announced on its token, beyond those already
//! in flight when it was announced (arrived within [`IN_FLIGHT_GRACE`] of it).

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use diesel::{QueryableByName, sql_types::BigInt};
use diesel_async::RunQueryDsl as _;
use wump_core::jobs::{JobType, Priority};

use super::{RunConfig, ScenarioResult, secs};
use crate::{
    Error, Result,
    github_standin::{Answer, Faults, GithubStandIn, WaitsReport},
    load::{Load, LoadOptions},
    processes::{Env, run_command},
    scenarios::worker_kills::{JobCounts, job_counts},
    stack::{Stack, StackOptions},
    tree::Tree,
};

/// A request arriving this soon after a wait was announced on its token was sent before
/// the client could have read the announcement (it was in flight).
pub const IN_FLIGHT_GRACE: Duration = Duration::from_millis(100);
/// The two tokens the workers share (fake: the stand-in accepts exactly these).
const TOKENS: [&str; 2] = [
    "ghp_chaosStandInTokenA000000000000000",
    "ghp_chaosStandInTokenB000000000000000",
];
/// The workers' HTTP timeout: hung responses and slow bodies are measured against it.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long and how hard.
#[derive(Debug, Clone)]
pub struct GithubMisbehavesOptions {
    /// Repositories the stand-in serves.
    pub repositories: usize,
    /// Seeds the tree and the faults.
    pub seed: u64,
    /// How long the stand-in misbehaves.
    pub misbehave_for: Duration,
    /// Apply the read load on the apis meanwhile.
    pub load: bool,
    /// Longest wait for the backlog to drain once it behaves.
    pub drain_deadline: Duration,
}

impl GithubMisbehavesOptions {
    /// The run: a minute of misbehaviour over 200 repositories.
    pub fn full() -> Self {
        Self {
            repositories: 200,
            seed: 4,
            misbehave_for: Duration::from_secs(60),
            load: true,
            drain_deadline: Duration::from_secs(180),
        }
    }

    /// The `just test` run: three seconds over 24 repositories.
    pub fn short() -> Self {
        Self {
            repositories: 24,
            seed: 4,
            misbehave_for: Duration::from_secs(3),
            load: false,
            drain_deadline: Duration::from_secs(60),
        }
    }
}

/// The numbers of one run.
#[derive(Debug, Clone, Default)]
pub struct GithubMisbehavesResult {
    pub repositories: usize,
    pub misbehaved_for: Duration,
    /// Requests the stand-in answered, by answer.
    pub answers: Vec<(Answer, usize)>,
    pub waits: WaitsReport,
    pub jobs: JobCounts,
    /// Job runs that ended in a provider's wait (rescheduled without spending an attempt).
    pub rate_limited_runs: u64,
    /// Repositories never parsed.
    pub unparsed_repositories: u64,
    /// Rounds of re-parses enqueued to keep the workers asking.
    pub reparse_rounds: usize,
    /// Processes that exited by themselves.
    pub crashes: u32,
    /// The queues emptied within the drain deadline after it behaved again.
    pub drained: bool,
    /// From the stand-in behaving again to the queues being empty (or the deadline).
    pub drain: Duration,
    /// Read load on the apis meanwhile: requests, 200s, 5xx, hangs.
    pub load: (u64, u64, u64, u64),
}

impl GithubMisbehavesResult {
    /// The numbers and the criteria, for the report.
    pub fn into_result(self, run_dir: PathBuf) -> ScenarioResult {
        let mut out = ScenarioResult::new(4, TITLE, run_dir);
        let j = &self.jobs;
        let w = &self.waits;
        out.setup = format!(
            "Three workers with two tokens scrape a generated tree of {} repositories through a \
             GitHub stand-in (`enqueue scrape --provider github`, then parse and enrich; HTTP \
             timeout {} s, in-call waits up to 10 s). Once the scrape is under way the stand-in \
             misbehaves for {}: secondary 403s with retry-after 1–4 s, primary 403s with \
             remaining 0 and a reset 2–6 s ahead, bursts of three 5xx, responses held past the \
             timeout and bodies trickling over 0.5–2× the timeout; while it misbehaves and the \
             queues run dry, every parse is enqueued again. Then it behaves. A request counts as \
             in flight when it arrived within {} ms of the announcement on its token.{}",
            self.repositories,
            CLIENT_TIMEOUT.as_secs(),
            secs(self.misbehaved_for),
            IN_FLIGHT_GRACE.as_millis(),
            if self.load.0 > 0 {
                " Read load on both apis throughout."
            } else {
                ""
            }
        );
        let answers: Vec<String> = self
            .answers
            .iter()
            .map(|(answer, n)| format!("{answer:?} {n}"))
            .collect();
        out.number("requests answered, by answer", answers.join(", "));
        out.number(
            "waits announced: secondary (retry-after) / primary (remaining 0)",
            format!("{} / {}", w.secondary_waits, w.primary_waits),
        );
        out.number("requests into an announced wait", w.into_wait);
        out.number(
            "of which in flight when it was announced",
            w.into_wait_in_flight,
        );
        out.number(
            "beyond those: sent by the process told of the wait / by another process",
            format!("{} / {}", w.same_process, w.other_process),
        );
        out.number(
            "deepest arrival into a wait",
            format!("{} ms", w.deepest_ms),
        );
        out.number("jobs (distinct ids)", j.jobs);
        out.number("completed", j.completed);
        out.number("dead-lettered", j.dead);
        out.number("lost", j.lost);
        out.number(
            "runs / failed runs (retried)",
            format!("{} / {}", j.runs, j.failed_runs),
        );
        out.number(
            "runs rescheduled for a provider's wait",
            self.rate_limited_runs,
        );
        out.number("duplicates: jobs run more than once", j.run_more_than_once);
        out.number("repositories never parsed", self.unparsed_repositories);
        out.number(
            "re-parse rounds enqueued while misbehaving",
            self.reparse_rounds,
        );
        out.number(
            "backlog drained after it behaved again in",
            secs(self.drain),
        );
        if self.load.0 > 0 {
            out.number(
                "read load meanwhile: requests / 200 / 5xx / hangs",
                format!(
                    "{} / {} / {} / {}",
                    self.load.0, self.load.1, self.load.2, self.load.3
                ),
            );
        }
        out.criterion(
            "no request into an announced wait (beyond those already in flight)",
            format!(
                "{} requests arrived inside a wait announced on their token, {} of them in flight; \
                 of the rest, {} came from the process that was told, {} from another",
                w.into_wait, w.into_wait_in_flight, w.same_process, w.other_process
            ),
            w.beyond_in_flight() == 0,
        );
        out.criterion(
            "no crash",
            format!("{} processes exited by themselves", self.crashes),
            self.crashes == 0,
        );
        out.criterion(
            "the backlog drains afterwards: every job completed or dead-lettered",
            format!(
                "{}; {} of {} neither completed nor dead-lettered ({} completed, {} dead-lettered){}",
                if self.drained {
                    format!("drained {} after it behaved", secs(self.drain))
                } else {
                    format!("not drained {} after it behaved", secs(self.drain))
                },
                j.lost,
                j.jobs,
                j.completed,
                j.dead,
                if j.lost_ids.is_empty() {
                    String::new()
                } else {
                    format!("; e.g. {:?}", j.lost_ids)
                }
            ),
            self.drained && j.lost == 0,
        );
        out
    }
}

/// The workers' settings: GitHub through the stand-in with both tokens, a short HTTP
/// timeout, in-call waits up to 10 s, quick retries and orphan recovery.
fn github_env(standin: &GithubStandIn) -> Env {
    [
        ("WUMP__PROVIDERS__GITHUB__ENABLED", "true".to_owned()),
        ("WUMP__PROVIDERS__GITHUB__API_URL", standin.api_url()),
        (
            "WUMP__PROVIDERS__GITHUB__GRAPHQL_URL",
            standin.graphql_url(),
        ),
        ("WUMP__PROVIDERS__GITHUB__TOKENS", TOKENS.join(",")),
        ("WUMP__PROVIDERS__GITHUB__MAX_CONCURRENCY", "4".to_owned()),
        ("WUMP__PROVIDERS__GITHUB__MAX_WAIT_SECS", "10".to_owned()),
        (
            "WUMP__PROVIDERS__HTTP__TIMEOUT_MS",
            CLIENT_TIMEOUT.as_millis().to_string(),
        ),
        ("WUMP__PROVIDERS__HTTP__RETRIES", "2".to_owned()),
        ("WUMP__PROVIDERS__HTTP__BACKOFF_BASE_MS", "200".to_owned()),
        ("WUMP__PROVIDERS__HTTP__BACKOFF_MAX_MS", "2000".to_owned()),
        ("WUMP__QUEUES__HEARTBEAT_INTERVAL_SECS", "1".to_owned()),
        ("WUMP__QUEUES__MISSED_HEARTBEATS", "3".to_owned()),
        ("WUMP__QUEUES__POLL_INTERVAL_MS", "50".to_owned()),
        ("WUMP__QUEUES__BACKOFF_BASE_MS", "1000".to_owned()),
        ("WUMP__QUEUES__BACKOFF_MAX_MS", "4000".to_owned()),
        ("WUMP__QUEUES__MAX_ATTEMPTS", "5".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The scenario's title.
pub const TITLE: &str = "The GitHub stand-in misbehaving";

/// Runs the scenario (the short version when `config.short`).
pub async fn run(config: &RunConfig) -> Result<ScenarioResult> {
    let options = if config.short {
        GithubMisbehavesOptions::short()
    } else {
        GithubMisbehavesOptions::full()
    };
    let (measured, run_dir) = measure(config, &options).await?;
    Ok(measured.into_result(run_dir))
}

/// Runs the misbehaviour and counts; returns the numbers and the run's directory.
pub async fn measure(
    config: &RunConfig,
    options: &GithubMisbehavesOptions,
) -> Result<(GithubMisbehavesResult, PathBuf)> {
    let bins = config.bins.clone();
    let tree = Tree::generate(options.seed, options.repositories);
    let standin = GithubStandIn::start(
        tree.clone(),
        TOKENS.iter().map(|t| (*t).to_owned()).collect(),
    )
    .await
    .map_err(crate::io("starting the GitHub stand-in"))?;
    let mut stack_options = StackOptions::new("github-misbehaves", bins.clone());
    stack_options.work = config.work.clone();
    stack_options.env = github_env(&standin);
    let stack = Stack::start(stack_options).await?;
    let mut result = GithubMisbehavesResult {
        repositories: tree.repository_count(),
        misbehaved_for: options.misbehave_for,
        ..GithubMisbehavesResult::default()
    };
    let load = if options.load {
        Some(Load::start(
            stack.load_targets(),
            LoadOptions {
                cached_paths: vec![
                    "/api/v1/packages/npm/react".to_owned(),
                    "/api/v1/search?q=repo&type=package".to_owned(),
                ],
                ..LoadOptions::default()
            },
        )?)
    } else {
        None
    };

    let enqueued = run_command(
        &bins.worker,
        &[
            "enqueue",
            "scrape",
            "--provider",
            "github",
            "--query",
            "topic:chaos",
        ],
        &stack.env,
    )
    .await?;
    let mut ours: Vec<String> = enqueued
        .split_whitespace()
        .next()
        .map(str::to_owned)
        .into_iter()
        .collect();
    // Misbehave once the scrape's first page is in.
    crate::eventually(
        "the scrape's first request",
        Duration::from_secs(30),
        || async { (standin.request_count() > 0).then_some(()) },
    )
    .await?;
    standin.misbehave(Faults::mix(options.seed, CLIENT_TIMEOUT));
    if let Some(load) = &load {
        load.mark("GitHub misbehaves");
    }
    let until = Instant::now() + options.misbehave_for;
    while Instant::now() < until {
        if stack.jobs_outstanding().await == Some(0) {
            ours.extend(reparse_round(&stack, &tree).await?);
            result.reparse_rounds += 1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    standin.behave();
    if let Some(load) = &load {
        load.mark("GitHub behaves");
    }
    let behaved = Instant::now();
    result.drained = stack.wait_idle(options.drain_deadline).await.is_ok();
    result.drain = behaved.elapsed();
    result.crashes = stack.crashes();
    if let Some(load) = load {
        let recording = load.stop().await;
        let stats = crate::load::stats(recording.samples.iter());
        let server_errors: u64 = stats
            .statuses
            .iter()
            .filter(|(status, _)| **status >= 500)
            .map(|(_, n)| n)
            .sum();
        result.load = (stats.requests, stats.ok, server_errors, stats.hangs);
    }
    result.waits = standin.waits_report(IN_FLIGHT_GRACE);
    let mut answers: Vec<(Answer, usize)> = Vec::new();
    for request in standin.requests() {
        match answers.iter_mut().find(|(a, _)| *a == request.answer) {
            Some((_, n)) => *n += 1,
            None => answers.push((request.answer, 1)),
        }
    }
    answers.sort_by_key(|(a, _)| format!("{a:?}"));
    result.answers = answers;
    result.jobs = job_counts(&stack, &ours).await?;
    let mut conn = stack.db().await?;
    result.rate_limited_runs = count(
        &mut conn,
        "SELECT count(*) AS n FROM job_executions WHERE metadata ? 'rate_limit_wait_secs'",
    )
    .await?;
    result.unparsed_repositories = count(
        &mut conn,
        "SELECT count(*) AS n FROM repositories WHERE parsed_at IS NULL",
    )
    .await?;
    result.crashes = result.crashes.max(stack.stop());
    Ok((result, stack.dir.clone()))
}

/// Enqueues a parse of every repository the stand-in serves; returns the job ids.
async fn reparse_round(stack: &Stack, tree: &Tree) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for (owner, repository) in tree.repositories() {
        let payload = serde_json::json!({
            "host": "github.com",
            "repository": format!("{}/{}", owner.login, repository.name),
        });
        ids.push(
            stack
                .enqueue(JobType::Parse, payload, Priority::Normal)
                .await?,
        );
    }
    Ok(ids)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(conn: &mut diesel_async::AsyncPgConnection, query: &str) -> Result<u64> {
    let row: Count = diesel::sql_query(query)
        .get_result(conn)
        .await
        .map_err(|e| Error::Database(e.to_string()))?;
    Ok(row.n as u64)
}
