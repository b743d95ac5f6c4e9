//! Every writer is idempotent: the same input twice leaves identical rows.

use wump_core::{DependencyKind, Ecosystem, OrganizationKind};
use wump_db::{
    edges,
    tables::{
        organizations::{self, OrganizationInput},
        repositories::{self, RepositoryChange},
    },
    test_support::{TestDatabase, dump_tables},
};

use crate::{day, edge, organization, packages, repository, repository_input};

#[tokio::test(flavor = "multi_thread")]
async fn upserting_the_same_batch_twice_changes_nothing() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;

    let orgs = [
        OrganizationInput {
            host: "github.com".into(),
            login: "Rust-Lang".into(),
            kind: OrganizationKind::Organization,
        },
        OrganizationInput {
            host: "github.com".into(),
            login: "dtolnay".into(),
            kind: OrganizationKind::User,
        },
        // The same organization spelled differently is one row.
        OrganizationInput {
            host: "github.com".into(),
            login: "rust-lang".into(),
            kind: OrganizationKind::Organization,
        },
    ];
    let first = organizations::upsert(&mut conn, &orgs).await.unwrap();
    assert_eq!(first[0], first[2]);
    let repos = vec![
        repository_input(first[0], "rust-lang/cargo", 12_000, Some(day(3))),
        repository_input(first[1], "dtolnay/syn", 3_000, None),
    ];
    let upserted = repositories::upsert(&mut conn, &repos).await.unwrap();
    assert!(upserted.iter().all(|r| r.change == RepositoryChange::New));
    let package_ids = packages::upsert(
        &mut conn,
        &[
            (Ecosystem::Pypi, "Friendly_Bard"),
            (Ecosystem::Npm, "left-pad"),
            (Ecosystem::Pypi, "friendly-bard"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        package_ids[0], package_ids[2],
        "PEP 503 spellings are one package"
    );
    edges::replace_repository_edges(
        &mut conn,
        upserted[0].id,
        &[
            edge(package_ids[0], &[DependencyKind::Runtime]),
            edge(package_ids[1], &[DependencyKind::Development]),
        ],
    )
    .await
    .unwrap();
    let before = dump_tables(&mut conn, &[]).await;

    assert_eq!(
        organizations::upsert(&mut conn, &orgs).await.unwrap(),
        first
    );
    let again = repositories::upsert(&mut conn, &repos).await.unwrap();
    assert_eq!(
        again.iter().map(|r| r.id).collect::<Vec<_>>(),
        upserted.iter().map(|r| r.id).collect::<Vec<_>>()
    );
    assert!(
        again
            .iter()
            .all(|r| r.change == RepositoryChange::Unchanged)
    );
    let same_packages = packages::upsert(
        &mut conn,
        &[
            (Ecosystem::Pypi, "Friendly_Bard"),
            (Ecosystem::Npm, "left-pad"),
            (Ecosystem::Pypi, "friendly-bard"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(same_packages, package_ids);
    let changes = edges::replace_repository_edges(
        &mut conn,
        upserted[0].id,
        &[
            edge(package_ids[0], &[DependencyKind::Runtime]),
            edge(package_ids[1], &[DependencyKind::Development]),
        ],
    )
    .await
    .unwrap();
    assert!(changes.is_empty(), "{changes:?}");
    let synced = edges::sync_repository_attributes(&mut conn, &[upserted[0].id, upserted[1].id])
        .await
        .unwrap();
    assert!(synced.is_empty(), "{synced:?}");

    assert_eq!(dump_tables(&mut conn, &[]).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn repository_upserts_report_new_moved_and_unchanged_change_tokens() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    let org = organization(&mut conn, "acme").await;

    let mut input = repository_input(org, "acme/widgets", 10, Some(day(1)));
    let id = repository(&mut conn, input.clone()).await;
    let unchanged = repositories::upsert(&mut conn, &[input.clone()])
        .await
        .unwrap();
    assert_eq!(unchanged[0].change, RepositoryChange::Unchanged);

    // More stars alone does not call for a new parse; a new push does.
    input.stars = 11;
    assert_eq!(
        repositories::upsert(&mut conn, &[input.clone()])
            .await
            .unwrap()[0]
            .change,
        RepositoryChange::Unchanged
    );
    input.change_token = Some("tree-sha-2".into());
    let moved = repositories::upsert(&mut conn, &[input.clone()])
        .await
        .unwrap();
    assert_eq!(moved[0].change, RepositoryChange::TokenMoved);
    assert_eq!(moved[0].id, id);

    // The host's spelling of the name may change case; it is still the same repository.
    input.full_name = "ACME/Widgets".into();
    assert_eq!(
        repositories::upsert(&mut conn, &[input]).await.unwrap()[0].id,
        id
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replacing_edges_of_an_unknown_repository_is_not_found() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    let ids = packages(&mut conn, &["react"]).await;
    let err = edges::replace_repository_edges(
        &mut conn,
        uuid::Uuid::now_v7(),
        &[edge(ids[0], &[DependencyKind::Runtime])],
    )
    .await
    .unwrap_err();
    assert_eq!(err, diesel::result::Error::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organizations_star_total_follows_repositories_stored_after_its_enrich() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    let org = organization(&mut conn, "acme").await;
    repository(&mut conn, repository_input(org, "acme/widgets", 10, None)).await;
    let total = async |conn: &mut wump_db::AsyncPgConnection| {
        organizations::by_login(conn, "github.com", "acme")
            .await
            .unwrap()
            .unwrap()
            .stars_total
    };

    // Enrich sums what is stored when it writes.
    let profile = organizations::OrganizationProfile {
        name: Some("Acme".into()),
        ..Default::default()
    };
    assert!(
        organizations::update_profile(&mut conn, org, &profile)
            .await
            .unwrap()
    );
    assert_eq!(total(&mut conn).await, 10);

    // A scrape stores a second repository afterwards (the chaos run's worker kills
    // reordered exactly this): the total follows, and says it moved.
    repository(&mut conn, repository_input(org, "acme/gadgets", 5, None)).await;
    assert_eq!(
        organizations::refresh_stars_totals(&mut conn, &[org])
            .await
            .unwrap(),
        [org]
    );
    assert_eq!(total(&mut conn).await, 15);
    // Nothing moved: nothing written, nothing to invalidate.
    assert!(
        organizations::refresh_stars_totals(&mut conn, &[org])
            .await
            .unwrap()
            .is_empty()
    );
    // Enriching again writes the same total, and nothing else changed.
    assert!(
        !organizations::update_profile(&mut conn, org, &profile)
            .await
            .unwrap()
    );
    assert_eq!(total(&mut conn).await, 15);
}
