//! A circuit breaker around database loads, so an outage costs one fast 503 per uncached
//! request instead of every request waiting for the pool's timeout.
//!
//! Closed: loads run. After `failure_threshold` consecutive [`ApiError::Unavailable`]s
//! within `failure_window_ms` it opens: for `open_ms` loads fail at once (the cache still
//! serves stale answers). Then one probe runs (half-open): success closes it, failure
//! opens it again. Any other answer, errors included, shows the database is there.
//!
//! A load that ran out the whole query timeout opens it at once: a refused connection costs
//! a millisecond, so counting five of them is cheap, but a database that accepts and never
//! answers makes each of the five cost the timeout, and every request behind them waits as
//! long. For the same reason the loads still in flight when it opens fail then, not at
//! their own timeout (their connections are closed, as [`wump_db::pool::bounded_by`] does).
//!
//! With a probe of its own ([`CircuitBreaker::with_probe`], a `SELECT 1` in the app), the
//! breaker probes in the background and every request keeps failing fast meanwhile: against
//! a database that accepts and never answers, a request that probed would wait out the whole
//! query timeout (the chaos run's black hole measured 5 s for each of them). Without one,
//! the next request's own load is the probe.
//!
//! Every load is bounded by `database.query_timeout_ms` ([`wump_db::pool::bounded_by`]): a
//! database that accepts and never answers fails the load as unavailable (and its
//! connection is closed, not reused), so the breaker opens on a black hole as it does on
//! an outage instead of requests piling up behind it.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use wump_core::settings::BreakerSettings;

use crate::problem::ApiError;

/// The breaker (cheap to clone; clones share their state).
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    inner: Arc<Inner>,
}

/// A background check that the database answers again.
pub type Probe =
    Arc<dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

struct Inner {
    threshold: u32,
    window: Duration,
    load_timeout: Duration,
    open_for: Duration,
    state: Mutex<State>,
    probe: Option<Probe>,
    /// Counts openings, so loads in flight learn of one.
    openings: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("threshold", &self.threshold)
            .field("open_for", &self.open_for)
            .field("state", &self.state)
            .field("probe", &self.probe.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
        since: Option<Instant>,
    },
    Open {
        until: Instant,
    },
    /// One probe is under way; everything else fails fast until it answers.
    HalfOpen,
}

const CLOSED: State = State::Closed {
    failures: 0,
    since: None,
};

/// What the breaker says about the database, for `/health/db` and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    /// Lower-case name for health bodies and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

