//! Shutdown: running jobs finish within the grace period, or go back to their queue.

use std::time::Duration;

use fred::prelude::SortedSetsInterface;
use serde::{Deserialize, Serialize};
use wump_core::jobs::{JobPayload, JobType, Priority};
use wump_worker::{
    jobs::{BackgroundJob, Delivery, JobError, JobOutcome},
    queue::Runner,
};

use super::support::{Log, Running, eventually, fast_settings, test_queues};

#[derive(Debug, Serialize, Deserialize)]
struct Slow {
    millis: u64,
}

impl JobPayload for Slow {
    const JOB_TYPE: JobType = JobType::Cleanup;
}

impl BackgroundJob for Slow {
    type Context = Log;

    async fn run(&self, log: &Log, delivery: &Delivery) -> Result<JobOutcome, JobError> {
        let attempt = delivery.attempt;
        log.push("started", attempt);
        tokio::time::sleep(Duration::from_millis(self.millis)).await;
        log.push("finished", attempt);
        Ok(JobOutcome::default())
    }
}

async fn started(log: &Log) {
    eventually("the job started", Duration::from_secs(5), || async {
        (log.len() == 1).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_running_at_shutdown_finishes_within_the_grace_period() {
    let (valkey, queues) = test_queues(fast_settings()).await;
    let log = Log::default();
    let running = Running::start(
        Runner::new(queues.clone(), Duration::from_secs(5)).register::<Slow>(log.clone()),
    );
    queues
        .enqueue(&Slow { millis: 700 }, Priority::Normal)
        .await
        .unwrap();
    started(&log).await;
    let took = running.stop().await;
    eprintln!("graceful stop took {took:?}");
    assert_eq!(log.len(), 2, "the job finished before the runner returned");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let depth = queues
        .depth(JobType::Cleanup, Priority::Normal)
        .await
        .unwrap();
    assert_eq!(depth.total(), 0, "{depth:?}");
    // Unregistered (apalis' own close leaves the name in the workers set).
    for priority in Priority::ALL {
        let workers = format!("{}:workers", queues.name(JobType::Cleanup, priority));
        let count: u64 = valkey.pool().zcard(&workers).await.unwrap();
        assert_eq!(count, 0, "{workers}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_outlasting_the_grace_period_goes_back_to_its_queue() {
    let (_valkey, queues) = test_queues(fast_settings()).await;
    let log = Log::default();
    let running = Running::start(
        Runner::new(queues.clone(), Duration::from_secs(1)).register::<Slow>(log.clone()),
    );
    queues
        .enqueue(&Slow { millis: 60_000 }, Priority::High)
        .await
        .unwrap();
    started(&log).await;
    let took = running.stop().await;
    eprintln!("stop after the grace period took {took:?}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    assert_eq!(log.len(), 1, "the job did not finish");
    let depth = queues
        .depth(JobType::Cleanup, Priority::High)
        .await
        .unwrap();
    assert_eq!(
        (depth.pending, depth.running),
        (1, 0),
        "handed back at once: {depth:?}"
    );

    // The next worker runs it straight away (no orphan timeout to wait for).
    let log = Log::default();
    let next = Running::start(
        Runner::new(queues.clone(), Duration::from_secs(1)).register::<Slow>(log.clone()),
    );
    started(&log).await;
    next.kill().await;
}
