//! Scenario 2: Valkey killed (SIGKILL), then started again from its append-only file, under
//! load, with jobs enqueued before and during the outage.

use std::time::{Duration, Instant};

use super::{RunConfig, ScenarioResult, ms, percent, secs};
use crate::{
    Result,
    jobs::{self, Feeder},
    stack::{Stack, StackOptions},
};

/// The scenario's title.
pub const TITLE: &str = "Valkey killed, then started from its AOF";

/// Most reads that may fail while Valkey is away.
const MAX_ERROR_RATE: f64 = 0.01;

/// Runs the scenario.
pub async fn run(config: &RunConfig) -> Result<ScenarioResult> {
    let outage = config.pick(Duration::from_secs(15), Duration::from_secs(4));
    let before = config.pick(Duration::from_secs(5), Duration::from_millis(1500));
    let after = config.pick(Duration::from_secs(15), Duration::from_secs(5));
    let mut options = StackOptions::new("valkey-outage", config.bins.clone());
    options.work = config.work.clone();
    if config.short {
        options
            .env
            .push(("WUMP__QUEUES__BACKOFF_BASE_MS".into(), "1000".into()));
        options
            .env
            .push(("WUMP__QUEUES__BACKOFF_MAX_MS".into(), "4000".into()));
    }
    let stack = Stack::start(options).await?;
    let mut result = ScenarioResult::new(2, TITLE, stack.dir.clone());

    let (seeded, load_options, load) = stack.seeded_under_load().await?;
    let feed_every = config.pick(Duration::from_millis(500), Duration::from_secs(1));
    let feed_parses = if config.short { 3 } else { 6 };
    let feeder = Feeder::start(&stack, feed_every, feed_parses);
    tokio::time::sleep(before).await;

    let limiter_local_before = local_limiter_decisions(&stack).await;
    stack.valkey.kill()?;
    let killed = load.mark("valkey killed");
    // Workers must not die with their queue server.
    tokio::time::sleep(outage).await;
    let workers_alive = stack.workers.iter().all(|w| w.exited().is_none());
    let limiter_local = local_limiter_decisions(&stack).await;
    stack.valkey.start_again()?;
    let restarted = load.mark("valkey started");
    let restarted_at = Instant::now();
    let fed_during = feeder.so_far();
    // Resumed: a job enqueued now completes.
    let probe = stack
        .enqueue_scrape(wump_core::jobs::Priority::High)
        .await?;
    let resumed = crate::eventually(
        "a job enqueued after the restart to complete",
        config.pick(Duration::from_secs(120), Duration::from_secs(30)),
        || async {
            let outcome = jobs::outcome(&stack, std::slice::from_ref(&probe))
                .await
                .ok()?;
            (outcome.completed == 1).then(|| restarted_at.elapsed())
        },
    )
    .await;
    let remaining = after.saturating_sub(restarted_at.elapsed());
    tokio::time::sleep(remaining).await;
    let fed = feeder.stop().await;
    let recording = load.stop().await;
    let drained = stack
        .wait_idle(config.pick(Duration::from_secs(300), Duration::from_secs(60)))
        .await;

    let reads = recording.stats(killed, restarted, |_| true);
    let whole = recording.stats(
        Duration::ZERO,
        recording.end() + Duration::from_secs(1),
        |_| true,
    );
    // Jobs enqueued before or during the outage (what the feeder had by the restart).
    let before_or_during = &fed.ids[..fed_during.ids.len()];
    let outcome = jobs::outcome(&stack, before_or_during).await?;
    let all = jobs::outcome(&stack, &fed.ids).await?;
    let crashes = stack.stop();

    result.setup = format!(
        "Demo tree loaded ({}), pages warmed, {} callers per class (one request every {} ms \
         each) against both apis, a scrape plus {} parses enqueued every {}. Valkey \
         (appendonly yes, appendfsync everysec) killed with SIGKILL {} into the load, started \
         again from its directory {} later; load kept on {} after.",
        secs(seeded),
        load_options.callers_per_class,
        load_options.interval.as_millis(),
        feed_parses,
        secs(feed_every),
        secs(before),
        secs(outage),
        secs(after),
    );
    result.number(
        "reads during the outage: 200 / requests",
        format!(
            "{} / {} (statuses {:?}, errors {}, hangs {})",
            reads.ok, reads.requests, reads.statuses, reads.errors, reads.hangs
        ),
    );
    result.number(
        "read latency during the outage p50 / p99 / max",
        format!(
            "{} / {} / {}",
            ms(reads.p50_ms),
            ms(reads.p99_ms),
            ms(reads.max_ms)
        ),
    );
    result.number(
        "rate-limit decisions by the in-process fallback during the outage",
        match (limiter_local_before, limiter_local) {
            (Some(b), Some(a)) => (a - b).to_string(),
            _ => "unreadable".into(),
        },
    );
    result.number("enqueues refused while Valkey was away", fed_during.refused);
    result.number(
        "first job completed after the restart",
        match &resumed {
            Ok(took) => format!("{} after", secs(*took)),
            Err(e) => format!("never: {e}"),
        },
    );
    result.number(
        "jobs enqueued before or during the outage: completed / dead / lost",
        format!(
            "{} / {} / {} of {}",
            outcome.completed, outcome.dead, outcome.missing, outcome.jobs
        ),
    );
    result.number(
        "all jobs enqueued: completed / dead / lost",
        format!(
            "{} / {} / {} of {} ({} runs)",
            all.completed, all.dead, all.missing, all.jobs, all.runs
        ),
    );
    result.number("hangs (no answer in 10 s)", whole.hangs);
    result.number("process crashes", crashes);

    result.criterion(
        format!(
            "reads come from PostgreSQL: at most {} errors",
            percent(1, 100)
        ),
        percent(reads.requests - reads.ok, reads.requests),
        reads.requests > 0 && reads.error_rate() <= MAX_ERROR_RATE,
    );
    let fallback = match (limiter_local_before, limiter_local) {
        (Some(b), Some(a)) => a > b,
        _ => false,
    };
    result.criterion(
        "the limiter falls back (in-process decisions, no 429)",
        format!(
            "{} in-process decisions, {} answers 429",
            match (limiter_local_before, limiter_local) {
                (Some(b), Some(a)) => (a - b).to_string(),
                _ => "?".into(),
            },
            reads.count(429)
        ),
        fallback && reads.count(429) == 0,
    );
    result.criterion(
        "workers pause and resume (alive through the outage, jobs complete after it)",
        format!(
            "alive: {workers_alive}; {}",
            match &resumed {
                Ok(took) => format!("a new job completed {} after the restart", secs(*took)),
                Err(_) => "no new job completed".into(),
            }
        ),
        workers_alive && resumed.is_ok(),
    );
    result.criterion(
        "every job enqueued before or during the outage is completed or dead-lettered",
        format!(
            "{} completed + {} dead of {} ({} lost)",
            outcome.completed, outcome.dead, outcome.jobs, outcome.missing
        ),
        outcome.jobs > 0 && outcome.missing == 0 && drained.is_ok(),
    );
    result.criterion(
        "no request hangs",
        whole.hangs.to_string(),
        whole.hangs == 0,
    );
    result.criterion("no process crashes", crashes.to_string(), crashes == 0);
    Ok(result)
}

/// Sum of `wump_api_rate_limit_decisions` with `backend="local"` over every api's /metrics.
async fn local_limiter_decisions(stack: &Stack) -> Option<u64> {
    let mut total = 0u64;
    for base in &stack.api_urls {
        let text = stack
            .client
            .get(format!("{base}/metrics"))
            .header("x-api-key", &stack.key)
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        for line in text.lines() {
            if line.starts_with("wump_api_rate_limit_decisions")
                && line.contains("backend=\"local\"")
            {
                let value = line.rsplit(' ').next()?;
                total += value.parse::<f64>().ok()? as u64;
            }
        }
    }
    Some(total)
}