impl CircuitBreaker {
    /// A closed breaker with the given thresholds, failing any load that takes longer than
    /// `load_timeout` (`database.query_timeout_ms`) as unavailable.
    pub fn new(settings: &BreakerSettings, load_timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                threshold: settings.failure_threshold.max(1),
                window: Duration::from_millis(settings.failure_window_ms),
                load_timeout,
                open_for: Duration::from_millis(settings.open_ms),
                state: Mutex::new(CLOSED),
                probe: None,
                openings: tokio::sync::watch::Sender::new(0),
            }),
        }
    }

    /// The same breaker, half-opening through `probe` run in the background (bounded by the
    /// load timeout) instead of through a request. Call before cloning it.
    #[must_use]
    pub fn with_probe(self, probe: Probe) -> Self {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            threshold: shared.threshold,
            window: shared.window,
            load_timeout: shared.load_timeout,
            open_for: shared.open_for,
            state: Mutex::new(*shared.state.lock().unwrap_or_else(|p| p.into_inner())),
            probe: None,
            openings: tokio::sync::watch::Sender::new(0),
        });
        Self {
            inner: Arc::new(Inner {
                probe: Some(probe),
                ..inner
            }),
        }
    }

    /// Its state now.
    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if Instant::now() < until => BreakerState::Open,
            // Open past its time: the next request probes.
            State::Open { .. } | State::HalfOpen => BreakerState::HalfOpen,
        }
    }

    /// Runs `load` unless the breaker is open, and learns from its answer.
    pub async fn call<T, Fut>(&self, load: Fut) -> Result<T, ApiError>
    where
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut openings = self.inner.openings.subscribe();
        let probe = self.admit()?;
        let mut pending = Pending {
            breaker: self,
            probe,
            done: false,
        };
        let started = Instant::now();
        let result = tokio::select! {
            result = wump_db::pool::bounded_by(self.inner.load_timeout, load) => result,
            // Another load opened it: this one is as stuck as that one was.
            _ = openings.changed() => return Err(open_error(self.inner.open_for)),
        };
        pending.done = true;
        match &result {
            Err(ApiError::Unavailable { .. }) => {
                let timed_out = started.elapsed() >= self.inner.load_timeout;
                self.failed(probe, timed_out);
            }
            _ => self.succeeded(),
        }
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a load may run now: `Ok(true)` for the half-open probe.
    fn admit(&self) -> Result<bool, ApiError> {
        let mut state = self.lock();
        let now = Instant::now();
        match *state {
            State::Closed { .. } => Ok(false),
            State::Open { until } if now >= until => {
                *state = State::HalfOpen;
                if let Some(probe) = &self.inner.probe {
                    drop(state);
                    self.probe_in_background(probe);
                    return Err(open_error(self.inner.open_for));
                }
                Ok(true)
            }
            State::Open { until } => Err(open_error(until - now)),
            State::HalfOpen => Err(open_error(self.inner.open_for)),
        }
    }

    /// Runs `probe` off the request path; its answer closes or reopens the breaker.
    fn probe_in_background(&self, probe: &Probe) {
        let breaker = self.clone();
        let check = probe();
        tokio::spawn(async move {
            let answered = tokio::time::timeout(breaker.inner.load_timeout, check)
                .await
                .unwrap_or(false);
            if answered {
                breaker.succeeded();
            } else {
                breaker.failed(true, false);
            }
        });
    }

    /// Learns of an unavailable answer; `timed_out` when it took the whole load timeout.
    fn failed(&self, probe: bool, timed_out: bool) {
        let mut state = self.lock();
        let now = Instant::now();
        let open = State::Open {
            until: now + self.inner.open_for,
        };
        let next = match *state {
            State::HalfOpen if probe => open,
            State::Closed { failures, since } => {
                let (failures, since) = match since {
                    Some(since) if now.duration_since(since) <= self.inner.window => {
                        (failures + 1, since)
                    }
                    _ => (1, now),
                };
                if failures >= self.inner.threshold || timed_out {
                    tracing::warn!(
                        failures,
                        timed_out,
                        open_ms = self.inner.open_for.as_millis() as u64,
                        "database unavailable: circuit breaker open, failing fast"
                    );
                    open
                } else {
                    State::Closed {
                        failures,
                        since: Some(since),
                    }
                }
            }
            // Loads admitted before it opened report late: they change nothing.
            other => other,
        };
        let opened = matches!(next, State::Open { .. }) && !matches!(*state, State::Open { .. });
        *state = next;
        drop(state);
        if opened {
            self.inner.openings.send_modify(|n| *n += 1);
        }
    }

    fn succeeded(&self) {
        let mut state = self.lock();
        if !matches!(*state, State::Closed { failures: 0, .. }) {
            if *state == State::HalfOpen {
                tracing::info!("database answers again: circuit breaker closed");
            }
            *state = CLOSED;
        }
    }
}

fn open_error(wait: Duration) -> ApiError {
    ApiError::Unavailable {
        what: "the database",
        // Whole seconds, rounded up, so clients do not come back before it half-opens.
        retry_after: Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)),
    }
}

