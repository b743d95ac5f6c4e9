//! Attempts are capped by our count with growing delays; permanent errors skip retries.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use wump_core::jobs::{JobPayload, JobType, Priority};
use wump_providers::ProviderError;
use wump_worker::{
    jobs::{BackgroundJob, Delivery, JobError, JobOutcome},
    queue::{Runner, Selection},
};

use super::support::{Log, Running, eventually, fast_settings, test_queues};

/// Fails every time, retryably.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct AlwaysFails {
    label: String,
}

impl JobPayload for AlwaysFails {
    const JOB_TYPE: JobType = JobType::Enrich;
}

impl BackgroundJob for AlwaysFails {
    type Context = Log;

    async fn run(&self, log: &Log, delivery: &Delivery) -> Result<JobOutcome, JobError> {
        let attempt = delivery.attempt;
        log.push(&self.label, attempt);
        Err(JobError::Provider(ProviderError::Upstream {
            provider: "upstream".into(),
            status: 503,
            message: format!("unavailable on attempt {attempt}"),
        }))
    }
}

/// Fails in a way retries cannot fix.
#[derive(Debug, Serialize, Deserialize)]
struct FailsForGood {
    label: String,
}

impl JobPayload for FailsForGood {
    const JOB_TYPE: JobType = JobType::Parse;
}

impl BackgroundJob for FailsForGood {
    type Context = Log;

