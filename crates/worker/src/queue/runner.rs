//! Running jobs: one apalis worker per queue under a `Monitor`; around every run its
//! `job_executions` row, its follow-ups, our retry policy, metrics and span; graceful
//! shutdown that hands unfinished jobs back.

use std::{
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use apalis::prelude::{BackendExt, Monitor, WorkerBuilder, WorkerBuilderExt};
use wump_core::jobs::{JobType, Priority};
use wump_db::DbPool;

use super::{DeadJob, Envelope, FailedAttempt, QueueError, Queues, database_wait, retry_delay};
use crate::{
    jobs::{
        BackgroundJob, Delivery, JobError, Retry, RetryPolicy, enqueue_follow_ups, run_recorded,
    },
    metrics::{self, JobMetrics, Outcome},
};

/// Puts a stopped worker's jobs back at the head of its queue and unregisters it (apalis'
/// own close removes the wrong member from the workers set and keeps the metadata).
const HAND_BACK: &str = r#"
local ids = redis.call('SMEMBERS', KEYS[1])
for i = #ids, 1, -1 do
  redis.call('LPUSH', KEYS[2], ids[i])
  local meta = KEYS[4] .. ':' .. ids[i]
  redis.call('HSET', meta, 'status', 'Pending')
  redis.call('HDEL', meta, 'locked_at', 'locked_by')
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[5])
return #ids
"#;

/// `wump-<host>-<pid>-<random>`: unique per process, as apalis-redis requires.
pub fn worker_base_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().replace([':', '{', '}', ' '], "-"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let random: u32 = rand::random();
    format!("wump-{host}-{}-{random:08x}", std::process::id())
}

/// Runs the registered jobs' queues until a shutdown signal.
pub struct Runner {
    queues: Queues,
    monitor: Monitor,
    base_name: String,
    grace: Duration,
    /// Every worker name started, so shutdown can hand back what each still holds.
    started: Arc<Mutex<Vec<(JobType, Priority, String)>>>,
    in_flight: InFlight,
    metrics: JobMetrics,
    /// Where runs are recorded (`job_executions`); `None` records nothing.
    executions: Option<DbPool>,
    /// The queues registered, for promoting their due jobs.
    registered: Vec<(JobType, Priority)>,
}

/// How many jobs this process is running right now (see [`Runner::in_flight`]).
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// Jobs being handled (run, retried or dead-lettered) at this moment.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    fn enter(&self) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self.0.clone())
    }
}

