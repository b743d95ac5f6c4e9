//! Scenario 1: PostgreSQL killed (`pg_ctl stop -m immediate`) for longer than any
//! in-process cache, then started again, under load, with jobs running.

use std::time::Duration;

use super::{RunConfig, ScenarioResult, ms, percent, secs};
use crate::{
    Result,
    jobs::{self, Feeder},
    load::Class,
    stack::{Stack, StackOptions},
};

/// The scenario's title.
pub const TITLE: &str = "PostgreSQL killed, then started again";

/// Full service must be back this soon after the restart.
const RECOVERY_LIMIT: Duration = Duration::from_secs(5);
/// 503s for uncached pages must come faster than this (p99).
const FAIL_FAST_P99_MS: f64 = 100.0;

/// Runs the scenario.
pub async fn run(config: &RunConfig) -> Result<ScenarioResult> {
    let outage = config.pick(Duration::from_secs(60), Duration::from_secs(5));
    let before = config.pick(Duration::from_secs(5), Duration::from_millis(1500));
    let after = config.pick(Duration::from_secs(20), Duration::from_secs(7));
    let mut options = StackOptions::new("pg-outage", config.bins.clone());
    options.work = config.work.clone();
    if config.short {
        // Retries within the short run's seconds (the full run keeps the defaults), and an
        // outage still longer than any in-process cache: the API key cache lives 2 s here
        // (30 s by default, which the full run's 60 s outage outlasts).
        options
            .env
            .push(("WUMP__QUEUES__BACKOFF_BASE_MS".into(), "1000".into()));
        options
            .env
            .push(("WUMP__QUEUES__BACKOFF_MAX_MS".into(), "4000".into()));
        options
            .env
            .push(("WUMP__API__AUTH__KEY_CACHE_TTL_SECS".into(), "2".into()));
    }
    let stack = Stack::start(options).await?;
    let mut result = ScenarioResult::new(1, TITLE, stack.dir.clone());

    let (seeded, load_options, load) = stack.seeded_under_load().await?;
    let feed_every = config.pick(Duration::from_millis(500), Duration::from_secs(1));
    let feed_parses = if config.short { 3 } else { 6 };
    let feeder = Feeder::start(&stack, feed_every, feed_parses);
    tokio::time::sleep(before).await;

    // Kill while jobs are in the middle of their work.
    let running = crate::eventually("a job to be running", Duration::from_secs(20), || async {
        let ids = jobs::running_ids(&stack).await.ok()?;
        (!ids.is_empty()).then_some(ids)
    })
    .await
    .unwrap_or_default();
    // Marked once the server is gone: requests that started before were answered by it.
    stack.postgres.kill()?;
    let killed = load.mark("pg killed");
    tokio::time::sleep(outage).await;
    stack.postgres.start_again()?;
    let restarted = load.mark("pg started");
    tokio::time::sleep(after).await;
    let fed = feeder.stop().await;
    let recording = load.stop().await;
    let drained = stack
        .wait_idle(config.pick(Duration::from_secs(300), Duration::from_secs(60)))
        .await;

    // Callers during the outage.
    let in_outage = |class: Class| recording.stats(killed, restarted, move |s| s.class == class);
    let keyed_cached = in_outage(Class::KeyedCached);
    let anonymous_cached = in_outage(Class::AnonymousCached);
    let uncached = recording.stats(killed, restarted, |s| !s.class.cached());
    let uncached_503 = crate::load::stats(
        recording
            .select(killed, restarted, |s| !s.class.cached())
            .filter(|s| s.status == Some(503)),
    );
    let whole = recording.stats(
        Duration::ZERO,
        recording.end() + Duration::from_secs(1),
        |_| true,
    );
    let recovery = recording
        .last_failure_after(restarted, |_| true)
        .map_or(Duration::ZERO, |end| end.saturating_sub(restarted));

    let running_outcome = jobs::outcome(&stack, &running).await?;
    let fed_outcome = jobs::outcome(&stack, &fed.ids).await?;
    let consistency = jobs::consistency(&stack).await?;
    let crashes = stack.stop();

    result.setup = format!(
        "Demo tree loaded through the queues ({}), pages warmed, then {} callers per class \
         (one request every {} ms each) against both apis and a scrape plus {} parses enqueued \
         every {}. PostgreSQL killed with `pg_ctl stop -m immediate` {} into the load, \
         started again {} later, load kept on for {} more.",
        secs(seeded),
        load_options.callers_per_class,
        load_options.interval.as_millis(),
        feed_parses,
        secs(feed_every),
        secs(before),
        secs(outage),
        secs(after),
    );
    for (name, s) in [
        ("keyed, cached", &keyed_cached),
        ("anonymous, cached", &anonymous_cached),
    ] {
        result.number(
            format!("{name} during the outage: 200 / requests"),
            format!("{} / {} (p99 {})", s.ok, s.requests, ms(s.p99_ms)),
        );
    }
    result.number(
        "uncached during the outage: 503 with Retry-After / requests",
        format!(
            "{} / {} (other statuses: {:?}, errors {})",
            uncached.unavailable_with_retry_after,
            uncached.requests,
            uncached
                .statuses
                .iter()
                .filter(|(s, _)| **s != 503)
                .collect::<Vec<_>>(),
            uncached.errors
        ),
    );
    result.number(
        "uncached 503 latency p50 / p99 / max",
        format!(
            "{} / {} / {}",
            ms(uncached_503.p50_ms),
            ms(uncached_503.p99_ms),
            ms(uncached_503.max_ms)
        ),
    );
    result.number("requests over the whole run", whole.requests);
    result.number("hangs (no answer in 10 s)", whole.hangs);
    result.number("full service after the restart", secs(recovery));
    result.number(
        "jobs running at the kill: completed / dead / lost",
        format!(
            "{} / {} / {} of {}",
            running_outcome.completed,
            running_outcome.dead,
            running_outcome.missing,
            running_outcome.jobs
        ),
    );
    result.number(
        "jobs enqueued during the run: completed / dead / lost",
        format!(
            "{} / {} / {} of {} ({} runs)",
            fed_outcome.completed,
            fed_outcome.dead,
            fed_outcome.missing,
            fed_outcome.jobs,
            fed_outcome.runs
        ),
    );
    result.number(
        "queues drained after the run",
        match &drained {
            Ok(took) => format!("yes, in {}", secs(*took)),
            Err(e) => format!("no: {e}"),
        },
    );
    result.number(
        "listings checked against stored counts",
        format!(
            "{} ({} disagree{})",
            consistency.listings_checked,
            consistency.listings_mismatched,
            if consistency.mismatches.is_empty() {
                String::new()
            } else {
                format!(": {}", consistency.mismatches.join("; "))
            }
        ),
    );
    result.number("process crashes", crashes);

    result.criterion(
        "cached pages answer 200 to keyed callers during the outage",
        format!("{} of {}", keyed_cached.ok, keyed_cached.requests),
        keyed_cached.requests > 0 && keyed_cached.ok == keyed_cached.requests,
    );
    result.criterion(
        "cached pages answer 200 to anonymous callers during the outage",
        format!("{} of {}", anonymous_cached.ok, anonymous_cached.requests),
        anonymous_cached.requests > 0 && anonymous_cached.ok == anonymous_cached.requests,
    );
    result.criterion(
        "uncached pages answer 503 + Retry-After during the outage",
        format!(
            "{} of {} ({})",
            uncached.unavailable_with_retry_after,
            uncached.requests,
            percent(uncached.unavailable_with_retry_after, uncached.requests)
        ),
        uncached.requests > 0 && uncached.unavailable_with_retry_after == uncached.requests,
    );
    result.criterion(
        format!("those 503s come with p99 < {FAIL_FAST_P99_MS} ms"),
        ms(uncached_503.p99_ms),
        uncached_503.requests > 0 && uncached_503.p99_ms < FAIL_FAST_P99_MS,
    );
    result.criterion(
        "no request hangs",
        whole.hangs.to_string(),
        whole.hangs == 0,
    );
    result.criterion(
        format!(
            "full service within {} of the restart, wump not restarted",
            secs(RECOVERY_LIMIT)
        ),
        secs(recovery),
        recovery <= RECOVERY_LIMIT,
    );
    result.criterion(
        "jobs that were running are retried and complete",
        format!(
            "{} of {} completed ({} dead, {} lost)",
            running_outcome.completed,
            running_outcome.jobs,
            running_outcome.dead,
            running_outcome.missing
        ),
        running_outcome.jobs > 0 && running_outcome.completed == running_outcome.jobs,
    );
    result.criterion(
        "no job lost (every job enqueued completed or is in the dead-letter list)",
        format!(
            "{} lost of {}{}",
            fed_outcome.missing,
            fed_outcome.jobs,
            if fed_outcome.missing_ids.is_empty() {
                String::new()
            } else {
                format!(" (e.g. {})", fed_outcome.missing_ids[0])
            }
        ),
        fed_outcome.jobs > 0 && fed_outcome.missing == 0 && drained.is_ok(),
    );
    result.criterion(
        "no edge, count or roll-up left inconsistent",
        format!(
            "roll-ups {}, counts {}, listings {} of {} agree",
            if consistency.rollups_match {
                "match"
            } else {
                "DIFFER"
            },
            if consistency.counts_match {
                "match"
            } else {
                "DIFFER"
            },
            consistency.listings_checked - consistency.listings_mismatched,
            consistency.listings_checked
        ),
        consistency.holds(),
    );
    result.criterion("no process crashes", crashes.to_string(), crashes == 0);
    Ok(result)
}
