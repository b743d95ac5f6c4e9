//! The dead-letter list spans every queue; replay --all and purge --all.

use wump_core::jobs::{JobType, Priority};
use wump_worker::queue::{DeadJob, Envelope, FailedAttempt, Selection};

use super::support::{fast_settings, test_queues};

fn dead(job_type: JobType, priority: Priority, queue: String) -> DeadJob {
    let mut envelope = Envelope::new(job_type, priority, serde_json::json!({ "n": 1 }));
    envelope.attempt = 3;
    envelope.errors.push(FailedAttempt {
        attempt: 3,
        at: chrono::Utc::now(),
        error: "boom".into(),
        permanent: false,
    });
    DeadJob {
        id: envelope.id,
        job_type,
        priority,
        queue,
        attempts: envelope.attempt,
        payload: envelope.payload,
        errors: envelope.errors,
        enqueued_at: envelope.enqueued_at,
        dead_at: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn replay_all_requeues_every_dead_job_on_its_own_queue_and_purge_all_empties_the_list() {
    let (_valkey, queues) = test_queues(fast_settings()).await;
    let list = queues.dead_letters();
    let a = dead(
        JobType::Scrape,
        Priority::High,
        queues.name(JobType::Scrape, Priority::High),
    );
    let b = dead(
        JobType::Cleanup,
        Priority::Low,
        queues.name(JobType::Cleanup, Priority::Low),
    );
    list.add(&a).await.unwrap();
    list.add(&b).await.unwrap();
    assert_eq!(list.len().await.unwrap(), 2);
    assert_eq!(list.show(a.id).await.unwrap().unwrap(), a);

    let snapshot = queues.snapshot().await.unwrap();
    assert_eq!(snapshot.dead_letters, 2);
    assert_eq!(
        snapshot.queues.len(),
        JobType::ALL.len() * Priority::ALL.len(),
        "every job type at every priority"
    );
    assert!(snapshot.queues.iter().all(|(_, depth)| depth.total() == 0));

    let mut replayed = list.replay(Selection::All).await.unwrap();
    replayed.sort();
    let mut expected = vec![a.id, b.id];
    expected.sort();
    assert_eq!(replayed, expected);
    assert!(list.is_empty().await.unwrap());
    assert_eq!(
        queues
            .depth(JobType::Scrape, Priority::High)
            .await
            .unwrap()
            .total(),
        1
    );
    assert_eq!(
        queues
            .depth(JobType::Cleanup, Priority::Low)
            .await
            .unwrap()
            .total(),
        1
    );
    assert_eq!(
        queues
            .depth(JobType::Cleanup, Priority::High)
            .await
            .unwrap()
            .total(),
        0
    );

    let snapshot = queues.snapshot().await.unwrap();
    assert_eq!(snapshot.dead_letters, 0);
    let scrape_high = queues.name(JobType::Scrape, Priority::High);
    assert!(
        snapshot
            .queues
            .iter()
            .any(|(name, depth)| *name == scrape_high && depth.total() == 1)
    );

    list.add(&a).await.unwrap();
    list.add(&b).await.unwrap();
    assert_eq!(list.purge(Selection::All).await.unwrap(), 2);
    assert!(list.is_empty().await.unwrap());
    assert!(matches!(
        list.replay(Selection::One(a.id)).await,
        Err(wump_worker::queue::QueueError::NotFound(_))
    ));
}
