//! A worker that dies mid-job: another worker re-runs the job after the orphan timeout
//! (heartbeat × missed heartbeats).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use wump_core::jobs::{JobPayload, JobType, Priority};
use wump_worker::{
    jobs::{BackgroundJob, Delivery, JobError, JobOutcome},
    queue::Runner,
};

use super::support::{Log, Running, eventually, fast_settings, test_queues};

#[derive(Debug, Serialize, Deserialize)]
struct Blocks {}

/// `hangs`: the first worker's jobs never finish (until it is killed).
#[derive(Debug, Clone)]
struct Ctx {
    log: Log,
    name: &'static str,
    hangs: bool,
}

impl JobPayload for Blocks {
    const JOB_TYPE: JobType = JobType::Discover;
}

impl BackgroundJob for Blocks {
    type Context = Ctx;

    async fn run(&self, ctx: &Ctx, delivery: &Delivery) -> Result<JobOutcome, JobError> {
        let attempt = delivery.attempt;
        ctx.log.push(ctx.name, attempt);
        if ctx.hangs {
            std::future::pending::<()>().await;
        }
        Ok(JobOutcome::default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_job_is_rerun_by_another_after_the_orphan_timeout() {
    let settings = fast_settings();
    let timeout = settings.orphan_timeout();
    let (_valkey, queues) = test_queues(settings).await;
    let log = Log::default();
    let doomed = Running::start(
        Runner::new(queues.clone(), Duration::from_secs(1)).register::<Blocks>(Ctx {
            log: log.clone(),
            name: "doomed",
            hangs: true,
        }),
    );
    queues.enqueue(&Blocks {}, Priority::Normal).await.unwrap();
    eventually(
        "the first worker holds the job",
        Duration::from_secs(5),
        || async { (log.len() == 1).then_some(()) },
    )
    .await;
    doomed.kill().await;
    let killed = Instant::now();
    assert_eq!(
        queues
            .depth(JobType::Discover, Priority::Normal)
            .await
            .unwrap()
            .running,
        1
    );

    let rescuer = Running::start(
        Runner::new(queues.clone(), Duration::from_secs(1)).register::<Blocks>(Ctx {
            log: log.clone(),
            name: "rescuer",
            hangs: false,
        }),
    );
    eventually(
        "another worker re-runs the job",
        timeout + Duration::from_secs(5),
        || async { (log.len() == 2).then_some(()) },
    )
    .await;
    let recovered = killed.elapsed();
    eprintln!("orphan recovered after {recovered:?} (timeout {timeout:?})");
    let entries = log.entries();
    assert_eq!(entries[1].0, "rescuer");
    // Liveness is kept in whole seconds: up to a second early, plus a heartbeat late.
    assert!(
        recovered >= timeout - Duration::from_secs(1),
        "{recovered:?}"
    );
    assert!(
        recovered < timeout + Duration::from_secs(3),
        "{recovered:?}"
    );
    eventually("the queue empty", Duration::from_secs(5), || async {
        (queues
            .depth(JobType::Discover, Priority::Normal)
            .await
            .unwrap()
            .total()
            == 0)
            .then_some(())
    })
    .await;
    rescuer.stop().await;
}
