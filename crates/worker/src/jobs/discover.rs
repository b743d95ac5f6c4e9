//! discover: ask aggregators which repositories depend on a package, store them page by
//! page, and ask for them to be parsed first.

use std::sync::Arc;

use serde_json::json;
use wump_core::{
    PackageRef,
    jobs::{DiscoverJob, Priority},
};
use wump_providers::{DataProvider, DiscoveryQuery, ProviderKind};

use super::{
    BackgroundJob, Delivery, JobContext, JobError, JobOutcome,
    discovered::{Stored, walk_pages},
};

/// Asks aggregators (in registration order, falling back on failure) which repositories
/// depend on the package, stores them like a scrape, and asks for high-priority parses.
impl BackgroundJob for DiscoverJob {
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext, _: &Delivery) -> Result<JobOutcome, JobError> {
        if self.name.trim().is_empty() {
            return Err(JobError::Payload("the package name is empty".into()));
        }
        let query = DiscoveryQuery::DependentsOf {
            package: PackageRef::new(self.ecosystem, self.name.trim()),
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
}
