//! The jobs end to end against real PostgreSQL and Valkey (see
//! `wump_db::test_support`), reading repositories from a fixture tree (or the bundled demo)
//! through the local provider, and the Valkey HTTP cache.

mod cleanup;
mod demo;
mod enrich;
mod forges;
mod history;
mod http_cache;
mod pipeline;
mod scheduler;
mod until_idle;

use std::{
    collections::{BTreeMap, VecDeque},
    path::{Path, PathBuf},
    sync::Arc,
};

use fred::interfaces::LuaInterface;
use wump_core::jobs::{JobType, ParseJob, Priority, ScrapeJob, queue_name};
use wump_db::{
    AsyncPgConnection,
    test_support::{TestDatabase, TestValkey},
};
use wump_manifests::matcher;
use wump_providers::{LocalProvider, ProviderRegistry};
use wump_worker::jobs::{BackgroundJob, Delivery, Job, JobContext, JobError, JobOutcome};

/// A database, a Valkey prefix, a fixture tree and a context over all three.
#[derive(Debug)]
pub(crate) struct Harness {
    pub(crate) db: TestDatabase,
    pub(crate) valkey: TestValkey,
    pub(crate) root: tempfile::TempDir,
    pub(crate) ctx: JobContext,
}

impl Harness {
    /// The fixture tree written, nothing stored yet.
    pub(crate) async fn new() -> Self {
        Self::with_providers(|_| {}).await
    }

    /// Like [`Harness::new`], registering more providers beside the local one.
    pub(crate) async fn with_providers(more: impl FnOnce(&mut ProviderRegistry)) -> Self {
        let db = TestDatabase::new().await;
        let valkey = TestValkey::new().await;
        let root = tempfile::tempdir().unwrap();
        write_fixture(root.path());
        let mut providers = ProviderRegistry::new();
        // Two repositories a page, so every scrape walks several pages.
        providers.register(Arc::new(LocalProvider::new(root.path(), 2)));
        more(&mut providers);
        let ctx = JobContext::new(
            db.pool().clone(),
            valkey.pool().clone(),
            providers,
            matcher::Limits::default(),
        )
        .with_key_prefix(valkey.prefix());
        Self {
            db,
            valkey,
            root,
            ctx,
        }
    }

    /// A path inside the fixture tree.
    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    /// Runs `job`, then every follow-up it and they ask for, as the queues would; returns
    /// every run's job and outcome in order.
    pub(crate) async fn drain(&self, job: Job) -> Vec<(Job, JobOutcome)> {
        let mut pending = VecDeque::from([job]);
        let mut done = Vec::new();
        while let Some(job) = pending.pop_front() {
            let outcome = run(&self.ctx, &job)
                .await
                .unwrap_or_else(|e| panic!("{job:?} failed: {e}"));
            pending.extend(outcome.follow_ups.iter().map(|f| f.to_job()));
            done.push((job, outcome));
        }
        done
    }

    /// scrape of the whole local tree and everything it leads to.
    pub(crate) async fn scrape_all(&self) -> Vec<(Job, JobOutcome)> {
        self.drain(Job::Scrape(ScrapeJob {
            provider: "local".into(),
            query: None,
        }))
        .await
    }

    /// Parses one local repository.
    pub(crate) async fn parse(&self, full_name: &str) -> JobOutcome {
        let job = Job::Parse(ParseJob {
            host: "local".into(),
            repository: full_name.parse().unwrap(),
        });
        run(&self.ctx, &job).await.unwrap()
    }

    pub(crate) async fn conn(&self) -> AsyncPgConnection {
        self.db.connection().await
    }

    /// Every cache-version key under this test's prefix (prefix removed) and its value.
    pub(crate) async fn cache_versions(&self) -> BTreeMap<String, i64> {
        let flat: Vec<String> = self
            .valkey
            .pool()
            .eval(
                r#"local out = {}
                   for _, key in ipairs(redis.call("KEYS", ARGV[1])) do
                     table.insert(out, key)
                     table.insert(out, redis.call("GET", key))
                   end
                   return out"#,
                Vec::<String>::new(),
                vec![format!("{}*", self.valkey.prefix())],
            )
            .await
            .unwrap();
        flat.chunks(2)
            .map(|pair| {
                (
                    pair[0][self.valkey.prefix().len()..].to_owned(),
                    pair[1].parse().unwrap(),
                )
            })
            .collect()
    }
}

