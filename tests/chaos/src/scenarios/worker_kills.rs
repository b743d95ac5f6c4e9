//! Scenario 3: workers SIGKILLed in the middle of jobs.
//!
//! A generated tree ([`Tree`]) is loaded through the real queues (`wump-worker enqueue
//! scrape --provider local`, registries off) by three workers while, `cycles` times, a
//! random worker in the middle of a job (the job in its in-flight set in Valkey, its run
//! started and not finished in `job_executions`) is SIGKILLed and a replacement started.
//! Orphan recovery (heartbeat 1 s × 3 missed) must bring the killed workers' jobs back.
//! Whenever nothing waits in the queues, every repository's parse is enqueued again, so
//! every cycle has jobs to interrupt (parses are idempotent: the rows end the same).
//!
//! Afterwards every job is completed or dead-lettered, every repository parsed, and the
//! database's rows equal those of a clean run of the same tree (one worker, no kills) into
//! a second database, compared table by table on natural keys, without ids and timestamps.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    time::{Duration, Instant},
};

use diesel::{QueryableByName, sql_types::Text};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use wump_core::jobs::{JobType, Priority};

use super::{RunConfig, ScenarioResult, secs};
use crate::{
    Error, Result,
    load::{Load, LoadOptions},
    processes::{Bins, Env, run_command},
    stack::{Stack, StackOptions},
    tree::Tree,
};

/// How long and how hard.
#[derive(Debug, Clone)]
pub struct WorkerKillsOptions {
    /// Kill-and-replace cycles.
    pub cycles: usize,
    /// Repositories in the generated tree.
    pub repositories: usize,
    /// Seeds the tree and the choice of victims.
    pub seed: u64,
    /// Apply the read load on the apis meanwhile.
    pub load: bool,
    /// Longest wait for a worker to be in the middle of a job.
    pub busy_deadline: Duration,
    /// Longest wait for the queues to drain at the end.
    pub drain_deadline: Duration,
}

impl WorkerKillsOptions {
    /// The run: 100 cycles over 400 repositories.
    pub fn full() -> Self {
        Self {
            cycles: 100,
            repositories: 400,
            seed: 3,
            load: true,
            busy_deadline: Duration::from_secs(60),
            drain_deadline: Duration::from_secs(180),
        }
    }

    /// The `just test` run: 5 cycles over 40 repositories.
    pub fn short() -> Self {
        Self {
            cycles: 5,
            repositories: 40,
            seed: 3,
            load: true,
            busy_deadline: Duration::from_secs(20),
            drain_deadline: Duration::from_secs(60),
        }
    }
}

/// What became of every job the run saw (from `job_executions` and the queues).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Distinct jobs: every job id that ran, plus dead ones that never did.
    pub jobs: u64,
    /// Jobs with a completed run.
    pub completed: u64,
    /// Jobs in the dead-letter list (never completed).
    pub dead: u64,
    /// Neither: lost.
    pub lost: u64,
    /// Runs started.
    pub runs: u64,
    /// Runs that failed (each one retried or dead-lettered).
    pub failed_runs: u64,
    /// Runs left `running`: cut off by a kill.
    pub cut_runs: u64,
    /// Jobs run more than once (duplicates).
    pub run_more_than_once: u64,
    /// Jobs completed more than once.
    pub completed_more_than_once: u64,
    /// A few lost ids.
    pub lost_ids: Vec<String>,
}

#[derive(QueryableByName)]
struct JobRow {
    #[diesel(sql_type = Text)]
    job_id: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    runs: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    completed: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    failed: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    running: i64,
}

