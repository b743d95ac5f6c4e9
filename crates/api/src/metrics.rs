//! The API's metrics: OpenTelemetry instruments on the global meter provider, read out at
//! `/metrics` as Prometheus text through `opentelemetry-prometheus`.
//!
//! `main` builds the exporter with [`prometheus_exporter`] and hands it to
//! `telemetry::init_with_meters`, so `/metrics` shows every instrument of the process (ours,
//! the limiter's, the cache's) and OTLP export keeps working when configured. Instruments
//! are created when [`AppState`](crate::AppState) is built, after telemetry is up.

use std::time::Duration;

use actix_web::{
    Error, HttpResponse,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    get,
    middleware::Next,
    web,
};
use opentelemetry::{
    KeyValue, global,
    metrics::{Counter, Histogram},
};
use opentelemetry_prometheus::PrometheusExporter;
use prometheus::{Encoder, TextEncoder};
use wump_db::DbPool;

use crate::{cache::CacheStatus, problem::ApiError, state::AppState};

/// The instrumentation scope of everything the API measures.
pub const METER: &str = "wump-api";

/// A Prometheus exporter for the global meter provider and the registry `/metrics` reads.
pub fn prometheus_exporter() -> Result<(PrometheusExporter, prometheus::Registry), ApiError> {
    let registry = prometheus::Registry::new();
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .build()
        .map_err(|e| {
            ApiError::Internal(anyhow::anyhow!("building the Prometheus exporter: {e}"))
        })?;
    Ok((exporter, registry))
}

/// The API's own instruments (cheap to clone).
#[derive(Debug, Clone)]
pub struct Metrics {
    requests: Histogram<f64>,
    cache: Counter<u64>,
    warmed: Counter<u64>,
}

/// Request durations: fine below 100 ms, where cached answers live.
const DURATION_BOUNDARIES: [f64; 14] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    /// Instruments from the global meter provider (no-ops until telemetry installs one).
    pub fn new() -> Self {
        let meter = global::meter(METER);
        Self {
            requests: meter
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .with_description("HTTP requests by route pattern, method and status")
                .with_boundaries(DURATION_BOUNDARIES.to_vec())
                .build(),
            cache: meter
                .u64_counter("wump.api.cache.lookups")
                .with_description("Response-cache lookups by result: hit, miss or stale")
                .build(),
            warmed: meter
                .u64_counter("wump.api.cache.warmed")
                .with_description(
                    "Hot answers warmed after a version bump, by result: rendered, present \
                     (already stored) or failed",
                )
                .build(),
        }
    }

    /// Counts one answer of the response cache.
    pub fn cache_lookup(&self, status: CacheStatus) {
        let result = match status {
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::Stale => "stale",
        };
        self.cache.add(1, &[KeyValue::new("result", result)]);
    }

    /// Counts one hot answer warmed after a bump.
    pub fn cache_warmed(&self, result: &'static str) {
        self.warmed.add(1, &[KeyValue::new("result", result)]);
    }

    fn request(&self, route: String, method: String, status: u16, elapsed: Duration) {
        self.requests.record(
            elapsed.as_secs_f64(),
            &[
                KeyValue::new("http.route", route),
                KeyValue::new("http.request.method", method),
                KeyValue::new("http.response.status_code", i64::from(status)),
            ],
        );
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads one number out of a pool's status.
type PoolReading = fn(&deadpool::Status) -> usize;

/// Reports a pool's size, idle and waiting counts (deadpool's status) whenever metrics are
/// read, labelled `pool=<name>` (`primary`, `read`).
pub fn observe_pool(pool: DbPool, name: &'static str) {
    let meter = global::meter(METER);
    let gauges: [(&str, &str, PoolReading); 4] = [
        ("wump.db.pool.size", "Open connections", |s| s.size),
        ("wump.db.pool.available", "Idle connections", |s| {
            s.available
        }),
        (
            "wump.db.pool.waiting",
            "Requests waiting for a connection",
            |s| s.waiting,
        ),
        (
            "wump.db.pool.max_size",
            "Most connections the pool opens",
            |s| s.max_size,
        ),
    ];
    for (gauge, description, pick) in gauges {
        let pool = pool.clone();
        meter
            .u64_observable_gauge(gauge)
            .with_description(description)
            .with_callback(move |observer| {
                let value = u64::try_from(pick(&pool.status())).unwrap_or(u64::MAX);
                observer.observe(value, &[KeyValue::new("pool", name)]);
            })
            .build();
    }
}

/// Middleware: records every request's duration by route pattern (never the raw path, which
/// would make one series per package), method and status.
pub(crate) async fn record(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = std::time::Instant::now();
    let metrics = request
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    let method = request.method().as_str().to_owned();
    let response = next.call(request).await?;
    if let Some(metrics) = metrics {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        metrics.request(route, method, response.status().as_u16(), started.elapsed());
    }
    Ok(response)
}

/// Prometheus text of every instrument in the process.
#[get("/metrics")]
pub(crate) async fn scrape(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let Some(registry) = &state.metrics_registry else {
        return Err(ApiError::NotFound(
            "metrics are not exported by this process".into(),
        ));
    };
    let mut text = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut text)
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
