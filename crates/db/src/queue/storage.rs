//! The queues themselves: one apalis-redis storage per (job type, priority), enqueueing,
//! depth, and the housekeeping apalis leaves to us.

use std::{
    fmt,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use apalis::prelude::{TaskBuilder, TaskSink};
use apalis_redis::{Config, ConnectionManager, RedisStorage};
use secrecy::ExposeSecret;
use serde::Serialize;
use uuid::Uuid;
use wump_core::{
    jobs::{JobPayload, JobType, Priority, queue_name},
    settings::{QueueSettings, ValkeySettings},
};

use super::{DeadLetters, Envelope, QueueError};

/// Every queue of every job type, over one Valkey connection (redis-rs' `ConnectionManager`
/// reconnects by itself and is cheap to clone).
#[derive(Clone)]
pub struct Queues {
    conn: ConnectionManager,
    prefix: String,
    settings: QueueSettings,
}

impl fmt::Debug for Queues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queues")
            .field("prefix", &self.prefix)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// How many jobs a queue holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    /// Ready to run.
    pub pending: u64,
    /// Waiting for their time (retries).
    pub scheduled: u64,
    /// Held by a worker.
    pub running: u64,
}

impl QueueDepth {
    /// Jobs not yet finished.
    pub fn total(&self) -> u64 {
        self.pending + self.scheduled + self.running
    }
}

/// Queue depths and the dead-letter size in one value (for `/health/jobs` and metrics).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueuesSnapshot {
    /// Every queue by name, high before normal before low within each job type.
    pub queues: Vec<(String, QueueDepth)>,
    /// Jobs in the dead-letter list.
    pub dead_letters: u64,
}

/// Most jobs pushed by one call of the batch-push script.
const PUSH_BATCH: usize = 500;

/// Most due jobs moved by one call of [`PROMOTE_DUE`]: far below the ~8,000 values Lua's
/// `unpack` can spread.
const PROMOTE_BATCH: usize = 1_000;

/// Moves up to ARGV[2] jobs due by ARGV[1] (seconds) from the scheduled set to the end of
/// the active list, and raises the queue's signal as apalis' own push does.
///
/// apalis-redis puts every pushed job in the scheduled set, and its `fetch_next.lua`
/// promotes *all* due jobs with one `unpack`: with more than about 8,000 due at once (a
/// scrape's follow-ups pushed while no worker fetched, a burst of retries) that call fails
/// with "too many results to unpack" on every fetch, for good, and the queue stops. Found
/// by `wump-bench queue`. Promoting in bounded batches after every push and now and then
/// from the runner keeps the due part of the scheduled set small.
const PROMOTE_DUE: &str = r#"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], 0, ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids > 0 then
  redis.call('RPUSH', KEYS[2], unpack(ids))
  redis.call('ZREM', KEYS[1], unpack(ids))
  redis.call('DEL', KEYS[3])
  redis.call('LPUSH', KEYS[3], 1)
end
return #ids
"#;

/// Deletes finished tasks' payloads and metadata (apalis' `vacuum` never does).
const FORGET_DONE: &str = r#"
local ids = redis.call('SPOP', KEYS[1], tonumber(ARGV[1]))
for _, id in ipairs(ids) do
  redis.call('HDEL', KEYS[2], id)
  redis.call('DEL', KEYS[3] .. ':' .. id)
end
return #ids
"#;