/// Counts every job of the run: the ids in `job_executions`, the dead-letter list and
/// `also` (ids enqueued by the scenario, which must show up in one of the two).
pub async fn job_counts(stack: &Stack, also: &[String]) -> Result<JobCounts> {
    let mut conn = stack.db().await?;
    let rows: Vec<JobRow> = diesel::sql_query(
        "SELECT job_id, count(*) AS runs,
                count(*) FILTER (WHERE status = 'completed') AS completed,
                count(*) FILTER (WHERE status = 'failed') AS failed,
                count(*) FILTER (WHERE status = 'running') AS running
           FROM job_executions GROUP BY job_id",
    )
    .load(&mut conn)
    .await
    .map_err(|e| Error::Database(e.to_string()))?;
    let dead: BTreeSet<String> = stack
        .queues
        .dead_letters()
        .list()
        .await
        .map_err(|e| Error::Setup(format!("listing dead letters: {e}")))?
        .into_iter()
        .map(|d| d.id.to_string())
        .collect();
    let mut ids: BTreeSet<String> = also.iter().cloned().collect();
    ids.extend(dead.iter().cloned());
    let by_id: BTreeMap<&str, &JobRow> = rows.iter().map(|r| (r.job_id.as_str(), r)).collect();
    ids.extend(rows.iter().map(|r| r.job_id.clone()));
    let mut counts = JobCounts {
        jobs: ids.len() as u64,
        ..JobCounts::default()
    };
    for id in &ids {
        let row = by_id.get(id.as_str());
        let (runs, completed, failed, running) =
            row.map_or((0, 0, 0, 0), |r| (r.runs, r.completed, r.failed, r.running));
        counts.runs += runs as u64;
        counts.failed_runs += failed as u64;
        counts.cut_runs += running as u64;
        counts.run_more_than_once += u64::from(runs > 1);
        counts.completed_more_than_once += u64::from(completed > 1);
        if completed > 0 {
            counts.completed += 1;
        } else if dead.contains(id) {
            counts.dead += 1;
        } else {
            counts.lost += 1;
            if counts.lost_ids.len() < 10 {
                counts.lost_ids.push(id.clone());
            }
        }
    }
    Ok(counts)
}

/// The numbers of one run.
#[derive(Debug, Clone, Default)]
pub struct WorkerKillsResult {
    pub repositories: usize,
    pub cycles: usize,
    /// Kills that found the victim holding jobs.
    pub kills_mid_job: usize,
    /// Jobs the victims held when killed.
    pub jobs_held_by_victims: usize,
    /// Of those, runs the kill cut off mid-way (started, not finished).
    pub runs_interrupted: usize,
    /// Rounds of re-parses enqueued to keep the workers busy.
    pub reparse_rounds: usize,
    pub jobs: JobCounts,
    /// Repositories never parsed.
    pub unparsed_repositories: u64,
    /// `(table, rows only in the chaos run, rows only in the clean run)` that differ.
    pub differences: Vec<(String, usize, usize)>,
    /// Rows compared per table.
    pub rows: Vec<(String, usize)>,
    /// Workers and apis that exited by themselves.
    pub crashes: u32,
    /// The queues emptied within the drain deadline after the last kill.
    pub drained: bool,
    /// The kill cycles, then the drain after the last kill.
    pub kill_phase: Duration,
    pub drain: Duration,
    /// The clean run's load time (one worker).
    pub clean_load: Duration,
    /// Read load on the apis meanwhile: requests, 200s, 5xx, hangs.
    pub load: (u64, u64, u64, u64),
}

