//! The real binary on the real queues: `enqueue scrape --provider local` then
//! `run --until-idle` drains the scrape and every parse and enrich it leads to, records
//! each run with its queue and attempt, and exits 0.

use std::process::{Command, Output};

use diesel::{
    QueryableByName,
    sql_types::{Int4, Text},
};
use diesel_async::RunQueryDsl;
use wump_core::{
    Ecosystem,
    jobs::{JobType, Priority},
    settings::QueueSettings,
};
use wump_db::test_support::ProcessEnv;
use wump_worker::queue::Queues;

use super::{
    Harness,
    pipeline::{counts, dependents, s},
};

/// Runs `wump-worker ARGS` against the harness' database, Valkey prefix and fixture tree,
/// with every provider that would reach the internet turned off.
fn wump_worker(h: &Harness, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    command(h, dir.path()).args(args).output().unwrap()
}

/// The command [`wump_worker`] runs, without its arguments.
pub(super) fn command(h: &Harness, dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wump-worker"));
    command
        .current_dir(dir)
        .env_remove("WUMP_ENV")
        .envs(ProcessEnv::for_test(&h.db, &h.valkey).vars())
        .env("WUMP__QUEUES__POLL_INTERVAL_MS", "50")
        .env("WUMP__QUEUES__HEARTBEAT_INTERVAL_SECS", "1")
        .env("WUMP__QUEUES__MISSED_HEARTBEATS", "3")
        .env("WUMP__WORKER__HEALTH_BIND", "127.0.0.1:0")
        .env("WUMP__WORKER__SHUTDOWN_GRACE_SECS", "5")
        .env("WUMP__PROVIDERS__LOCAL__ROOT", h.root.path())
        .env("WUMP__PROVIDERS__LOCAL__PAGE_SIZE", "2")
        .env("RUST_LOG", "info");
    command
}

fn succeeded(output: &Output) {
    assert!(
        output.status.success(),
        "{:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Execution {
    #[diesel(sql_type = Text)]
    job_type: String,
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = Int4)]
    attempt: i32,
    #[diesel(sql_type = Text)]
    status: String,
}

async fn executions(h: &Harness) -> Vec<Execution> {
    let mut rows: Vec<Execution> =
        diesel::sql_query("SELECT job_type, queue, attempt, status FROM job_executions")
            .load(&mut h.conn().await)
            .await
            .unwrap();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn run_until_idle_drains_a_local_scrape_and_everything_it_enqueues() {
    let h = Harness::new().await;
    succeeded(&wump_worker(
        &h,
        &["enqueue", "scrape", "--provider", "local"],
    ));
    succeeded(&wump_worker(&h, &["run", "--until-idle"]));

    // The dependents the fixture implies, with the stars enrich copied onto the edges.
    let mut conn = h.conn().await;
    assert_eq!(
        dependents(&mut conn, Ecosystem::Npm, "lodash").await,
        vec![s("acme/web", 100), s("globex/site", 30), s("acme/tools", 5)]
    );
    assert_eq!(counts(&mut conn, Ecosystem::Npm, "lodash").await, (3, 2));
    assert_eq!(
        dependents(&mut conn, Ecosystem::Cargo, "serde").await,
        vec![s("acme/api", 50), s("initech/lib", 10)]
    );
    assert_eq!(
        dependents(&mut conn, Ecosystem::Pypi, "requests").await,
        vec![s("globex/ml", 200), s("acme/tools", 5)]
    );

    // Every run recorded, completed at its first attempt, on its real (prefixed) queue.
    let queue = |t: JobType| {
        format!(
            "{}{}",
            h.valkey.prefix(),
            wump_core::jobs::queue_name(t, Priority::Normal)
        )
    };
    let runs = executions(&h).await;
    let count = |t: JobType| {
        runs.iter()
            .filter(|r| r.job_type == t.as_str() && r.queue == queue(t))
            .count()
    };
    // Parses that recorded dependency events woke the webhook dispatch, which matched them
    // (no subscriptions here) and left none behind.
    let dispatches = count(JobType::Dispatch);
    assert!(dispatches >= 1, "{runs:#?}");
    assert_eq!(
        wump_db::outbox::undispatched(&mut conn).await.unwrap(),
        0,
        "every event dispatched"
    );
    assert_eq!(runs.len(), 11 + dispatches, "{runs:#?}");
    assert_eq!(
        (
            count(JobType::Scrape),
            count(JobType::Parse),
            count(JobType::Enrich)
        ),
        (1, 7, 3),
        "{runs:#?}"
    );
    assert!(
        runs.iter()
            .all(|r| r.attempt == 1 && r.status == "completed"),
        "{runs:#?}"
    );

    // Nothing left anywhere, nothing dead.
    let queues = Queues::connect(
        h.valkey.settings(),
        QueueSettings {
            key_prefix: h.valkey.prefix().into(),
            ..QueueSettings::default()
        },
    )
    .await
    .unwrap();
    let snapshot = queues.snapshot().await.unwrap();
    assert_eq!(snapshot.dead_letters, 0);
    assert!(
        snapshot.queues.iter().all(|(_, depth)| depth.total() == 0),
        "{snapshot:?}"
    );

    // Again: the scrape finds nothing new, so it is the only run.
    succeeded(&wump_worker(
        &h,
        &["enqueue", "scrape", "--provider", "local"],
    ));
    succeeded(&wump_worker(&h, &["run", "--until-idle"]));
    assert_eq!(executions(&h).await.len(), 11 + dispatches + 1);
    assert_eq!(counts(&mut conn, Ecosystem::Npm, "lodash").await, (3, 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_failure_is_recorded_dead_lettered_at_once_and_still_exits_0() {
    let h = Harness::new().await;
    succeeded(&wump_worker(
        &h,
        &[
            "enqueue",
            "enrich",
            "--host",
            "local",
            "--organization",
            "nobody",
        ],
    ));
    succeeded(&wump_worker(&h, &["run", "--until-idle"]));

    let runs = executions(&h).await;
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(
        (
            runs[0].job_type.as_str(),
            runs[0].attempt,
            runs[0].status.as_str()
        ),
        ("enrich", 1, "failed")
    );
    let queues = Queues::connect(
        h.valkey.settings(),
        QueueSettings {
            key_prefix: h.valkey.prefix().into(),
            ..QueueSettings::default()
        },
    )
    .await
    .unwrap();
    let dead = queues.dead_letters().list().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].errors[0].permanent, "{dead:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_without_until_idle_serves_until_sigterm_and_exits_0() {
    let h = Harness::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = command(&h, dir.path())
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(child.try_wait().unwrap().is_none(), "run exited on its own");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "no exit within 15 s of SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
}
