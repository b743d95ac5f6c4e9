//! What became of jobs: completed (a `completed` row in `job_executions`), dead (in the
//! dead-letter list) or lost (neither), and how often each ran; plus the stored counts and
//! roll-ups checked against the edges and the API's listings.

use std::collections::{BTreeMap, BTreeSet};

use diesel::{
    QueryableByName,
    sql_types::{Array, BigInt, Text},
};
use diesel_async::RunQueryDsl as _;

use crate::{Error, Result, stack::Stack};

/// The fate of a set of jobs.
#[derive(Debug, Clone, Default)]
pub struct JobOutcome {
    /// Jobs looked at.
    pub jobs: u64,
    /// Completed at least once.
    pub completed: u64,
    /// In the dead-letter list (and never completed).
    pub dead: u64,
    /// Neither completed nor dead: lost, or still waiting when counted.
    pub missing: u64,
    /// Runs (started attempts) over all these jobs.
    pub runs: u64,
    /// Jobs that completed more than once.
    pub completed_twice: u64,
    /// The ids that went missing (at most 20).
    pub missing_ids: Vec<String>,
}

#[derive(QueryableByName)]
struct Runs {
    #[diesel(sql_type = Text)]
    job_id: String,
    #[diesel(sql_type = BigInt)]
    runs: i64,
    #[diesel(sql_type = BigInt)]
    completed: i64,
}

/// Counts what became of `ids`.
pub async fn outcome(stack: &Stack, ids: &[String]) -> Result<JobOutcome> {
    let mut conn = stack.db().await?;
    let rows: Vec<Runs> = diesel::sql_query(
        "SELECT job_id, count(*) AS runs, count(*) FILTER (WHERE status = 'completed') AS completed
           FROM job_executions WHERE job_id = ANY($1) GROUP BY job_id",
    )
    .bind::<Array<Text>, _>(ids)
    .load(&mut conn)
    .await
    .map_err(|e| Error::Database(e.to_string()))?;
    let runs: BTreeMap<String, (i64, i64)> = rows
        .into_iter()
        .map(|r| (r.job_id, (r.runs, r.completed)))
        .collect();
    let dead: BTreeSet<String> = stack
        .queues
        .dead_letters()
        .list()
        .await
        .map_err(|e| Error::Setup(format!("listing dead letters: {e}")))?
        .into_iter()
        .map(|d| d.id.to_string())
        .collect();
    let mut out = JobOutcome {
        jobs: ids.len() as u64,
        ..JobOutcome::default()
    };
    for id in ids {
        let (n, completed) = runs.get(id).copied().unwrap_or((0, 0));
        out.runs += n as u64;
        if completed > 0 {
            out.completed += 1;
            out.completed_twice += u64::from(completed > 1);
        } else if dead.contains(id) {
            out.dead += 1;
        } else {
            out.missing += 1;
            if out.missing_ids.len() < 20 {
                out.missing_ids.push(id.clone());
            }
        }
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Runs recorded as `running` right now (jobs in the middle of their work).
pub async fn running_now(stack: &Stack) -> Result<u64> {
    let mut conn = stack.db().await?;
    let row: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM job_executions WHERE status = 'running' AND finished_at IS NULL",
    )
    .get_result(&mut conn)
    .await
    .map_err(|e| Error::Database(e.to_string()))?;
    Ok(row.n as u64)
}

/// Job ids of runs recorded as `running` right now.
pub async fn running_ids(stack: &Stack) -> Result<Vec<String>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        job_id: String,
    }
    let mut conn = stack.db().await?;
    let rows: Vec<Id> = diesel::sql_query(
        "SELECT DISTINCT job_id FROM job_executions WHERE status = 'running' AND finished_at IS NULL",
    )
    .load(&mut conn)
    .await
    .map_err(|e| Error::Database(e.to_string()))?;
    Ok(rows.into_iter().map(|r| r.job_id).collect())
}

/// Whether the stored data is consistent after a fault.
#[derive(Debug, Clone, Default)]
pub struct Consistency {
    /// Roll-ups (`package_organizations`) equal a from-scratch aggregate of the edges.
    pub rollups_match: bool,
    /// Packages' `dependents_count` / `organizations_count` equal the aggregate.
    pub counts_match: bool,
    /// Packages whose API listing (`/dependents`, `/organizations`, every page) holds as
    /// many entries as their stored count says, of those checked.
    pub listings_checked: u64,
    /// Of those, how many disagree.
    pub listings_mismatched: u64,
    /// The first disagreements (at most 10).
    pub mismatches: Vec<String>,
}

impl Consistency {
    /// Nothing inconsistent.
    pub fn holds(&self) -> bool {
        self.rollups_match
            && self.counts_match
            && self.listings_checked > 0
            && self.listings_mismatched == 0
    }
}

#[derive(QueryableByName)]
struct PackageRow {
    #[diesel(sql_type = Text)]
    ecosystem: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    dependents: i64,
    #[diesel(sql_type = BigInt)]
    organizations: i64,
}

