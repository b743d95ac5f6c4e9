//! snapshot: record the day's counts (the history the API's `/history` reads).

use chrono::Utc;
use serde_json::json;
use wump_core::jobs::SnapshotJob;
use wump_db::{history, pool::checkout, tables::dependency_events};

use super::{BackgroundJob, Delivery, JobContext, JobError, JobOutcome, db};

/// Writes today's daily counts for every package and organization whose counts changed
/// since their latest recorded day (nothing for the rest), then deletes events and daily
/// rows older than `ctx.history_retention`. Running it twice the same day rewrites only
/// what changed in between; scheduled just before midnight UTC so a day's row holds its
/// end-of-day counts.
impl BackgroundJob for SnapshotJob {
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext, _: &Delivery) -> Result<JobOutcome, JobError> {
        let day = history::today();
        let cutoff = Utc::now() - ctx.history_retention;
        let (packages, organizations, pruned_days, pruned_events) = db(ctx, async {
            let mut conn = checkout(&ctx.db).await?;
            let packages = history::snapshot_packages(&mut conn, day).await?;
            let organizations = history::snapshot_organizations(&mut conn, day).await?;
            let pruned_days = history::prune(&mut conn, cutoff.date_naive()).await?;
            let pruned_events = dependency_events::prune(&mut conn, cutoff).await?;
            Ok((packages, organizations, pruned_days, pruned_events))
        })
        .await?;

        let mut outcome = JobOutcome {
            records_processed: (packages + organizations) as u64,
            ..JobOutcome::default()
        };
        for (key, value) in [
            ("packages_recorded", packages),
            ("organizations_recorded", organizations),
            ("daily_rows_pruned", pruned_days),
            ("events_pruned", pruned_events),
        ] {
            outcome.metadata.insert(key.into(), json!(value));
        }
        tracing::info!(
            %day,
            packages.recorded = packages,
            organizations.recorded = organizations,
            daily_rows.pruned = pruned_days,
            events.pruned = pruned_events,
            "snapshot finished"
        );
        Ok(outcome)
    }
}
