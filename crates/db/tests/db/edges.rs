//! Edge replacement keeps roll-ups and stored counts exactly equal to a from-scratch
//! aggregate over the edges, whatever sequence of writes led there, and its events add up
//! to those counts.

use std::collections::BTreeSet;

use diesel_async::RunQueryDsl;
use proptest::{prelude::*, test_runner::TestCaseError};
use uuid::Uuid;
use wump_core::DependencyKind;
use wump_db::{
    AsyncPgConnection,
    edges::{self, EdgeInput},
    tables::repositories,
    test_support::{self, TestDatabase},
};

use crate::{day, edge, organization, packages, repository, repository_input};

/// `(stored, recomputed)` roll-ups and package counts.
async fn stored_and_recomputed(conn: &mut AsyncPgConnection) -> [(String, String); 2] {
    test_support::stored_and_recomputed_counts(conn)
        .await
        .expect("reading the counts")
}

#[derive(diesel::QueryableByName)]
struct EventSums {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    dependents_count: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    organizations_count: i32,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    dependents_from_events: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    organizations_from_events: i64,
}

/// Per package, `(stored counts, additions minus removals in its events)`: from an empty
/// start, the history must account for every dependent and organization counted now.
async fn counts_and_event_sums(conn: &mut AsyncPgConnection) -> Vec<(String, String)> {
    let rows: Vec<EventSums> = diesel::sql_query(
        "SELECT p.name, p.dependents_count, p.organizations_count,
                coalesce(sum(CASE e.event WHEN 'dependent.added' THEN 1
                                          WHEN 'dependent.removed' THEN -1 END), 0)::int8
                    AS dependents_from_events,
                coalesce(sum(CASE e.event WHEN 'organization.added' THEN 1
                                          WHEN 'organization.removed' THEN -1 END), 0)::int8
                    AS organizations_from_events
           FROM packages p LEFT JOIN dependency_events e ON e.package_id = p.id
          GROUP BY p.id ORDER BY p.name",
    )
    .load(conn)
    .await
    .expect("summing the events");
    rows.into_iter()
        .map(|r| {
            (
                format!(
                    "{} {} {}",
                    r.name, r.dependents_count, r.organizations_count
                ),
                format!(
                    "{} {} {}",
                    r.name, r.dependents_from_events, r.organizations_from_events
                ),
            )
        })
        .collect()
}

const REPOS: usize = 6;
const ORGS: usize = 3;
const PACKAGES: usize = 5;

#[derive(Debug, Clone)]
enum Op {
    /// Replace a repository's edges with `(package, kinds)` pairs.
    Replace {
        repo: usize,
        edges: Vec<(usize, Vec<DependencyKind>)>,
    },
    /// Change a repository's attributes, then copy them onto its edges.
    Attributes {
        repo: usize,
        stars: i32,
        archived: bool,
        fork: bool,
        org: usize,
    },
}

fn kinds() -> impl Strategy<Value = Vec<DependencyKind>> {
    proptest::sample::subsequence(DependencyKind::ALL.to_vec(), 1..=3)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..REPOS, proptest::collection::vec((0..PACKAGES, kinds()), 0..=PACKAGES))
            .prop_map(|(repo, edges)| Op::Replace { repo, edges }),
        1 => (0..REPOS, 0..500i32, proptest::bool::weighted(0.3), proptest::bool::weighted(0.2), 0..ORGS)
            .prop_map(|(repo, stars, archived, fork, org)| Op::Attributes { repo, stars, archived, fork, org }),
    ]
}

struct World {
    orgs: Vec<Uuid>,
    repos: Vec<Uuid>,
    packages: Vec<Uuid>,
}

