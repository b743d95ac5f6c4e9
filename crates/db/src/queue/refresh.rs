//! On-demand refreshes, deduplicated while one is pending.
//!
//! Deduplication is a Valkey key per package ([`Keys::refresh_pending`]) holding the
//! pending job's id, set with `SET NX` and a TTL (`[api.refresh] pending_ttl_secs`). A
//! second refresh while it is held gets the same job id; once the holder is no longer
//! pending (the caller decides, from its `job_executions` row), the next refresh replaces
//! the key and enqueues anew. A second key per job ([`Keys::refresh_job`], a day) lets the
//! status endpoint say `queued` before the worker has written any row.

use std::{future::Future, time::Duration};

use redis::AsyncCommands as _;
use uuid::Uuid;
use wump_core::{
    Ecosystem,
    jobs::{DiscoverJob, JobType, Priority},
};

use super::{Envelope, QueueError, Queues};
use crate::Keys;

/// How long a refresh's job id stays known to the status endpoint before it has run.
const JOB_KEY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Rounds of claim-or-find before giving up: each one either claims the key or finds a
/// holder, so more than a few means the key keeps changing under us.
const ROUNDS: usize = 3;

/// Deletes KEYS[1] only while it still holds ARGV[1] (never another request's job).
const DELETE_IF_HOLDS: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// A refresh that was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The discovery job that will (or already did) refresh the package.
    pub job_id: Uuid,
    /// `false` when an earlier refresh's job was still pending.
    pub enqueued: bool,
}

impl Queues {
    /// Enqueues a high-priority discovery of `name` unless one is pending (`still_pending`
    /// says whether a holder's job may still run); `None` when the dedup key kept changing.
    pub async fn request_refresh<F, Fut>(
        &self,
        keys: &Keys,
        ecosystem: Ecosystem,
        name: &str,
        pending_ttl_secs: u64,
        still_pending: F,
    ) -> Result<Option<Accepted>, QueueError>
    where
        F: Fn(Uuid) -> Fut,
        Fut: Future<Output = bool>,
    {
        let mut conn = self.connection();
        let dedup = keys.refresh_pending(ecosystem, name);
        for _ in 0..ROUNDS {
            let payload = serde_json::to_value(DiscoverJob {
                ecosystem,
                name: name.to_owned(),
            })?;
            let envelope = Envelope::new(JobType::Discover, Priority::High, payload);
            let id = envelope.id;
            let claimed: Option<String> = redis::cmd("SET")
                .arg(&dedup)
                .arg(id.to_string())
                .arg("NX")
                .arg("EX")
                .arg(pending_ttl_secs.max(1))
                .query_async(&mut conn)
                .await?;
            if claimed.is_some() {
                self.enqueue_refresh(keys, &dedup, envelope).await?;
                return Ok(Some(Accepted {
                    job_id: id,
                    enqueued: true,
                }));
            }
            let holder: Option<String> = conn.get(&dedup).await?;
            let Some(holder) = holder.and_then(|h| h.parse::<Uuid>().ok()) else {
                continue;
            };
            if still_pending(holder).await {
                return Ok(Some(Accepted {
                    job_id: holder,
                    enqueued: false,
                }));
            }
            let _: i64 = redis::Script::new(DELETE_IF_HOLDS)
                .key(&dedup)
                .arg(holder.to_string())
                .invoke_async(&mut conn)
                .await?;
        }
        Ok(None)
    }

    /// Pushes the job, releasing the dedup key when that fails.
    async fn enqueue_refresh(
        &self,
        keys: &Keys,
        dedup: &str,
        envelope: Envelope,
    ) -> Result<(), QueueError> {
        let id = envelope.id;
        let mut conn = self.connection();
        let known: Result<(), _> = conn
            .set_ex(keys.refresh_job(id), dedup, JOB_KEY_TTL.as_secs())
            .await;
        let pushed = match known {
            Ok(()) => self.push(envelope, Duration::ZERO).await,
            Err(e) => Err(e.into()),
        };
        if let Err(error) = pushed {
            let _: Result<i64, _> = redis::Script::new(DELETE_IF_HOLDS)
                .key(dedup)
                .arg(id.to_string())
                .invoke_async(&mut conn)
                .await;
            return Err(error);
        }
        Ok(())
    }

    /// Whether a refresh job `id` was accepted within the last day (before any run of it
    /// is recorded, this is all that says it exists).
    pub async fn refresh_known(&self, keys: &Keys, id: Uuid) -> Result<bool, QueueError> {
        Ok(self.connection().exists(keys.refresh_job(id)).await?)
    }
}
