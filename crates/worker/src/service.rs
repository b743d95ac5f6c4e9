//! `wump-worker run`: the job context from settings, every job type on the queues, the
//! scheduler of recurring jobs and the health endpoint beside them, until SIGTERM/Ctrl-C or
//! (with `--until-idle`) until every queue has run dry.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use wump_core::{Settings, settings::ValkeySettings};
use wump_providers::{
    FleetLimits, FleetPolicy, GitHubProvider, HttpCache, MemoryHttpCache, ProviderRegistry,
    ProvidersConfig,
};

use crate::{
    fleet_limits::ValkeyFleetStore,
    http_cache::ValkeyHttpCache,
    jobs::{JobContext, register_all},
    metrics::{self, QueueGauges},
    queue::{Queues, Runner, shutdown_signal, wait_until_idle},
    scheduler::Scheduler,
};

/// How `run` ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Stop once every queue is empty and nothing runs (batch use, tests, the demo)
    /// instead of waiting for SIGTERM.
    pub until_idle: bool,
    /// Leave the `[schedule]` entries to other replicas (or to nobody). `until_idle` never
    /// runs the scheduler: a batch run ends when the queues are dry, not on a schedule.
    pub no_scheduler: bool,
}

/// The runners' context from `settings`: database and Valkey pools, the configured
/// providers and the manifest limits. Cache-version keys go under `queues.key_prefix` (empty
/// in production), so deployments sharing one Valkey keep their caches apart too.
pub fn job_context(settings: &Settings) -> anyhow::Result<JobContext> {
    let db = wump_db::connect(&settings.database).context("database settings")?;
    let valkey = wump_db::connect_valkey(&settings.valkey).context("valkey settings")?;
    let providers: ProvidersConfig = settings
        .providers
        .read()
        .context("reading the providers settings")?;
    let fleet = fleet_limits(settings, &valkey)?;
    // Conditional-request answers shared through Valkey, or this process's own.
    let cache: Arc<dyn HttpCache> = if settings.http_cache.enabled {
        Arc::new(ValkeyHttpCache::new(
            valkey.clone(),
            wump_db::Keys::new(settings.queues.key_prefix.as_str()).http_cache(),
            Duration::from_secs(settings.http_cache.ttl_secs),
            settings.http_cache.max_entry_bytes,
        ))
    } else {
        Arc::new(MemoryHttpCache::default())
    };
    let mut registry =
        ProviderRegistry::from_config_with_cache(&providers, fleet.as_ref(), Arc::clone(&cache))
            .context("building the providers")?;
    if providers.github.enabled && settings.http_cache.enabled {
        // The same GitHub provider, its conditional-request cache shared through Valkey.
        let mut github =
            GitHubProvider::with_cache(providers.github.client_config(&providers.http), cache)
                .context("building the github provider")?;
        if let Some(fleet) = fleet {
            github = github.with_fleet(fleet);
        }
        registry.register(Arc::new(github));
    }
    let providers = registry;
    tracing::info!(providers = ?providers.names(), "providers configured");
    let webhooks = crate::webhooks::Webhooks::new(&settings.webhooks, &settings.api.public_url)
        .context("the webhooks settings")?;
    if settings.webhooks.secret_key.is_none() {
        tracing::warn!(
            "webhooks.secret_key is not set: webhook deliveries fail until it is \
             (WUMP__WEBHOOKS__SECRET_KEY)"
        );
    }
    let mut ctx = JobContext::new(db, valkey, providers, settings.manifests)
        .with_key_prefix(settings.queues.key_prefix.clone())
        .with_webhooks(webhooks);
    ctx.job_retention = chrono::Duration::days(settings.cleanup.job_retention_days.into());
    ctx.gone_retention = chrono::Duration::days(settings.cleanup.gone_retention_days.into());
    ctx.history_retention = chrono::Duration::days(settings.cleanup.history_retention_days.into());
    Ok(ctx)
}

