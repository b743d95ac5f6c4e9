//! What `/health/jobs` reads from `job_executions`: when each job type last succeeded.

use chrono::{DateTime, Utc};
use diesel::{dsl::max, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::{jobs::JobStatus, schema::job_executions};

/// The newest `finished_at` of a completed run, per job type that ever completed one
/// (job type as stored, e.g. `scrape`), in job-type order.
pub async fn last_successes(
    conn: &mut AsyncPgConnection,
) -> QueryResult<Vec<(String, Option<DateTime<Utc>>)>> {
    use job_executions::dsl as j;

    j::job_executions
        .filter(j::status.eq(JobStatus::Completed.as_str()))
        .group_by(j::job_type)
        .select((j::job_type, max(j::finished_at)))
        .order_by(j::job_type)
        .load(conn)
        .await
}
