//! scrape: discover repositories through a provider, store them page by page, and ask for
//! them to be parsed.

use serde_json::json;
use wump_core::jobs::{Priority, ScrapeJob};
use wump_providers::DiscoveryQuery;

use super::{
    BackgroundJob, Delivery, JobContext, JobError, JobOutcome,
    discovered::{Stored, walk_pages},
};

/// Discovers every repository the job asks for, one page at a time (never holding more than
/// a page), upserts their organizations and repositories, and asks for a parse of each new
/// repository, each whose change token moved and each never parsed, and an enrichment of
/// each organization never enriched.
impl BackgroundJob for ScrapeJob {
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext, _: &Delivery) -> Result<JobOutcome, JobError> {
        let provider = ctx
            .providers
            .get(&self.provider)
            .ok_or_else(|| JobError::Payload(format!("no provider named `{}`", self.provider)))?;
        let query = discovery_query(self.query.as_deref());
        let mut run = Stored::new(Priority::Normal);
        let pages = walk_pages(ctx, &*provider, &query, None, usize::MAX, &mut run).await?;
        let mut outcome = run.finish();
        outcome
            .metadata
            .insert("provider".into(), json!(self.provider));
        outcome.metadata.insert("pages".into(), json!(pages));
        tracing::info!(
            provider = %self.provider,
            repositories = outcome.records_processed,
            follow_ups = outcome.follow_ups.len(),
            "scrape finished"
        );
        Ok(outcome)
    }
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