impl WorkerKillsResult {
    /// The numbers and the criteria, for the report.
    pub fn into_result(self, run_dir: PathBuf) -> ScenarioResult {
        let mut out = ScenarioResult::new(3, TITLE, run_dir);
        let j = &self.jobs;
        out.setup = format!(
            "A generated tree of {} repositories (seeded) loaded through the queues by three \
             workers (`enqueue scrape --provider local`, registries off; heartbeat 1 s × 3 \
             missed) while, {} times, a random worker in the middle of a job (held in Valkey, \
             its run started and not finished) is SIGKILLed and a replacement started; whenever \
             nothing waits in the queues every repository's parse is enqueued again, so each \
             kill finds work. A clean run of the same \
             tree (one worker, no kills, its own database and queues) is the reference.{}",
            self.repositories,
            self.cycles,
            if self.load.0 > 0 {
                " Read load on both apis throughout."
            } else {
                ""
            }
        );
        out.number("kill cycles", self.cycles);
        out.number(
            "kills that found the victim in the middle of a run",
            self.kills_mid_job,
        );
        out.number("jobs the killed workers held", self.jobs_held_by_victims);
        out.number("runs the kills cut off mid-way", self.runs_interrupted);
        out.number(
            "re-parse rounds enqueued to keep workers busy",
            self.reparse_rounds,
        );
        out.number("jobs (distinct ids)", j.jobs);
        out.number("completed", j.completed);
        out.number("dead-lettered", j.dead);
        out.number("lost", j.lost);
        out.number("runs started", j.runs);
        out.number("runs cut off by a kill (left `running`)", j.cut_runs);
        out.number("failed runs (retried)", j.failed_runs);
        out.number("duplicates: jobs run more than once", j.run_more_than_once);
        out.number("jobs completed more than once", j.completed_more_than_once);
        out.number("repositories never parsed", self.unparsed_repositories);
        let rows: Vec<String> = self.rows.iter().map(|(t, n)| format!("{t} {n}")).collect();
        out.number("rows compared with the clean run", rows.join(", "));
        out.number("kill phase", secs(self.kill_phase));
        out.number("drain after the last kill", secs(self.drain));
        out.number("clean run (one worker, no kills)", secs(self.clean_load));
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
            "every kill hits a worker in the middle of a job (its run started, not finished)",
            format!("{} of {} kills", self.kills_mid_job, self.cycles),
            self.kills_mid_job == self.cycles,
        );
        out.criterion(
            "zero jobs lost: every job completed or dead-lettered, the queues drained",
            format!(
                "{} of {} neither completed nor dead-lettered ({} completed, {} dead-lettered){}{}",
                j.lost,
                j.jobs,
                j.completed,
                j.dead,
                if self.drained {
                    ""
                } else {
                    "; the queues did not drain"
                },
                if j.lost_ids.is_empty() {
                    String::new()
                } else {
                    format!("; e.g. {:?}", j.lost_ids)
                }
            ),
            self.drained && j.lost == 0 && self.unparsed_repositories == 0,
        );
        out.criterion(
            "duplicate runs counted and harmless: rows identical to a clean run of the same input",
            if self.differences.is_empty() {
                format!(
                    "{} jobs ran more than once; every table equal",
                    j.run_more_than_once
                )
            } else {
                format!(
                    "{} jobs ran more than once; tables differing (rows only in the chaos run, only in the clean run; the rows are in differences.txt beside the logs): {:?}",
                    j.run_more_than_once, self.differences
                )
            },
            self.differences.is_empty() && !self.rows.is_empty(),
        );
        out.criterion(
            "no process exits by itself",
            format!("{} exits", self.crashes),
            self.crashes == 0,
        );
        out
    }
}

