//! Walking a listing page by page returns every row exactly once, in order, for every sort
//! and filter.

use std::collections::HashMap;

use uuid::Uuid;
use wump_core::{DependencyKind, Ecosystem};
use wump_db::{
    edges::{self, EdgeInput},
    tables::{organizations, repositories},
    test_support::TestDatabase,
    views::{self, DependentsQuery, DependentsSort, OrganizationsSort, SearchTarget},
};

use crate::{day, organization, packages, repository, repository_input};

/// What the test knows about each repository it created.
#[derive(Debug, Clone)]
struct Seeded {
    id: Uuid,
    org: Uuid,
    stars: i32,
    pushed_at: Option<chrono::DateTime<chrono::Utc>>,
    archived: bool,
    fork: bool,
    kinds: Vec<DependencyKind>,
    direct: Option<bool>,
}

#[tokio::test(flavor = "multi_thread")]
async fn dependents_pages_cover_every_row_once_in_order_for_every_sort_and_filter() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    let orgs = [
        organization(&mut conn, "alpha").await,
        organization(&mut conn, "beta").await,
        organization(&mut conn, "gamma").await,
    ];
    let package = packages(&mut conn, &["left-pad"]).await[0];

    let mut seeded = Vec::new();
    for i in 0..45 {
        let org = orgs[i % 3];
        // Few distinct star counts and push times, many ties: the tie-breaker matters.
        let stars = [0, 5, 5, 100, 2_000][i % 5];
        let pushed_at = if i % 7 == 0 {
            None
        } else {
            Some(day((i % 4) as i64))
        };
        let mut input = repository_input(
            org,
            &format!("{}/repo-{i}", ["alpha", "beta", "gamma"][i % 3]),
            stars,
            pushed_at,
        );
        input.archived = i % 11 == 0;
        input.fork = i % 13 == 0;
        let id = repository(&mut conn, input.clone()).await;
        let kinds = match i % 4 {
            0 => vec![DependencyKind::Runtime],
            1 => vec![DependencyKind::Development],
            2 => vec![DependencyKind::Runtime, DependencyKind::Test],
            _ => vec![DependencyKind::Peer],
        };
        let direct = [Some(true), Some(false), None][i % 3];
        let edge = EdgeInput {
            package_id: package,
            kinds: kinds.iter().copied().collect(),
            requirement: "^1".into(),
            resolved_version: None,
            direct,
            manifest_paths: vec!["package.json".into()],
        };
        edges::replace_repository_edges(&mut conn, id, &[edge])
            .await
            .unwrap();
        seeded.push(Seeded {
            id,
            org,
            stars,
            pushed_at,
            archived: input.archived,
            fork: input.fork,
            kinds,
            direct,
        });
    }

    let filters = [
        DependentsQuery::default(),
        DependentsQuery {
            include_archived: true,
            include_forks: true,
            ..Default::default()
        },
        DependentsQuery {
            kind: Some(DependencyKind::Runtime),
            ..Default::default()
        },
        DependentsQuery {
            kind: Some(DependencyKind::Test),
            include_archived: true,
            ..Default::default()
        },
        DependentsQuery {
            min_stars: Some(5),
            ..Default::default()
        },
        DependentsQuery {
            organization_id: Some(orgs[1]),
            include_forks: true,
            ..Default::default()
        },
        DependentsQuery {
            direct: Some(true),
            ..Default::default()
        },
    ];
    for sort in [DependentsSort::Stars, DependentsSort::PushedAt] {
        for filter in &filters {
            let mut expected: Vec<&Seeded> = seeded
                .iter()
                .filter(|s| filter.include_archived || !s.archived)
                .filter(|s| filter.include_forks || !s.fork)
                .filter(|s| filter.kind.is_none_or(|k| s.kinds.contains(&k)))
                .filter(|s| filter.min_stars.is_none_or(|m| s.stars >= m))
                .filter(|s| filter.organization_id.is_none_or(|o| s.org == o))
                .filter(|s| filter.direct.is_none_or(|d| s.direct == Some(d)))
                .collect();
            match sort {
                DependentsSort::Stars => {
                    expected.sort_by(|a, b| b.stars.cmp(&a.stars).then(a.id.cmp(&b.id)))
                }
                // Descending, never-pushed last.
                DependentsSort::PushedAt => {
                    expected.sort_by(|a, b| match (a.pushed_at, b.pushed_at) {
                        (Some(x), Some(y)) => y.cmp(&x).then(a.id.cmp(&b.id)),
                        (Some(_), None) => std::cmp::Ordering::Less,
                        (None, Some(_)) => std::cmp::Ordering::Greater,
                        (None, None) => a.id.cmp(&b.id),
                    })
                }
            }
            let expected: Vec<Uuid> = expected.iter().map(|s| s.id).collect();

            let mut walked = Vec::new();
            let mut query = DependentsQuery {
                sort,
                limit: 4,
                ..filter.clone()
            };
            loop {
                let page = views::dependents(&mut conn, package, &query).await.unwrap();
                walked.extend(page.iter().map(|d| d.repository.id));
                match page.last() {
                    Some(last) if page.len() as i64 == query.limit => {
                        query.after = Some(last.cursor(sort))
                    }
                    _ => break,
                }
            }
            assert_eq!(walked, expected, "sort {sort:?}, filter {filter:?}");
        }
    }

    // The stored count equals what the default listing returns.
    let stored = packages::by_name(&mut conn, Ecosystem::Npm, "left-pad")
        .await
        .unwrap()
        .unwrap();
    let default_listing = seeded.iter().filter(|s| !s.archived && !s.fork).count();
    assert_eq!(stored.dependents_count as usize, default_listing);
}