impl Queues {
    /// Connects to Valkey (over TLS for `rediss://`, trusting `valkey.ca_file` when set);
    /// fails when settings are inconsistent or the server is unreachable.
    pub async fn connect(
        valkey: &ValkeySettings,
        settings: QueueSettings,
    ) -> Result<Self, QueueError> {
        settings.validate().map_err(QueueError::Settings)?;
        crate::tls::install_default_provider();
        let url = valkey.url.expose_secret();
        // What `apalis_redis::connect` does, except that it cannot take a CA file.
        let client = match &valkey.ca_file {
            Some(path) if url.starts_with("rediss://") => {
                let root_cert = std::fs::read(path).map_err(|e| {
                    QueueError::Settings(format!(
                        "valkey.ca_file: cannot read {}: {e}",
                        path.display()
                    ))
                })?;
                let certificates = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root_cert),
                };
                redis::Client::build_with_tls(url, certificates)?
            }
            _ => redis::Client::open(url)?,
        };
        let conn = client.get_connection_manager().await?;
        Ok(Self {
            conn,
            prefix: settings.key_prefix.clone(),
            settings,
        })
    }

    /// Puts every key of these queues under `prefix` instead of `queues.key_prefix` (tests
    /// use one per test; production uses none, so queue names are exactly [`queue_name`]).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The settings these queues run with.
    pub fn settings(&self) -> &QueueSettings {
        &self.settings
    }

    /// The key prefix (empty in production).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A connection to the queue server.
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The name of the queue for `job_type` at `priority`.
    pub fn name(&self, job_type: JobType, priority: Priority) -> String {
        format!("{}{}", self.prefix, queue_name(job_type, priority))
    }

    /// apalis' configuration for one queue, every value explicit.
    pub fn config(&self, job_type: JobType, priority: Priority) -> Config {
        Config::default()
            .queue(self.name(job_type, priority))
            .heartbeat_interval(self.settings.heartbeat_interval())
            .missed_heartbeats(self.settings.missed_heartbeats.max(1) as usize)
            // Prefetch no more than the worker runs at once: a fetched job waits in this
            // worker's hands, where other workers cannot take it.
            .batch_size(self.settings.concurrency_for(job_type, priority))
            .emit_events(false)
    }

    /// The apalis storage of one queue.
    pub fn storage(&self, job_type: JobType, priority: Priority) -> RedisStorage<Envelope> {
        RedisStorage::new(self.conn.clone()).with_config(self.config(job_type, priority))
    }

    /// The dead-letter list of these queues.
    pub fn dead_letters(&self) -> DeadLetters {
        DeadLetters::new(self.clone())
    }

    /// Enqueues `job` at `priority`; returns its id.
    pub async fn enqueue<J: JobPayload>(
        &self,
        job: &J,
        priority: Priority,
    ) -> Result<Uuid, QueueError> {
        self.enqueue_payload(J::JOB_TYPE, serde_json::to_value(job)?, priority)
            .await
    }

    /// Enqueues a payload of `job_type` (for callers that only know the payload type, such
    /// as the api and the CLI); returns its id.
    pub async fn enqueue_payload(
        &self,
        job_type: JobType,
        payload: serde_json::Value,
        priority: Priority,
    ) -> Result<Uuid, QueueError> {
        let envelope = Envelope::new(job_type, priority, payload);
        let id = envelope.id;
        self.push(envelope, Duration::ZERO).await?;
        Ok(id)
    }

    /// Enqueues many payloads, each `(job type, payload, priority)`, with one round trip per
    /// queue they go to (apalis-redis' batch push) instead of one per job; returns their
    /// ids in order. A scrape's page of follow-ups goes this way.
    pub async fn enqueue_many(
        &self,
        jobs: impl IntoIterator<Item = (JobType, serde_json::Value, Priority)>,
    ) -> Result<Vec<Uuid>, QueueError> {
        let mut ids = Vec::new();
        let mut by_queue: Vec<((JobType, Priority), Vec<Envelope>)> = Vec::new();
        for (job_type, payload, priority) in jobs {
            let envelope = Envelope::new(job_type, priority, payload);
            ids.push(envelope.id);
            match by_queue
                .iter_mut()
                .find(|(q, _)| *q == (job_type, priority))
            {
                Some((_, envelopes)) => envelopes.push(envelope),
                None => by_queue.push(((job_type, priority), vec![envelope])),
            }
        }
        for ((job_type, priority), envelopes) in by_queue {
            // Bounded batches: one script call holds the server while it runs.
            for chunk in envelopes.chunks(PUSH_BATCH) {
                let mut storage = self.storage(job_type, priority);
                let tasks = chunk.iter().cloned().map(|e| TaskBuilder::new(e).build());
                storage
                    .push_all(futures_util::stream::iter(tasks))
                    .await
                    .map_err(|e| QueueError::Push(e.to_string()))?;
                self.promote_due(job_type, priority).await?;
            }
        }
        Ok(ids)
    }

    /// Moves the jobs of one queue whose time has come from its scheduled set to its active
    /// list, in bounded batches (see [`PROMOTE_DUE`] for why apalis' own promotion is not
    /// enough); returns how many.
    pub async fn promote_due(
        &self,
        job_type: JobType,
        priority: Priority,
    ) -> Result<u64, QueueError> {
        let config = self.config(job_type, priority);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut conn = self.conn.clone();
        let script = redis::Script::new(PROMOTE_DUE);
        let mut moved = 0;
        loop {
            let batch: u64 = script
                .key(config.scheduled_jobs_set())
                .key(config.active_jobs_list())
                .key(config.signal_list())
                .arg(now)
                .arg(PROMOTE_BATCH)
                .invoke_async(&mut conn)
                .await?;
            moved += batch;
            if batch < PROMOTE_BATCH as u64 {
                return Ok(moved);
            }
        }
    }

    /// Pushes an envelope onto its queue to run after `delay` (rounded up to whole seconds,
    /// the resolution of apalis-redis' schedule).
    pub async fn push(&self, envelope: Envelope, delay: Duration) -> Result<(), QueueError> {
        let (envelope_type, envelope_priority) = (envelope.job_type, envelope.priority);
        let mut storage = self.storage(envelope.job_type, envelope.priority);
        let mut task = TaskBuilder::new(envelope);
        if !delay.is_zero() {
            let due = SystemTime::now() + delay;
            let millis = due
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            task = task.run_at_timestamp(millis.div_ceil(1000) as u64);
        }
        storage
            .push_task(task.build())
            .await
            .map_err(|e| QueueError::Push(e.to_string()))?;
        if delay.is_zero() {
            self.promote_due(envelope_type, envelope_priority).await?;
        }
        Ok(())
    }

    /// How many jobs one queue holds.
    pub async fn depth(
        &self,
        job_type: JobType,
        priority: Priority,
    ) -> Result<QueueDepth, QueueError> {
        let config = self.config(job_type, priority);
        let mut conn = self.conn.clone();
        let (pending, scheduled, workers): (u64, u64, Vec<String>) = redis::pipe()
            .llen(config.active_jobs_list())
            .zcard(config.scheduled_jobs_set())
            .zrange(config.workers_set(), 0, -1)
            .query_async(&mut conn)
            .await?;
        let mut running = 0;
        if !workers.is_empty() {
            let mut pipe = redis::pipe();
            for worker in &workers {
                pipe.scard(format!("{}:{worker}", config.inflight_jobs_set()));
            }
            let counts: Vec<u64> = pipe.query_async(&mut conn).await?;
            running = counts.iter().sum();
        }
        Ok(QueueDepth {
            pending,
            scheduled,
            running,
        })
    }

    /// The depth of every queue, by name.
    pub async fn depths(&self) -> Result<Vec<(String, QueueDepth)>, QueueError> {
        let mut depths = Vec::new();
        for job_type in JobType::ALL {
            for priority in Priority::ALL {
                depths.push((
                    self.name(job_type, priority),
                    self.depth(job_type, priority).await?,
                ));
            }
        }
        Ok(depths)
    }

    /// Every queue's depth and the dead-letter size.
    pub async fn snapshot(&self) -> Result<QueuesSnapshot, QueueError> {
        Ok(QueuesSnapshot {
            queues: self.depths().await?,
            dead_letters: self.dead_letters().len().await?,
        })
    }

    /// Forgets up to `limit` finished jobs of one queue (their payloads and metadata);
    /// returns how many. The runner calls it now and then.
    pub async fn forget_done(
        &self,
        job_type: JobType,
        priority: Priority,
        limit: usize,
    ) -> Result<u64, QueueError> {
        let config = self.config(job_type, priority);
        let mut conn = self.conn.clone();
        Ok(redis::Script::new(FORGET_DONE)
            .key(config.done_jobs_set())
            .key(config.job_data_hash())
            .key(config.job_meta_hash())
            .arg(limit.max(1))
            .invoke_async(&mut conn)
            .await?)
    }
}
