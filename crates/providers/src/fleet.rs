//! Limits shared by every worker process (the "fleet"): what GitHub told one process about a
//! token (its primary buckets, a secondary wait), the requests in flight per token, and a
//! registry's or aggregator's spacing and `Retry-After` hold for all of them at once.
//!
//! [`FleetStore`] is the seam (the worker implements it on Valkey, with Lua scripts that
//! decide atomically on the server's clock); [`FleetLimits`] is what the clients hold: the
//! store plus the fallback. When the store cannot answer, every client falls back to its
//! own in-process limits, made conservative ([`FleetPolicy::fallback_share`] of each
//! quota, one request in flight per token, spacing divided by the share), says so once in
//! the log, retries the store after [`FleetPolicy::retry_after_failure`], and says so once
//! when it answers again.
//!
//! Tokens are named by [`fingerprint`] (never the token itself): 16 hex characters of
//! SHA-256 for store keys, the first 8 ([`label`]) in metrics and logs.

use std::{
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::metrics::ProviderMetrics;

/// The token label of unauthenticated requests (and of registries, which have no token).
pub const ANONYMOUS: &str = "anonymous";

/// 16 hex characters of SHA-256(`token`): enough to keep tokens apart in store keys,
/// useless for recovering the token.
pub fn fingerprint(token: &str) -> String {
    wump_core::hex::encode(&Sha256::digest(token.as_bytes())[..8])
}

/// The metrics and log label of a fingerprint: its first 8 hex characters.
/// [`ANONYMOUS`] stays itself.
pub fn label(fingerprint: &str) -> &str {
    if fingerprint == ANONYMOUS {
        return ANONYMOUS;
    }
    fingerprint.get(..8).unwrap_or(fingerprint)
}

/// Why a request has to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitKind {
    /// A primary quota is spent until its reset.
    Primary,
    /// A secondary limit: GitHub's `retry-after`, the points per minute, the requests in
    /// flight per token.
    Secondary,
    /// A registry's or aggregator's spacing or `Retry-After`.
    Politeness,
}

impl WaitKind {
    /// The `kind` attribute of `wump.provider.limit.waits`.
    pub const fn as_str(self) -> &'static str {
        match self {
            WaitKind::Primary => "primary",
            WaitKind::Secondary => "secondary",
            WaitKind::Politeness => "politeness",
        }
    }
}

/// One request asking for a token of `provider`.
#[derive(Debug, Clone)]
pub struct ReserveRequest<'a> {
    pub provider: &'a str,
    /// Fingerprints of the usable tokens (or [`ANONYMOUS`]).
    pub tokens: &'a [String],
    /// The primary bucket (`core`, `search`, `graphql`).
    pub resource: &'a str,
    /// The bucket's documented quota and window, until a response says better.
    pub default_limit: u32,
    pub window: Duration,
    /// The secondary points-per-minute budget of `resource`'s API.
    pub points_api: &'a str,
    pub points_per_minute: u32,
    /// Requests in flight per token, fleet-wide.
    pub max_in_flight: u32,
    /// A lease not given back within this is taken back (its process died).
    pub lease_ttl: Duration,
}

/// The store's answer to a [`ReserveRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved {
    /// Send with `tokens[token]`; give `lease` back with [`FleetStore::finish`].
    Granted { token: usize, lease: String },
    /// Nothing can be sent before `wait` from now; `tokens[token]` is the one free
    /// soonest, held back by a `kind` wait (`None`: only by the requests in flight, so
    /// `wait` is a short pause before asking again).
    Wait {
        wait: Duration,
        token: usize,
        kind: Option<WaitKind>,
    },
}

/// What a response told about the token it was sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No answer (network error) or nothing about limits.
    Nothing,
    /// The primary headers of an answer; `free` when it cost nothing (a 304).
    Observed {
        resource: String,
        limit: u32,
        remaining: u32,
        /// The reset, from the response's `Date`.
        reset_in: Option<Duration>,
        free: bool,
    },
    /// A 403/429 with `x-ratelimit-remaining: 0`.
    Exhausted {
        resource: String,
        limit: Option<u32>,
        reset_in: Option<Duration>,
    },
    /// A secondary limit (`retry-after`, or none: at least a minute, growing on repeats).
    Secondary { retry_after: Option<Duration> },
}

/// A registry's next request slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Send after this long (the slot is taken).
    After(Duration),
    /// The provider asked everyone to stay away this much longer.
    Blocked(Duration),
}

/// The store cannot answer (unreachable, timed out, refused the script).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the limits' store did not answer: {0}")]
pub struct Unavailable(pub String);

/// Where the fleet's limits live. Every decision is atomic in the store.
#[async_trait]
pub trait FleetStore: Send + Sync + fmt::Debug {
    /// Takes one unit and one in-flight lease of the usable token with the most quota left,
    /// or says how long until one is worth asking for again.
    async fn reserve(&self, request: &ReserveRequest<'_>) -> Result<Reserved, Unavailable>;

    /// Gives `lease` of `token` back and records what the response said. Returns the wait
    /// now in force on the token for an exhausted bucket or a secondary limit.
    async fn finish(
        &self,
        provider: &str,
        token: &str,
        lease: &str,
        outcome: &Outcome,
    ) -> Result<Option<Duration>, Unavailable>;

    /// Takes `provider`'s next request slot, `min_interval` after the last one taken.
    async fn slot(&self, provider: &str, min_interval: Duration) -> Result<Slot, Unavailable>;

    /// `provider` asked for no requests during `wait` (a 429's `Retry-After`).
    async fn block(&self, provider: &str, wait: Duration) -> Result<(), Unavailable>;
}

/// How the fleet limits behave, and how conservative the fallback is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FleetPolicy {
    /// GitHub requests in flight per token across the fleet.
    pub max_in_flight: u32,
    /// Added to a client's request timeout for its leases' lifetime.
    pub lease_margin: Duration,
    /// On fallback, each process uses at most this share of every quota (0 < share ≤ 1).
    pub fallback_share: f64,
    /// After a store failure, the store is not asked again for this long.
    pub retry_after_failure: Duration,
    /// Longest sleep before asking the store again while a slot is held by someone else.
    pub max_sleep: Duration,
}

