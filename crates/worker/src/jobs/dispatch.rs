//! dispatch: the webhook outbox. Claims the dependency events no dispatch has matched
//! yet (`wump_db::outbox`), stores one delivery per (event, subscription) that wants it,
//! marks the events dispatched — one transaction per batch — and only then enqueues a
//! `deliver` job per delivery and notes it enqueued. Deliveries whose enqueue was lost (the
//! process stopped between the commit and the enqueue) are enqueued again by the next run
//! a minute later; a deliver job finds a delivery already finished and does nothing.
//! Each run also deletes a batch of finished deliveries older than
//! `webhooks.delivery_retention_days`.

use chrono::Utc;
use percent_encoding::{AsciiSet, utf8_percent_encode};
use serde_json::json;
use uuid::Uuid;
use wump_core::{
    jobs::{DeliverJob, DispatchJob, JobType, Priority},
    webhooks::{DeliveryPayload, EventData, OrganizationRef, PackageData, RepositoryData},
};
use wump_db::{
    ValkeyError, outbox,
    pool::checkout,
    tables::webhook_deliveries::{self, NewDelivery},
};

use super::{BackgroundJob, Delivery, JobContext, JobError, JobOutcome, db};

/// A package name as one path segment: everything but RFC 3986's unreserved characters
/// escaped (`@scope/name` → `%40scope%2Fname`), as the API's routes take it.
const SEGMENT: &AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Batches one run takes at most; the rest waits for the run that the next event or the
/// schedule brings.
const MAX_BATCHES: usize = 20;

/// How long a delivery may stay unqueued before a run enqueues it again.
const LOST_AFTER: chrono::Duration = chrono::Duration::minutes(1);

impl BackgroundJob for DispatchJob {
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext, _: &Delivery) -> Result<JobOutcome, JobError> {
        let queues = ctx.queues.clone().ok_or_else(|| {
            JobError::Unsupported("dispatch enqueues deliveries: it needs the queues".into())
        })?;
        let batch = i64::try_from(ctx.webhooks.settings.dispatch_batch.max(1)).unwrap_or(500);
        let mut outcome = JobOutcome::default();
        let mut events = 0usize;
        let mut deliveries = 0usize;
        for _ in 0..MAX_BATCHES {
            let (claimed, stored) = db(ctx, async {
                let mut conn = checkout(&ctx.db).await?;
                let public_url = ctx.webhooks.public_url.as_str();
                let now = Utc::now();
                Ok(
                    outbox::dispatch_batch(&mut conn, batch, |m| new_delivery(m, public_url, now))
                        .await?,
                )
            })
            .await?;
            events += claimed;
            deliveries += stored.len();
            enqueue(ctx, &queues, &stored).await?;
            if claimed < batch as usize {
                break;
            }
        }
        let lost = db(ctx, async {
            let mut conn = checkout(&ctx.db).await?;
            Ok(webhook_deliveries::unqueued(&mut conn, Utc::now() - LOST_AFTER, batch).await?)
        })
        .await?;
        if !lost.is_empty() {
            tracing::warn!(
                deliveries = lost.len(),
                "enqueueing deliveries whose enqueue was lost"
            );
            enqueue(ctx, &queues, &lost).await?;
        }
        let retention =
            chrono::Duration::days(ctx.webhooks.settings.delivery_retention_days.into());
        let pruned = db(ctx, async {
            let mut conn = checkout(&ctx.db).await?;
            Ok(webhook_deliveries::prune(&mut conn, Utc::now() - retention, batch).await?)
        })
        .await?;
        outcome
            .metadata
            .insert("deliveries_pruned".into(), json!(pruned));
        outcome.records_processed = events as u64;
        outcome.metadata.insert("events".into(), json!(events));
        outcome
            .metadata
            .insert("deliveries".into(), json!(deliveries));
        outcome
            .metadata
            .insert("deliveries_requeued".into(), json!(lost.len()));
        if events > 0 || !lost.is_empty() {
            tracing::info!(
                events,
                deliveries,
                requeued = lost.len(),
                "webhook events dispatched"
            );
        }
        Ok(outcome)
    }
}

/// A delivery of match `m`, its body built once (every attempt sends the same).
fn new_delivery(m: outbox::Match, public_url: &str, now: chrono::DateTime<Utc>) -> NewDelivery {
    let package_url = format!(
        "{public_url}/api/v1/packages/{}/{}",
        m.ecosystem.as_str(),
        utf8_percent_encode(&m.package, SEGMENT)
    );
    let repository = m.repository.map(|full_name| RepositoryData {
        // Hosts with a domain name serve the repository at this address; `local` does not.
        url: m
            .host
            .contains('.')
            .then(|| format!("https://{}/{full_name}", m.host)),
        host: m.host.clone(),
        full_name,
        stars: m.stars,
    });
    let payload = DeliveryPayload {
        kind: m.event,
        timestamp: now,
        data: EventData {
            event_id: m.event_id,
            occurred_at: m.occurred_at,
            package: PackageData {
                ecosystem: m.ecosystem,
                name: m.package,
                url: package_url,
            },
            repository,
            organization: OrganizationRef {
                host: m.host,
                login: m.organization,
            },
            kind: m.kind,
            stars: m.stars,
        },
    };
    NewDelivery {
        id: Uuid::now_v7(),
        subscription_id: m.subscription_id,
        event_id: m.event_id,
        event: m.event,
        payload: serde_json::to_value(payload).unwrap_or_default(),
    }
}

/// Enqueues a deliver job per delivery, then notes them enqueued.
async fn enqueue(
    ctx: &JobContext,
    queues: &wump_db::queue::Queues,
    ids: &[Uuid],
) -> Result<(), JobError> {
    if ids.is_empty() {
        return Ok(());
    }
    let jobs = ids.iter().map(|&delivery_id| {
        (
            JobType::Deliver,
            json!(DeliverJob { delivery_id }),
            Priority::Normal,
        )
    });
    queues
        .enqueue_many(jobs)
        .await
        .map_err(|e| JobError::Valkey(ValkeyError::Unavailable(e.to_string())))?;
    db(ctx, async {
        let mut conn = checkout(&ctx.db).await?;
        Ok(webhook_deliveries::mark_enqueued(&mut conn, ids).await?)
    })
    .await?;
    Ok(())
}
