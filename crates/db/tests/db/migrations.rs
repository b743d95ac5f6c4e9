use diesel::{QueryableByName, sql_types::BigInt};
use diesel_async::RunQueryDsl;
use wump_db::{migrations, test_support::TestDatabase};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn wump_tables(db: &TestDatabase) -> i64 {
    let mut conn = db.connection().await;
    diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables
          WHERE table_schema = 'public' AND table_name IN ('packages', 'organizations',
                'repositories', 'dependencies', 'package_organizations', 'api_keys', 'job_executions')",
    )
    .get_result::<Count>(&mut conn)
    .await
    .unwrap()
    .n
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_run_up_down_and_up_again() {
    let db = TestDatabase::empty().await;
    assert_eq!(wump_tables(&db).await, 0);

    let applied = migrations::run_pending(db.connection().await)
        .await
        .unwrap();
    assert!(!applied.is_empty());
    assert_eq!(wump_tables(&db).await, 7);

    let reverted = migrations::revert_all(db.connection().await).await.unwrap();
    assert_eq!(reverted.len(), applied.len());
    assert_eq!(wump_tables(&db).await, 0);

    let again = migrations::run_pending(db.connection().await)
        .await
        .unwrap();
    assert_eq!(again, applied);
    assert_eq!(wump_tables(&db).await, 7);

    // Nothing left to apply: running them once more is a no-op.
    assert!(
        migrations::run_pending(db.connection().await)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_constraints_reject_unknown_ecosystems_and_kinds() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    let err = diesel::sql_query(
        "INSERT INTO packages (id, ecosystem, name, normalized_name)
         VALUES (gen_random_uuid(), 'leftpad-registry', 'x', 'x')",
    )
    .execute(&mut conn)
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("packages_ecosystem_check"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_starting_together_migrate_once_and_all_succeed() {
    let db = TestDatabase::empty().await;
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let settings = db.settings().clone();
            tokio::spawn(async move { migrations::migrate(&settings).await })
        })
        .collect();
    let mut applied = Vec::new();
    for run in runs {
        applied.push(
            run.await
                .unwrap()
                .expect("every replica's migrate succeeds")
                .len(),
        );
    }
    applied.sort_unstable();
    assert_eq!(
        applied.iter().filter(|n| **n > 0).count(),
        1,
        "exactly one replica applied them: {applied:?}"
    );
    assert_eq!(wump_tables(&db).await, 7);
}