/// Checks the invariant of `wump_db::test_support::stored_and_recomputed_counts` and
/// compares every package's stored counts with its listings through the first api.
pub async fn consistency(stack: &Stack) -> Result<Consistency> {
    let mut conn = stack.db().await?;
    let [
        (stored_rollups, recomputed_rollups),
        (stored_counts, recomputed_counts),
    ] = wump_db::test_support::stored_and_recomputed_counts(&mut conn)
        .await
        .map_err(|e| Error::Database(e.to_string()))?;
    let mut out = Consistency {
        rollups_match: stored_rollups == recomputed_rollups,
        counts_match: stored_counts == recomputed_counts,
        ..Consistency::default()
    };
    let packages: Vec<PackageRow> = diesel::sql_query(
        "SELECT ecosystem, name, dependents_count::bigint AS dependents,
                organizations_count::bigint AS organizations
           FROM packages ORDER BY ecosystem, name",
    )
    .load(&mut conn)
    .await
    .map_err(|e| Error::Database(e.to_string()))?;
    let base = &stack.api_urls[0];
    for package in packages {
        let name = percent_encode(&package.name);
        for (listing, stored) in [
            ("dependents", package.dependents),
            ("organizations", package.organizations),
        ] {
            let first = format!(
                "{base}/api/v1/packages/{}/{name}/{listing}?per_page=100",
                package.ecosystem
            );
            let listed = count_listing(stack, &first).await?;
            out.listings_checked += 1;
            if listed != stored as u64 {
                out.listings_mismatched += 1;
                if out.mismatches.len() < 10 {
                    out.mismatches.push(format!(
                        "{}/{} {listing}: stored {stored}, listed {listed}",
                        package.ecosystem, package.name
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// Entries of a listing, following `next` links (as a keyed caller: no rate limit).
async fn count_listing(stack: &Stack, first: &str) -> Result<u64> {
    let mut url = first.to_owned();
    let mut total = 0u64;
    for _ in 0..1000 {
        let response = stack
            .client
            .get(&url)
            .header("x-api-key", &stack.key)
            .header("cache-control", "no-cache")
            .send()
            .await
            .map_err(|e| Error::Setup(format!("GET {url}: {e}")))?;
        if response.status() != 200 {
            return Err(Error::Setup(format!("GET {url}: {}", response.status())));
        }
        let next = response
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .and_then(next_link);
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| Error::Setup(format!("GET {url}: {e}")))?;
        total += body["items"].as_array().map_or(0, |a| a.len() as u64);
        match next {
            Some(next) => url = format!("{}{next}", stack.api_urls[0]),
            None => return Ok(total),
        }
    }
    Err(Error::Setup(format!("{first}: more than 1000 pages")))
}

/// The target of `<…>; rel="next"` in a Link header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, rel) = part.split_once(';')?;
        rel.contains("rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

fn percent_encode(name: &str) -> String {
    let mut out = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Jobs a [`Feeder`] enqueued, and the enqueues that were refused (Valkey away).
#[derive(Debug, Clone, Default)]
pub struct Fed {
    /// Ids of the jobs enqueued.
    pub ids: Vec<String>,
    /// Enqueue attempts that failed.
    pub refused: u64,
}

/// Keeps work flowing during a fault: every `interval` a scrape of the local tree and a
/// parse of each of `per_tick` repositories (in turn), at normal priority.
#[derive(Debug)]
pub struct Feeder {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Fed>,
    fed: std::sync::Arc<std::sync::Mutex<Fed>>,
}

impl Feeder {
    /// Starts feeding the stack's queues.
    pub fn start(stack: &Stack, interval: std::time::Duration, per_tick: usize) -> Self {
        let queues = stack.queues.clone();
        let repositories = local_repositories(&stack.local_root);
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let fed = std::sync::Arc::new(std::sync::Mutex::new(Fed::default()));
        let shared = fed.clone();
        let task = tokio::spawn(async move {
            use wump_core::jobs::{JobType, Priority};
            let mut next_repo = 0usize;
            while !*stopped.borrow() {
                let mut jobs = vec![(
                    JobType::Scrape,
                    serde_json::json!({ "provider": "local", "query": null }),
                )];
                for _ in 0..per_tick.min(repositories.len()) {
                    jobs.push((
                        JobType::Parse,
                        serde_json::json!({ "host": "local", "repository": repositories[next_repo % repositories.len()] }),
                    ));
                    next_repo += 1;
                }
                for (job_type, payload) in jobs {
                    // Bounded: a dead Valkey must not stall the feeder for long.
                    let enqueued = tokio::time::timeout(
                        std::time::Duration::from_secs(2),
                        queues.enqueue_payload(job_type, payload, Priority::Normal),
                    )
                    .await;
                    let mut fed = shared.lock().expect("fed jobs");
                    match enqueued {
                        Ok(Ok(id)) => fed.ids.push(id.to_string()),
                        _ => fed.refused += 1,
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stopped.changed() => {}
                }
            }
            shared.lock().expect("fed jobs").clone()
        });
        Self { stop, task, fed }
    }

    /// What was enqueued so far.
    pub fn so_far(&self) -> Fed {
        self.fed.lock().expect("fed jobs").clone()
    }

    /// Stops feeding; returns everything enqueued.
    pub async fn stop(self) -> Fed {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

/// `owner/repo` of every repository in a local provider tree.
pub fn local_repositories(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let dirs = |p: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(p)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        names
    };
    for owner in dirs(root) {
        for repo in dirs(&root.join(&owner)) {
            out.push(format!("{owner}/{repo}"));
        }
    }
    out
}
