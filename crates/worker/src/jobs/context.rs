//! What every job needs: the database, Valkey, the providers and the bounds.

use std::sync::Arc;

use wump_db::{DbPool, ValkeyPool, queue::Queues};

use crate::webhooks::Webhooks;
use wump_manifests::matcher;
use wump_providers::{DataProvider, ProviderKind, ProviderRegistry};

use super::{FollowUpSink, JobError, outcome::QueueSink};

/// Shared by every job run; cheap to clone.
#[derive(Clone)]
pub struct JobContext {
    pub db: DbPool,
    pub valkey: ValkeyPool,
    pub providers: ProviderRegistry,
    /// Which manifests are read from one repository, and how large they may be.
    pub limits: matcher::Limits,
    /// Prepended to every cache-version key (`wump_db::keys`): empty in production, a
    /// per-test prefix in tests.
    pub key_prefix: String,
    /// Repositories and organizations upserted per statement (scrape, discover).
    pub upsert_batch: usize,
    /// Repositories whose attributes are copied onto their edges per transaction (enrich).
    pub sync_batch: usize,
    /// Most packages whose registry metadata one enrich run fetches.
    pub metadata_per_run: usize,
    /// How many of an organization's most-starred repositories are searched for a
    /// `.github/FUNDING.yml` during enrichment.
    pub funding_repositories: usize,
    /// Most pages of dependents one discover run reads from an aggregator.
    pub discover_max_pages: usize,
    /// `job_executions` rows older than this are pruned by cleanup.
    pub job_retention: chrono::Duration,
    /// Repositories found gone longer ago than this are deleted by cleanup, with their
    /// edges; organizations older than this with no repositories left go too.
    pub gone_retention: chrono::Duration,
    /// Events and daily counts older than this are pruned by the snapshot job.
    pub history_retention: chrono::Duration,
    /// Most gone repositories one cleanup run deletes (each in its own transaction).
    pub cleanup_batch: usize,
    /// Where scrape and discover hand their follow-ups as each batch is stored, so a
    /// scrape of many thousands of repositories never holds them all; `None` returns them
    /// in the outcome.
    pub follow_up_sink: Option<Arc<dyn FollowUpSink>>,
    /// The queues, for jobs that enqueue as they go (dispatch enqueues each delivery and
    /// notes it); set with the follow-up sink.
    pub queues: Option<Queues>,
    /// Settings, key, address policy and HTTP client of the webhook jobs.
    pub webhooks: Webhooks,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("providers", &self.providers.names())
            .field("limits", &self.limits)
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

impl JobContext {
    /// A context with the default bounds.
    pub fn new(
        db: DbPool,
        valkey: ValkeyPool,
        providers: ProviderRegistry,
        limits: matcher::Limits,
    ) -> Self {
        Self {
            db,
            valkey,
            providers,
            limits,
            key_prefix: String::new(),
            upsert_batch: 500,
            sync_batch: 500,
            metadata_per_run: 50,
            funding_repositories: 5,
            discover_max_pages: 10,
            job_retention: chrono::Duration::days(90),
            gone_retention: chrono::Duration::days(30),
            history_retention: chrono::Duration::days(730),
            cleanup_batch: 1000,
            follow_up_sink: None,
            queues: None,
            webhooks: Webhooks::default(),
        }
    }

    /// Sets the prefix of every cache-version key this context increments.
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Hands follow-ups to `queues` batch by batch as a run produces them (so a big scrape
    /// never holds them all), each at its own priority.
    pub fn with_follow_ups_onto(mut self, queues: Queues) -> Self {
        self.follow_up_sink = Some(Arc::new(QueueSink {
            queues: queues.clone(),
        }));
        self.queues = Some(queues);
        self
    }

    /// Uses `webhooks` for the dispatch and deliver jobs.
    pub fn with_webhooks(mut self, webhooks: Webhooks) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// The provider serving repositories on `host`: the one configured under the host's
    /// name (`local`), else the repository host that says it serves it (GitHub for
    /// `github.com`, GitLab for `gitlab.com` or its self-managed host, Gitea for
    /// `codeberg.org` or its self-hosted host, Bitbucket for `bitbucket.org`).
    pub fn repository_host(&self, host: &str) -> Result<Arc<dyn DataProvider>, JobError> {
        self.providers
            .get(host)
            .filter(|p| p.kind() == ProviderKind::RepositoryHost)
            .or_else(|| {
                self.providers
                    .by_kind(ProviderKind::RepositoryHost)
                    .into_iter()
                    .find(|p| p.serves_host(host))
            })
            .ok_or_else(|| {
                JobError::Unsupported(format!("no configured provider serves host `{host}`"))
            })
    }
}
