//! `wump-bench queue`: no-op jobs through the real queues (the apalis-redis storages and
//! the runner of `wump-worker run`, one process), against raw Valkey round trips at the
//! same concurrency measured in the same run, on the shared Valkey under a key prefix of
//! its own.

use std::{
    fmt::Write as _,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use futures_util::{StreamExt as _, stream};
use wump_core::{
    jobs::{JobType, NoopJob, Priority},
    settings::QueueSettings,
};
use wump_db::{
    queue::Queues,
    test_support::{ProcessEnv, TestDatabase, TestValkey},
};

use crate::{
    report::Provenance,
    workers::{self, Worker, mib},
};

/// What one concurrency level measured.
#[derive(Debug, Clone)]
pub struct Level {
    /// Jobs the worker runs at once from the queue (and round trips in flight for the
    /// baseline).
    pub concurrency: usize,
    /// `PING`s per second, `concurrency` at a time over one multiplexed connection.
    pub ping_per_sec: f64,
    /// `GET`s of one key per second, likewise.
    pub get_per_sec: f64,
    /// Jobs enqueued per second (`concurrency` pushes at a time).
    pub enqueued_per_sec: f64,
    /// Jobs run per second, from the first taken to the queue empty.
    pub jobs_per_sec: f64,
    /// Jobs dead-lettered (must be 0).
    pub dead: u64,
    /// Peak resident memory of the worker process (bytes).
    pub worker_peak_rss: u64,
    /// CPU time the worker process used per job, start-up and the idle wait included (µs).
    pub worker_cpu_per_job_us: f64,
}

/// Runs `jobs` no-op jobs at each concurrency in `levels`, each level with a fresh worker
/// process and queue.
pub async fn run(jobs: usize, levels: &[usize], logs: &Path) -> anyhow::Result<Vec<Level>> {
    let binary = workers::worker_binary()?;
    let db = TestDatabase::new().await;
    let mut measured = Vec::new();
    for &concurrency in levels {
        let valkey = TestValkey::new().await;
        let level = one_level(&binary, &db, &valkey, jobs, concurrency, logs).await?;
        eprintln!(
            "[bench] queue: concurrency {concurrency}: {:.0} jobs/s, PING {:.0}/s, GET {:.0}/s, \
             enqueue {:.0}/s, worker CPU {:.0} µs per job, worker peak {:.1} MiB",
            level.jobs_per_sec,
            level.ping_per_sec,
            level.get_per_sec,
            level.enqueued_per_sec,
            level.worker_cpu_per_job_us,
            mib(level.worker_peak_rss)
        );
        measured.push(level);
    }
    Ok(measured)
}

async fn one_level(
    binary: &Path,
    db: &TestDatabase,
    valkey: &TestValkey,
    jobs: usize,
    concurrency: usize,
    logs: &Path,
) -> anyhow::Result<Level> {
    let settings = QueueSettings {
        key_prefix: valkey.prefix().to_owned(),
        ..QueueSettings::default()
    };
    let queues = Queues::connect(valkey.settings(), settings)
        .await
        .context("connecting to the queues")?;

    let round_trips = jobs.max(20_000);
    let ping_per_sec =
        raw_round_trips(&queues, round_trips, concurrency, |_| redis::cmd("PING")).await?;
    let key = format!("{}bench:get", valkey.prefix());
    let mut conn = queues.connection();
    let () = redis::cmd("SET")
        .arg(&key)
        .arg("x".repeat(64))
        .query_async(&mut conn)
        .await?;
    let get_per_sec = raw_round_trips(&queues, round_trips, concurrency, |_| {
        let mut get = redis::cmd("GET");
        get.arg(&key);
        get
    })
    .await?;

    let start = Instant::now();
    let pushed: Vec<_> = stream::iter(0..jobs)
        .map(|_| queues.enqueue(&NoopJob {}, Priority::High))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let enqueued_per_sec = jobs as f64 / start.elapsed().as_secs_f64();
    for result in pushed {
        result.context("enqueueing a no-op job")?;
    }

    let env: workers::Env = ProcessEnv::for_test(db, valkey)
        .set("WUMP__WORKER__NOOP_JOBS", "true")
        .set(
            "WUMP__QUEUES__JOB_CONCURRENCY__NOOP__HIGH",
            concurrency.to_string(),
        )
        .set("WUMP__TELEMETRY__LOG_FORMAT", "json")
        .set("RUST_LOG", "info")
        .into_vars();
    let log = logs.join(format!("queue-worker-c{concurrency}.log"));
    let _ = std::fs::remove_file(&log);
    let mut worker = Worker::start(binary, &env, &log)?;
    worker.wait_healthy(Duration::from_secs(60)).await?;

    // From the first job taken to the queue empty and nothing running.
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut first: Option<(Instant, u64)> = None;
    let finished = loop {
        let depth = queues.depth(JobType::Noop, Priority::High).await?;
        let now = Instant::now();
        if first.is_none() && depth.pending < jobs as u64 {
            first = Some((now, depth.pending + depth.running));
        }
        if depth.total() == 0 {
            break now;
        }
        if worker.exited() {
            bail!("the worker exited during the run; log: {}", log.display());
        }
        if now > deadline {
            bail!("the no-op jobs did not drain within 10 minutes ({depth:?})");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let (taken_at, left_then) = first.context("no job was ever taken")?;
    let jobs_per_sec = left_then as f64 / (finished - taken_at).as_secs_f64().max(1e-6);
    let dead = queues.dead_letters().len().await?;
    let worker_cpu_per_job_us = worker.cpu_seconds() * 1e6 / jobs as f64;
    let worker_peak_rss = worker.stop(Duration::from_secs(30))?;
    Ok(Level {
        concurrency,
        ping_per_sec,
        get_per_sec,
        enqueued_per_sec,
        jobs_per_sec,
        dead,
        worker_peak_rss,
        worker_cpu_per_job_us,
    })
}

/// `total` commands built by `command`, `concurrency` in flight at a time over the queues'
/// connection (the one apalis uses); returns commands per second.
async fn raw_round_trips(
    queues: &Queues,
    total: usize,
    concurrency: usize,
    command: impl Fn(usize) -> redis::Cmd,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    let results: Vec<redis::RedisResult<redis::Value>> = stream::iter(0..total)
        .map(|i| {
            let mut conn = queues.connection();
            let cmd = command(i);
            async move { cmd.query_async(&mut conn).await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = start.elapsed().as_secs_f64();
    for result in results {
        result.context("a raw Valkey round trip")?;
    }
    Ok(total as f64 / elapsed)
}

/// The `bench-queue` section of the report.
pub fn section(levels: &[Level], jobs: usize, provenance: &Provenance) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Measured {} at commit `{}` (`just bench-queue`): {jobs} no-op jobs per row through the \
         real queues (`{{wump:noop:high}}`, apalis-redis, the runner of `wump-worker run`: \
         payload read, retry policy, metrics, span and its log line per job) with one release \
         `wump-worker` process, on the shared Valkey under a key prefix of its own. The \
         baseline is raw round trips from this process over the same kind of connection \
         (redis-rs `ConnectionManager`, commands in flight at once = the concurrency), \
         measured in the same run. Goal: ≥ 10,000 jobs/s.\n",
        provenance.date, provenance.commit
    );
    out.push_str(
        "| concurrency | jobs/s | PING/s | GET/s | jobs ÷ PING | enqueue/s | worker CPU per job | dead | worker peak RSS |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for l in levels {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} µs | {} | {:.1} MiB |",
            l.concurrency,
            l.jobs_per_sec,
            l.ping_per_sec,
            l.get_per_sec,
            l.jobs_per_sec / l.ping_per_sec,
            l.enqueued_per_sec,
            l.worker_cpu_per_job_us,
            l.dead,
            mib(l.worker_peak_rss)
        );
    }
    let _ = writeln!(out, "\nMachine: {}.", provenance.machine);
    out
}