struct InFlightGuard(Arc<AtomicUsize>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("base_name", &self.base_name)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// A runner over `queues`; after a shutdown signal, running jobs get `grace` to finish.
    pub fn new(queues: Queues, grace: Duration) -> Self {
        Self {
            queues,
            monitor: Monitor::new(),
            base_name: worker_base_name(),
            grace,
            started: Arc::default(),
            in_flight: InFlight::default(),
            metrics: JobMetrics::new(&metrics::meter()),
            executions: None,
            registered: Vec::new(),
        }
    }

    /// Records every run of the jobs registered after this in `job_executions` on `db`:
    /// `running` before it starts, then how it ended (see [`run_recorded`]).
    #[must_use]
    pub fn record_runs(mut self, db: DbPool) -> Self {
        self.executions = Some(db);
        self
    }

    /// Records job metrics on `meter` instead of the global `wump-worker` meter (tests).
    /// Call before [`Runner::register`].
    #[must_use]
    pub fn with_meter(mut self, meter: &opentelemetry::metrics::Meter) -> Self {
        self.metrics = JobMetrics::new(meter);
        self
    }

    /// A live count of the jobs this runner is handling (for `run --until-idle`).
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.clone()
    }

    /// The prefix of this runner's worker names.
    pub fn base_name(&self) -> &str {
        &self.base_name
    }

    /// Runs `J` from its three queues (high, normal, low), each with its configured
    /// concurrency.
    #[must_use]
    pub fn register<J: BackgroundJob>(mut self, ctx: J::Context) -> Self {
        let handler = Arc::new(Handler::<J> {
            queues: self.queues.clone(),
            policy: J::retry_policy(&ctx),
            ctx,
            in_flight: self.in_flight.clone(),
            metrics: self.metrics.clone(),
            executions: self.executions.clone(),
        });
        for priority in Priority::ALL {
            self.registered.push((J::JOB_TYPE, priority));
            let concurrency = self
                .queues
                .settings()
                .concurrency_for(J::JOB_TYPE, priority);
            let poll = self.queues.settings().poll_interval();
            let storage = self.queues.storage(J::JOB_TYPE, priority);
            let name = format!("{}-{}-{}", self.base_name, J::JOB_TYPE, priority.as_str());
            let started = self.started.clone();
            let handler = handler.clone();
            self.monitor = self.monitor.register(move |restarts| {
                // A restarted worker needs a new name: apalis refuses a recent one.
                let name = format!("{name}-{restarts}");
                started
                    .lock()
                    .expect("worker names")
                    .push((J::JOB_TYPE, priority, name.clone()));
                let handler = handler.clone();
                let pause = Duration::from_secs((restarts as u64).min(10));
                WorkerBuilder::new(name)
                    .backend(
                        storage
                            .clone()
                            .poll_with_interval(poll)
                            // Do not spin while Valkey is away.
                            .before_start(move |_| async move {
                                tokio::time::sleep(pause).await;
                                Ok(())
                            }),
                    )
                    .concurrency(concurrency)
                    .build(move |envelope: Envelope| {
                        let handler = handler.clone();
                        async move { handler.handle(envelope).await }
                    })
            });
        }
        self
    }

    /// Runs until `signal` resolves ([`shutdown_signal`] in the binary); then stops
    /// fetching, waits up to the grace period for running jobs, and hands back whatever is
    /// unfinished. Returns at once when no job type is registered.
    ///
    /// ```ignore
    /// let runner = Runner::new(queues, Duration::from_secs(settings.worker.shutdown_grace_secs))
    ///     .register::<ScrapeJob>(ctx.clone())
    ///     .register::<ParseJob>(ctx);
    /// runner.run_until(shutdown_signal()).await?;
    /// ```
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send,
    ) -> Result<(), QueueError> {
        let Runner {
            queues,
            monitor,
            grace,
            started,
            registered,
            ..
        } = self;
        let _housekeeping = AbortOnDrop(tokio::spawn(forget_done_periodically(queues.clone())));
        let _promotion = AbortOnDrop(tokio::spawn(promote_due_periodically(
            queues.clone(),
            registered,
        )));
        let monitor = monitor
            .should_restart(|worker, error| {
                tracing::warn!(worker = worker.name(), %error, "queue worker failed; restarting");
                true
            })
            .shutdown_timeout(grace);
        let result = monitor
            .run_with_signal(async move {
                signal.await;
                tracing::info!(grace_secs = grace.as_secs(), "stopping queue workers");
                Ok(())
            })
            .await;
        let names = std::mem::take(&mut *started.lock().expect("worker names"));
        let mut handed_back = 0;
        for (job_type, priority, name) in names {
            handed_back += hand_back(&queues, job_type, priority, &name).await?;
        }
        if handed_back > 0 {
            tracing::warn!(
                jobs = handed_back,
                "unfinished jobs handed back to their queues"
            );
        }
        if let Err(error) = result {
            tracing::warn!(%error, "queue workers stopped with errors");
        }
        tracing::info!("queue workers stopped");
        Ok(())
    }
}

