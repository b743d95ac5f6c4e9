//! The runner's job metrics and the queue gauges, read back through an in-memory
//! OpenTelemetry exporter on a meter of the test's own (the global one is left alone).

use std::{collections::BTreeMap, time::Duration};

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::{
    InMemoryMetricExporter, PeriodicReader, SdkMeterProvider,
    data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics},
};
use serde::{Deserialize, Serialize};
use wump_core::{
    jobs::{JobPayload, JobType, Priority},
    settings::QueueSettings,
};
use wump_providers::ProviderError;
use wump_worker::{
    jobs::{BackgroundJob, Delivery, JobError, JobOutcome},
    metrics::QueueGauges,
    queue::{DeadJob, Envelope, Runner},
};

use super::support::{Log, Running, eventually, fast_settings, test_queues};

/// Completes, fails for good, or keeps failing, as its label says.
#[derive(Debug, Serialize, Deserialize)]
struct Scripted {
    label: String,
}

impl JobPayload for Scripted {
    const JOB_TYPE: JobType = JobType::Enrich;
}

impl BackgroundJob for Scripted {
    type Context = Log;

    async fn run(&self, log: &Log, delivery: &Delivery) -> Result<JobOutcome, JobError> {
        let attempt = delivery.attempt;
        log.push(&self.label, attempt);
        match self.label.as_str() {
            "ok" => Ok(JobOutcome::default()),
            "gone" => Err(JobError::NotFound("404".into())),
            _ => Err(JobError::Provider(ProviderError::Upstream {
                provider: "upstream".into(),
                status: 503,
                message: "unavailable".into(),
            })),
        }
    }
}

fn meter_provider() -> (SdkMeterProvider, InMemoryMetricExporter) {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    (provider, exporter)
}

/// The named metric in the latest export (cumulative: it holds everything so far).
fn latest<'a>(exports: &'a [ResourceMetrics], name: &str) -> &'a Metric {
    exports
        .last()
        .expect("an export")
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .find(|metric| metric.name() == name)
        .unwrap_or_else(|| panic!("no metric {name}"))
}

/// `attribute=value,…` of a data point, sorted.
fn attributes<'a>(kvs: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> String {
    let mut pairs: Vec<String> = kvs.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
    pairs.sort();
    pairs.join(",")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_outcomes_are_counted_and_timed_by_type_and_outcome() {
    let settings = QueueSettings {
        max_attempts: 2,
        ..fast_settings()
    };
    let (_valkey, queues) = test_queues(settings).await;
    let (provider, exporter) = meter_provider();
    let log = Log::default();
    let running = Running::start(
        Runner::new(queues.clone(), Duration::from_secs(2))
            .with_meter(&provider.meter("wump-worker"))
            .register::<Scripted>(log.clone()),
    );
    for label in ["ok", "gone", "flaky"] {
        queues
            .enqueue(
                &Scripted {
                    label: label.into(),
                },
                Priority::Normal,
            )
            .await
            .unwrap();
    }
    eventually("two dead jobs", Duration::from_secs(15), || async {
        (queues.dead_letters().len().await.unwrap() == 2 && log.len() == 4).then_some(())
    })
    .await;
    running.stop().await;
    provider.force_flush().unwrap();
    let exports = exporter.get_finished_metrics().unwrap();

    let expected = BTreeMap::from([
        ("job_type=enrich,outcome=completed".to_owned(), 1),
        ("job_type=enrich,outcome=dead".to_owned(), 1),
        ("job_type=enrich,outcome=permanent".to_owned(), 1),
        ("job_type=enrich,outcome=retried".to_owned(), 1),
    ]);
    let jobs = latest(&exports, "wump.jobs");
    let AggregatedMetrics::U64(MetricData::Sum(sum)) = jobs.data() else {
        panic!("wump.jobs is a u64 counter: {jobs:?}")
    };
    let counted: BTreeMap<String, u64> = sum
        .data_points()
        .map(|p| (attributes(p.attributes()), p.value()))
        .collect();
    assert_eq!(counted, expected);

    let duration = latest(&exports, "wump.job.duration");
    assert_eq!(duration.unit(), "s");
    let AggregatedMetrics::F64(MetricData::Histogram(histogram)) = duration.data() else {
        panic!("wump.job.duration is an f64 histogram: {duration:?}")
    };
    let timed: BTreeMap<String, u64> = histogram
        .data_points()
        .map(|p| (attributes(p.attributes()), p.count()))
        .collect();
    assert_eq!(timed, expected);
    assert!(
        histogram
            .data_points()
            .all(|p| p.sum() >= 0.0 && p.sum() < 5.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gauges_report_each_queues_depth_their_total_and_the_dead_letters() {
    let (_valkey, queues) = test_queues(fast_settings()).await;
    let (provider, exporter) = meter_provider();
    let gauges = QueueGauges::new(&provider.meter("wump-worker"));
    for n in 0..3 {
        queues
            .enqueue_payload(JobType::Parse, serde_json::json!({ "n": n }), Priority::Low)
            .await
            .unwrap();
    }
    queues
        .enqueue_payload(JobType::Scrape, serde_json::json!({}), Priority::High)
        .await
        .unwrap();
    let dead = Envelope::new(JobType::Enrich, Priority::Normal, serde_json::json!({}));
    queues
        .dead_letters()
        .add(&DeadJob::from_envelope(dead, "somewhere".into()))
        .await
        .unwrap();
    gauges.sample(&queues).await.unwrap();
    provider.force_flush().unwrap();
    let exports = exporter.get_finished_metrics().unwrap();

    let depth = latest(&exports, "wump.queue.depth");
    let AggregatedMetrics::U64(MetricData::Gauge(gauge)) = depth.data() else {
        panic!("wump.queue.depth is a u64 gauge: {depth:?}")
    };
    let by_queue: BTreeMap<String, u64> = gauge
        .data_points()
        .map(|p| (attributes(p.attributes()), p.value()))
        .collect();
    assert_eq!(
        by_queue.len(),
        JobType::ALL.len() * Priority::ALL.len(),
        "every queue reports: {by_queue:?}"
    );
    assert_eq!(
        by_queue[&format!("queue={}", queues.name(JobType::Parse, Priority::Low))],
        3
    );
    assert_eq!(
        by_queue[&format!("queue={}", queues.name(JobType::Scrape, Priority::High))],
        1
    );
    assert_eq!(by_queue.values().sum::<u64>(), 4);

    let single = |name: &str| {
        let metric = latest(&exports, name);
        let AggregatedMetrics::U64(MetricData::Gauge(gauge)) = metric.data() else {
            panic!("{name} is a u64 gauge: {metric:?}")
        };
        let points: Vec<u64> = gauge.data_points().map(|p| p.value()).collect();
        points
    };
    assert_eq!(single("wump.queue.depth_total"), [4]);
    assert_eq!(single("wump.dead_letters.size"), [1]);
}
