//! What scrape and discover share: storing discovered repositories page by page (their
//! organizations, then the repositories) and the follow-ups that calls for.

use std::collections::{BTreeSet, HashSet};

use serde_json::json;
use uuid::Uuid;
use wump_core::jobs::{EnrichJob, ParseJob, Priority};
use wump_db::{
    pool::checkout,
    tables::{
        organizations::{self, OrganizationInput},
        repositories::{self, RepositoryChange, RepositoryInput},
    },
};
use wump_providers::{DataProvider, DiscoveredRepository, DiscoveryQuery, PageToken};

use super::{FollowUp, FollowUpJob, JobContext, JobError, JobOutcome, db, invalidate::invalidate};

/// Reads and stores pages from `start` until the last page or `max_pages`; returns how
/// many pages were read.
pub(super) async fn walk_pages(
    ctx: &JobContext,
    provider: &dyn DataProvider,
    query: &DiscoveryQuery,
    start: Option<PageToken>,
    max_pages: usize,
    run: &mut Stored,
) -> Result<usize, JobError> {
    let mut token = start;
    let mut pages = 0;
    while pages < max_pages {
        let page = provider
            .discover_repositories(query, token.as_ref())
            .await?;
        pages += 1;
        run.store(ctx, &page.repositories).await?;
        match page.next {
            // A provider repeating its token would loop forever.
            Some(next) if token.as_ref() != Some(&next) => token = Some(next),
            Some(_) => {
                tracing::warn!(
                    provider = provider.name(),
                    "discovery repeated a page token"
                );
                break;
            }
            None => break,
        }
    }
    Ok(pages)
}

/// What a scrape or discover has stored so far: only ids, never whole pages.
pub(super) struct Stored {
    priority: Priority,
    repositories: u64,
    parse_requested: HashSet<Uuid>,
    enrich_requested: HashSet<Uuid>,
    follow_ups: Vec<FollowUp>,
    new_repositories: u64,
    moved_repositories: u64,
    /// Follow-ups already given to the context's sink.
    handed_over: u64,
    /// Organizations whose star total moved (their cache versions were bumped).
    touched_organizations: BTreeSet<Uuid>,
}

impl Stored {
    pub(super) fn new(priority: Priority) -> Self {
        Self {
            priority,
            repositories: 0,
            parse_requested: HashSet::new(),
            enrich_requested: HashSet::new(),
            follow_ups: Vec::new(),
            new_repositories: 0,
            moved_repositories: 0,
            handed_over: 0,
            touched_organizations: BTreeSet::new(),
        }
    }

    /// Upserts one page, batch by batch, and notes the follow-ups it calls for.
    pub(super) async fn store(
        &mut self,
        ctx: &JobContext,
        page: &[DiscoveredRepository],
    ) -> Result<(), JobError> {
        for batch in page.chunks(ctx.upsert_batch.max(1)) {
            let mut conn = db(ctx, async { Ok(checkout(&ctx.db).await?) }).await?;
            let organizations: Vec<OrganizationInput> = batch
                .iter()
                .map(|r| OrganizationInput {
                    host: r.repo.host.clone(),
                    login: r.owner.login.clone(),
                    kind: r.owner.kind,
                })
                .collect();
            let organization_ids = db(ctx, async {
                Ok(organizations::upsert(&mut conn, &organizations).await?)
            })
            .await?;
            let inputs: Vec<RepositoryInput> = batch
                .iter()
                .zip(&organization_ids)
                .map(|(r, organization_id)| repository_input(r, *organization_id))
                .collect();
            let upserted = db(ctx, async {
                Ok(repositories::upsert(&mut conn, &inputs).await?)
            })
            .await?;
            // New and re-starred repositories move their owners' star totals; an enrich
            // that summed before this batch must not leave them short.
            let mut owners = organization_ids.clone();
            owners.sort_unstable();
            owners.dedup();
            let restarred = db(ctx, async {
                Ok(organizations::refresh_stars_totals(&mut conn, &owners).await?)
            })
            .await?;

            // Never parsed: a parse that failed, or a scrape that stopped before its
            // follow-ups were enqueued. Asking again keeps at-least-once delivery whole.
            let ids: Vec<Uuid> = upserted.iter().map(|u| u.id).collect();
            let unparsed: HashSet<Uuid> = db(ctx, async {
                Ok(repositories::never_parsed(&mut conn, &ids).await?)
            })
            .await?
            .into_iter()
            .collect();
            for (repository, stored) in batch.iter().zip(&upserted) {
                match stored.change {
                    RepositoryChange::New => self.new_repositories += 1,
                    RepositoryChange::TokenMoved => self.moved_repositories += 1,
                    RepositoryChange::Unchanged => {}
                }
                let wanted =
                    stored.change != RepositoryChange::Unchanged || unparsed.contains(&stored.id);
                if wanted && self.parse_requested.insert(stored.id) {
                    self.follow_ups.push(FollowUp {
                        job: FollowUpJob::Parse(ParseJob {
                            host: repository.repo.host.clone(),
                            repository: repository.repo.full_name.clone(),
                        }),
                        priority: self.priority,
                    });
                }
            }

            let mut organization_ids = organization_ids;
            organization_ids.sort_unstable();
            organization_ids.dedup();
            let unenriched = db(ctx, async {
                Ok(organizations::unenriched(&mut conn, &organization_ids).await?)
            })
            .await?;
            for (id, host, login) in unenriched {
                if self.enrich_requested.insert(id) {
                    self.follow_ups.push(FollowUp {
                        job: FollowUpJob::Enrich(EnrichJob {
                            host,
                            organization: login,
                        }),
                        priority: self.priority,
                    });
                }
            }
            self.repositories += batch.len() as u64;
            drop(conn);
            if !restarred.is_empty() {
                let mut bumped = JobOutcome::default();
                invalidate(ctx, &mut bumped, [], restarred).await?;
                self.touched_organizations
                    .extend(bumped.touched_organizations);
            }
            if let Some(sink) = &ctx.follow_up_sink
                && !self.follow_ups.is_empty()
            {
                self.handed_over += self.follow_ups.len() as u64;
                sink.enqueue(std::mem::take(&mut self.follow_ups)).await?;
            }
        }
        Ok(())
    }

    pub(super) fn finish(self) -> JobOutcome {
        let mut outcome = JobOutcome {
            records_processed: self.repositories,
            follow_ups: self.follow_ups,
            touched_organizations: self.touched_organizations.into_iter().collect(),
            ..JobOutcome::default()
        };
        outcome
            .metadata
            .insert("new_repositories".into(), json!(self.new_repositories));
        outcome.metadata.insert(
            "changed_repositories".into(),
            json!(self.moved_repositories),
        );
        outcome
            .metadata
            .insert("follow_ups_enqueued".into(), json!(self.handed_over));
        outcome
    }
}

fn repository_input(r: &DiscoveredRepository, organization_id: Uuid) -> RepositoryInput {
    let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    RepositoryInput {
        host: r.repo.host.clone(),
        full_name: r.repo.full_name.to_string(),
        organization_id,
        description: r.description.clone(),
        language: r.language.clone(),
        default_branch: r.default_branch.clone(),
        stars: count(r.stars),
        forks: count(r.forks),
        archived: r.archived,
        fork: r.fork,
        pushed_at: r.pushed_at,
        change_token: r.change_token.clone(),
    }
}
