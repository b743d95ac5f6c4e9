//! Enum columns are read as wump's enums: a stored value the enum does not know fails the
//! query with an error naming it, instead of the row being skipped or passed on as text.
//!
//! The check constraints keep such values out (migrations.rs tests that); to store one
//! anyway, as a hand edit or a migration that widened a constraint before the code learnt
//! the value would, each test drops the constraint in its own database.

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use wump_core::{DependencyKind, Ecosystem};
use wump_db::{
    DbError, edges,
    tables::{
        job_executions::{self, JobStatus, RunFilter, StartExecution},
        organizations,
    },
    test_support::TestDatabase,
    views,
};

use crate::{edge, organization, packages, repository, repository_input};

/// Runs `sql` (a constraint drop, then an update that stores a value no enum knows).
async fn force(conn: &mut AsyncPgConnection, sql: &[&str]) {
    for statement in sql {
        diesel::sql_query(*statement).execute(conn).await.unwrap();
    }
}

/// The error a reader returned: a query error (not "unavailable") whose causes name
/// `value`.
fn assert_names(result: Result<impl std::fmt::Debug, diesel::result::Error>, value: &str) {
    let err = DbError::from(result.expect_err("a row with an unknown value must fail the read"));
    let DbError::Query(diesel::result::Error::DeserializationError(cause)) = &err else {
        panic!("expected a deserialization error, got {err:?}");
    };
    let mut chain = vec![cause.to_string()];
    let mut next = cause.source();
    while let Some(inner) = next {
        chain.push(inner.to_string());
        next = inner.source();
    }
    assert!(
        chain.iter().any(|message| message.contains(value)),
        "{chain:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_ecosystem_fails_the_reads_instead_of_being_skipped() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    let ids = packages(&mut conn, &["left-pad", "right-pad"]).await;
    force(
        &mut conn,
        &[
            "ALTER TABLE packages DROP CONSTRAINT packages_ecosystem_check",
            "UPDATE packages SET ecosystem = 'cobol' WHERE normalized_name = 'right-pad'",
        ],
    )
    .await;

    // The cache-invalidation lookup used to skip such a row silently.
    assert_names(
        wump_db::tables::packages::keys(&mut conn, &ids).await,
        "cobol",
    );
    assert_names(views::stats(&mut conn).await, "cobol");
    // A read that does not meet the row is unaffected.
    let left = wump_db::tables::packages::by_name(&mut conn, Ecosystem::Npm, "left-pad")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left.ecosystem, Ecosystem::Npm);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_dependency_and_organization_kinds_fail_the_reads() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    let org = organization(&mut conn, "acme").await;
    let repo = repository(&mut conn, repository_input(org, "acme/app", 5, None)).await;
    let ids = packages(&mut conn, &["react"]).await;
    edges::replace_repository_edges(&mut conn, repo, &[edge(ids[0], &[DependencyKind::Runtime])])
        .await
        .unwrap();
    force(
        &mut conn,
        &[
            "ALTER TABLE dependencies DROP CONSTRAINT dependencies_kinds_check",
            "UPDATE dependencies SET kinds = ARRAY['runtime', 'vendored']",
            "ALTER TABLE organizations DROP CONSTRAINT organizations_kind_check",
            "UPDATE organizations SET kind = 'team'",
        ],
    )
    .await;

    let query = views::DependentsQuery {
        limit: 10,
        ..Default::default()
    };
    assert_names(
        views::dependents(&mut conn, ids[0], &query).await,
        "vendored",
    );
    assert_names(
        organizations::by_login(&mut conn, "github.com", "acme").await,
        "team",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_job_status_fails_the_list_of_runs() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    job_executions::start(
        &mut conn,
        &StartExecution {
            job_id: "job-1",
            job_type: wump_core::jobs::JobType::Parse,
            queue: "{wump:parse:normal}",
            attempt: 1,
            metadata: serde_json::json!({}),
        },
    )
    .await
    .unwrap();
    force(
        &mut conn,
        &[
            "ALTER TABLE job_executions DROP CONSTRAINT job_executions_status_check",
            "UPDATE job_executions SET status = 'paused'",
        ],
    )
    .await;

    assert_names(
        job_executions::recent_runs(&mut conn, &RunFilter::default(), 10).await,
        "paused",
    );
    // Filtering on a status binds the enum: the unknown row is not among the matches.
    let failed = RunFilter {
        status: Some(JobStatus::Failed),
        ..Default::default()
    };
    assert!(
        job_executions::recent_runs(&mut conn, &failed, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
