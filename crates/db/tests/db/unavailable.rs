//! The data layer reports an unreachable or vanished database as an error, never a panic
//! or a hang.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use wump_core::{Ecosystem, settings::DatabaseSettings};
use wump_db::{listings, pool, test_support::TestDatabase, upserts};

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
        .err()
        .expect("no server, no connection");
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
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ),
        &mut admin,
    )
    .await
    .unwrap();

    let read = listings::package_by_name(&mut conn, Ecosystem::Npm, "left-pad").await;
    assert!(
        read.is_err(),
        "a read on a killed connection must fail: {read:?}"
    );
    let write = upserts::upsert_packages(&mut conn, &[(Ecosystem::Npm, "left-pad")]).await;
    let err = wump_db::DbError::from(write.unwrap_err());
    assert!(err.is_unavailable(), "{err:?}");
}
