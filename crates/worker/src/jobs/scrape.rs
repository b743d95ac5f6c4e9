//! scrape (discover repositories through a provider) and discover (ask aggregators which
//! repositories depend on a package): both store what they find page by page and ask for
//! the repositories to be parsed.

use std::{collections::HashSet, sync::Arc};

use serde_json::json;
use uuid::Uuid;
use wump_core::{
    PackageRef,
    jobs::{DiscoverJob, EnrichJob, ParseJob, Priority, ScrapeJob},
};
use wump_db::{
    pool::checkout,
    tables::{
        organizations::{self, OrganizationInput},
        repositories::{self, RepositoryChange, RepositoryInput},
    },
};
use wump_providers::{DataProvider, DiscoveredRepository, DiscoveryQuery, PageToken, ProviderKind};

use super::{FollowUp, FollowUpJob, JobContext, JobError, JobOutcome, db};

/// Discovers every repository `job` asks for, one page at a time (never holding more than
/// a page), upserts their organizations and repositories, and asks for a parse of each new
/// repository, each whose change token moved and each never parsed, and an enrichment of
/// each organization never enriched.
pub async fn scrape(ctx: &JobContext, job: &ScrapeJob) -> Result<JobOutcome, JobError> {
    let provider = ctx
        .providers
        .get(&job.provider)
        .ok_or_else(|| JobError::Payload(format!("no provider named `{}`", job.provider)))?;
    let query = discovery_query(job.query.as_deref());
    let mut run = Stored::new(Priority::Normal);
    let pages = walk_pages(ctx, &*provider, &query, None, usize::MAX, &mut run).await?;
    let mut outcome = run.finish();
    outcome
        .metadata
        .insert("provider".into(), json!(job.provider));
    outcome.metadata.insert("pages".into(), json!(pages));
    tracing::info!(
        provider = %job.provider,
        repositories = outcome.records_processed,
        follow_ups = outcome.follow_ups.len(),
        "scrape finished"
    );
    Ok(outcome)
}

/// `owner:LOGIN` lists one owner's repositories; anything else is the provider's search;
/// nothing is everything the provider can enumerate.
fn discovery_query(query: Option<&str>) -> DiscoveryQuery {
    match query.map(str::trim).filter(|q| !q.is_empty()) {
        None => DiscoveryQuery::All,
        Some(q) => match q.strip_prefix("owner:") {
            Some(login) if !login.trim().is_empty() && !login.trim().contains(' ') => {
                DiscoveryQuery::Owner {
                    login: login.trim().to_owned(),
                }
            }
            _ => DiscoveryQuery::Search {
                query: q.to_owned(),
            },
        },
    }
}

/// Asks aggregators (in registration order, falling back on failure) which repositories
/// depend on the package, stores them like [`scrape`], and asks for high-priority parses.
pub async fn discover(ctx: &JobContext, job: &DiscoverJob) -> Result<JobOutcome, JobError> {
    if job.name.trim().is_empty() {
        return Err(JobError::Payload("the package name is empty".into()));
    }
    let query = DiscoveryQuery::DependentsOf {
        package: PackageRef::new(job.ecosystem, job.name.trim()),
    };
    let aggregators: Vec<String> = ctx
        .providers
        .by_kind(ProviderKind::Aggregator)
        .iter()
        .map(|p| p.name().to_owned())
        .collect();
    if aggregators.is_empty() {
        return Err(JobError::Unsupported("no aggregator is configured".into()));
    }
    let order: Vec<&str> = aggregators.iter().map(String::as_str).collect();
    let first = ctx
        .providers
        .fetch_with_fallback(&order, |provider| {
            let query = query.clone();
            async move { provider.discover_repositories(&query, None).await }
        })
        .await?;
    // Page tokens belong to the provider that issued them: stay with it.
    let provider: Arc<dyn DataProvider> = ctx
        .providers
        .get(&first.provider)
        .ok_or_else(|| JobError::Unsupported(format!("{} vanished", first.provider)))?;

    let mut run = Stored::new(Priority::High);
    run.store(ctx, &first.value.repositories).await?;
    let mut pages = 1;
    if let Some(next) = first.value.next {
        pages += walk_pages(
            ctx,
            &*provider,
            &query,
            Some(next),
            ctx.discover_max_pages.saturating_sub(1),
            &mut run,
        )
        .await?;
    }
    let mut outcome = run.finish();
    outcome
        .metadata
        .insert("provider".into(), json!(first.provider));
    outcome.metadata.insert("pages".into(), json!(pages));
    Ok(outcome)
}

/// Reads and stores pages from `start` until the last page or `max_pages`; returns how
/// many pages were read.
async fn walk_pages(
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
struct Stored {
    priority: Priority,
    repositories: u64,
    parse_requested: HashSet<Uuid>,
    enrich_requested: HashSet<Uuid>,
    follow_ups: Vec<FollowUp>,
    new_repositories: u64,
    moved_repositories: u64,
    /// Follow-ups already given to the context's sink.
    handed_over: u64,
}

impl Stored {
    fn new(priority: Priority) -> Self {
        Self {
            priority,
            repositories: 0,
            parse_requested: HashSet::new(),
            enrich_requested: HashSet::new(),
            follow_ups: Vec::new(),
            new_repositories: 0,
            moved_repositories: 0,
            handed_over: 0,
        }
    }

    /// Upserts one page, batch by batch, and notes the follow-ups it calls for.
    async fn store(
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
            if let Some(sink) = &ctx.follow_up_sink
                && !self.follow_ups.is_empty()
            {
                self.handed_over += self.follow_ups.len() as u64;
                sink.enqueue(std::mem::take(&mut self.follow_ups)).await?;
            }
        }
        Ok(())
    }

    fn finish(self) -> JobOutcome {
        let mut outcome = JobOutcome {
            records_processed: self.repositories,
            follow_ups: self.follow_ups,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_name_an_owner_a_search_or_everything() {
        assert_eq!(discovery_query(None), DiscoveryQuery::All);
        assert_eq!(discovery_query(Some("  ")), DiscoveryQuery::All);
        assert_eq!(
            discovery_query(Some("owner:acme")),
            DiscoveryQuery::Owner {
                login: "acme".into()
            }
        );
        assert_eq!(
            discovery_query(Some("stars:>100 language:rust")),
            DiscoveryQuery::Search {
                query: "stars:>100 language:rust".into()
            }
        );
    }
}
