//! Real worker processes and real signals. The test binary runs itself as the worker
//! (`child_worker`, ignored unless a parent test starts it), so the children run exactly the
//! queue code under test: SIGTERM lets the running job finish and the process exit 0; a
//! SIGKILLed worker's job is re-run by another process after the orphan timeout.

use std::{
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use fred::prelude::{ClientLike, ListInterface};
use serde::{Deserialize, Serialize};
use wump_core::{
    jobs::{JobPayload, JobType, Priority},
    settings::ValkeySettings,
};
use wump_db::{ValkeyPool, connect_valkey, test_support::TestValkey};
use wump_worker::{
    jobs::{BackgroundJob, Delivery, JobError, JobOutcome},
    queue::{Queues, Runner, shutdown_signal},
};

use super::support::{eventually, fast_settings, test_queues};

const PREFIX: &str = "WUMP_TEST_CHILD_PREFIX";
const JOB_MS: &str = "WUMP_TEST_CHILD_JOB_MS";

/// Notes its start and end in a Valkey list, so the parent can see what a child did.
#[derive(Debug, Serialize, Deserialize)]
struct Marked {}

#[derive(Debug, Clone)]
struct ChildCtx {
    pool: ValkeyPool,
    key: String,
    millis: u64,
}

impl JobPayload for Marked {
    const JOB_TYPE: JobType = JobType::Scrape;
}

impl BackgroundJob for Marked {
    type Context = ChildCtx;

    async fn run(&self, ctx: &ChildCtx, delivery: &Delivery) -> Result<JobOutcome, JobError> {
        let attempt = delivery.attempt;
        let pid = std::process::id();
        let _: i64 = ctx
            .pool
            .rpush(&ctx.key, format!("started {pid} {attempt}"))
            .await?;
        tokio::time::sleep(Duration::from_millis(ctx.millis)).await;
        let _: i64 = ctx
            .pool
            .rpush(&ctx.key, format!("finished {pid} {attempt}"))
            .await?;
        Ok(JobOutcome::default())
    }
}

fn log_key(prefix: &str) -> String {
    format!("{prefix}log")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a worker process the other tests in this module start"]
async fn child_worker() {
    let (Ok(prefix), Ok(millis)) = (std::env::var(PREFIX), std::env::var(JOB_MS)) else {
        return;
    };
    let mut valkey = ValkeySettings::default();
    if let Ok(url) = std::env::var("WUMP__VALKEY__URL") {
        valkey.url = url.into();
    }
    let pool = connect_valkey(&valkey).unwrap();
    pool.wait_for_connect().await.unwrap();
    let queues = Queues::connect(&valkey, fast_settings())
        .await
        .unwrap()
        .with_prefix(prefix.clone());
    let ctx = ChildCtx {
        pool,
        key: log_key(&prefix),
        millis: millis.parse().unwrap(),
    };
    Runner::new(queues, Duration::from_secs(5))
        .register::<Marked>(ctx)
        .run_until(shutdown_signal())
        .await
        .unwrap();
}

fn spawn_child(valkey: &TestValkey, job_ms: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "queue::processes::child_worker",
            "--ignored",
            "--test-threads=1",
        ])
        .env(PREFIX, valkey.prefix())
        .env(JOB_MS, job_ms.to_string())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

pub(super) fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name}");
}

pub(super) async fn exit_of(child: &mut Child, within: Duration) -> ExitStatus {
    eventually("the worker process to exit", within, || {
        let status = child.try_wait().unwrap();
        async move { status }
    })
    .await
}

async fn log(valkey: &TestValkey) -> Vec<String> {
    valkey
        .pool()
        .lrange(log_key(valkey.prefix()), 0, -1)
        .await
        .unwrap()
}

async fn wait_for_log(valkey: &TestValkey, entries: usize, within: Duration) -> Vec<String> {
    eventually("the job's log", within, || async {
        let log = log(valkey).await;
        (log.len() >= entries).then_some(log)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_running_job_finish_and_the_process_exits_0() {
    let (valkey, queues) = test_queues(fast_settings()).await;
    let mut child = spawn_child(&valkey, 800);
    queues.enqueue(&Marked {}, Priority::Normal).await.unwrap();
    wait_for_log(&valkey, 1, Duration::from_secs(20)).await;
    signal(&child, "TERM");
    let status = exit_of(&mut child, Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
    let pid = child.id();
    assert_eq!(
        log(&valkey).await,
        [format!("started {pid} 1"), format!("finished {pid} 1")]
    );
    assert_eq!(
        queues
            .depth(JobType::Scrape, Priority::Normal)
            .await
            .unwrap()
            .total(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_workers_job_is_rerun_by_another_process_after_the_orphan_timeout() {
    let settings = fast_settings();
    let timeout = settings.orphan_timeout();
    let (valkey, queues) = test_queues(settings).await;
    let mut doomed = spawn_child(&valkey, 60_000);
    queues.enqueue(&Marked {}, Priority::Normal).await.unwrap();
    wait_for_log(&valkey, 1, Duration::from_secs(20)).await;
    signal(&doomed, "KILL");
    exit_of(&mut doomed, Duration::from_secs(5)).await;
    let killed = Instant::now();

    let mut rescuer = spawn_child(&valkey, 0);
    let entries = wait_for_log(&valkey, 3, timeout + Duration::from_secs(20)).await;
    let recovered = killed.elapsed();
    eprintln!("orphan re-run by another process {recovered:?} after SIGKILL (timeout {timeout:?})");
    let rescuer_pid = rescuer.id();
    assert_eq!(entries[0], format!("started {} 1", doomed.id()));
    assert_eq!(
        entries[1..],
        [
            format!("started {rescuer_pid} 1"),
            format!("finished {rescuer_pid} 1")
        ]
    );
    assert!(
        recovered >= timeout - Duration::from_secs(1),
        "{recovered:?}"
    );
    signal(&rescuer, "TERM");
    assert!(
        exit_of(&mut rescuer, Duration::from_secs(10))
            .await
            .success()
    );
}