/// The providers' limits shared through Valkey under `queues.key_prefix`, unless
/// `provider_limits.shared` is off.
pub fn fleet_limits(
    settings: &Settings,
    valkey: &wump_db::ValkeyPool,
) -> anyhow::Result<Option<FleetLimits>> {
    let limits = &settings.provider_limits;
    if !limits.shared {
        tracing::info!("provider limits are this process's own (provider_limits.shared = false)");
        return Ok(None);
    }
    let pool = match &limits.valkey_url {
        Some(url) => {
            let own = ValkeySettings {
                url: url.clone(),
                ..settings.valkey.clone()
            };
            wump_db::connect_valkey(&own).context("provider_limits.valkey_url")?
        }
        None => valkey.clone(),
    };
    let store = ValkeyFleetStore::new(pool, settings.queues.key_prefix.clone());
    Ok(Some(FleetLimits::new(
        Arc::new(store),
        FleetPolicy {
            max_in_flight: limits.github_in_flight_per_token,
            lease_margin: Duration::from_millis(limits.lease_margin_ms),
            fallback_share: limits.fallback_share,
            retry_after_failure: Duration::from_millis(limits.retry_after_failure_ms),
            max_sleep: Duration::from_millis(limits.max_sleep_ms),
        },
    )))
}

/// Runs every job type from the queues next to the health server until SIGTERM/Ctrl-C
/// (or until idle), then lets running jobs finish within `worker.shutdown_grace_secs` and
/// hands back the rest.
pub async fn run(settings: &Settings, options: RunOptions) -> anyhow::Result<()> {
    let ctx = job_context(settings)?;
    let db = ctx.db.clone();
    let queues = Queues::connect(&settings.valkey, settings.queues.clone())
        .await
        .context("connecting to the queues")?;
    let grace = Duration::from_secs(settings.worker.shutdown_grace_secs);
    let runner = register_all(
        Runner::new(queues.clone(), grace),
        &ctx.with_follow_ups_onto(queues.clone()),
        settings.worker.noop_jobs,
    );
    let in_flight = runner.in_flight();
    let gauges = tokio::spawn(
        QueueGauges::new(&metrics::meter())
            .sample_every(queues.clone(), settings.worker.metrics_interval()),
    );
    let scheduler = if options.until_idle || options.no_scheduler {
        None
    } else {
        Some(
            Scheduler::new(
                queues.clone(),
                &settings.schedule,
                runner.base_name(),
                Some(db),
            )
            .context("schedule settings")?,
        )
    };

    let health = crate::health::server(
        settings.worker.health_bind,
        settings.worker.shutdown_grace_secs,
    )
    .with_context(|| format!("binding {}", settings.worker.health_bind))?;
    let health_handle = health.handle();
    tracing::info!(
        health = %settings.worker.health_bind,
        until_idle = options.until_idle,
        "wump-worker running"
    );

    let poll = settings.queues.poll_interval();
    // Long enough for an idle worker to have polled a few times: a job enqueued by the last
    // one to finish is seen before we call the queues dry.
    let settle = (poll * 5).max(Duration::from_secs(1));
    let idle_queues = queues.clone();
    let until_idle = options.until_idle;
    // One signal for both: the scheduler stops enqueueing when the workers stop fetching.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let scheduled = scheduler.map(|scheduler| {
        let mut stopped = stopped.clone();
        tokio::spawn(scheduler.run_until(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }))
    });
    let work = async {
        let result = runner
            .run_until(async move {
                if until_idle {
                    tokio::select! {
                        () = shutdown_signal() => {}
                        () = wait_until_idle(&idle_queues, &in_flight, settle, poll) => {}
                    }
                } else {
                    shutdown_signal().await;
                }
                let _ = stop.send(true);
            })
            .await;
        if let Some(scheduled) = scheduled
            && let Err(error) = scheduled.await
        {
            tracing::warn!(%error, "the scheduler failed");
        }
        // The health server stops on SIGTERM by itself; not when the queues run dry.
        health_handle.stop(true).await;
        result
    };
    let (result, served) = tokio::join!(work, health);
    gauges.abort();
    result.context("running the queues")?;
    served.context("serving /health")?;
    match queues.dead_letters().len().await {
        Ok(0) => {}
        Ok(dead) => tracing::warn!(
            dead,
            "jobs in the dead-letter list (`wump-worker dlq list`)"
        ),
        Err(error) => tracing::warn!(%error, "reading the dead-letter list"),
    }
    tracing::info!("wump-worker stopped");
    Ok(())
}