#[tokio::test(flavor = "multi_thread")]
async fn organizations_using_a_package_are_ranked_and_paged_without_gaps() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    let package = packages(&mut conn, &["serde"]).await[0];
    let mut expected_stars: HashMap<Uuid, (i64, i32)> = HashMap::new();
    for o in 0..12 {
        let org = organization(&mut conn, &format!("org-{o}")).await;
        for r in 0..(o % 3 + 1) {
            let stars = ((o * 7) % 5) * 10;
            let repo = repository(
                &mut conn,
                repository_input(org, &format!("org-{o}/r{r}"), stars, None),
            )
            .await;
            edges::replace_repository_edges(
                &mut conn,
                repo,
                &[crate::edge(package, &[DependencyKind::Runtime])],
            )
            .await
            .unwrap();
            let entry = expected_stars.entry(org).or_default();
            entry.0 += i64::from(stars);
            entry.1 += 1;
        }
    }
    for sort in [OrganizationsSort::Stars, OrganizationsSort::Repositories] {
        let mut expected: Vec<(Uuid, i64)> = expected_stars
            .iter()
            .map(|(id, (stars, repos))| {
                (
                    *id,
                    if sort == OrganizationsSort::Stars {
                        *stars
                    } else {
                        i64::from(*repos)
                    },
                )
            })
            .collect();
        expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let page =
                views::organizations_using(&mut conn, package, sort, &Default::default(), after, 5)
                    .await
                    .unwrap();
            walked.extend(page.iter().map(|u| (u.organization.id, u.sort_value(sort))));
            match page.last() {
                Some(last) if page.len() == 5 => {
                    after = Some((last.sort_value(sort), last.organization.id))
                }
                _ => break,
            }
        }
        assert_eq!(walked, expected, "{sort:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn organization_repository_and_search_readers_answer_what_was_written() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    let org = organization(&mut conn, "Acme-Corp").await;
    let app = repository(
        &mut conn,
        repository_input(org, "Acme-Corp/app", 50, Some(day(2))),
    )
    .await;
    let lib = repository(
        &mut conn,
        repository_input(org, "Acme-Corp/lib", 70, Some(day(1))),
    )
    .await;
    let ids = packages::upsert(
        &mut conn,
        &[
            (Ecosystem::Npm, "react"),
            (Ecosystem::Npm, "react-dom"),
            (Ecosystem::Pypi, "requests"),
        ],
    )
    .await
    .unwrap();
    edges::replace_repository_edges(
        &mut conn,
        app,
        &[
            crate::edge(ids[0], &[DependencyKind::Runtime]),
            crate::edge(ids[1], &[DependencyKind::Runtime]),
        ],
    )
    .await
    .unwrap();
    edges::replace_repository_edges(
        &mut conn,
        lib,
        &[crate::edge(ids[0], &[DependencyKind::Peer])],
    )
    .await
    .unwrap();

    let found = organizations::by_login(&mut conn, "github.com", "acme-corp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.login, "Acme-Corp");
    assert!(
        organizations::by_login(&mut conn, "github.com", "nobody")
            .await
            .unwrap()
            .is_none()
    );

    let repos = repositories::of_organization(&mut conn, org, None, 10)
        .await
        .unwrap();
    assert_eq!(
        repos
            .iter()
            .map(|r| r.full_name.as_str())
            .collect::<Vec<_>>(),
        ["Acme-Corp/lib", "Acme-Corp/app"]
    );

    let used = views::organization_dependencies(&mut conn, org, None, 10)
        .await
        .unwrap();
    assert_eq!(
        used.iter()
            .map(|u| (u.package.name.as_str(), u.repositories_count))
            .collect::<Vec<_>>(),
        [("react", 2), ("react-dom", 1)]
    );
    let next = views::organization_dependencies(&mut conn, org, Some((2, ids[0])), 10)
        .await
        .unwrap();
    assert_eq!(next.len(), 1);

    let (repo, deps) =
        views::repository_with_dependencies(&mut conn, "github.com", "acme-corp/APP")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(repo.id, app);
    assert_eq!(
        deps.iter()
            .map(|(_, p)| p.name.as_str())
            .collect::<Vec<_>>(),
        ["react", "react-dom"]
    );

    let hits = views::search(&mut conn, SearchTarget::Packages, "react", None, 10)
        .await
        .unwrap();
    assert_eq!(hits[0].name, "react", "exact match ranks first: {hits:?}");
    assert!(hits.iter().any(|h| h.name == "react-dom"));
    assert!(hits.iter().all(|h| h.name != "requests"));
    let rest = views::search(
        &mut conn,
        SearchTarget::Packages,
        "react",
        Some((hits[0].similarity, hits[0].weight, hits[0].id)),
        10,
    )
    .await
    .unwrap();
    assert_eq!(
        rest.iter().map(|h| h.id).collect::<Vec<_>>(),
        hits[1..].iter().map(|h| h.id).collect::<Vec<_>>()
    );
    let orgs = views::search(&mut conn, SearchTarget::Organizations, "acme", None, 10)
        .await
        .unwrap();
    assert_eq!(orgs.len(), 1);
    // LIKE wildcards in the query are literal.
    assert!(
        views::search(&mut conn, SearchTarget::Packages, "%", None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let stats = views::stats(&mut conn).await.unwrap();
    assert_eq!(
        (stats.repositories, stats.organizations, stats.dependencies),
        (2, 1, 3)
    );
    assert_eq!(
        stats.packages_by_ecosystem,
        vec![(Ecosystem::Npm, 2, 2), (Ecosystem::Pypi, 1, 0)]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repositorys_new_stars_and_push_time_move_it_in_the_dependents_listings() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    let org = organization(&mut conn, "acme").await;
    let package = packages(&mut conn, &["left-pad"]).await[0];
    let mut inputs = Vec::new();
    let mut ids = Vec::new();
    for (i, stars) in [10, 20, 30].into_iter().enumerate() {
        let input = repository_input(org, &format!("acme/app-{i}"), stars, Some(day(i as i64)));
        let id = repository(&mut conn, input.clone()).await;
        // Peer: a kind with its own partial index in the listing's order.
        let edge = crate::edge(package, &[DependencyKind::Runtime, DependencyKind::Peer]);
        edges::replace_repository_edges(&mut conn, id, &[edge])
            .await
            .unwrap();
        inputs.push(input);
        ids.push(id);
    }
    let by_stars = listed(&mut conn, package, DependentsSort::Stars, None).await;
    assert_eq!(
        by_stars.iter().map(|r| r.0).collect::<Vec<_>>(),
        [ids[2], ids[1], ids[0]]
    );

    // The least starred and least recently pushed one becomes the most of both; another
    // is never pushed again (its push time forgotten: it goes last by push time).
    inputs[0].stars = 500;
    inputs[0].pushed_at = Some(day(10));
    inputs[2].pushed_at = None;
    repositories::upsert(&mut conn, &[inputs[0].clone(), inputs[2].clone()])
        .await
        .unwrap();
    edges::sync_repository_attributes(&mut conn, &[ids[0], ids[2]])
        .await
        .unwrap();

    for kind in [None, Some(DependencyKind::Peer)] {
        let by_stars = listed(&mut conn, package, DependentsSort::Stars, kind).await;
        assert_eq!(
            by_stars,
            [
                (ids[0], 500, Some(day(10))),
                (ids[2], 30, None),
                (ids[1], 20, Some(day(1)))
            ],
            "kind {kind:?}: the edges' copies follow the repositories"
        );
        let by_push: Vec<Uuid> = listed(&mut conn, package, DependentsSort::PushedAt, kind)
            .await
            .iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(by_push, [ids[0], ids[1], ids[2]], "kind {kind:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pooled_connections_plan_each_listing_for_its_own_package() {
    use diesel::{QueryableByName, sql_types::Text};
    use diesel_async::RunQueryDsl;

    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = Text)]
        plan_cache_mode: String,
    }
    let db = TestDatabase::new().await;
    let pool = wump_db::connect(db.settings()).unwrap();
    let mut conn = wump_db::pool::checkout(&pool).await.unwrap();
    // A generic plan is made for an average package: for the most used ones it read the
    // whole edge set per page.
    let mode: Mode = diesel::sql_query("SHOW plan_cache_mode")
        .get_result(&mut *conn)
        .await
        .unwrap();
    assert_eq!(mode.plan_cache_mode, "force_custom_plan");
}

/// A dependents listing's repositories with the edge's copies of stars and push time.
async fn listed(
    conn: &mut wump_db::AsyncPgConnection,
    package: Uuid,
    sort: DependentsSort,
    kind: Option<DependencyKind>,
) -> Vec<(Uuid, i32, Option<chrono::DateTime<chrono::Utc>>)> {
    let query = DependentsQuery {
        sort,
        kind,
        limit: 10,
        ..Default::default()
    };
    views::dependents(conn, package, &query)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.repository.id, d.edge.repo_stars, d.edge.repo_pushed_at))
        .collect()
}
