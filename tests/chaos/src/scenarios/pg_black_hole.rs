//! Scenario 5: PostgreSQL reachable but black-holed: a TCP proxy that accepts connections and
//! never answers, and stalls the open ones. Requests must fail fast through the breaker, not
//! pile up, and the pools must recover once the route is back.

use std::time::Duration;

use super::{RunConfig, ScenarioResult, ms, secs};
use crate::{
    Result,
    proxy::Mode,
    stack::{Stack, StackOptions},
};

/// The scenario's title.
pub const TITLE: &str = "PostgreSQL black-holed (accepts, never answers)";

/// Once the breaker has had time to open, failures must come faster than this (p99).
const FAIL_FAST_P99_MS: f64 = 100.0;
/// Full service after the route is back: the breaker's open_ms (5 s) plus a probe.
const RECOVERY_LIMIT: Duration = Duration::from_secs(10);

/// Runs the scenario.
pub async fn run(config: &RunConfig) -> Result<ScenarioResult> {
    let hole = config.pick(Duration::from_secs(40), Duration::from_secs(8));
    let before = config.pick(Duration::from_secs(5), Duration::from_millis(1500));
    let after = config.pick(Duration::from_secs(20), Duration::from_secs(12));
    // Before the breaker can open, each failure waits out the query timeout
    // (query_timeout_ms, 5 s; 1 s in the short run), the pool (pool_wait_timeout_ms) or a
    // connection (connect_timeout_ms): give it twice the longest, so the requests already
    // stuck when the hole opened have failed by then.
    let settle = config.pick(Duration::from_secs(10), Duration::from_secs(4));
    let mut options = StackOptions::new("pg-black-hole", config.bins.clone());
    options.work = config.work.clone();
    if config.short {
        // Shorter waits so the short run fits in seconds; the full run keeps the defaults.
        options
            .env
            .push(("WUMP__DATABASE__CONNECT_TIMEOUT_MS".into(), "1000".into()));
        options
            .env
            .push(("WUMP__DATABASE__POOL_WAIT_TIMEOUT_MS".into(), "500".into()));
        options
            .env
            .push(("WUMP__DATABASE__QUERY_TIMEOUT_MS".into(), "1000".into()));
    }
    let stack = Stack::start(options).await?;
    let mut result = ScenarioResult::new(5, TITLE, stack.dir.clone());

    let (seeded, load_options, load) = stack.seeded_under_load().await?;
    tokio::time::sleep(before).await;

    let holed = load.mark("black hole");
    stack.pg_proxy.set(Mode::BlackHole);
    tokio::time::sleep(hole).await;
    stack.pg_proxy.set(Mode::Pass);
    let restored = load.mark("route back");
    tokio::time::sleep(after).await;
    let recording = load.stop().await;
    let ready = all_ready(&stack).await;

    let settled = holed + settle;
    let early = recording.stats(holed, settled, |s| !s.class.cached());
    // Every uncached request in flight while the breaker should be open, including those
    // that started earlier and are still stuck: a stuck caller sends nothing new.
    let uncached = crate::load::stats(
        recording
            .samples
            .iter()
            .filter(|s| !s.class.cached() && s.at < restored && s.end() > settled),
    );
    let cached = recording.stats(holed, restored, |s| s.class.cached());
    let whole = recording.stats(
        Duration::ZERO,
        recording.end() + Duration::from_secs(1),
        |_| true,
    );
    let recovery = recording
        .last_failure_after(restored, |_| true)
        .map_or(Duration::ZERO, |end| end.saturating_sub(restored));
    let crashes = stack.stop();

    result.setup = format!(
        "Demo tree loaded ({}), pages warmed, {} callers per class (one request every {} ms \
         each) against both apis, which reach PostgreSQL through a TCP proxy. The proxy \
         black-holes {} into the load (new connections accepted and never answered, open ones \
         stalled) for {}, then passes again; load kept on {} after. \"Once the breaker is \
         open\" is {} after the black hole began.",
        secs(seeded),
        load_options.callers_per_class,
        load_options.interval.as_millis(),
        secs(before),
        secs(hole),
        secs(after),
        secs(settle),
    );
    result.number(
        "uncached before the breaker opened: requests, p99 / max",
        format!(
            "{} ({} / {}; statuses {:?})",
            early.requests,
            ms(early.p99_ms),
            ms(early.max_ms),
            early.statuses
        ),
    );
    result.number(
        "uncached in flight once the breaker should be open: 503 with Retry-After / requests",
        format!(
            "{} / {} (statuses {:?}, errors {})",
            uncached.unavailable_with_retry_after,
            uncached.requests,
            uncached.statuses,
            uncached.errors
        ),
    );
    result.number(
        "uncached in flight once the breaker should be open: p50 / p99 / max",
        format!(
            "{} / {} / {}",
            ms(uncached.p50_ms),
            ms(uncached.p99_ms),
            ms(uncached.max_ms)
        ),
    );
    result.number(
        "cached during the black hole: 200 / requests (p99)",
        format!(
            "{} / {} ({})",
            cached.ok,
            cached.requests,
            ms(cached.p99_ms)
        ),
    );
    result.number("hangs (no answer in 10 s)", whole.hangs);
    result.number("full service after the route is back", secs(recovery));
    result.number(
        "every api ready (/health/ready) at the end",
        if ready { "yes" } else { "no" },
    );
    result.number("process crashes", crashes);

    result.criterion(
        "requests fail fast through the breaker: 503 + Retry-After once it is open",
        format!(
            "{} of {}",
            uncached.unavailable_with_retry_after, uncached.requests
        ),
        uncached.requests > 0 && uncached.unavailable_with_retry_after == uncached.requests,
    );
    result.criterion(
        format!("…with p99 < {FAIL_FAST_P99_MS} ms"),
        ms(uncached.p99_ms),
        uncached.requests > 0 && uncached.p99_ms < FAIL_FAST_P99_MS,
    );
    result.criterion(
        "requests do not pile up: none hangs",
        whole.hangs.to_string(),
        whole.hangs == 0,
    );
    result.criterion(
        format!(
            "the pools recover: full service within {} of the route coming back, every api ready",
            secs(RECOVERY_LIMIT)
        ),
        format!("{}, ready: {ready}", secs(recovery)),
        recovery <= RECOVERY_LIMIT && ready,
    );
    result.criterion("no process crashes", crashes.to_string(), crashes == 0);
    Ok(result)
}

/// Every api answers 200 on /health/ready.
async fn all_ready(stack: &Stack) -> bool {
    for base in &stack.api_urls {
        let ok = stack
            .client
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if !ok {
            return false;
        }
    }
    true
}
