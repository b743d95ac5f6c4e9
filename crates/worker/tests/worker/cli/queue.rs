//! `wump-worker enqueue` and `wump-worker dlq` against the test Valkey, under a key prefix
//! of their own (`WUMP__QUEUES__KEY_PREFIX`).

use std::process::{Command, Output};

use wump_core::{
    jobs::{JobType, Priority},
    settings::QueueSettings,
};
use wump_db::test_support::TestValkey;
use wump_worker::queue::{DeadJob, Envelope, FailedAttempt, Queues};

fn wump_worker(valkey: &TestValkey, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_wump-worker"))
        .current_dir(dir.path())
        .env("WUMP__QUEUES__KEY_PREFIX", valkey.prefix())
        // Logs would go to stdout too: the operator commands must not write any.
        .env("RUST_LOG", "info")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test]
async fn enqueue_puts_the_job_on_its_queue_and_dlq_lists_shows_replays_and_purges() {
    let valkey = TestValkey::new().await;
    let queues = Queues::connect(
        valkey.settings(),
        QueueSettings {
            key_prefix: valkey.prefix().into(),
            ..QueueSettings::default()
        },
    )
    .await
    .unwrap();

    let out = stdout(&wump_worker(
        &valkey,
        &[
            "enqueue",
            "discover",
            "--ecosystem",
            "npm",
            "--name",
            "left-pad",
            "--priority",
            "high",
        ],
    ));
    let queue = queues.name(JobType::Discover, Priority::High);
    assert!(out.trim_end().ends_with(&format!(" {queue}")), "{out}");
    assert_eq!(queue, format!("{}{{wump:discover:high}}", valkey.prefix()));
    assert_eq!(
        queues
            .depth(JobType::Discover, Priority::High)
            .await
            .unwrap()
            .total(),
        1
    );
    stdout(&wump_worker(&valkey, &["enqueue", "cleanup"]));
    assert_eq!(
        queues
            .depth(JobType::Cleanup, Priority::Normal)
            .await
            .unwrap()
            .total(),
        1
    );
    let bad = wump_worker(
        &valkey,
        &[
            "enqueue",
            "parse",
            "--host",
            "github.com",
            "--repository",
            "no-slash",
        ],
    );
    assert_eq!(bad.status.code(), Some(2), "clap rejects a bad owner/name");

    let mut envelope = Envelope::new(
        JobType::Enrich,
        Priority::Low,
        serde_json::json!({"organization": "serde-rs"}),
    );
    envelope.errors.push(FailedAttempt {
        attempt: 1,
        at: chrono::Utc::now(),
        error: "gone".into(),
        permanent: true,
    });
    let dead = DeadJob {
        id: envelope.id,
        job_type: envelope.job_type,
        priority: envelope.priority,
        queue: queues.name(JobType::Enrich, Priority::Low),
        attempts: 1,
        payload: envelope.payload,
        errors: envelope.errors,
        enqueued_at: envelope.enqueued_at,
        dead_at: chrono::Utc::now(),
    };
    queues.dead_letters().add(&dead).await.unwrap();
    let id = dead.id.to_string();

    let list = stdout(&wump_worker(&valkey, &["dlq", "list"]));
    assert!(
        list.starts_with(&id) && list.contains("enrich") && list.contains("gone"),
        "{list}"
    );
    let shown: DeadJob =
        serde_json::from_str(&stdout(&wump_worker(&valkey, &["dlq", "show", &id]))).unwrap();
    assert_eq!(shown, dead);
    let missing = wump_worker(&valkey, &["dlq", "show", &uuid::Uuid::new_v4().to_string()]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        wump_worker(&valkey, &["dlq", "replay"]).status.code(),
        Some(2),
        "ID or --all"
    );

    assert_eq!(
        stdout(&wump_worker(&valkey, &["dlq", "replay", "--all"])).trim(),
        "replayed 1"
    );
    assert_eq!(
        queues
            .depth(JobType::Enrich, Priority::Low)
            .await
            .unwrap()
            .total(),
        1
    );
    assert!(queues.dead_letters().is_empty().await.unwrap());
    queues.dead_letters().add(&dead).await.unwrap();
    assert_eq!(
        stdout(&wump_worker(&valkey, &["dlq", "purge", &id])).trim(),
        "purged 1"
    );
    assert_eq!(
        wump_worker(&valkey, &["dlq", "purge", &id]).status.code(),
        Some(1)
    );
    assert_eq!(
        stdout(&wump_worker(&valkey, &["dlq", "purge", "--all"])).trim(),
        "purged 0"
    );
}
