//! Two scheduler processes on one per-second schedule: every tick is enqueued exactly once.
//! The test binary runs itself as the schedulers (`child_scheduler`, ignored unless the
//! test starts it), so the children run exactly the scheduler under test and nothing
//! consumes what they enqueue.

use std::{
    collections::BTreeMap,
    process::{Child, Command, Stdio},
    time::Duration,
};

use wump_core::{
    jobs::{JobType, Priority},
    settings::{ScheduleSettings, ScheduledJob, ValkeySettings},
};
use wump_db::test_support::TestValkey;
use wump_worker::{
    queue::{Queues, shutdown_signal},
    scheduler::Scheduler,
};

use super::{
    processes::{exit_of, signal},
    support::{eventually, fast_settings, test_queues},
};

const PREFIX: &str = "WUMP_TEST_SCHEDULER_PREFIX";

/// Every second, a cleanup (its payload needs no database).
fn every_second() -> ScheduleSettings {
    ScheduleSettings {
        lock_ttl_secs: 600,
        jobs: BTreeMap::from([(
            "tick".to_owned(),
            ScheduledJob {
                cron: "* * * * * *".into(),
                job: JobType::Cleanup,
                payload: serde_json::json!({}),
                enabled: true,
            },
        )]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a scheduler process the test in this module starts"]
async fn child_scheduler() {
    let Ok(prefix) = std::env::var(PREFIX) else {
        return;
    };
    let mut valkey = ValkeySettings::default();
    if let Ok(url) = std::env::var("WUMP__VALKEY__URL") {
        valkey.url = url.into();
    }
    let queues = Queues::connect(&valkey, fast_settings())
        .await
        .unwrap()
        .with_prefix(prefix);
    let owner = format!("child-{}", std::process::id());
    Scheduler::new(queues, &every_second(), owner, None)
        .unwrap()
        .run_until(shutdown_signal())
        .await;
}

fn spawn_child(valkey: &TestValkey) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "queue::scheduler::child_scheduler",
            "--ignored",
            "--test-threads=1",
        ])
        .env(PREFIX, valkey.prefix())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// The tick locks taken under this test's prefix: key → the replica that won it.
pub(crate) async fn tick_locks(queues: &Queues, name: &str) -> BTreeMap<String, String> {
    let mut conn = queues.connection();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}wump:schedule:{name}:*", queues.prefix()))
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut locks = BTreeMap::new();
    for key in keys {
        let owner: String = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        locks.insert(key, owner);
    }
    locks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scheduler_processes_enqueue_each_tick_exactly_once() {
    let (valkey, queues) = test_queues(fast_settings()).await;
    let mut children = [spawn_child(&valkey), spawn_child(&valkey)];
    // Four ticks: both processes are up for most of them.
    eventually("four ticks", Duration::from_secs(30), || async {
        (tick_locks(&queues, "tick").await.len() >= 4).then_some(())
    })
    .await;
    for child in &children {
        signal(child, "TERM");
    }
    for child in &mut children {
        let status = exit_of(child, Duration::from_secs(10)).await;
        assert!(status.success(), "{status:?}");
    }

    let locks = tick_locks(&queues, "tick").await;
    let owners: Vec<String> = children
        .iter()
        .map(|c| format!("child-{}", c.id()))
        .collect();
    assert!(
        locks.values().all(|owner| owners.contains(owner)),
        "{locks:?}"
    );
    let enqueued = queues
        .depth(JobType::Cleanup, Priority::Normal)
        .await
        .unwrap();
    let won = |owner: &String| locks.values().filter(|o| *o == owner).count();
    eprintln!(
        "{} ticks, {} jobs enqueued; ticks won: {} and {}",
        locks.len(),
        enqueued.total(),
        won(&owners[0]),
        won(&owners[1])
    );
    assert!(locks.len() >= 4);
    // Nothing runs them: every job enqueued is still there (ready or about to be).
    assert_eq!(enqueued.running, 0);
    assert_eq!(
        enqueued.total(),
        locks.len() as u64,
        "{locks:?} {enqueued:?}"
    );
}