async fn reset(conn: &mut AsyncPgConnection) -> World {
    diesel::sql_query(
        "TRUNCATE organizations, repositories, packages, dependencies, package_organizations,
                  dependency_events, package_daily_counts, organization_daily_counts",
    )
    .execute(conn)
    .await
    .unwrap();
    let mut orgs = Vec::new();
    for i in 0..ORGS {
        orgs.push(organization(conn, &format!("org{i}")).await);
    }
    let mut repos = Vec::new();
    for i in 0..REPOS {
        let input = repository_input(
            orgs[i % ORGS],
            &format!("org{}/repo{i}", i % ORGS),
            10 * i as i32,
            Some(day(i as i64)),
        );
        repos.push(repository(conn, input).await);
    }
    let names: Vec<String> = (0..PACKAGES).map(|i| format!("pkg{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    World {
        orgs,
        repos,
        packages: packages(conn, &names).await,
    }
}

async fn apply(conn: &mut AsyncPgConnection, world: &World, op: &Op) {
    match op {
        Op::Replace { repo, edges } => {
            // The parse job merges duplicates before writing; do the same here.
            let mut merged: std::collections::BTreeMap<usize, BTreeSet<DependencyKind>> =
                Default::default();
            for (package, kinds) in edges {
                merged
                    .entry(*package)
                    .or_default()
                    .extend(kinds.iter().copied());
            }
            let edges: Vec<EdgeInput> = merged
                .into_iter()
                .map(|(p, kinds)| edge(world.packages[p], &kinds.into_iter().collect::<Vec<_>>()))
                .collect();
            edges::replace_repository_edges(conn, world.repos[*repo], &edges)
                .await
                .unwrap();
        }
        Op::Attributes {
            repo,
            stars,
            archived,
            fork,
            org,
        } => {
            let mut input = repository_input(
                world.orgs[*org],
                &format!("org{}/repo{repo}", repo % ORGS),
                *stars,
                None,
            );
            input.archived = *archived;
            input.fork = *fork;
            repositories::upsert(conn, &[input]).await.unwrap();
            edges::sync_repository_attributes(conn, &[world.repos[*repo]])
                .await
                .unwrap();
        }
    }
}

#[test]
fn rollups_and_counts_equal_a_from_scratch_aggregate_after_any_sequence_of_writes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(TestDatabase::new());
    let config = ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    runner
        .run(&proptest::collection::vec(op(), 1..25), |ops| {
            runtime.block_on(async {
                let mut conn = db.connection().await;
                let world = reset(&mut conn).await;
                for op in &ops {
                    apply(&mut conn, &world, op).await;
                    for (stored, recomputed) in stored_and_recomputed(&mut conn).await {
                        prop_assert_eq!(stored, recomputed, "after {:?}", op);
                    }
                    for (counts, from_events) in counts_and_event_sums(&mut conn).await {
                        prop_assert_eq!(counts, from_events, "after {:?}", op);
                    }
                }
                Ok::<(), TestCaseError>(())
            })
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_replacements_in_one_organization_lose_no_update() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    let org = organization(&mut conn, "busy").await;
    let mut repos = Vec::new();
    for i in 0..8 {
        repos.push(
            repository(
                &mut conn,
                repository_input(org, &format!("busy/r{i}"), i, None),
            )
            .await,
        );
    }
    let shared = packages(&mut conn, &["lodash", "react", "vue"]).await;

    for round in 0..4 {
        let tasks: Vec<_> = repos
            .iter()
            .enumerate()
            .map(|(i, repo)| {
                let pool = db.pool().clone();
                let repo = *repo;
                // Each round every repository takes a different subset of the shared packages.
                let edges: Vec<EdgeInput> = shared
                    .iter()
                    .enumerate()
                    .filter(|(p, _)| (i + round + p) % 2 == 0)
                    .map(|(_, id)| edge(*id, &[DependencyKind::Runtime]))
                    .collect();
                tokio::spawn(async move {
                    let mut conn = wump_db::pool::checkout(&pool).await.unwrap();
                    edges::replace_repository_edges(&mut conn, repo, &edges)
                        .await
                        .unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        for (stored, recomputed) in stored_and_recomputed(&mut conn).await {
            assert_eq!(stored, recomputed, "round {round}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn archiving_a_repository_removes_it_from_counts_and_rollups() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    let org = organization(&mut conn, "acme").await;
    let mut input = repository_input(org, "acme/app", 40, None);
    let repo = repository(&mut conn, input.clone()).await;
    let react = packages(&mut conn, &["react"]).await[0];

    let changes = edges::replace_repository_edges(
        &mut conn,
        repo,
        &[edge(
            react,
            &[DependencyKind::Runtime, DependencyKind::Development],
        )],
    )
    .await
    .unwrap();
    assert_eq!(
        (changes.inserted, changes.touched_packages.clone()),
        (1, vec![react])
    );
    let package = wump_db::tables::packages::by_name(&mut conn, wump_core::Ecosystem::Npm, "React")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (package.dependents_count, package.organizations_count),
        (1, 1)
    );

    input.archived = true;
    repositories::upsert(&mut conn, &[input]).await.unwrap();
    let synced = edges::sync_repository_attributes(&mut conn, &[repo])
        .await
        .unwrap();
    assert_eq!(synced.touched_packages, vec![react]);
    let package = wump_db::tables::packages::by_name(&mut conn, wump_core::Ecosystem::Npm, "react")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (package.dependents_count, package.organizations_count),
        (0, 0)
    );
}
