//! The scheduler: recurring jobs from `[schedule]`, enqueued at normal priority, each tick
//! exactly once however many replicas run it.
//!
//! Every replica runs the scheduler (cron runs in-process). At each tick a replica tries
//! `SET <prefix>wump:schedule:<name>:<tick> <worker> NX EX <lock_ttl>`; only the one that
//! sets the key enqueues. The key names the tick's scheduled second, not the moment a
//! replica woke up, so replicas agree on it whatever their delays. The winner dying between
//! the lock and the enqueue loses that tick (the next one runs as usual).
//!
//! The ticks come from the `cron` crate directly rather than apalis-cron's stream: once a
//! tick is overdue when that stream computes its delay (a slow enqueue on a per-second
//! schedule, a suspended host), it yields `OutOfRange` errors forever. Here a tick missed
//! by up to [`MISSED_TICK_GRACE`] still fires; older ones are skipped.

use std::{str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use uuid::Uuid;
use wump_core::{
    jobs::{JobType, Priority},
    settings::{ScheduleSettings, ScheduledJob},
};
use wump_db::{DbPool, pool::checkout, tables::organizations};

use crate::{
    jobs::Job,
    queue::{QueueError, Queues},
};

/// How late a tick may still fire (a Valkey hiccup, a busy host); later ones are skipped.
pub const MISSED_TICK_GRACE: Duration = Duration::from_secs(60);

/// Longest single sleep, so wall-clock jumps (NTP, a suspended VM) are noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Organizations read per query when an enrich fans out to all of them.
const FAN_OUT_PAGE: i64 = 1_000;

/// Why the schedule cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("schedule.jobs.{name}: invalid cron expression {cron:?}: {message}")]
    Cron {
        name: String,
        cron: String,
        message: String,
    },
    #[error("schedule.jobs.{name}: invalid payload: {message}")]
    Payload { name: String, message: String },
    #[error("schedule.jobs.{name}: an enrich of every organization needs the database")]
    NoDatabase { name: String },
}

/// The key that lets one replica, and only one, enqueue `name`'s tick at `tick`.
pub fn tick_key(prefix: &str, name: &str, tick: DateTime<Utc>) -> String {
    wump_db::Keys::new(prefix).schedule_tick(name, tick)
}

/// One enabled entry, parsed.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    schedule: cron::Schedule,
    job_type: JobType,
    /// `None`: an enrich of every stored organization.
    payload: Option<serde_json::Value>,
}

impl Entry {
    fn parse(name: &str, job: &ScheduledJob) -> Result<Self, ScheduleError> {
        let schedule = cron::Schedule::from_str(&job.cron).map_err(|e| ScheduleError::Cron {
            name: name.to_owned(),
            cron: job.cron.clone(),
            message: e.to_string(),
        })?;
        let payload = if enriches_every_organization(job) {
            None
        } else {
            Job::from_json(job.job, &job.payload).map_err(|e| ScheduleError::Payload {
                name: name.to_owned(),
                message: e.to_string(),
            })?;
            Some(job.payload.clone())
        };
        Ok(Self {
            name: name.to_owned(),
            schedule,
            job_type: job.job,
            payload,
        })
    }
}

/// An enrich whose payload names no organization: one enrich per stored organization.
fn enriches_every_organization(job: &ScheduledJob) -> bool {
    job.job == JobType::Enrich && job.payload.get("organization").is_none()
}

/// Enqueues the configured recurring jobs on their ticks.
#[derive(Clone)]
pub struct Scheduler {
    queues: Queues,
    entries: Vec<Entry>,
    lock_ttl: Duration,
    /// Stored in each lock this replica wins (which replica enqueued a tick).
    owner: String,
    db: Option<DbPool>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("entries", &self.names())
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// The enabled entries of `settings`, checked: a bad cron expression or payload is an
    /// error now rather than a failed job at 02:00. `owner` names this replica in the locks
    /// it wins; `db` is needed only by enrich-every-organization entries.
    pub fn new(
        queues: Queues,
        settings: &ScheduleSettings,
        owner: impl Into<String>,
        db: Option<DbPool>,
    ) -> Result<Self, ScheduleError> {
        let mut entries = Vec::new();
        for (name, job) in settings.jobs.iter().filter(|(_, job)| job.enabled) {
            let entry = Entry::parse(name, job)?;
            if entry.payload.is_none() && db.is_none() {
                return Err(ScheduleError::NoDatabase { name: name.clone() });
            }
            entries.push(entry);
        }
        Ok(Self {
            queues,
            entries,
            lock_ttl: settings.lock_ttl(),
            owner: owner.into(),
            db,
        })
    }

    /// The names of the entries that will run.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }

