//! Provider calls and rate-limit waits as OpenTelemetry metrics, on the meter
//! `wump-providers` (exported when the binary installed a meter provider; otherwise no-ops):
//!
//! - `wump.provider.requests` (counter) by `provider` and `outcome` (`ok`, `not_found`,
//!   `rate_limited`, `unauthorized`, `server_error`, `network_error`, `other`): every HTTP
//!   request sent, retries included;
//! - `wump.provider.rate_limit_wait` (histogram, seconds) by `provider`: each wait a
//!   provider asked for (a 429's `Retry-After`, an exhausted quota);
//! - `wump.provider.rate_limit.remaining_ratio` (gauge, 0..1) by `provider` and `resource`
//!   (GitHub: `core`, `search`, `graphql`): remaining ÷ limit of the quota that answered
//!   the last response carrying rate-limit headers.
//!
//! - `wump.provider.quota.remaining` (gauge) by `provider`, `token` (fingerprint label,
//!   never the token) and `resource`: the remaining quota GitHub last reported for it;
//! - `wump.provider.limit.waits` (counter) by `provider`, `token`, `resource` and `kind`
//!   (`primary`, `secondary`, `politeness`): waits a provider announced (a spent quota, a
//!   secondary limit, a registry's 429);
//! - `wump.provider.limit.refused` (counter) by `provider`, `token`, `resource`: requests
//!   held back before sending because a wait was in force (once per request);
//! - `wump.provider.limiter.fallback` (gauge) by `provider`: 1 while the process runs on
//!   its local fallback limits because the fleet's store is unreachable, else 0.
//!
//! The ratio is a synchronous gauge, not a histogram, because the alarm reads its Minimum
//! over 5 minutes: the SDK exports cumulative temporality, and a cumulative histogram's
//! min is the lowest value since the process started, so one bad hour would hold the alarm
//! forever. A gauge exports the last value of each interval; within a rate-limit window
//! the remaining quota only falls, so that last value is the interval's lowest (it rises
//! only when the window resets, which is the recovery the alarm should see). With several
//! tokens it is the token that answered last, which is the one with the most quota left
//! (the client picks that one): a low ratio means the whole pool runs dry. The gauge keeps
//! its last value while no requests are sent.

use std::time::Duration;

use crate::fleet::{WaitKind, label};
use opentelemetry::{
    KeyValue,
    metrics::{Counter, Gauge, Histogram, Meter},
};

/// How one request to a provider ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    /// A 2xx (or a 304 for conditional requests).
    Ok,
    NotFound,
    RateLimited,
    Unauthorized,
    ServerError,
    /// No response: connection refused, timeout, TLS.
    NetworkError,
    Other,
}

impl RequestOutcome {
    /// The outcome of a response with `status`.
    pub fn of_status(status: u16) -> Self {
        match status {
            200..=299 | 304 => RequestOutcome::Ok,
            404 | 410 => RequestOutcome::NotFound,
            429 => RequestOutcome::RateLimited,
            401 | 403 => RequestOutcome::Unauthorized,
            500..=599 => RequestOutcome::ServerError,
            _ => RequestOutcome::Other,
        }
    }

    /// The `outcome` attribute.
    pub const fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Ok => "ok",
            RequestOutcome::NotFound => "not_found",
            RequestOutcome::RateLimited => "rate_limited",
            RequestOutcome::Unauthorized => "unauthorized",
            RequestOutcome::ServerError => "server_error",
            RequestOutcome::NetworkError => "network_error",
            RequestOutcome::Other => "other",
        }
    }
}

/// The providers' instruments; cheap to clone.
#[derive(Debug, Clone)]
pub struct ProviderMetrics {
    requests: Counter<u64>,
    rate_limit_wait: Histogram<f64>,
    remaining_ratio: Gauge<f64>,
    quota_remaining: Gauge<u64>,
    limit_waits: Counter<u64>,
    limit_refused: Counter<u64>,
    limiter_fallback: Gauge<u64>,
}

