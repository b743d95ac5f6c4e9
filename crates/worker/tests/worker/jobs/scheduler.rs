//! The real binary's scheduler: `wump-worker run` enqueues each tick of a `[schedule]` entry
//! once and its workers run it; `run --no-scheduler` enqueues nothing.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use diesel::{QueryableByName, sql_types::BigInt};
use diesel_async::RunQueryDsl;
use wump_core::{
    jobs::{JobType, Priority},
    settings::QueueSettings,
};
use wump_worker::queue::Queues;

use super::{Harness, until_idle::command};
use crate::queue::scheduler::tick_locks;

/// `wump-worker run ARGS` with one entry, `tick`, a cleanup every second (the built-in
/// entries off).
fn spawn_run(h: &Harness, dir: &std::path::Path, args: &[&str]) -> Child {
    let mut command = command(h, dir);
    command
        .env("WUMP__SCHEDULE__JOBS__TICK__CRON", "* * * * * *")
        .env("WUMP__SCHEDULE__JOBS__TICK__JOB", "cleanup");
    for builtin in ["SCRAPE", "ENRICH", "CLEANUP"] {
        command.env(format!("WUMP__SCHEDULE__JOBS__{builtin}__ENABLED"), "false");
    }
    command
        .arg("run")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// SIGTERM, then the exit status within 15 s.
async fn terminate(child: &mut Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no exit within 15 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
}

async fn queues(h: &Harness) -> Queues {
    Queues::connect(
        h.valkey.settings(),
        QueueSettings {
            key_prefix: h.valkey.prefix().into(),
            ..QueueSettings::default()
        },
    )
    .await
    .unwrap()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Cleanup jobs that ran (each counted once, whatever its attempts).
async fn cleanups_run(h: &Harness) -> u64 {
    let row: Count = diesel::sql_query(
        "SELECT count(DISTINCT job_id) AS count FROM job_executions WHERE job_type = 'cleanup'",
    )
    .get_result(&mut h.conn().await)
    .await
    .unwrap();
    row.count as u64
}

#[tokio::test(flavor = "multi_thread")]
async fn run_enqueues_each_tick_of_a_schedule_once_and_runs_it() {
    let h = Harness::new().await;
    let queues = queues(&h).await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_run(&h, dir.path(), &[]);
    let started = Instant::now();
    while tick_locks(&queues, "tick").await.len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no three ticks within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    terminate(&mut child).await;

    let ticks = tick_locks(&queues, "tick").await.len() as u64;
    let run = cleanups_run(&h).await;
    let left = queues
        .depth(JobType::Cleanup, Priority::Normal)
        .await
        .unwrap()
        .total();
    eprintln!("{ticks} ticks: {run} cleanups run, {left} left queued");
    assert!(run >= 1, "the workers ran none of the scheduled jobs");
    assert_eq!(run + left, ticks);
}

#[tokio::test(flavor = "multi_thread")]
async fn run_with_no_scheduler_enqueues_nothing() {
    let h = Harness::new().await;
    let queues = queues(&h).await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_run(&h, dir.path(), &["--no-scheduler"]);
    // Three ticks' worth: a scheduler would have enqueued by now (the test above).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(child.try_wait().unwrap().is_none(), "run exited on its own");
    terminate(&mut child).await;

    assert_eq!(tick_locks(&queues, "tick").await.len(), 0);
    assert_eq!(cleanups_run(&h).await, 0);
    let snapshot = queues.snapshot().await.unwrap();
    assert!(
        snapshot.queues.iter().all(|(_, depth)| depth.total() == 0),
        "{snapshot:?}"
    );
}
