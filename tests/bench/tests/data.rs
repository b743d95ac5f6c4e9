//! The generator against the real server: a tiny dataset, written as `just bench-data`
//! writes the large ones, must be what wump's own writers would have left.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use wump_bench::data::{self, Size};

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_dataset_keeps_the_writers_invariants() {
    let server = wump_db::test_support::server_settings().url;
    // A name of its own: other suites may run against the same server.
    let database = format!("wump_bench_test_{}", uuid::Uuid::new_v4().simple());
    let outcome = data::generate(&server, &database, Size::TINY, 42)
        .await
        .expect("the tiny dataset loads (is `just up` running?)");

    assert!(outcome.loaded.edges > 3_000, "{:?}", outcome.loaded);
    assert_eq!(outcome.loaded.repositories, Size::TINY.repositories);
    // Walked through the API's listing queries, page by page.
    let disagree: Vec<_> = outcome.checked.iter().filter(|c| !c.agrees()).collect();
    assert!(disagree.is_empty(), "{disagree:#?}");
    assert!(
        outcome.checked.len() >= 13,
        "one package per ecosystem at least"
    );
    // Recomputed from scratch over the edges, as the writers' property test does.
    let server = secrecy::ExposeSecret::expose_secret(&server);
    let url = wump_db::test_support::with_database(server, &database);
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let [rollups, counts] = wump_db::test_support::stored_and_recomputed_counts(&mut conn)
        .await
        .unwrap();
    assert_eq!(rollups.0, rollups.1, "package_organizations");
    assert_eq!(counts.0, counts.1, "packages' counts");
    // The indexes the migrations create are back after the load.
    assert!(
        outcome
            .relations
            .iter()
            .any(|r| r.index.as_deref() == Some("dependencies_package_stars")),
        "{:?}",
        outcome.relations
    );
    drop(conn);
    data::drop_database(server, &database).await.unwrap();
}