/// Resolves on SIGTERM (what ECS and `docker stop` send) or Ctrl-C: the signal for
/// [`Runner::run_until`].
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("interrupted"),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Returns `name`'s jobs to the queue and unregisters it; returns how many.
pub(crate) async fn hand_back(
    queues: &Queues,
    job_type: JobType,
    priority: Priority,
    name: &str,
) -> Result<u64, QueueError> {
    let config = queues.config(job_type, priority);
    let mut conn = queues.connection();
    Ok(redis::Script::new(HAND_BACK)
        .key(format!("{}:{name}", config.inflight_jobs_set()))
        .key(config.active_jobs_list())
        .key(config.workers_set())
        .key(config.job_meta_hash())
        .key(format!("{}:workers:metadata:{name}", config.queue.as_ref()))
        .arg(name)
        .invoke_async(&mut conn)
        .await?)
}

async fn forget_done_periodically(queues: Queues) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        for job_type in JobType::ALL {
            for priority in Priority::ALL {
                if let Err(error) = queues.forget_done(job_type, priority, 1_000).await {
                    tracing::debug!(%error, "forgetting finished jobs");
                }
            }
        }
    }
}

/// Every second (the queue clock's tick), moves the due jobs of the queues this process
/// runs from their scheduled sets to their active lists in bounded batches, so a burst of
/// retries coming due at once never reaches apalis' unbounded promotion
/// (`Queues::promote_due`).
async fn promote_due_periodically(queues: Queues, registered: Vec<(JobType, Priority)>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        for (job_type, priority) in &registered {
            if let Err(error) = queues.promote_due(*job_type, *priority).await {
                tracing::debug!(%error, "promoting due jobs");
            }
        }
    }
}

/// Aborts a spawned task when dropped (the monitor drops running jobs after the grace).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs one job type's envelopes with our retry policy.
struct Handler<J: BackgroundJob> {
    queues: Queues,
    /// The job type's own attempts and backoff, when not the queues'.
    policy: Option<RetryPolicy>,
    ctx: J::Context,
    in_flight: InFlight,
    metrics: JobMetrics,
    executions: Option<DbPool>,
}

/// One run as the queue delivered it: recorded when the runner records, then its
/// follow-ups enqueued (whatever a sink in the context did not take yet, and every
/// follow-up of jobs without one); failing to enqueue them retries the (idempotent) run.
async fn run_delivered<J: BackgroundJob>(
    job: J,
    ctx: J::Context,
    delivery: Delivery,
    queues: Queues,
    executions: Option<DbPool>,
) -> Result<(), JobError> {
    let outcome = match &executions {
        Some(db) => run_recorded(db, &job, &ctx, &delivery).await?,
        None => job.run(&ctx, &delivery).await?,
    };
    enqueue_follow_ups(&queues, &outcome.follow_ups).await?;
    if outcome.events_recorded > 0 {
        // New dependency events: match them against the webhook subscriptions now rather
        // than at the next scheduled dispatch.
        queues
            .enqueue(&wump_core::jobs::DispatchJob {}, Priority::Normal)
            .await
            .map_err(|e| JobError::Valkey(wump_db::ValkeyError::Unavailable(e.to_string())))?;
    }
    Ok(())
}

