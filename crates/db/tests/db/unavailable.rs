//! The data layer reports an unreachable or vanished database as an error, never a panic
//! or a hang.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use wump_core::{Ecosystem, settings::DatabaseSettings};
use wump_db::{pool, tables::packages, test_support::TestDatabase};

#[tokio::test(flavor = "multi_thread")]
async fn a_database_that_is_not_running_is_reported_unavailable_quickly() {
    // Port 1 on loopback: nothing listens there, connections are refused at once.
    let settings = DatabaseSettings {
        url: SecretString::from("postgres://wump:wump@127.0.0.1:1/wump"),
        pool_wait_timeout_ms: 500,
        connect_timeout_ms: 500,
        ..DatabaseSettings::default()
    };
    let pool = wump_db::connect(&settings).expect("building a pool needs no connection");
    let started = Instant::now();
    let err = pool::checkout(&pool)
        .await
        .expect_err("no server, no connection");
    assert!(err.is_unavailable(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    let err = pool::connect_once(&settings)
        .await
        .err()
        .expect("no server, no connection");
    assert!(err.is_unavailable(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn readers_and_writers_fail_cleanly_when_the_connection_is_killed() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    let mut admin = db.connection().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            // Client connections only: an autovacuum worker on the fresh database (a
            // superuser process) cannot be terminated by the test's role.
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid()
                AND backend_type = 'client backend'",
        ),
        &mut admin,
    )
    .await
    .unwrap();

    let read = packages::by_name(&mut conn, Ecosystem::Npm, "left-pad").await;
    assert!(
        read.is_err(),
        "a read on a killed connection must fail: {read:?}"
    );
    let write = packages::upsert(&mut conn, &[(Ecosystem::Npm, "left-pad")]).await;
    let err = wump_db::DbError::from(write.unwrap_err());
    assert!(err.is_unavailable(), "{err:?}");
}

/// A pool over the test database whose operations may take `query_timeout_ms`.
fn bounded_pool(db: &TestDatabase, query_timeout_ms: u64) -> wump_db::DbPool {
    wump_db::connect(&DatabaseSettings {
        query_timeout_ms,
        pool_max_size: 1,
        ..db.settings().clone()
    })
    .unwrap()
}

async fn sleep_on(pool: &wump_db::DbPool, secs: f64) -> Result<(), wump_db::DbError> {
    use diesel::sql_types::Double;
    use diesel_async::RunQueryDsl;
    let mut conn = pool::checkout(pool).await?;
    diesel::sql_query("SELECT pg_sleep($1)")
        .bind::<Double, _>(secs)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operation_without_an_answer_in_time_is_unavailable_and_its_connection_is_closed() {
    let db = TestDatabase::new().await;
    let pool = bounded_pool(&db, 300);

    // An answer in time: the connection goes back to the pool.
    pool::bounded(&pool, sleep_on(&pool, 0.0)).await.unwrap();
    assert_eq!(pool.status().size, 1);

    // No answer in time (the server is busy for 5 s, as a black-holed one never answers).
    let started = Instant::now();
    let err = pool::bounded(&pool, sleep_on(&pool, 5.0))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(err.is_unavailable(), "{err}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // Its query may still be pending: the connection left the pool instead of waiting there
    // for the next caller, who gets a new one at once.
    assert_eq!(pool.status().size, 0);
    let started = Instant::now();
    pool::bounded(&pool, sleep_on(&pool, 0.0)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(pool.status().size, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bounded_operation_given_up_by_its_caller_closes_its_connection_too() {
    let db = TestDatabase::new().await;
    let pool = bounded_pool(&db, 60_000);
    pool::bounded(&pool, sleep_on(&pool, 0.0)).await.unwrap();
    assert_eq!(pool.status().size, 1);

    let given_up = tokio::time::timeout(
        Duration::from_millis(300),
        pool::bounded(&pool, sleep_on(&pool, 5.0)),
    )
    .await;
    assert!(given_up.is_err());
    assert_eq!(pool.status().size, 0);
    pool::ping(&pool).await.unwrap();
}
