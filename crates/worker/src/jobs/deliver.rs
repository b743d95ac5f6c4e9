//! deliver: sends one stored webhook delivery, signed as the Standard Webhooks
//! specification says, through the client that refuses forbidden addresses
//! (`crate::webhooks`). Success (2xx) records the delivery and ends the subscription's run
//! of failures. Anything else is a failed attempt, retried by the queue with the webhook
//! backoff (`webhooks.max_attempts`, `backoff_*`); the last one marks the delivery failed
//! (the runner dead-letters the job) and counts a failure against the subscription, which
//! is disabled after `webhooks.disable_after_failures` in a row. A refused address, an
//! oversized body or a 410 Gone (which also disables) fail at once, without retries.

use serde_json::json;
use wump_core::jobs::DeliverJob;
use wump_db::{
    outbox,
    pool::checkout,
    tables::{
        webhook_deliveries::{self, Attempt, DeliveryStatus},
        webhook_subscriptions,
    },
};

use super::{BackgroundJob, Delivery, JobContext, JobError, JobOutcome, RetryPolicy, db};
use crate::webhooks::SendError;

impl BackgroundJob for DeliverJob {
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext, run: &Delivery) -> Result<JobOutcome, JobError> {
        let id = self.delivery_id;
        let mut outcome = JobOutcome::default();
        let (delivery, subscription) = db(ctx, async {
            let mut conn = checkout(&ctx.db).await?;
            let Some(delivery) = webhook_deliveries::by_id(&mut conn, id).await? else {
                return Ok((None, None));
            };
            let subscription =
                webhook_subscriptions::by_id(&mut conn, delivery.subscription_id).await?;
            Ok((Some(delivery), subscription))
        })
        .await?;
        // Deleted with its subscription, or finished by an earlier run of this job.
        let (Some(delivery), Some(subscription)) = (delivery, subscription) else {
            outcome.metadata.insert("gone".into(), json!(true));
            return Ok(outcome);
        };
        if delivery.status() != DeliveryStatus::Pending {
            outcome
                .metadata
                .insert("already".into(), json!(delivery.status().as_str()));
            return Ok(outcome);
        }
        if let Some(reason) = &subscription.disabled_reason {
            let why = format!("not sent: the subscription is disabled ({reason})");
            db(ctx, async {
                let mut conn = checkout(&ctx.db).await?;
                Ok(webhook_deliveries::skip(&mut conn, id, &why).await?)
            })
            .await?;
            outcome.metadata.insert("skipped".into(), json!(true));
            return Ok(outcome);
        }

        let settings = &ctx.webhooks.settings;
        let attempt = i32::try_from(run.attempt).unwrap_or(i32::MAX);
        let last = run.attempt >= settings.max_attempts.max(1);
        let secret = ctx
            .webhooks
            .cipher()
            .map_err(str::to_owned)
            .and_then(|cipher| {
                cipher
                    .decrypt(&subscription.secret_ciphertext)
                    .map_err(|e| e.to_string())
            });
        let sent = match secret {
            Ok(secret) => {
                let body = serde_json::to_vec(&delivery.payload).unwrap_or_default();
                ctx.webhooks
                    .client
                    .send(&subscription.url, &id.to_string(), body, &secret)
                    .await
            }
            Err(message) => Err(SendError::Refused(message)),
        };

        let verdict = Verdict::of(&sent, last);
        let record = Attempt {
            attempt,
            response_status: verdict.response_status,
            error: verdict.error.clone(),
            latency_ms: match &sent {
                Ok(sent) => Some(sent.latency),
                Err(e) => e.latency(),
            }
            .map_or(0, |l| i32::try_from(l.as_millis()).unwrap_or(i32::MAX)),
        };
        let status = verdict.status;
        let response_status = verdict.response_status;
        let failures = db(ctx, async {
            let mut conn = checkout(&ctx.db).await?;
            Ok(outbox::record_delivery_outcome(
                &mut conn,
                id,
                subscription.id,
                &record,
                status,
                settings.disable_after_failures,
                verdict.disable_now.as_deref(),
            )
            .await?)
        })
        .await?;
        if let Some(failures) = failures
            && failures.disabled_now
        {
            tracing::warn!(
                webhook.subscription = %subscription.id,
                failures = failures.consecutive_failures,
                "webhook subscription disabled after failed deliveries"
            );
        }
        outcome.records_processed = 1;
        outcome
            .metadata
            .insert("status".into(), json!(status.as_str()));
        outcome
            .metadata
            .insert("response_status".into(), json!(response_status));
        verdict.result.map(|()| outcome)
    }

    fn retry_policy(ctx: &JobContext) -> Option<RetryPolicy> {
        let settings = &ctx.webhooks.settings;
        Some(RetryPolicy {
            max_attempts: settings.max_attempts.max(1),
            backoff_base_ms: settings.backoff_base_ms.max(1),
            backoff_max_ms: settings.backoff_max_ms.max(settings.backoff_base_ms.max(1)),
        })
    }
}

/// What one attempt's result means for the delivery, the subscription and the queue.
struct Verdict {
    /// `Pending` while attempts remain.
    status: DeliveryStatus,
    response_status: Option<i32>,
    error: Option<String>,
    /// Disable the subscription now, with this reason (a 410 Gone).
    disable_now: Option<String>,
    /// What the job returns: retryable for a failed attempt, permanent for a refusal.
    result: Result<(), JobError>,
}

impl Verdict {
    fn of(sent: &Result<crate::webhooks::Sent, SendError>, last: bool) -> Self {
        let code = |status: &reqwest::StatusCode| Some(i32::from(status.as_u16()));
        match sent {
            Ok(sent) => Verdict {
                status: DeliveryStatus::Delivered,
                response_status: code(&sent.status),
                error: None,
                disable_now: None,
                result: Ok(()),
            },
            Err(SendError::Status { status, url, .. }) if status.as_u16() == 410 => {
                let message = format!("HTTP 410 Gone from {url}: the receiver asked to stop");
                Verdict {
                    status: DeliveryStatus::Failed,
                    response_status: Some(410),
                    error: Some(message.clone()),
                    disable_now: Some(format!("disabled: {message}")),
                    result: Err(JobError::DeliveryRefused(message)),
                }
            }
            Err(SendError::Refused(message)) => Verdict {
                status: DeliveryStatus::Failed,
                response_status: None,
                error: Some(message.clone()),
                disable_now: None,
                result: Err(JobError::DeliveryRefused(message.clone())),
            },
            Err(error) => {
                let (message, response_status) = match error {
                    SendError::Status { status, url, .. } => {
                        let mut message = format!(
                            "HTTP {} {} from {url}",
                            status.as_u16(),
                            status.canonical_reason().unwrap_or("")
                        );
                        if status.is_redirection() {
                            message.push_str(" (a redirect, not followed: webhooks.max_redirects)");
                        }
                        (message, code(status))
                    }
                    other => (other.to_string(), None),
                };
                Verdict {
                    status: if last {
                        DeliveryStatus::Failed
                    } else {
                        DeliveryStatus::Pending
                    },
                    response_status,
                    error: Some(message.clone()),
                    disable_now: None,
                    result: Err(JobError::Delivery(message)),
                }
            }
        }
    }
}