/// The settings both runs share on top of the harness': queue timings that recover
/// orphans in about 3 s and retry quickly.
fn queue_env() -> Env {
    [
        ("WUMP__QUEUES__HEARTBEAT_INTERVAL_SECS", "1"),
        ("WUMP__QUEUES__MISSED_HEARTBEATS", "3"),
        ("WUMP__QUEUES__POLL_INTERVAL_MS", "50"),
        ("WUMP__QUEUES__BACKOFF_BASE_MS", "1000"),
        ("WUMP__QUEUES__BACKOFF_MAX_MS", "4000"),
        ("WUMP__QUEUES__MAX_ATTEMPTS", "5"),
        ("RUST_LOG", "warn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The scenario's title.
pub const TITLE: &str = "Workers SIGKILLed in the middle of jobs";

/// Runs the scenario (the short version when `config.short`).
pub async fn run(config: &RunConfig) -> Result<ScenarioResult> {
    let options = if config.short {
        WorkerKillsOptions::short()
    } else {
        WorkerKillsOptions::full()
    };
    let (measured, run_dir) = measure(config, &options).await?;
    Ok(measured.into_result(run_dir))
}

/// Runs the kills and counts; returns the numbers and the run's directory.
pub async fn measure(
    config: &RunConfig,
    options: &WorkerKillsOptions,
) -> Result<(WorkerKillsResult, PathBuf)> {
    let bins = config.bins.clone();
    let tree = Tree::generate(options.seed, options.repositories);
    let written = tree
        .write_temp()
        .map_err(crate::io("writing the generated tree"))?;
    let mut stack_options = StackOptions::new("worker-kills", bins.clone());
    stack_options.work = config.work.clone();
    stack_options.local_root = written.root();
    stack_options.env = queue_env();
    let stack = Stack::start(stack_options).await?;
    let mut result = WorkerKillsResult {
        repositories: tree.repository_count(),
        cycles: options.cycles,
        ..WorkerKillsResult::default()
    };

    result.clean_load = clean_run(&stack, &bins).await?;

    let load = if options.load {
        Some(Load::start(
            stack.load_targets(),
            LoadOptions {
                cached_paths: tree_paths(&tree),
                ..LoadOptions::default()
            },
        )?)
    } else {
        None
    };

    let enqueued = run_command(
        &bins.worker,
        &["enqueue", "scrape", "--provider", "local"],
        &stack.env,
    )
    .await?;
    let scrape = enqueued
        .split_whitespace()
        .next()
        .ok_or_else(|| Error::Setup(format!("`enqueue scrape` printed no id: {enqueued}")))?
        .to_owned();
    let mut ours = vec![scrape];

    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(options.seed ^ 0x5eed);
    let mut conn = stack.db().await?;
    // `running` rows per job id already left behind by earlier kills: a job is mid-run when
    // it has more than these.
    let mut cut: BTreeMap<String, i64> = BTreeMap::new();
    let mut scrape_done = false;
    for cycle in 0..options.cycles {
        let deadline = Instant::now() + options.busy_deadline;
        let (busy, mid_run) = loop {
            if !scrape_done {
                scrape_done = stored(&mut conn).await? >= tree.repository_count() as u64;
            }
            // Once the scrape has stored every repository and nothing waits: another round
            // of parses keeps every worker busy.
            if scrape_done && queued(&stack).await == Some(0) {
                ours.extend(reparse_round(&stack, &tree).await?);
                result.reparse_rounds += 1;
            }
            let busy = busy_workers(&stack, &mut conn, &cut).await?;
            let mid_run: Vec<&Held> = busy.iter().filter(|h| !h.running.is_empty()).collect();
            if !mid_run.is_empty() {
                break (mid_run[rng.random_range(0..mid_run.len())].clone(), true);
            }
            if Instant::now() > deadline {
                // Honestly counted: a kill of a worker that only held jobs not yet started.
                if let Some(any) = busy.into_iter().next() {
                    break (any, false);
                }
                return Err(Error::Timeout(
                    options.busy_deadline,
                    format!("cycle {cycle}: a worker holding jobs"),
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        stack.workers[busy.worker].kill()?;
        result.kills_mid_job += usize::from(mid_run);
        result.jobs_held_by_victims += busy.held;
        result.runs_interrupted += busy.running.len();
        for (id, rows) in &busy.running {
            cut.insert(id.clone(), *rows);
        }
        if let Some(load) = &load {
            load.mark(format!(
                "kill {cycle}: {}",
                stack.workers[busy.worker].name()
            ));
        }
        stack.workers[busy.worker].restart()?;
    }
    result.kill_phase = started.elapsed();

    let drained = Instant::now();
    result.drained = stack.wait_idle(options.drain_deadline).await.is_ok();
    result.drain = drained.elapsed();
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

    result.jobs = job_counts(&stack, &ours).await?;
    let mut conn = stack.db().await?;
    result.unparsed_repositories = unparsed(&mut conn).await?;
    let chaos = dump(&mut conn).await?;
    let mut clean_conn = AsyncPgConnection::establish(&clean_url(&stack))
        .await
        .map_err(|e| Error::Database(e.to_string()))?;
    let clean = dump(&mut clean_conn).await?;
    // The differing rows themselves go beside the logs: the report keeps only counts.
    let mut listing = String::new();
    for (table, rows) in &chaos {
        let theirs = clean.get(table).cloned().unwrap_or_default();
        result.rows.push((table.clone(), rows.len()));
        let only_chaos: Vec<_> = rows.difference(&theirs).collect();
        let only_clean: Vec<_> = theirs.difference(rows).collect();
        if only_chaos.len() + only_clean.len() > 0 {
            for row in &only_chaos {
                listing.push_str(&format!("{table} only in the chaos run: {row}\n"));
            }
            for row in &only_clean {
                listing.push_str(&format!("{table} only in the clean run: {row}\n"));
            }
            result
                .differences
                .push((table.clone(), only_chaos.len(), only_clean.len()));
        }
    }
    if !listing.is_empty() {
        let _ = std::fs::write(stack.dir.join("differences.txt"), listing);
    }
    result.crashes = stack.stop();
    Ok((result, stack.dir.clone()))
}

/// Pages of the generated tree the read load asks for.
fn tree_paths(tree: &Tree) -> Vec<String> {
    let mut paths = vec![
        "/api/v1/packages/npm/react".to_owned(),
        "/api/v1/packages/cargo/serde/organizations".to_owned(),
        "/api/v1/packages/pypi/requests/dependents".to_owned(),
        "/api/v1/search?q=repo&type=package".to_owned(),
    ];
    if let [owner, ..] = tree.owners.as_slice() {
        paths.push(format!("/api/v1/organizations/{}", owner.login));
    }
    paths
}

/// The clean run's database: the run's server, another database.
fn clean_url(stack: &Stack) -> String {
    let url = stack.postgres.url_via(None);
    let (base, query) = url
        .split_once('?')
        .map_or((url.as_str(), None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    match query {
        Some(query) => format!("{server}/wump_clean?{query}"),
        None => format!("{server}/wump_clean"),
    }
}

/// Loads the same tree into a second database with one `run --until-idle` worker on queues
/// of their own (key prefix `clean:`), no kills; returns how long it took.
async fn clean_run(stack: &Stack, bins: &Bins) -> Result<Duration> {
    let started = Instant::now();
    let mut admin = stack.db().await?;
    diesel::sql_query("CREATE DATABASE wump_clean")
        .execute(&mut admin)
        .await
        .map_err(|e| Error::Database(e.to_string()))?;
    let mut env = stack.env.clone();
    env.retain(|(k, _)| {
        k != "WUMP__DATABASE__URL"
            && k != "WUMP__QUEUES__KEY_PREFIX"
            && k != "WUMP__WORKER__HEALTH_BIND"
    });
    env.push(("WUMP__DATABASE__URL".into(), clean_url(stack)));
    env.push(("WUMP__QUEUES__KEY_PREFIX".into(), "clean:".into()));
    env.push(("WUMP__WORKER__HEALTH_BIND".into(), "127.0.0.1:0".into()));
    run_command(&bins.worker, &["migrate"], &env).await?;
    run_command(
        &bins.worker,
        &["enqueue", "scrape", "--provider", "local"],
        &env,
    )
    .await?;
    run_command(&bins.worker, &["run", "--until-idle"], &env).await?;
    Ok(started.elapsed())
}

/// Enqueues a parse of every repository of the tree; returns the job ids.
async fn reparse_round(stack: &Stack, tree: &Tree) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for (owner, repository) in tree.repositories() {
        let payload = serde_json::json!({
            "host": "local",
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

/// Repositories stored so far.
async fn stored(conn: &mut AsyncPgConnection) -> Result<u64> {
    let row: Count = diesel::sql_query("SELECT count(*) AS n FROM repositories")
        .get_result(conn)
        .await
        .map_err(|e| Error::Database(e.to_string()))?;
    Ok(row.n as u64)
}

/// Jobs waiting (pending or scheduled) in every queue; `None` when Valkey cannot be read.
async fn queued(stack: &Stack) -> Option<u64> {
    let depths = stack.queues.depths().await.ok()?;
    Some(depths.iter().map(|(_, d)| d.pending + d.scheduled).sum())
}

/// What one live worker holds right now.
#[derive(Debug, Clone)]
struct Held {
    /// Index into `stack.workers`.
    worker: usize,
    /// Jobs in its in-flight sets.
    held: usize,
    /// Of those, the ones whose run has started and not finished: `(job id, running rows)`.
    running: Vec<(String, i64)>,
}

#[derive(QueryableByName)]
struct Running {
    #[diesel(sql_type = Text)]
    job_id: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Every live worker holding jobs now, with the jobs it is in the middle of: held in its
/// in-flight set (Valkey) with a `running` row in `job_executions` beyond those `cut` by
/// earlier kills.
async fn busy_workers(
    stack: &Stack,
    db: &mut AsyncPgConnection,
    cut: &BTreeMap<String, i64>,
) -> Result<Vec<Held>> {
    let mut conn = stack.queues.connection();
    let mut held: BTreeMap<usize, (usize, Vec<String>)> = BTreeMap::new();
    let pids: Vec<(usize, String)> = stack
        .workers
        .iter()
        .enumerate()
        .filter(|(_, w)| w.exited().is_none())
        .map(|(i, w)| (i, format!("-{}-", w.pid())))
        .collect();
    let valkey = |e: redis::RedisError| Error::Setup(format!("reading the queues: {e}"));
    for job_type in JobType::ALL {
        for priority in Priority::ALL {
            let config = stack.queues.config(job_type, priority);
            let names: Vec<String> = redis::cmd("ZRANGE")
                .arg(config.workers_set())
                .arg(0)
                .arg(-1)
                .query_async(&mut conn)
                .await
                .map_err(valkey)?;
            for name in names {
                let Some((index, _)) = pids.iter().find(|(_, pid)| name.contains(pid.as_str()))
                else {
                    continue;
                };
                let tasks: Vec<String> = redis::cmd("SMEMBERS")
                    .arg(format!("{}:{name}", config.inflight_jobs_set()))
                    .query_async(&mut conn)
                    .await
                    .map_err(valkey)?;
                if tasks.is_empty() {
                    continue;
                }
                let entry = held.entry(*index).or_default();
                entry.0 += tasks.len();
                for task in tasks {
                    // The task's data is our envelope, whose id is the job's id.
                    let data: Option<String> = redis::cmd("HGET")
                        .arg(config.job_data_hash())
                        .arg(&task)
                        .query_async(&mut conn)
                        .await
                        .map_err(valkey)?;
                    if let Some(id) = data
                        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
                        .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_owned))
                    {
                        entry.1.push(id);
                    }
                }
            }
        }
    }
    let ids: Vec<String> = held.values().flat_map(|(_, ids)| ids.clone()).collect();
    let rows: Vec<Running> = diesel::sql_query(
        "SELECT job_id, count(*) AS n FROM job_executions
          WHERE status = 'running' AND job_id = ANY($1) GROUP BY job_id",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(&ids)
    .load(db)
    .await
    .map_err(|e| Error::Database(e.to_string()))?;
    let running: BTreeMap<String, i64> = rows
        .into_iter()
        .filter(|r| r.n > cut.get(&r.job_id).copied().unwrap_or(0))
        .map(|r| (r.job_id, r.n))
        .collect();
    Ok(held
        .into_iter()
        .map(|(worker, (count, ids))| Held {
            worker,
            held: count,
            running: ids
                .into_iter()
                .filter_map(|id| running.get(&id).map(|n| (id, *n)))
                .collect(),
        })
        .collect())
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    row: String,
}

/// Every row the jobs write, by table, on natural keys (logins, full names, package
/// names) instead of ids, without timestamps of when it was written.
async fn dump(conn: &mut AsyncPgConnection) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let queries = [
        (
            "organizations",
            "SELECT to_jsonb(t)::text AS row FROM (SELECT host, login, login_key, kind, name,
                description, website_url, sponsors_listing_url, funding, repositories_count,
                stars_total, enriched_at IS NOT NULL AS enriched FROM organizations) t",
        ),
        (
            "repositories",
            "SELECT to_jsonb(t)::text AS row FROM (SELECT o.login, r.host, r.full_name,
                r.full_name_key, r.description, r.language, r.default_branch, r.stars, r.forks,
                r.archived, r.fork, r.pushed_at, r.change_token, r.parsed_at IS NOT NULL AS parsed,
                r.gone_at IS NOT NULL AS gone
                FROM repositories r JOIN organizations o ON o.id = r.organization_id) t",
        ),
        (
            "packages",
            "SELECT to_jsonb(t)::text AS row FROM (SELECT ecosystem, name, normalized_name,
                description, homepage_url, repository_url, latest_version, funding,
                dependents_count, organizations_count FROM packages) t",
        ),
        (
            "dependencies",
            "SELECT to_jsonb(t)::text AS row FROM (SELECT p.ecosystem, p.name, r.full_name,
                o.login, d.kind, d.kinds, d.requirement, d.resolved_version, d.direct,
                d.manifest_paths, d.repo_stars, d.repo_pushed_at, d.repo_archived, d.repo_fork
                FROM dependencies d JOIN packages p ON p.id = d.package_id
                JOIN repositories r ON r.id = d.repository_id
                JOIN organizations o ON o.id = d.organization_id) t",
        ),
        (
            "package_organizations",
            "SELECT to_jsonb(t)::text AS row FROM (SELECT p.ecosystem, p.name, o.login,
                po.repositories_count, po.stars_sum
                FROM package_organizations po JOIN packages p ON p.id = po.package_id
                JOIN organizations o ON o.id = po.organization_id) t",
        ),
    ];
    let mut out = BTreeMap::new();
    for (table, query) in queries {
        let rows: Vec<Row> = diesel::sql_query(query)
            .load(conn)
            .await
            .map_err(|e| Error::Database(format!("dumping {table}: {e}")))?;
        out.insert(
            table.to_owned(),
            rows.into_iter().map(|r| r.row).collect::<BTreeSet<_>>(),
        );
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Repositories never parsed.
async fn unparsed(conn: &mut AsyncPgConnection) -> Result<u64> {
    let row: Count =
        diesel::sql_query("SELECT count(*) AS n FROM repositories WHERE parsed_at IS NULL")
            .get_result(conn)
            .await
            .map_err(|e| Error::Database(e.to_string()))?;
    Ok(row.n as u64)
}
