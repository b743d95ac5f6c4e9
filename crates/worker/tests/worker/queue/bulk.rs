//! Many jobs at once: a batch push lands them all in the active list, and a backlog larger
//! than Lua's `unpack` limit (about 8,000) does not stop the queue (apalis-redis' own
//! promotion of due jobs fails on every fetch beyond it).

use std::{collections::HashMap, time::Duration};

use wump_core::{
    jobs::{JobType, NoopJob, Priority},
    settings::PriorityConcurrency,
};
use wump_worker::queue::Runner;

use super::support::{Running, eventually, fast_settings, test_queues};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_beyond_luas_unpack_limit_is_pushed_active_and_drains() {
    const JOBS: usize = 9_000;
    let mut settings = fast_settings();
    settings.job_concurrency = HashMap::from([(
        JobType::Noop,
        PriorityConcurrency {
            high: 64,
            normal: 1,
            low: 1,
        },
    )]);
    let (_valkey, queues) = test_queues(settings).await;

    // Pushed while no worker fetches, as a scrape's follow-ups are during a deploy.
    let ids = queues
        .enqueue_many((0..JOBS).map(|_| (JobType::Noop, serde_json::json!({}), Priority::High)))
        .await
        .unwrap();
    assert_eq!(ids.len(), JOBS);
    let depth = queues.depth(JobType::Noop, Priority::High).await.unwrap();
    assert_eq!(depth.pending, JOBS as u64, "{depth:?}");
    assert_eq!(
        depth.scheduled, 0,
        "due jobs are promoted in batches: {depth:?}"
    );

    let running =
        Running::start(Runner::new(queues.clone(), Duration::from_secs(5)).register::<NoopJob>(()));
    eventually("the backlog to drain", Duration::from_secs(60), || async {
        let depth = queues.depth(JobType::Noop, Priority::High).await.ok()?;
        (depth.total() == 0).then_some(())
    })
    .await;
    running.stop().await;
    assert_eq!(queues.dead_letters().len().await.unwrap(), 0);
}