    async fn run(&self, log: &Log, delivery: &Delivery) -> Result<JobOutcome, JobError> {
        let attempt = delivery.attempt;
        log.push(&self.label, attempt);
        Err(JobError::NotFound("repository is gone (404)".into()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_gets_three_attempts_with_growing_delays_then_is_dead_lettered_and_can_be_replayed()
 {
    let (_valkey, queues) = test_queues(fast_settings()).await;
    let log = Log::default();
    let running = Running::start(
        Runner::new(queues.clone(), Duration::from_secs(2)).register::<AlwaysFails>(log.clone()),
    );
    let dead = queues.dead_letters();
    let id = queues
        .enqueue(
            &AlwaysFails {
                label: "flaky".into(),
            },
            Priority::Normal,
        )
        .await
        .unwrap();

    let job = eventually(
        "the job in the dead-letter list",
        Duration::from_secs(15),
        || async { dead.show(id).await.unwrap() },
    )
    .await;
    let attempts = log.entries();
    assert_eq!(
        attempts.iter().map(|(_, a, _)| *a).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let first_gap = attempts[1].2 - attempts[0].2;
    let second_gap = attempts[2].2 - attempts[1].2;
    eprintln!("retry delays: {first_gap:?}, {second_gap:?}");
    // base 1 s and 2 s, +≤25% jitter, rounded up to the queue's whole-second clock.
    assert!(first_gap >= Duration::from_millis(1_000), "{first_gap:?}");
    assert!(second_gap >= Duration::from_millis(2_000), "{second_gap:?}");
    assert!(first_gap < Duration::from_millis(2_600), "{first_gap:?}");
    assert!(second_gap < Duration::from_millis(3_800), "{second_gap:?}");

    assert_eq!(job.attempts, 3);
    assert_eq!(job.job_type, JobType::Enrich);
    assert_eq!(job.queue, queues.name(JobType::Enrich, Priority::Normal));
    assert_eq!(job.payload, serde_json::json!({ "label": "flaky" }));
    assert_eq!(job.errors.len(), 3);
    assert!(job.first_error().unwrap().error.contains("attempt 1"));
    assert!(job.last_error().unwrap().error.contains("attempt 3"));
    assert!(!job.permanent());
    assert!(job.errors[0].at < job.errors[2].at);
    assert_eq!(dead.len().await.unwrap(), 1);
    // Nothing is left in the queue once apalis acks the last attempt: its own retries (up
    // to attempt 25) never start.
    eventually("the queue empty", Duration::from_secs(5), || async {
        let depth = queues
            .depth(JobType::Enrich, Priority::Normal)
            .await
            .unwrap();
        (depth.total() == 0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(log.len(), 3, "no attempt after the dead-lettering");

    // Replay: fresh attempts 1, 2, 3 again, then back in the list.
    assert_eq!(dead.replay(Selection::One(id)).await.unwrap(), [id]);
    assert!(dead.show(id).await.unwrap().is_none());
    let job = eventually(
        "the replayed job dead again",
        Duration::from_secs(15),
        || async { dead.show(id).await.unwrap() },
    )
    .await;
    assert_eq!(
        log.entries().iter().map(|(_, a, _)| *a).collect::<Vec<_>>(),
        [1, 2, 3, 1, 2, 3]
    );
    assert_eq!(job.attempts, 3);

    // Purge.
    assert_eq!(dead.purge(Selection::One(id)).await.unwrap(), 1);
    assert!(dead.is_empty().await.unwrap());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_errors_and_malformed_payloads_skip_retries() {
    let (_valkey, queues) = test_queues(fast_settings()).await;
    let log = Log::default();
    let running = Running::start(
        Runner::new(queues.clone(), Duration::from_secs(2)).register::<FailsForGood>(log.clone()),
    );
    let dead = queues.dead_letters();
    let gone = queues
        .enqueue(
            &FailsForGood {
                label: "gone".into(),
            },
            Priority::High,
        )
        .await
        .unwrap();
    let malformed = queues
        .enqueue_payload(
            JobType::Parse,
            serde_json::json!({ "nope": 1 }),
            Priority::Low,
        )
        .await
        .unwrap();

    let jobs = eventually("both jobs dead", Duration::from_secs(10), || async {
        let jobs = dead.list().await.unwrap();
        (jobs.len() == 2).then_some(jobs)
    })
    .await;
    let gone_job = jobs.iter().find(|j| j.id == gone).unwrap();
    assert_eq!(gone_job.attempts, 1);
    assert!(gone_job.permanent());
    assert!(gone_job.last_error().unwrap().error.contains("404"));
    let malformed_job = jobs.iter().find(|j| j.id == malformed).unwrap();
    assert_eq!(malformed_job.attempts, 1);
    assert!(
        malformed_job
            .last_error()
            .unwrap()
            .error
            .contains("malformed payload")
    );
    assert_eq!(
        malformed_job.queue,
        queues.name(JobType::Parse, Priority::Low)
    );
    // The malformed one never reached the job's code.
    assert_eq!(log.entries().len(), 1);
    running.stop().await;
}

/// Succeeds, noting when it started.
#[derive(Debug, Serialize, Deserialize)]
struct Quick {}

impl JobPayload for Quick {
    const JOB_TYPE: JobType = JobType::Cleanup;
}

impl BackgroundJob for Quick {
    type Context = Log;

    async fn run(&self, log: &Log, delivery: &Delivery) -> Result<JobOutcome, JobError> {
        let attempt = delivery.attempt;
        log.push("ran", attempt);
        Ok(JobOutcome::default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_worker_picks_up_a_new_job_within_a_poll_interval_or_so() {
    let (_valkey, queues) = test_queues(fast_settings()).await;
    let log = Log::default();
    let running = Running::start(
        Runner::new(queues.clone(), Duration::from_secs(2)).register::<Quick>(log.clone()),
    );
    // Let the workers register and go idle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut latencies = Vec::new();
    for n in 1..=5 {
        let enqueued = std::time::Instant::now();
        queues.enqueue(&Quick {}, Priority::Normal).await.unwrap();
        let started = eventually("the job ran", Duration::from_secs(5), || async {
            log.entries().get(n - 1).map(|(_, _, at)| *at)
        })
        .await;
        latencies.push(started - enqueued);
    }
    eprintln!("idle pickup latencies (poll 50 ms): {latencies:?}");
    // Every push goes through apalis' schedule, promoted on the next poll.
    assert!(
        latencies.iter().all(|l| *l < Duration::from_millis(1_000)),
        "{latencies:?}"
    );
    running.stop().await;
}

/// Rate limited on its first `limited` runs (the provider asks for `wait_secs`), then done.
#[derive(Debug, Serialize, Deserialize)]
struct RateLimited {
    limited: usize,
    wait_secs: u64,
}

impl JobPayload for RateLimited {
    const JOB_TYPE: JobType = JobType::Scrape;
}

impl BackgroundJob for RateLimited {
    type Context = Log;

    async fn run(&self, log: &Log, delivery: &Delivery) -> Result<JobOutcome, JobError> {
        let attempt = delivery.attempt;
        log.push("rate limited", attempt);
        if log.len() <= self.limited {
            return Err(JobError::Provider(ProviderError::RateLimited {
                provider: "github".into(),
                retry_after: Duration::from_secs(self.wait_secs),
            }));
        }
        Ok(JobOutcome::default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_job_runs_again_after_the_providers_wait_at_the_same_attempt() {
    let (_valkey, queues) = test_queues(fast_settings()).await;
    let log = Log::default();
    let running = Running::start(
        Runner::new(queues.clone(), Duration::from_secs(2)).register::<RateLimited>(log.clone()),
    );
    queues
        .enqueue(
            &RateLimited {
                limited: 1,
                wait_secs: 3,
            },
            Priority::Normal,
        )
        .await
        .unwrap();
    eventually("the second run", Duration::from_secs(15), || async {
        (log.len() == 2).then_some(())
    })
    .await;
    running.stop().await;

    let runs = log.entries();
    let gap = runs[1].2 - runs[0].2;
    eprintln!("rate-limit wait of 3 s: ran again after {gap:?}");
    // The backoff would have been 1–1.25 s (fast_settings): this is the provider's wait.
    assert!(gap >= Duration::from_secs(3), "{gap:?}");
    assert_eq!(
        runs.iter().map(|(_, a, _)| *a).collect::<Vec<_>>(),
        [1, 1],
        "a rate-limit wait spends no attempt"
    );
    assert_eq!(queues.dead_letters().len().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_waits_beyond_the_cap_spend_attempts_until_the_dead_letter_list() {
    let settings = wump_core::settings::QueueSettings {
        max_attempts: 2,
        max_rate_limit_waits: 1,
        ..fast_settings()
    };
    let (_valkey, queues) = test_queues(settings).await;
    let log = Log::default();
    let running = Running::start(
        Runner::new(queues.clone(), Duration::from_secs(2)).register::<RateLimited>(log.clone()),
    );
    let dead = queues.dead_letters();
    let id = queues
        .enqueue(
            &RateLimited {
                limited: usize::MAX,
                wait_secs: 1,
            },
            Priority::Normal,
        )
        .await
        .unwrap();
    let job = eventually("the dead job", Duration::from_secs(20), || async {
        dead.show(id).await.unwrap()
    })
    .await;
    running.stop().await;

    // Per attempt: one free wait, then a wait that spends the attempt.
    assert_eq!(
        log.entries().iter().map(|(_, a, _)| *a).collect::<Vec<_>>(),
        [1, 1, 2, 2]
    );
    assert_eq!(job.attempts, 2);
    assert_eq!(job.errors.len(), 4);
    assert!(job.last_error().unwrap().error.contains("rate limited"));
}

/// Fails `unavailable` times the way a job does while PostgreSQL is down (a real pool's
/// checkout against a port nothing listens on), then succeeds.
#[derive(Debug, Serialize, Deserialize)]
struct DatabaseDown {
    unavailable: usize,
}

impl JobPayload for DatabaseDown {
    const JOB_TYPE: JobType = JobType::Parse;
}

impl BackgroundJob for DatabaseDown {
    type Context = Log;

    async fn run(&self, log: &Log, delivery: &Delivery) -> Result<JobOutcome, JobError> {
        let attempt = delivery.attempt;
        log.push("database down", attempt);
        if log.len() <= self.unavailable {
            let settings = wump_core::settings::DatabaseSettings {
                url: "postgres://wump:wump@127.0.0.1:1/wump".to_owned().into(),
                connect_timeout_ms: 500,
                ..Default::default()
            };
            let pool = wump_db::connect(&settings)?;
            let error = wump_db::pool::checkout(&pool).await.unwrap_err();
            assert!(error.is_unavailable(), "{error}");
            return Err(JobError::Database(error));
        }
        Ok(JobOutcome::default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_failing_on_an_unavailable_database_runs_again_at_the_same_attempt() {
    let settings = wump_core::settings::QueueSettings {
        max_attempts: 1,
        ..fast_settings()
    };
    let (_valkey, queues) = test_queues(settings).await;
    let log = Log::default();
    let running = Running::start(
        Runner::new(queues.clone(), Duration::from_secs(2)).register::<DatabaseDown>(log.clone()),
    );
    queues
        .enqueue(&DatabaseDown { unavailable: 2 }, Priority::Normal)
        .await
        .unwrap();
    eventually("the third run", Duration::from_secs(20), || async {
        (log.len() == 3).then_some(())
    })
    .await;
    running.stop().await;

    let runs = log.entries();
    assert_eq!(
        runs.iter().map(|(_, a, _)| *a).collect::<Vec<_>>(),
        [1, 1, 1],
        "waiting for the database spends no attempt, even with a single attempt"
    );
    // Waits of 1 s then 2 s (each plus jitter): it does not spin while the database is away.
    let second_wait = runs[2].2 - runs[1].2;
    assert!(second_wait >= Duration::from_secs(2), "{second_wait:?}");
    assert_eq!(queues.dead_letters().len().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_waits_beyond_the_cap_spend_attempts_until_the_dead_letter_list() {
    let settings = wump_core::settings::QueueSettings {
        max_attempts: 2,
        max_database_waits: 1,
        ..fast_settings()
    };
    let (_valkey, queues) = test_queues(settings).await;
    let log = Log::default();
    let running = Running::start(
        Runner::new(queues.clone(), Duration::from_secs(2)).register::<DatabaseDown>(log.clone()),
    );
    let dead = queues.dead_letters();
    let id = queues
        .enqueue(
            &DatabaseDown {
                unavailable: usize::MAX,
            },
            Priority::Normal,
        )
        .await
        .unwrap();
    let job = eventually("the dead job", Duration::from_secs(20), || async {
        dead.show(id).await.unwrap()
    })
    .await;
    running.stop().await;

    // Per attempt: one free wait, then a failure that spends the attempt.
    assert_eq!(
        log.entries().iter().map(|(_, a, _)| *a).collect::<Vec<_>>(),
        [1, 1, 2, 2]
    );
    assert_eq!(job.attempts, 2);
    assert_eq!(job.errors.len(), 4);
    assert!(
        job.last_error()
            .unwrap()
            .error
            .contains("database unavailable")
    );
}