    /// Fires every entry on its ticks until `signal` resolves. A tick that is being
    /// enqueued when the signal comes is finished first.
    pub async fn run_until(self, signal: impl Future<Output = ()> + Send) {
        tracing::info!(entries = ?self.names(), "scheduler running");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        for entry in self.entries.clone() {
            let scheduler = self.clone();
            let mut stopped = stopped.clone();
            tasks.spawn(async move {
                scheduler
                    .run_entry(&entry, async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    })
                    .await
            });
        }
        signal.await;
        let _ = stop.send(true);
        while tasks.join_next().await.is_some() {}
        tracing::info!("scheduler stopped");
    }

    async fn run_entry(&self, entry: &Entry, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let mut from = Utc::now();
        loop {
            let Some(tick) = entry.schedule.after(&from).next() else {
                tracing::info!(schedule = %entry.name, "no more ticks");
                return;
            };
            tokio::select! {
                () = &mut stop => return,
                () = sleep_until(tick) => {}
            }
            match self.fire(entry, tick).await {
                Ok(Some(jobs)) => tracing::info!(
                    schedule = %entry.name,
                    tick = %tick,
                    jobs,
                    "scheduled job enqueued"
                ),
                Ok(None) => tracing::debug!(
                    schedule = %entry.name,
                    tick = %tick,
                    "tick taken by another replica"
                ),
                Err(error) => tracing::warn!(
                    schedule = %entry.name,
                    tick = %tick,
                    %error,
                    "scheduled job not enqueued"
                ),
            }
            let grace = chrono::Duration::from_std(MISSED_TICK_GRACE).unwrap_or_default();
            from = tick.max(Utc::now() - grace);
        }
    }

    /// Takes `tick`'s lock and, when this replica got it, enqueues the entry's job(s);
    /// returns how many, or `None` when another replica has the tick.
    async fn fire(&self, entry: &Entry, tick: DateTime<Utc>) -> Result<Option<u64>, FireError> {
        let key = tick_key(self.queues.prefix(), &entry.name, tick);
        let mut conn = self.queues.connection();
        let won: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(&self.owner)
            .arg("NX")
            .arg("EX")
            .arg(self.lock_ttl.as_secs().max(1))
            .query_async(&mut conn)
            .await
            .map_err(QueueError::from)?;
        if won.is_none() {
            return Ok(None);
        }
        let jobs = match &entry.payload {
            Some(payload) => {
                self.queues
                    .enqueue_payload(entry.job_type, payload.clone(), Priority::Normal)
                    .await?;
                1
            }
            None => self.enrich_every_organization().await?,
        };
        Ok(Some(jobs))
    }

    async fn enrich_every_organization(&self) -> Result<u64, FireError> {
        let Some(db) = &self.db else {
            return Ok(0);
        };
        let mut after: Option<Uuid> = None;
        let mut enqueued = 0;
        loop {
            let page = wump_db::pool::bounded(db, async {
                let mut conn = checkout(db).await?;
                organizations::page_after(&mut conn, after, FAN_OUT_PAGE)
                    .await
                    .map_err(wump_db::DbError::from)
            })
            .await?;
            let Some((last, _, _)) = page.last() else {
                return Ok(enqueued);
            };
            after = Some(*last);
            for (_, host, organization) in &page {
                let payload = serde_json::json!({ "host": host, "organization": organization });
                self.queues
                    .enqueue_payload(JobType::Enrich, payload, Priority::Normal)
                    .await?;
                enqueued += 1;
            }
        }
    }
}

/// Why a tick enqueued nothing.
#[derive(Debug, thiserror::Error)]
enum FireError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Database(#[from] wump_db::DbError),
}

/// Sleeps until the wall clock reaches `at`, in steps of at most [`MAX_SLEEP`].
async fn sleep_until(at: DateTime<Utc>) {
    loop {
        let Ok(left) = (at - Utc::now()).to_std() else {
            return;
        };
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(left.min(MAX_SLEEP)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tick_key_names_the_schedule_and_the_ticks_second() {
        let tick = DateTime::parse_from_rfc3339("2026-11-24T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            tick_key("t1:", "scrape", tick),
            "t1:wump:schedule:scrape:1795485600"
        );
        // Replicas computing the tick from different moments before it get the same key.
        let schedule = cron::Schedule::from_str("0 0 2 * * *").unwrap();
        let early = tick - chrono::Duration::hours(5);
        let late = tick - chrono::Duration::milliseconds(1);
        assert_eq!(schedule.after(&early).next(), Some(tick));
        assert_eq!(schedule.after(&late).next(), Some(tick));
        assert_ne!(
            tick_key("", "scrape", tick),
            tick_key("", "enrich", tick),
            "entries never share a lock"
        );
    }

    #[test]
    fn the_built_in_entries_parse_and_bad_ones_are_refused_with_their_name() {
        let settings = ScheduleSettings::default();
        for (name, job) in &settings.jobs {
            Entry::parse(name, job).unwrap();
        }
        assert!(enriches_every_organization(&settings.jobs["enrich"]));
        let mut bad = settings.jobs["scrape"].clone();
        bad.cron = "0 0 2 * *".into();
        let err = Entry::parse("scrape", &bad).unwrap_err().to_string();
        assert!(err.contains("schedule.jobs.scrape"), "{err}");
        let mut bad = settings.jobs["scrape"].clone();
        bad.payload = serde_json::json!({ "query": "stars:>10" });
        let err = Entry::parse("scrape", &bad).unwrap_err().to_string();
        assert!(err.contains("invalid payload"), "{err}");
    }

    #[test]
    fn the_next_tick_after_a_fired_one_is_the_following_one_never_the_same() {
        let schedule = cron::Schedule::from_str("* * * * * *").unwrap();
        let tick = DateTime::parse_from_rfc3339("2026-11-24T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            schedule.after(&tick).next(),
            Some(tick + chrono::Duration::seconds(1))
        );
    }
}