impl Default for ProviderMetrics {
    /// On the global meter provider (create after telemetry is set up).
    fn default() -> Self {
        Self::new(&opentelemetry::global::meter("wump-providers"))
    }
}

impl ProviderMetrics {
    /// The instruments on `meter`.
    pub fn new(meter: &Meter) -> Self {
        Self {
            requests: meter
                .u64_counter("wump.provider.requests")
                .with_description("Requests sent to providers, by provider and outcome")
                .build(),
            rate_limit_wait: meter
                .f64_histogram("wump.provider.rate_limit_wait")
                .with_unit("s")
                .with_description("Waits providers asked for, by provider")
                .build(),
            remaining_ratio: meter
                .f64_gauge("wump.provider.rate_limit.remaining_ratio")
                .with_unit("1")
                .with_description(
                    "Remaining ÷ limit of the rate-limit quota that last answered, by provider \
                     and resource",
                )
                .build(),
            quota_remaining: meter
                .u64_gauge("wump.provider.quota.remaining")
                .with_description("Remaining quota last reported, by provider, token and resource")
                .build(),
            limit_waits: meter
                .u64_counter("wump.provider.limit.waits")
                .with_description(
                    "Waits a provider announced, by provider, token, resource and kind",
                )
                .build(),
            limit_refused: meter
                .u64_counter("wump.provider.limit.refused")
                .with_description(
                    "Requests held back because a wait was in force, by provider, token and \
                     resource",
                )
                .build(),
            limiter_fallback: meter
                .u64_gauge("wump.provider.limiter.fallback")
                .with_description("1 while running on local fallback limits, by provider")
                .build(),
        }
    }

    /// Records the remaining quota of `token`'s `resource` bucket.
    pub fn quota_remaining(&self, provider: &str, token: &str, resource: &str, remaining: u32) {
        self.quota_remaining
            .record(u64::from(remaining), &labels(provider, token, resource));
    }

    /// Counts one wait `provider` announced for `token`'s `resource`.
    pub fn limit_wait(&self, provider: &str, token: &str, resource: &str, kind: WaitKind) {
        let mut attributes = labels(provider, token, resource).to_vec();
        attributes.push(KeyValue::new("kind", kind.as_str()));
        self.limit_waits.add(1, &attributes);
    }

    /// Counts one request held back because a wait was in force on `token`'s `resource`.
    pub fn limit_refused(&self, provider: &str, token: &str, resource: &str) {
        self.limit_refused
            .add(1, &labels(provider, token, resource));
    }

    /// Whether `provider` runs on its local fallback limits.
    pub fn limiter_fallback(&self, provider: &str, fallback: bool) {
        self.limiter_fallback.record(
            u64::from(fallback),
            &[KeyValue::new("provider", provider.to_owned())],
        );
    }

    /// Counts one request to `provider`.
    pub fn request(&self, provider: &str, outcome: RequestOutcome) {
        self.requests.add(
            1,
            &[
                KeyValue::new("provider", provider.to_owned()),
                KeyValue::new("outcome", outcome.as_str()),
            ],
        );
    }

    /// Records a wait `provider` asked for.
    pub fn rate_limit_wait(&self, provider: &str, wait: Duration) {
        self.rate_limit_wait.record(
            wait.as_secs_f64(),
            &[KeyValue::new("provider", provider.to_owned())],
        );
    }

    /// Records how much of `provider`'s `resource` quota is left; a zero `limit` says
    /// nothing and is skipped.
    pub fn rate_limit_remaining(&self, provider: &str, resource: &str, remaining: u32, limit: u32) {
        if limit == 0 {
            return;
        }
        self.remaining_ratio.record(
            (f64::from(remaining) / f64::from(limit)).min(1.0),
            &[
                KeyValue::new("provider", provider.to_owned()),
                KeyValue::new("resource", resource.to_owned()),
            ],
        );
    }
}

fn labels(provider: &str, token: &str, resource: &str) -> [KeyValue; 3] {
    [
        KeyValue::new("provider", provider.to_owned()),
        KeyValue::new("token", label(token).to_owned()),
        KeyValue::new("resource", resource.to_owned()),
    ]
}