/// Runs `job` once, as the queue would run its first attempt (unrecorded).
pub(crate) async fn run(ctx: &JobContext, job: &Job) -> Result<JobOutcome, JobError> {
    async fn first_attempt<J: BackgroundJob<Context = JobContext>>(
        ctx: &JobContext,
        job: &J,
    ) -> Result<JobOutcome, JobError> {
        job.run(ctx, &delivery(J::JOB_TYPE, 1)).await
    }
    match job {
        Job::Scrape(job) => first_attempt(ctx, job).await,
        Job::Parse(job) => first_attempt(ctx, job).await,
        Job::Enrich(job) => first_attempt(ctx, job).await,
        Job::Discover(job) => first_attempt(ctx, job).await,
        Job::Cleanup(job) => first_attempt(ctx, job).await,
        Job::Snapshot(job) => first_attempt(ctx, job).await,
        Job::Dispatch(job) => first_attempt(ctx, job).await,
        Job::Deliver(job) => first_attempt(ctx, job).await,
    }
}

/// Attempt `attempt` of a fresh job of `job_type` from its normal queue.
pub(crate) fn delivery(job_type: JobType, attempt: u32) -> Delivery {
    Delivery {
        id: uuid::Uuid::now_v7(),
        queue: queue_name(job_type, Priority::Normal),
        priority: Priority::Normal,
        attempt,
    }
}

/// Writes `contents` at `relative` under `root`, creating directories.
pub(crate) fn write(root: &Path, relative: &str, contents: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// Three owners, seven repositories, npm + Cargo + PyPI manifests with overlapping
/// dependencies, stars, an owner profile, an owner FUNDING.yml and a repository one, and
/// one malformed manifest.
fn write_fixture(root: &Path) {
    write(
        root,
        "acme/.wump-owner.json",
        r#"{"name": "Acme Corp", "website_url": "https://acme.example"}"#,
    );
    write(
        root,
        "acme/.github/FUNDING.yml",
        "github: acme\nopen_collective: acme\n",
    );

    write(root, "acme/web/.wump-repo.json", r#"{"stars": 100}"#);
    write(
        root,
        "acme/web/package.json",
        r#"{"name": "web", "dependencies": {"react": "^18.2.0", "lodash": "^4.17.21"},
            "devDependencies": {"jest": "^29.0.0"}}"#,
    );
    write(
        root,
        "acme/web/.github/FUNDING.yml",
        "custom: https://acme.example/donate\n",
    );
    // Someone else's manifest, installed: never read.
    write(
        root,
        "acme/web/node_modules/left-pad/package.json",
        r#"{"dependencies": {"evil": "1"}}"#,
    );

    write(root, "acme/api/.wump-repo.json", r#"{"stars": 50}"#);
    write(
        root,
        "acme/api/Cargo.toml",
        "[package]\nname = \"api\"\nversion = \"0.1.0\"\n\n[dependencies]\nserde = \"1\"\ntokio = { version = \"1\", features = [\"full\"] }\n",
    );

    write(root, "acme/tools/.wump-repo.json", r#"{"stars": 5}"#);
    write(
        root,
        "acme/tools/requirements.txt",
        "requests>=2.0\nDjango==4.2\n",
    );
    write(
        root,
        "acme/tools/scripts/package.json",
        r#"{"dependencies": {"lodash": "^4.0.0"}}"#,
    );

    write(root, "globex/site/.wump-repo.json", r#"{"stars": 30}"#);
    write(
        root,
        "globex/site/package.json",
        r#"{"dependencies": {"react": "^17.0.0", "lodash": "4.17.21"}}"#,
    );

    write(root, "globex/ml/.wump-repo.json", r#"{"stars": 200}"#);
    write(
        root,
        "globex/ml/requirements.txt",
        "requests==2.31.0\nnumpy\n",
    );

    write(root, "globex/broken/.wump-repo.json", r#"{"stars": 1}"#);
    write(root, "globex/broken/package.json", r#"{"dependencies": {"#);
    write(root, "globex/broken/requirements.txt", "flask>=3\n");

    write(root, "initech/.wump-owner.json", r#"{"kind": "user"}"#);
    write(root, "initech/lib/.wump-repo.json", r#"{"stars": 10}"#);
    write(
        root,
        "initech/lib/Cargo.toml",
        "[package]\nname = \"lib\"\nversion = \"0.1.0\"\n\n[dependencies]\nserde = \"1.0.200\"\nmine = { path = \"../mine\" }\n",
    );
}
