//! cleanup: remove what has gone stale.

use std::collections::BTreeSet;

use chrono::Utc;
use serde_json::json;
use wump_core::jobs::{CleanupJob, EnrichJob, Priority};
use wump_db::{
    Keys, edges,
    pool::checkout,
    tables::{job_executions, organizations, repositories},
};

use super::{
    BackgroundJob, Delivery, FollowUp, FollowUpJob, JobContext, JobError, JobOutcome, db,
    invalidate::invalidate,
};

/// Deletes what has gone stale, each through the writers that keep counts exact:
///
/// - repositories found gone (by parse) before `ctx.gone_retention`, at most
///   `ctx.cleanup_batch` a run: their edges are removed with
///   `edges::replace_repository_edges` (roll-ups and package counts follow), then the row;
///   each organization that lost one is enriched again (its totals);
/// - organizations older than `ctx.gone_retention` with no repositories left;
/// - finished `job_executions` older than `ctx.job_retention`.
///
/// Archived repositories and forks are kept with their edges: the writers already leave
/// them out of every count.
impl BackgroundJob for CleanupJob {
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext, _: &Delivery) -> Result<JobOutcome, JobError> {
        let mut outcome = JobOutcome::default();
        let gone_cutoff = Utc::now() - ctx.gone_retention;
        let batch = i64::try_from(ctx.cleanup_batch.max(1)).unwrap_or(i64::MAX);

        let mut conn = db(ctx, async { Ok(checkout(&ctx.db).await?) }).await?;
        let gone = db(ctx, async {
            Ok(repositories::gone_before(&mut conn, gone_cutoff, batch).await?)
        })
        .await?;
        let mut touched_packages = Vec::new();
        let mut touched_organizations = BTreeSet::new();
        let mut deleted = 0usize;
        for (repository_id, organization_id) in gone {
            let (changes, was_deleted) = db(ctx, async {
                let changes =
                    edges::replace_repository_edges(&mut conn, repository_id, &[]).await?;
                // A repository that came back between the two statements keeps its row.
                let deleted = repositories::delete_gone(&mut conn, repository_id).await?;
                Ok((changes, deleted))
            })
            .await?;
            outcome.events_recorded += changes.events;
            touched_packages.extend(changes.touched_packages);
            touched_organizations.extend(changes.touched_organizations);
            if was_deleted {
                deleted += 1;
                touched_organizations.insert(organization_id);
            }
        }
        let shrunk: Vec<_> = touched_organizations.iter().copied().collect();
        let to_enrich = db(ctx, async {
            Ok(organizations::keys(&mut conn, &shrunk).await?)
        })
        .await?;
        drop(conn);
        invalidate(ctx, &mut outcome, touched_packages, touched_organizations).await?;

        let (emptied, pruned) = db(ctx, async {
            let mut conn = checkout(&ctx.db).await?;
            let emptied = organizations::delete_empty(&mut conn, gone_cutoff).await?;
            let pruned = job_executions::prune(&mut conn, Utc::now() - ctx.job_retention).await?;
            Ok((emptied, pruned))
        })
        .await?;
        // The rows are gone, so `invalidate` cannot look their keys up: bump them directly.
        let keys = Keys::new(ctx.key_prefix.as_str());
        let versions: Vec<String> = emptied
            .iter()
            .map(|(host, login)| keys.organization_version(host, login))
            .collect();
        Keys::bump_versions(&ctx.valkey, &versions).await?;
        outcome.follow_ups = to_enrich
            .into_iter()
            .filter(|key| !emptied.contains(key))
            .map(|(host, organization)| FollowUp {
                job: FollowUpJob::Enrich(EnrichJob { host, organization }),
                priority: Priority::Low,
            })
            .collect();

        outcome.records_processed = (deleted + emptied.len() + pruned) as u64;
        outcome
            .metadata
            .insert("repositories_deleted".into(), json!(deleted));
        outcome
            .metadata
            .insert("organizations_deleted".into(), json!(emptied.len()));
        outcome
            .metadata
            .insert("job_executions_pruned".into(), json!(pruned));
        tracing::info!(
            repositories.deleted = deleted,
            organizations.deleted = emptied.len(),
            job_executions.pruned = pruned,
            "cleanup finished"
        );
        Ok(outcome)
    }
}
