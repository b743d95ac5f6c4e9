//! The worker's OpenTelemetry metrics, on the meter `wump-worker` (exported when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set; see `wump_core::telemetry`; otherwise no-ops).
//!
//! - `wump.job.duration` (histogram, seconds) and `wump.jobs` (counter), both by `job_type`
//!   and `outcome` (`completed`, `retried` — a rate-limit wait included —, `dead` after the
//!   last attempt, `permanent` for an error retries cannot fix);
//! - `wump.queue.depth` by `queue` (pending + scheduled + running), `wump.queue.depth_total`
//!   over every queue (what autoscaling reads) and `wump.dead_letters.size`: gauges over the
//!   latest [`QueueGauges::sample`], taken every `worker.metrics_interval_secs`.
//!
//! Provider requests and rate-limit waits are recorded by `wump_providers`.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use opentelemetry::{
    KeyValue,
    metrics::{Counter, Histogram, Meter, ObservableGauge},
};
use wump_core::jobs::JobType;

use crate::queue::{QueueError, Queues, QueuesSnapshot};

/// The meter every worker instrument is created on.
pub fn meter() -> Meter {
    opentelemetry::global::meter("wump-worker")
}

/// How one handling of a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    /// Back on its queue for another attempt or after a provider's wait.
    Retried,
    /// Its last attempt failed: dead-lettered.
    Dead,
    /// Failed in a way retries cannot fix: dead-lettered at once.
    Permanent,
}

impl Outcome {
    /// The `outcome` attribute.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Retried => "retried",
            Outcome::Dead => "dead",
            Outcome::Permanent => "permanent",
        }
    }
}

/// Job durations and counts by type and outcome.
#[derive(Debug, Clone)]
pub struct JobMetrics {
    duration: Histogram<f64>,
    jobs: Counter<u64>,
}

impl JobMetrics {
    /// The job instruments on `meter`.
    pub fn new(meter: &Meter) -> Self {
        Self {
            duration: meter
                .f64_histogram("wump.job.duration")
                .with_unit("s")
                .with_description("How long one handling of a job took, by type and outcome")
                .build(),
            jobs: meter
                .u64_counter("wump.jobs")
                .with_description("Jobs handled, by type and outcome")
                .build(),
        }
    }

    /// Records one handling of a `job_type` job.
    pub fn record(&self, job_type: JobType, outcome: Outcome, duration: Duration) {
        let attributes = [
            KeyValue::new("job_type", job_type.as_str()),
            KeyValue::new("outcome", outcome.as_str()),
        ];
        self.duration.record(duration.as_secs_f64(), &attributes);
        self.jobs.add(1, &attributes);
    }
}

/// Queue-depth and dead-letter gauges reporting the latest sample (nothing before the
/// first), so an export never waits on Valkey.
#[derive(Clone)]
pub struct QueueGauges {
    latest: Arc<Mutex<Option<QueuesSnapshot>>>,
    _gauges: Arc<[ObservableGauge<u64>; 3]>,
}

impl std::fmt::Debug for QueueGauges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueGauges")
            .field("latest", &self.latest)
            .finish_non_exhaustive()
    }
}

impl QueueGauges {
    /// Registers the gauges on `meter`.
    pub fn new(meter: &Meter) -> Self {
        let latest: Arc<Mutex<Option<QueuesSnapshot>>> = Arc::default();
        let read = |latest: &Arc<Mutex<Option<QueuesSnapshot>>>| {
            latest.lock().unwrap_or_else(|e| e.into_inner()).clone()
        };
        let depth = {
            let latest = latest.clone();
            meter
                .u64_observable_gauge("wump.queue.depth")
                .with_description("Jobs pending, scheduled or running, by queue")
                .with_callback(move |observer| {
                    for (queue, depth) in read(&latest).iter().flat_map(|s| &s.queues) {
                        observer.observe(depth.total(), &[KeyValue::new("queue", queue.clone())]);
                    }
                })
                .build()
        };
        let total = {
            let latest = latest.clone();
            meter
                .u64_observable_gauge("wump.queue.depth_total")
                .with_description("Jobs pending, scheduled or running in every queue")
                .with_callback(move |observer| {
                    if let Some(snapshot) = read(&latest) {
                        let total = snapshot.queues.iter().map(|(_, d)| d.total()).sum();
                        observer.observe(total, &[]);
                    }
                })
                .build()
        };
        let dead = {
            let latest = latest.clone();
            meter
                .u64_observable_gauge("wump.dead_letters.size")
                .with_description("Jobs in the dead-letter list")
                .with_callback(move |observer| {
                    if let Some(snapshot) = read(&latest) {
                        observer.observe(snapshot.dead_letters, &[]);
                    }
                })
                .build()
        };
        Self {
            latest,
            _gauges: Arc::new([depth, total, dead]),
        }
    }

    /// Reads every queue's depth and the dead-letter size for the gauges to report.
    pub async fn sample(&self, queues: &Queues) -> Result<(), QueueError> {
        let snapshot = queues.snapshot().await?;
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(snapshot);
        Ok(())
    }

    /// Samples every `interval`, forever (a failed read keeps the previous sample).
    pub async fn sample_every(self, queues: Queues, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(error) = self.sample(&queues).await {
                tracing::debug!(%error, "sampling queue depths for metrics");
            }
        }
    }
}
