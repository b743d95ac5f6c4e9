//! Queues under a fresh prefix, a runner on a background task, and polling with deadlines.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::{sync::oneshot, task::JoinHandle};
use wump_core::settings::QueueSettings;
use wump_db::test_support::TestValkey;
use wump_worker::queue::{Queues, Runner};

/// Settings that keep timing tests short: 1 s heartbeats, a 3 s orphan timeout, retries
/// after about 1 s and 2 s.
pub(crate) fn fast_settings() -> QueueSettings {
    QueueSettings {
        max_attempts: 3,
        backoff_base_ms: 1_000,
        backoff_max_ms: 4_000,
        poll_interval_ms: 50,
        heartbeat_interval_secs: 1,
        missed_heartbeats: 3,
        ..QueueSettings::default()
    }
}

/// Queues of their own for one test; the keys go when the `TestValkey` is dropped.
pub(crate) async fn test_queues(settings: QueueSettings) -> (TestValkey, Queues) {
    let valkey = TestValkey::new().await;
    let queues = Queues::connect(valkey.settings(), settings)
        .await
        .expect("connecting the queues")
        .with_prefix(valkey.prefix());
    (valkey, queues)
}

/// A runner on a background task, stopped by [`Running::stop`] (the SIGTERM path) or
/// killed by [`Running::kill`] (a worker that dies without a word).
pub(crate) struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    pub(crate) fn start(runner: Runner) -> Self {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            runner
                .run_until(async {
                    let _ = stopped.await;
                })
                .await
                .expect("the runner stops cleanly");
        });
        Self {
            stop: Some(stop),
            task,
        }
    }

    /// Signals shutdown and waits for the runner to return; returns how long that took.
    pub(crate) async fn stop(mut self) -> Duration {
        let started = Instant::now();
        let _ = self.stop.take().expect("not stopped yet").send(());
        tokio::time::timeout(Duration::from_secs(30), &mut self.task)
            .await
            .expect("the runner stops within 30 s")
            .expect("the runner task does not panic");
        started.elapsed()
    }

    /// Drops everything mid-flight: no hand-back, no unregistering, no more heartbeats.
    pub(crate) async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Polls `check` every 20 ms until it returns `Some`, or panics after `deadline`.
pub(crate) async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What test jobs record: (label, attempt, when).
#[derive(Debug, Clone, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<(String, u32, Instant)>>>);

impl Log {
    pub(crate) fn push(&self, label: impl Into<String>, attempt: u32) {
        self.0
            .lock()
            .unwrap()
            .push((label.into(), attempt, Instant::now()));
    }

    pub(crate) fn entries(&self) -> Vec<(String, u32, Instant)> {
        self.0.lock().unwrap().clone()
    }

    pub(crate) fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}
