//! With all three queues full, high drains first and low still progresses.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use wump_core::{
    jobs::{JobPayload, JobType, Priority},
    settings::PriorityConcurrency,
};
use wump_worker::{
    jobs::{BackgroundJob, Delivery, JobError, JobOutcome},
    queue::Runner,
};

use super::support::{Log, Running, eventually, fast_settings, test_queues};

#[derive(Debug, Serialize, Deserialize)]
struct Work {
    priority: String,
}

impl JobPayload for Work {
    const JOB_TYPE: JobType = JobType::Scrape;
}

impl BackgroundJob for Work {
    type Context = Log;

    async fn run(&self, log: &Log, delivery: &Delivery) -> Result<JobOutcome, JobError> {
        let attempt = delivery.attempt;
        tokio::time::sleep(Duration::from_millis(100)).await;
        log.push(&self.priority, attempt);
        Ok(JobOutcome::default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn high_drains_first_and_low_still_progresses() {
    let mut settings = fast_settings();
    settings.concurrency = PriorityConcurrency {
        high: 4,
        normal: 2,
        low: 1,
    };
    let (_valkey, queues) = test_queues(settings).await;
    const EACH: usize = 12;
    for priority in Priority::ALL {
        for _ in 0..EACH {
            queues
                .enqueue(
                    &Work {
                        priority: priority.as_str().into(),
                    },
                    priority,
                )
                .await
                .unwrap();
        }
    }
    let log = Log::default();
    let started = Instant::now();
    let running = Running::start(
        Runner::new(queues.clone(), Duration::from_secs(2)).register::<Work>(log.clone()),
    );
    eventually("every job done", Duration::from_secs(20), || async {
        (log.len() == 3 * EACH).then_some(())
    })
    .await;
    running.stop().await;

    let entries = log.entries();
    let last = |p: &str| {
        entries
            .iter()
            .filter(|(label, _, _)| label == p)
            .map(|(_, _, at)| *at - started)
            .max()
            .unwrap()
    };
    let (high, normal, low) = (last("high"), last("normal"), last("low"));
    eprintln!("drained: high {high:?}, normal {normal:?}, low {low:?}");
    assert!(
        high < normal && normal < low,
        "high {high:?}, normal {normal:?}, low {low:?}"
    );
    let low_while_high_ran = entries
        .iter()
        .filter(|(label, _, at)| label == "low" && *at - started <= high)
        .count();
    assert!(
        low_while_high_ran >= 1,
        "low made no progress while high drained"
    );
    assert!(
        low_while_high_ran < EACH / 2,
        "low was not held back: {low_while_high_ran} done while high drained"
    );
}
