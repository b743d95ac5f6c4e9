//! History through the real jobs: parses that add and remove dependents leave events, and
//! the snapshot job records the day's counts once and prunes by retention.

use chrono::Duration;
use diesel_async::RunQueryDsl;
use wump_core::{Ecosystem, jobs::SnapshotJob};
use wump_db::{
    AsyncPgConnection,
    history::{self, Interval},
    tables::{
        dependency_events::{self, EventFilter},
        packages,
    },
};
use wump_worker::jobs::Job;

use super::{Harness, run, write};

/// `(event, repository or organization)` of a package's events, newest first.
async fn events(conn: &mut AsyncPgConnection, name: &str) -> Vec<(String, String)> {
    let package = packages::by_name(conn, Ecosystem::Npm, name)
        .await
        .unwrap()
        .unwrap();
    dependency_events::of_packages(conn, &[package.id], &EventFilter::default(), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            let subject = e.repository.unwrap_or(e.organization);
            (e.event.to_string(), subject)
        })
        .collect()
}

fn ev(event: &str, subject: &str) -> (String, String) {
    (event.to_owned(), subject.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn parses_that_add_and_remove_dependents_leave_events_and_unchanged_ones_none() {
    let h = Harness::new().await;
    h.scrape_all().await;
    let mut conn = h.conn().await;
    // The first crawl: every dependent and organization is new (in whatever order the
    // repositories were parsed).
    let mut first = events(&mut conn, "lodash").await;
    first.sort();
    assert_eq!(
        first,
        [
            ev("dependent.added", "acme/tools"),
            ev("dependent.added", "acme/web"),
            ev("dependent.added", "globex/site"),
            ev("organization.added", "acme"),
            ev("organization.added", "globex"),
        ]
    );

    // Everything again: nothing changed, nothing recorded.
    h.scrape_all().await;
    assert_eq!(events(&mut conn, "lodash").await.len(), 5);

    // acme/web drops lodash (acme/tools still uses it) and adds axios.
    write(
        h.root.path(),
        "acme/web/package.json",
        r#"{"name": "web", "dependencies": {"react": "^18.2.0", "axios": "^1.6.0"},
            "devDependencies": {"jest": "^29.0.0"}}"#,
    );
    h.scrape_all().await;
    assert_eq!(
        events(&mut conn, "lodash").await[0],
        ev("dependent.removed", "acme/web")
    );
    assert_eq!(events(&mut conn, "lodash").await.len(), 6);
    assert_eq!(
        events(&mut conn, "axios").await,
        [
            ev("organization.added", "acme"),
            ev("dependent.added", "acme/web")
        ]
    );

    // The repository disappears: its remaining dependencies are lost too.
    std::fs::remove_dir_all(h.path("globex/site")).unwrap();
    h.parse("globex/site").await;
    assert_eq!(
        events(&mut conn, "lodash").await[..2],
        [
            ev("organization.removed", "globex"),
            ev("dependent.removed", "globex/site"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_snapshot_job_records_changed_counts_once_a_day_and_prunes_old_history() {
    let mut h = Harness::new().await;
    h.scrape_all().await;
    let outcome = run(&h.ctx, &Job::Snapshot(SnapshotJob {})).await.unwrap();
    let recorded = outcome.metadata["packages_recorded"].as_u64().unwrap();
    assert!(recorded >= 4, "every used package: {outcome:?}");
    assert!(outcome.metadata["organizations_recorded"].as_u64().unwrap() >= 2);

    // The same day again with nothing changed: nothing written.
    let again = run(&h.ctx, &Job::Snapshot(SnapshotJob {})).await.unwrap();
    assert_eq!(again.metadata["packages_recorded"], 0);
    assert_eq!(again.metadata["organizations_recorded"], 0);

    let mut conn = h.conn().await;
    let lodash = packages::by_name(&mut conn, Ecosystem::Npm, "lodash")
        .await
        .unwrap()
        .unwrap();
    let today = history::today();
    let series = history::package_series(&mut conn, lodash.id, today, today, Interval::Day)
        .await
        .unwrap();
    assert_eq!(
        (
            series.len(),
            series[0].dependents_count,
            series[0].organizations_count
        ),
        (1, 3, 2)
    );

    // Old history goes; each package keeps its latest row before the cutoff, so the
    // series still starts right.
    for statement in [
        "UPDATE package_daily_counts SET day = day - 800",
        "UPDATE dependency_events SET occurred_at = occurred_at - interval '800 days'",
    ] {
        diesel::sql_query(statement)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let old_day = today - Duration::days(800);
    diesel::sql_query(format!(
        "INSERT INTO package_daily_counts (package_id, day, dependents_count,
                 organizations_count, stars_sum)
         VALUES ('{}', '{}', 1, 1, 1)",
        lodash.id,
        old_day - Duration::days(1)
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    h.ctx.history_retention = Duration::days(730);
    let pruned = run(&h.ctx, &Job::Snapshot(SnapshotJob {})).await.unwrap();
    assert_eq!(pruned.metadata["daily_rows_pruned"], 1, "{pruned:?}");
    assert!(pruned.metadata["events_pruned"].as_u64().unwrap() >= 5);
    let kept = history::package_series(&mut conn, lodash.id, old_day, old_day, Interval::Day)
        .await
        .unwrap();
    assert_eq!(kept[0].dependents_count, 3, "the latest old row is kept");
}