impl Default for FleetPolicy {
    fn default() -> Self {
        Self {
            max_in_flight: 1,
            lease_margin: Duration::from_secs(5),
            fallback_share: 0.25,
            retry_after_failure: Duration::from_secs(2),
            max_sleep: Duration::from_secs(1),
        }
    }
}

/// The fleet limits as the clients use them: the store, or the local fallback while the
/// store is away. Cheap to clone.
#[derive(Clone)]
pub struct FleetLimits {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn FleetStore>,
    policy: FleetPolicy,
    /// Running on the local fallback limits.
    fallback: AtomicBool,
    /// While on the fallback: the store is asked again from this instant.
    retry_at: Mutex<Option<Instant>>,
    metrics: Mutex<ProviderMetrics>,
}

impl fmt::Debug for FleetLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetLimits")
            .field("store", &self.inner.store)
            .field("policy", &self.inner.policy)
            .field("fallback", &self.on_fallback())
            .finish()
    }
}

impl FleetLimits {
    /// The fleet limits kept in `store`.
    pub fn new(store: Arc<dyn FleetStore>, policy: FleetPolicy) -> Self {
        let mut policy = policy;
        if !(policy.fallback_share > 0.0 && policy.fallback_share <= 1.0) {
            policy.fallback_share = FleetPolicy::default().fallback_share;
        }
        policy.max_in_flight = policy.max_in_flight.max(1);
        Self {
            inner: Arc::new(Inner {
                store,
                policy,
                fallback: AtomicBool::new(false),
                retry_at: Mutex::new(None),
                metrics: Mutex::new(ProviderMetrics::default()),
            }),
        }
    }

    /// Records the fallback gauge on `metrics` instead of the global meter's (tests).
    #[must_use]
    pub fn with_metrics(self, metrics: ProviderMetrics) -> Self {
        *self.inner.metrics.lock().unwrap_or_else(|e| e.into_inner()) = metrics;
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> FleetPolicy {
        self.inner.policy
    }

    /// Whether the clients run on their local fallback limits now.
    pub fn on_fallback(&self) -> bool {
        self.inner.fallback.load(Ordering::Relaxed)
    }

    /// The store, unless it failed less than [`FleetPolicy::retry_after_failure`] ago.
    fn store(&self, provider: &str) -> Option<&dyn FleetStore> {
        if self.on_fallback() {
            let retry_at = *self
                .inner
                .retry_at
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if retry_at.is_some_and(|at| Instant::now() < at) {
                self.gauge(provider, true);
                return None;
            }
        }
        Some(self.inner.store.as_ref())
    }

    fn gauge(&self, provider: &str, fallback: bool) {
        self.inner
            .metrics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .limiter_fallback(provider, fallback);
    }

    /// Notes the outcome of one store call: a failure switches to the fallback (logged
    /// once), a success after failures switches back (logged once).
    fn note<T>(&self, provider: &str, result: Result<T, Unavailable>) -> Option<T> {
        match result {
            Ok(value) => {
                if self.inner.fallback.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        provider,
                        "fleet limits reachable again: back on the shared limits"
                    );
                }
                self.gauge(provider, false);
                Some(value)
            }
            Err(error) => {
                *self
                    .inner
                    .retry_at
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) =
                    Some(Instant::now() + self.inner.policy.retry_after_failure);
                if !self.inner.fallback.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        provider,
                        %error,
                        share = self.inner.policy.fallback_share,
                        "fleet limits unavailable: each process falls back to its own \
                         conservative limits"
                    );
                }
                self.gauge(provider, true);
                None
            }
        }
    }

    /// [`FleetStore::reserve`]; `None`: use the local fallback.
    pub async fn reserve(&self, request: &ReserveRequest<'_>) -> Option<Reserved> {
        let store = self.store(request.provider)?;
        let result = store.reserve(request).await;
        self.note(request.provider, result)
    }

    /// [`FleetStore::finish`]; `None` when the store did not answer (the lease then
    /// expires by itself).
    pub async fn finish(
        &self,
        provider: &str,
        token: &str,
        lease: &str,
        outcome: &Outcome,
    ) -> Option<Option<Duration>> {
        let store = self.store(provider)?;
        let result = store.finish(provider, token, lease, outcome).await;
        self.note(provider, result)
    }

    /// [`FleetStore::slot`]; `None`: use the local fallback.
    pub async fn slot(&self, provider: &str, min_interval: Duration) -> Option<Slot> {
        let store = self.store(provider)?;
        let result = store.slot(provider, min_interval).await;
        self.note(provider, result)
    }

    /// [`FleetStore::block`]; the local limiter holds the wait too, whatever happens here.
    pub async fn block(&self, provider: &str, wait: Duration) {
        if let Some(store) = self.store(provider) {
            let result = store.block(provider, wait).await;
            self.note(provider, result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_short_and_not_the_token() {
        let fp = fingerprint("ghp_secret");
        assert_eq!(fp.len(), 16);
        assert_eq!(fp, fingerprint("ghp_secret"));
        assert_ne!(fp, fingerprint("ghp_other"));
        assert!(!fp.contains("secret"));
        assert_eq!(label(&fp).len(), 8);
        assert!(fp.starts_with(label(&fp)));
        assert_eq!(label(ANONYMOUS), "anonymous");
    }
}
