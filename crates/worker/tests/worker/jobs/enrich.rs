//! Package metadata from registries, discovery through aggregators, and which failures
//! are permanent.

use std::sync::Arc;

use async_trait::async_trait;
use wump_core::{
    Ecosystem, FundingLink, OrganizationKind, PackageRef, RepoFullName,
    jobs::{DiscoverJob, EnrichJob, ParseJob, Priority, ScrapeJob},
};
use wump_db::tables::packages;
use wump_providers::{
    DataProvider, DiscoveredRepository, DiscoveryQuery, OwnerRef, PackageMetadata, PageToken,
    ProviderError, ProviderKind, RepoRef, RepositoryPage,
};
use wump_worker::jobs::{FollowUpJob, Job, JobError};

use super::{Harness, run};

/// An npm registry that knows `react` only.
#[derive(Debug)]
struct FakeNpm;

#[async_trait]
impl DataProvider for FakeNpm {
    fn name(&self) -> &str {
        "npm"
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::Registry
    }
    async fn health(&self) -> Result<(), ProviderError> {
        Ok(())
    }
    async fn fetch_package(&self, package: &PackageRef) -> Result<PackageMetadata, ProviderError> {
        if package.name != "react" {
            return Err(ProviderError::NotFound {
                provider: "npm".into(),
                what: package.to_string(),
            });
        }
        Ok(PackageMetadata {
            package: package.clone(),
            description: Some("A library for user interfaces".into()),
            homepage_url: Some("https://react.dev".into()),
            repository_url: Some("https://github.com/facebook/react".into()),
            latest_version: Some("19.0.0".into()),
            funding: vec![FundingLink {
                platform: "open_collective".into(),
                url: "https://opencollective.com/react".into(),
            }],
        })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn enrichment_fills_package_metadata_from_the_ecosystems_registry_once() {
    let h = Harness::with_providers(|r| {
        r.register(Arc::new(FakeNpm));
    })
    .await;
    h.scrape_all().await;

    let mut conn = h.conn().await;
    let react = packages::by_name(&mut conn, Ecosystem::Npm, "react")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(react.latest_version.as_deref(), Some("19.0.0"));
    assert_eq!(
        react.description.as_deref(),
        Some("A library for user interfaces")
    );
    assert!(react.metadata_refreshed_at.is_some());
    // The registry does not know lodash: asked once, then left alone.
    let lodash = packages::by_name(&mut conn, Ecosystem::Npm, "lodash")
        .await
        .unwrap()
        .unwrap();
    assert!(lodash.metadata_refreshed_at.is_some());
    assert_eq!(lodash.description, None);
    // No registry for PyPI here: those wait.
    let requests = packages::by_name(&mut conn, Ecosystem::Pypi, "requests")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(requests.metadata_refreshed_at, None);
    let versions = h.cache_versions().await;
    assert!(versions.contains_key("wump:cache-version:package:npm:react"));

    let job = Job::Enrich(EnrichJob {
        host: "local".into(),
        organization: "acme".into(),
    });
    let again = run(&h.ctx, &job).await.unwrap();
    assert_eq!(again.metadata["packages_refreshed"], 0);
    assert_eq!(h.cache_versions().await, versions);
}

/// An aggregator that says the fixture's acme repositories depend on anything, a page each.
#[derive(Debug)]
struct FakeAggregator;

#[async_trait]
impl DataProvider for FakeAggregator {
    fn name(&self) -> &str {
        "aggregator"
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::Aggregator
    }
    async fn health(&self) -> Result<(), ProviderError> {
        Ok(())
    }
    async fn discover_repositories(
        &self,
        query: &DiscoveryQuery,
        page: Option<&PageToken>,
    ) -> Result<RepositoryPage, ProviderError> {
        assert!(matches!(query, DiscoveryQuery::DependentsOf { .. }));
        let (name, next) = match page {
            None => ("web", Some(PageToken("2".into()))),
            Some(_) => ("api", None),
        };
        Ok(RepositoryPage {
            repositories: vec![DiscoveredRepository {
                repo: RepoRef {
                    host: "local".into(),
                    full_name: RepoFullName::new("acme", name).unwrap(),
                },
                owner: OwnerRef {
                    login: "acme".into(),
                    kind: OrganizationKind::Organization,
                },
                description: None,
                language: None,
                default_branch: None,
                stars: 7,
                forks: 0,
                archived: false,
                fork: false,
                pushed_at: None,
                change_token: Some("aggregated".into()),
            }],
            next,
        })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn discover_stores_dependents_and_asks_for_high_priority_parses() {
    let h = Harness::with_providers(|r| {
        r.register(Arc::new(FakeAggregator));
    })
    .await;
    let job = Job::Discover(DiscoverJob {
        ecosystem: Ecosystem::Npm,
        name: "react".into(),
    });
    let outcome = run(&h.ctx, &job).await.unwrap();
    assert_eq!(outcome.records_processed, 2);
    assert_eq!(outcome.metadata["pages"], 2);
    let parses: Vec<(String, Priority)> = outcome
        .follow_ups
        .iter()
        .filter_map(|f| match &f.job {
            FollowUpJob::Parse(p) => Some((p.repository.to_string(), f.priority)),
            FollowUpJob::Enrich(_) => None,
        })
        .collect();
    assert_eq!(
        parses,
        vec![
            ("acme/web".to_owned(), Priority::High),
            ("acme/api".to_owned(), Priority::High)
        ]
    );
    let runs = h.drain(job).await;
    assert!(runs.len() >= 3);
    let mut conn = h.conn().await;
    let react = packages::by_name(&mut conn, Ecosystem::Npm, "react")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(react.dependents_count, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_say_whether_a_retry_can_help() {
    let h = Harness::new().await;
    let unknown_provider = run(
        &h.ctx,
        &Job::Scrape(ScrapeJob {
            provider: "nope".into(),
            query: None,
        }),
    )
    .await
    .unwrap_err();
    assert!(matches!(unknown_provider, JobError::Payload(_)));
    assert!(unknown_provider.is_permanent());

    let never_scraped = run(
        &h.ctx,
        &Job::Parse(ParseJob {
            host: "local".into(),
            repository: "acme/web".parse().unwrap(),
        }),
    )
    .await
    .unwrap_err();
    assert!(matches!(never_scraped, JobError::NotFound(_)));
    assert!(never_scraped.is_permanent());

    let no_aggregator = run(
        &h.ctx,
        &Job::Discover(DiscoverJob {
            ecosystem: Ecosystem::Npm,
            name: "react".into(),
        }),
    )
    .await
    .unwrap_err();
    assert!(no_aggregator.is_permanent(), "{no_aggregator}");

    let payload = Job::from_json(
        wump_core::jobs::JobType::Parse,
        &serde_json::json!({ "host": "local", "repository": "no slash" }),
    )
    .unwrap_err();
    assert!(payload.is_permanent());

    let limited = JobError::Provider(ProviderError::RateLimited {
        provider: "github".into(),
        retry_after: std::time::Duration::from_secs(30),
    });
    assert!(!limited.is_permanent());
    assert_eq!(
        limited.retry_after(),
        Some(std::time::Duration::from_secs(30))
    );

    // An unreachable database is retryable.
    let mut settings = h.db.settings().clone();
    settings.url = "postgres://nobody@127.0.0.1:1/none".to_owned().into();
    settings.connect_timeout_ms = 500;
    settings.pool_wait_timeout_ms = 500;
    let mut ctx = h.ctx.clone();
    ctx.db = wump_db::connect(&settings).unwrap();
    let down = run(&ctx, &Job::Cleanup(Default::default()))
        .await
        .unwrap_err();
    assert!(matches!(down, JobError::Database(_)), "{down}");
    assert!(!down.is_permanent());
}