impl<J: BackgroundJob> Handler<J> {
    /// Runs one attempt. Job failures are handled here (retry or dead-letter) and never
    /// reach apalis, whose own retries ignore our limit; an `Err` means our bookkeeping
    /// failed (Valkey away), and apalis' retry of the attempt is then what we want.
    async fn handle(&self, envelope: Envelope) -> Result<(), QueueError> {
        let _in_flight = self.in_flight.enter();
        let started = Instant::now();
        let attempt = envelope.attempt;
        let span = tracing::info_span!(
            "job",
            job.id = %envelope.id,
            job.type = %J::JOB_TYPE,
            job.priority = envelope.priority.as_str(),
            job.attempt = attempt,
        );
        let outcome = match serde_json::from_value::<J>(envelope.payload.clone()) {
            Err(error) => Err(JobError::Payload(error.to_string())),
            Ok(job) => {
                let delivery = Delivery {
                    id: envelope.id,
                    queue: self.queues.name(J::JOB_TYPE, envelope.priority),
                    priority: envelope.priority,
                    attempt,
                };
                let run = tokio::spawn(run_delivered(
                    job,
                    self.ctx.clone(),
                    delivery,
                    self.queues.clone(),
                    self.executions.clone(),
                ));
                let mut guard = AbortOnDrop(run);
                match (&mut guard.0).await {
                    Ok(outcome) => outcome,
                    Err(error) if error.is_panic() => Err(JobError::Panicked),
                    Err(error) => Err(JobError::Cancelled(error.to_string())),
                }
            }
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let outcome = match outcome {
            Ok(()) => {
                span.in_scope(|| tracing::info!(duration_ms, "job completed"));
                Outcome::Completed
            }
            Err(error) => self.failed(envelope, error, duration_ms, &span).await?,
        };
        self.metrics.record(J::JOB_TYPE, outcome, started.elapsed());
        Ok(())
    }

    async fn failed(
        &self,
        mut envelope: Envelope,
        error: JobError,
        duration_ms: u64,
        span: &tracing::Span,
    ) -> Result<Outcome, QueueError> {
        let mut settings = self.queues.settings().clone();
        if let Some(policy) = self.policy {
            settings.max_attempts = policy.max_attempts;
            settings.backoff_base_ms = policy.backoff_base_ms;
            settings.backoff_max_ms = policy.backoff_max_ms;
        }
        let settings = &settings;
        let retry = error.retry();
        let permanent = retry == Retry::Never;
        // Waits already taken at this attempt: a failed attempt moves to the next number,
        // so only waits carry the current one.
        let waits = envelope
            .errors
            .iter()
            .filter(|e| e.attempt == envelope.attempt)
            .count();
        envelope.errors.push(FailedAttempt {
            attempt: envelope.attempt,
            at: chrono::Utc::now(),
            error: error.to_string(),
            permanent,
        });
        if let Retry::AfterWait(wait) = retry
            && waits < settings.max_rate_limit_waits as usize
        {
            // The queue's clock ticks in whole seconds; a zero wait would spin.
            let wait = wait.max(Duration::from_secs(1));
            span.in_scope(|| {
                tracing::warn!(
                    duration_ms,
                    retry_in_ms = wait.as_millis() as u64,
                    rate_limit_waits = waits + 1,
                    error = %error,
                    "job rate limited; will run again after the wait"
                )
            });
            self.queues.push(envelope, wait).await?;
            return Ok(Outcome::Retried);
        }
        if retry == Retry::WhenTheDatabaseReturns && waits < settings.max_database_waits as usize {
            let wait = database_wait(settings, waits as u32);
            span.in_scope(|| {
                tracing::warn!(
                    duration_ms,
                    retry_in_ms = wait.as_millis() as u64,
                    database_waits = waits + 1,
                    error = %error,
                    "job failed: the database is unavailable; will run again after the wait"
                )
            });
            self.queues.push(envelope, wait).await?;
            return Ok(Outcome::Retried);
        }
        let max_attempts = settings.max_attempts.max(1);
        if !permanent && envelope.attempt < max_attempts {
            let provider_wait = match retry {
                Retry::AfterWait(wait) => wait,
                _ => Duration::ZERO,
            };
            let delay = retry_delay(settings, envelope.attempt).max(provider_wait);
            span.in_scope(|| {
                tracing::warn!(
                    duration_ms,
                    retry_in_ms = delay.as_millis() as u64,
                    error = %error,
                    "job failed; will retry"
                )
            });
            envelope.attempt += 1;
            self.queues.push(envelope, delay).await?;
            Ok(Outcome::Retried)
        } else {
            span.in_scope(|| {
                tracing::error!(duration_ms, permanent, error = %error, "job failed; dead-lettered")
            });
            let queue = self.queues.name(envelope.job_type, envelope.priority);
            self.queues
                .dead_letters()
                .add(&DeadJob::from_envelope(envelope, queue))
                .await?;
            Ok(if permanent {
                Outcome::Permanent
            } else {
                Outcome::Dead
            })
        }
    }
}
