//! Recorded runs and cleanup.

use diesel::{QueryableByName, sql_types::BigInt};
use diesel_async::RunQueryDsl;
use wump_core::{
    Ecosystem::{Cargo, Npm, Pypi},
    jobs::{CleanupJob, EnrichJob, JobType, ParseJob, Priority},
};
use wump_db::{
    AsyncPgConnection,
    tables::{
        job_executions, organizations, packages,
        repositories::{self, Repository},
    },
    views::{self, DependentsQuery},
};
use wump_worker::jobs::{Delivery, FollowUp, FollowUpJob, Job, run_recorded};

use super::{
    Harness,
    pipeline::{counts, dependents, s},
    run, write,
};

#[tokio::test(flavor = "multi_thread")]
async fn recorded_runs_say_how_they_ended_and_cleanup_prunes_old_ones() {
    let h = Harness::new().await;
    h.scrape_all().await;

    let parse = ParseJob {
        host: "local".into(),
        repository: "acme/web".parse().unwrap(),
    };
    let (j1, j2) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let delivery = Delivery {
        id: j1,
        queue: "{wump:parse:normal}".into(),
        priority: Priority::Normal,
        attempt: 2,
    };
    run_recorded(&h.ctx.db, &parse, &h.ctx, &delivery)
        .await
        .unwrap();
    let missing = ParseJob {
        host: "local".into(),
        repository: "acme/nothing".parse().unwrap(),
    };
    let err = run_recorded(
        &h.ctx.db,
        &missing,
        &h.ctx,
        &Delivery {
            id: j2,
            ..delivery.clone()
        },
    )
    .await
    .unwrap_err();
    assert!(err.is_permanent());

    let (j1, j2) = (j1.to_string(), j2.to_string());
    let mut conn = h.conn().await;
    let recent = job_executions::recent(&mut conn, Some(JobType::Parse), 10)
        .await
        .unwrap();
    let summary: Vec<(&str, &str, i32, i32, bool)> = recent
        .iter()
        .map(|r| {
            (
                r.job_id.as_str(),
                r.status.as_str(),
                r.attempt,
                r.records_processed,
                r.error.is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (j2.as_str(), "failed", 2, 0, true),
            (j1.as_str(), "completed", 2, 1, false),
        ]
    );
    assert_eq!(recent[0].metadata["permanent"], true);
    assert_eq!(recent[1].metadata["manifests"], 1);
    // The payload is kept as JSON and reads back as the same job.
    assert_eq!(
        Job::from_json(JobType::Parse, &recent[1].metadata["payload"]).unwrap(),
        Job::Parse(parse)
    );

    // Nothing is old enough yet; with no retention everything finished goes.
    let cleanup = Job::Cleanup(CleanupJob {});
    assert_eq!(run(&h.ctx, &cleanup).await.unwrap().records_processed, 0);
    let mut ctx = h.ctx.clone();
    ctx.job_retention = chrono::Duration::seconds(-1);
    let outcome = run(&ctx, &cleanup).await.unwrap();
    assert_eq!(outcome.records_processed, 2);
    assert_eq!(outcome.metadata["job_executions_pruned"], 2);
}

/// How many packages or roll-up rows disagree with a from-scratch aggregate of the counted
/// edges (neither archived nor fork): 0 when counts equal what the listings return.
pub(crate) async fn invariant_violations(conn: &mut AsyncPgConnection) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query(
        "WITH counted AS (
             SELECT package_id, organization_id, count(*)::int AS repositories, sum(repo_stars)::bigint AS stars
             FROM dependencies WHERE NOT repo_archived AND NOT repo_fork
             GROUP BY package_id, organization_id)
         SELECT (SELECT count(*) FROM counted c
                 FULL JOIN package_organizations po USING (package_id, organization_id)
                 WHERE c.repositories IS DISTINCT FROM po.repositories_count
                    OR c.stars IS DISTINCT FROM po.stars_sum)
              + (SELECT count(*) FROM packages p
                 WHERE p.dependents_count <> coalesce((SELECT sum(repositories) FROM counted c WHERE c.package_id = p.id), 0)
                    OR p.organizations_count <> (SELECT count(*) FROM counted c WHERE c.package_id = p.id)) AS n",
    )
    .get_result::<Count>(conn)
    .await
    .unwrap()
    .n
}