/// A probe whose request went away before it answered must not leave the breaker
/// half-open forever: it counts as nothing learnt, and the next request probes.
struct Pending<'a> {
    breaker: &'a CircuitBreaker,
    probe: bool,
    done: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.probe && !self.done {
            let mut state = self.breaker.lock();
            if *state == State::HalfOpen {
                *state = State::Open {
                    until: Instant::now(),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(open_ms: u64) -> CircuitBreaker {
        CircuitBreaker::new(
            &BreakerSettings {
                failure_threshold: 3,
                failure_window_ms: 60_000,
                open_ms,
            },
            Duration::from_secs(60),
        )
    }

    async fn down(breaker: &CircuitBreaker) -> Result<(), ApiError> {
        breaker
            .call(async {
                Err(ApiError::Unavailable {
                    what: "the database",
                    retry_after: Duration::from_secs(5),
                })
            })
            .await
    }

    #[tokio::test]
    async fn it_opens_after_the_threshold_and_then_fails_without_running_the_load() {
        let breaker = breaker(60_000);
        for _ in 0..3 {
            assert!(down(&breaker).await.is_err());
        }
        assert_eq!(breaker.state(), BreakerState::Open);
        let mut ran = false;
        let err = breaker
            .call(async {
                ran = true;
                Ok(())
            })
            .await
            .unwrap_err();
        assert!(!ran);
        match err {
            ApiError::Unavailable { retry_after, .. } => {
                assert!(retry_after >= Duration::from_secs(59));
                assert!(retry_after <= Duration::from_secs(60));
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_success_resets_the_count_and_other_errors_count_as_success() {
        let breaker = breaker(60_000);
        down(&breaker).await.unwrap_err();
        down(&breaker).await.unwrap_err();
        let _ = breaker
            .call(async { Err::<(), _>(ApiError::NotFound("no such package".into())) })
            .await;
        down(&breaker).await.unwrap_err();
        down(&breaker).await.unwrap_err();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test]
    async fn after_the_cooldown_one_probe_decides() {
        let breaker = breaker(0);
        for _ in 0..3 {
            down(&breaker).await.unwrap_err();
        }
        // open_ms = 0: the next request is already the probe.
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        down(&breaker).await.unwrap_err();
        assert_eq!(
            breaker.state(),
            BreakerState::HalfOpen,
            "reopened, for 0 ms"
        );
        breaker.call(async { Ok(()) }).await.unwrap();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test]
    async fn one_load_that_runs_out_the_timeout_opens_it_at_once() {
        let breaker = CircuitBreaker::new(
            &BreakerSettings {
                failure_threshold: 5,
                failure_window_ms: 60_000,
                open_ms: 60_000,
            },
            Duration::from_millis(50),
        );
        let err = breaker
            .call(std::future::pending::<Result<(), ApiError>>())
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::Unavailable { .. }), "{err:?}");
        assert_eq!(
            breaker.state(),
            BreakerState::Open,
            "a black hole must not cost five timeouts before requests fail fast"
        );
    }

    #[tokio::test]
    async fn a_quick_refusal_counts_towards_the_threshold_only() {
        let breaker = breaker(60_000);
        down(&breaker).await.unwrap_err();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test]
    async fn loads_in_flight_fail_as_soon_as_another_one_opens_it() {
        let breaker = CircuitBreaker::new(
            &BreakerSettings {
                failure_threshold: 5,
                failure_window_ms: 60_000,
                open_ms: 60_000,
            },
            Duration::from_millis(500),
        );
        // Started first, so it runs out its timeout first; the others wait on the same
        // silent database and would each wait their whole timeout.
        let first = tokio::spawn({
            let breaker = breaker.clone();
            async move {
                breaker
                    .call(std::future::pending::<Result<(), ApiError>>())
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(250)).await;
        let started = Instant::now();
        let others: Vec<_> = (0..3)
            .map(|_| {
                let breaker = breaker.clone();
                tokio::spawn(async move {
                    breaker
                        .call(std::future::pending::<Result<(), ApiError>>())
                        .await
                })
            })
            .collect();
        assert!(first.await.unwrap().is_err());
        for other in others {
            let err = other.await.unwrap().unwrap_err();
            assert!(matches!(err, ApiError::Unavailable { .. }), "{err:?}");
        }
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_millis(450),
            "the others failed when the first opened the breaker (about 250 ms), not at their \
             own timeout (500 ms): waited {waited:?}"
        );
    }

    #[tokio::test]
    async fn with_a_background_probe_no_request_waits_for_a_database_that_never_answers() {
        let probes = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let answers = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let probe: Probe = {
            let (probes, answers) = (Arc::clone(&probes), Arc::clone(&answers));
            Arc::new(move || {
                probes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let answers = answers.load(std::sync::atomic::Ordering::SeqCst);
                Box::pin(async move {
                    if !answers {
                        std::future::pending::<()>().await;
                    }
                    true
                })
            })
        };
        let breaker = CircuitBreaker::new(
            &BreakerSettings {
                failure_threshold: 1,
                failure_window_ms: 60_000,
                open_ms: 0,
            },
            Duration::from_millis(200),
        )
        .with_probe(probe);
        down(&breaker).await.unwrap_err();
        let mut ran = false;
        let started = Instant::now();
        let err = breaker
            .call(async {
                ran = true;
                Ok(())
            })
            .await
            .unwrap_err();
        assert!(!ran, "the request is not the probe");
        assert!(matches!(err, ApiError::Unavailable { .. }), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "failed fast"
        );
        assert_eq!(probes.load(std::sync::atomic::Ordering::SeqCst), 1);
        // The probe times out after 200 ms and reopens the breaker; with the database back
        // the next probe closes it, and requests run again.
        answers.store(true, std::sync::atomic::Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(5);
        while breaker.call(async { Ok(()) }).await.is_err() {
            assert!(Instant::now() < deadline, "the breaker never closed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(probes.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    }

    #[tokio::test]
    async fn while_the_probe_runs_other_requests_fail_fast() {
        let breaker = breaker(0);
        for _ in 0..3 {
            down(&breaker).await.unwrap_err();
        }
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let probe = {
            let breaker = breaker.clone();
            tokio::spawn(async move {
                breaker
                    .call(async {
                        let _ = released.await;
                        Ok(())
                    })
                    .await
            })
        };
        while *breaker.lock() != State::HalfOpen {
            tokio::task::yield_now().await;
        }
        let mut ran = false;
        let second = breaker
            .call(async {
                ran = true;
                Ok(())
            })
            .await;
        assert!(second.is_err() && !ran);
        release.send(()).unwrap();
        probe.await.unwrap().unwrap();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }
}