async fn repository(conn: &mut AsyncPgConnection, full_name: &str) -> Option<Repository> {
    repositories::find(conn, "local", full_name).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repository_gone_from_its_host_is_deleted_after_the_retention_with_exact_counts() {
    let h = Harness::new().await;
    h.scrape_all().await;
    std::fs::remove_dir_all(h.path("acme/web")).unwrap();

    // The parse that finds it gone removes its edges at once and marks it.
    let outcome = h.parse("acme/web").await;
    assert_eq!(outcome.metadata["gone"], true);
    let mut conn = h.conn().await;
    let web = repository(&mut conn, "acme/web").await.unwrap();
    assert!(web.gone_at.is_some());
    assert_eq!(counts(&mut conn, Npm, "lodash").await, (2, 2));
    assert_eq!(counts(&mut conn, Npm, "jest").await, (0, 0));
    assert_eq!(invariant_violations(&mut conn).await, 0);

    // Within the retention cleanup keeps it (it may come back).
    let cleanup = Job::Cleanup(CleanupJob {});
    let outcome = run(&h.ctx, &cleanup).await.unwrap();
    assert_eq!(outcome.metadata["repositories_deleted"], 0);
    assert!(repository(&mut conn, "acme/web").await.is_some());

    // Past it, the row goes; its organization is enriched again for its totals.
    let mut ctx = h.ctx.clone();
    ctx.gone_retention = chrono::Duration::seconds(-1);
    let outcome = run(&ctx, &cleanup).await.unwrap();
    assert_eq!(outcome.metadata["repositories_deleted"], 1);
    assert_eq!(outcome.metadata["organizations_deleted"], 0);
    assert!(repository(&mut conn, "acme/web").await.is_none());
    assert_eq!(
        outcome.follow_ups,
        vec![FollowUp {
            job: FollowUpJob::Enrich(EnrichJob {
                host: "local".into(),
                organization: "acme".into(),
            }),
            priority: Priority::Low,
        }]
    );
    assert_eq!(
        dependents(&mut conn, Npm, "lodash").await,
        vec![s("globex/site", 30), s("acme/tools", 5)]
    );
    assert_eq!(invariant_violations(&mut conn).await, 0);
    h.drain(outcome.follow_ups[0].to_job()).await;
    let acme = organizations::by_login(&mut conn, "local", "acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((acme.repositories_count, acme.stars_total), (2, 55));

    // Nothing is left to delete.
    let again = run(&ctx, &cleanup).await.unwrap();
    assert_eq!(again.metadata["repositories_deleted"], 0);
    assert!(again.follow_ups.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organization_left_without_repositories_is_deleted_and_its_cache_version_bumped() {
    let h = Harness::new().await;
    h.scrape_all().await;
    std::fs::remove_dir_all(h.path("initech")).unwrap();
    h.parse("initech/lib").await;
    let before = h.cache_versions().await;

    let mut ctx = h.ctx.clone();
    ctx.gone_retention = chrono::Duration::seconds(-1);
    let outcome = run(&ctx, &Job::Cleanup(CleanupJob {})).await.unwrap();
    assert_eq!(outcome.metadata["repositories_deleted"], 1);
    assert_eq!(outcome.metadata["organizations_deleted"], 1);
    // No enrichment of an organization that no longer exists.
    assert!(outcome.follow_ups.is_empty());

    let mut conn = h.conn().await;
    assert!(
        organizations::by_login(&mut conn, "local", "initech")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(counts(&mut conn, Cargo, "serde").await, (1, 1));
    assert_eq!(invariant_violations(&mut conn).await, 0);
    let key = "wump:cache-version:organization:local:initech";
    assert!(h.cache_versions().await[key] > before[key]);
    // The other organizations stay, though none of them lost anything.
    for login in ["acme", "globex"] {
        assert!(
            organizations::by_login(&mut conn, "local", login)
                .await
                .unwrap()
                .is_some()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gone_repository_that_comes_back_is_parsed_again_and_kept() {
    let h = Harness::new().await;
    h.scrape_all().await;
    let saved = tempfile::tempdir().unwrap();
    let moved = saved.path().join("site");
    std::fs::rename(h.path("globex/site"), &moved).unwrap();
    h.parse("globex/site").await;
    let mut conn = h.conn().await;
    assert_eq!(counts(&mut conn, Npm, "react").await, (1, 1));

    // Back before the retention: the next scrape lists it and has it parsed again,
    // although its files (and so its change token) are what they were.
    std::fs::rename(&moved, h.path("globex/site")).unwrap();
    let runs = h.scrape_all().await;
    assert!(
        runs.iter()
            .any(|(j, _)| matches!(j, Job::Parse(p) if p.repository.to_string() == "globex/site"))
    );
    let site = repository(&mut conn, "globex/site").await.unwrap();
    assert!(site.gone_at.is_none());
    assert!(site.parsed_at.is_some());
    assert_eq!(counts(&mut conn, Npm, "react").await, (2, 2));

    let mut ctx = h.ctx.clone();
    ctx.gone_retention = chrono::Duration::seconds(-1);
    let outcome = run(&ctx, &Job::Cleanup(CleanupJob {})).await.unwrap();
    assert_eq!(outcome.metadata["repositories_deleted"], 0);
    assert_eq!(invariant_violations(&mut conn).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn archived_repositories_keep_their_edges_through_cleanup_but_are_not_counted() {
    let h = Harness::new().await;
    write(
        h.root.path(),
        "acme/tools/.wump-repo.json",
        r#"{"stars": 5, "archived": true}"#,
    );
    h.scrape_all().await;
    let mut conn = h.conn().await;
    assert_eq!(counts(&mut conn, Pypi, "django").await, (0, 0));
    assert_eq!(counts(&mut conn, Npm, "lodash").await, (2, 2));

    let mut ctx = h.ctx.clone();
    ctx.gone_retention = chrono::Duration::seconds(-1);
    let outcome = run(&ctx, &Job::Cleanup(CleanupJob {})).await.unwrap();
    assert_eq!(outcome.metadata["repositories_deleted"], 0);
    let (tools, edges) = views::repository_with_dependencies(&mut conn, "local", "acme/tools")
        .await
        .unwrap()
        .unwrap();
    assert!(tools.archived);
    assert_eq!(edges.len(), 3);
    let django = packages::by_name(&mut conn, Pypi, "django")
        .await
        .unwrap()
        .unwrap();
    let archived = views::dependents(
        &mut conn,
        django.id,
        &DependentsQuery {
            include_archived: true,
            limit: 10,
            ..DependentsQuery::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(archived.len(), 1);
    assert_eq!(invariant_violations(&mut conn).await, 0);
}
