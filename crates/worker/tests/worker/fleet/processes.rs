//! Three real `wump-worker run --until-idle` processes sharing two GitHub tokens against a
//! strict GitHub stand-in: it records when each request arrives (per token and process),
//! answers some with a secondary limit (`403` + `retry-after`), spends a token's primary
//! quota early now and then (`403`, `x-ratelimit-remaining: 0` + reset, as when another
//! application uses the token), and keeps a small quota per two-second window.
//!
//! Each process reaches the stand-in under its own path prefix (`/p1`, `/p2`, …, GitHub
//! Enterprise-style base URLs), so every request is known by token and by process.

use std::{
    collections::HashMap,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};
use wump_db::test_support::{ProcessEnv, TestDatabase, TestValkey};
use wump_providers::test_mock::{github_error, github_limited};

const PROCESSES: usize = 3;
const TOKENS: [&str; 2] = ["ghp_fleet_one", "ghp_fleet_two"];
/// Primary quota per token and resource per window.
const LIMIT: u32 = 10;
const WINDOW_SECS: u64 = 2;
/// Every n-th request of a token gets a secondary limit.
const SECONDARY_EVERY: u32 = 7;
const RETRY_AFTER_SECS: u64 = 1;
/// In every other window, token one's quota is spent (by "another application") after
/// this many requests.
const EXHAUST_AFTER: u32 = 4;
/// Every answer takes this long, so overlapping requests show.
const DELAY: Duration = Duration::from_millis(15);
const REPOSITORIES: usize = 8;
/// The HTTP timeout and lease margin the processes run with: a lease lives 2.5 s.
const TIMEOUT_MS: u64 = 2_000;
const LEASE_MARGIN_MS: u64 = 500;
const SHA: &str = "7638417db6d59f3c431d3e1f261cc637155684cd";

#[derive(Debug, Clone)]
struct Arrival {
    at: Instant,
    process: usize,
    token: String,
    path: String,
    status: u16,
    /// How long the answer took (the request is in flight meanwhile).
    delay: Duration,
}

/// A wait the stand-in told one process about.
#[derive(Debug, Clone)]
struct Announced {
    from: Instant,
    until: Instant,
    process: usize,
    token: String,
}

#[derive(Debug, Default)]
struct State {
    arrivals: Vec<Arrival>,
    announced: Vec<Announced>,
    /// (token, resource, window) → requests counted against the quota.
    used: HashMap<(String, String, u64), u32>,
    /// Requests sent while the quota was spent.
    over_quota: usize,
    per_token: HashMap<String, u32>,
    /// The first tree request is answered this slowly (the test kills its process).
    slow: Option<Duration>,
    slow_taken: Option<Arrival>,
    /// How many repositories the search finds.
    repositories: usize,
}

#[derive(Clone)]
struct Stand(Arc<Mutex<State>>);

fn http_date(epoch: u64) -> String {
    DateTime::<Utc>::from_timestamp(epoch as i64, 0)
        .unwrap()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

fn repository(name: &str) -> Value {
    json!({
        "id": 1, "node_id": "R_1", "name": name, "full_name": format!("acme/{name}"),
        "owner": {"login": "acme", "id": 1, "node_id": "O_1", "type": "Organization",
                  "site_admin": false},
        "private": false, "html_url": format!("https://github.com/acme/{name}"),
        "description": "fixture", "fork": false,
        "created_at": "2011-01-26T19:01:12Z", "updated_at": "2011-01-26T19:14:43Z",
        "pushed_at": "2011-01-26T19:06:43Z", "size": 108, "stargazers_count": 10,
        "watchers_count": 10, "language": "JavaScript", "forks_count": 1,
        "archived": false, "disabled": false, "open_issues_count": 0, "topics": [],
        "visibility": "public", "forks": 1, "open_issues": 0, "watchers": 10,
        "default_branch": "main", "score": 1.0
    })
}

impl Stand {
    /// The answer to `path` (after the process prefix) once quotas allowed it.
    fn body(path: &str, request: &Request, repositories: usize) -> (u16, String, &'static str) {
        const JSON: &str = "application/json; charset=utf-8";
        if path.starts_with("/search/repositories") {
            let items: Vec<Value> = (1..=repositories)
                .map(|n| repository(&format!("r{n}")))
                .collect();
            let body = json!({"total_count": repositories, "incomplete_results": false,
                              "items": items});
            return (200, body.to_string(), JSON);
        }
        if path.ends_with("/graphql") {
            let asked: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let owners: serde_json::Map<String, Value> = asked["variables"]
                .as_object()
                .map(|v| {
                    (0..v.len())
                        .map(|i| (format!("o{i}"), Value::Null))
                        .collect()
                })
                .unwrap_or_default();
            return (200, json!({"data": owners}).to_string(), JSON);
        }
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            ["repos", "acme", name] => (200, repository(name).to_string(), JSON),
            ["repos", "acme", _, "commits", _] => (200, SHA.to_owned(), "text/plain"),
            ["repos", "acme", _, "git", "trees", _] => {
                let tree = json!({"sha": SHA, "truncated": false, "tree": [
                    {"path": "package.json", "mode": "100644", "type": "blob",
                     "sha": SHA, "size": 48}
                ]});
                (200, tree.to_string(), JSON)
            }
            ["repos", "acme", _, "contents", "package.json"] => (
                200,
                r#"{"name": "x", "dependencies": {"lodash": "^4"}}"#.to_owned(),
                "application/octet-stream",
            ),
            _ => (
                404,
                json!({"message": "Not Found", "status": "404"}).to_string(),
                JSON,
            ),
        }
    }
}

impl Respond for Stand {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let at = Instant::now();
        let epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        let full = request.url.path().to_owned();
        let (process, path) = full
            .trim_start_matches("/p")
            .split_once('/')
            .map(|(n, rest)| (n.parse::<usize>().unwrap_or(0), format!("/{rest}")))
            .unwrap_or((0, full.clone()));
        let token = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim_start_matches("Bearer ")
            .to_owned();
        let resource = if path.starts_with("/search") {
            "search"
        } else if path.ends_with("/graphql") {
            "graphql"
        } else {
            "core"
        };
        let window = epoch.as_secs() / WINDOW_SECS;
        let reset_epoch = (window + 1) * WINDOW_SECS;
        let reset_at = at + (Duration::from_secs(reset_epoch) - epoch);
        let mut state = self.0.lock().unwrap();
        let mut delay = DELAY;
        if path.contains("/git/trees/")
            && state.slow_taken.is_none()
            && let Some(slow) = state.slow
        {
            delay = slow;
        }
        let key = (token.clone(), resource.to_owned(), window);
        let used = *state.used.get(&key).unwrap_or(&0);
        let headers = |template: ResponseTemplate, remaining: u32| {
            github_limited(
                template,
                &http_date(epoch.as_secs()),
                resource,
                LIMIT,
                remaining,
                i64::try_from(reset_epoch).unwrap(),
            )
            .set_delay(delay)
        };
        let count = {
            let n = state.per_token.entry(token.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let exhausted_early =
            token == TOKENS[0] && window % 2 == 1 && resource == "core" && used == EXHAUST_AFTER;
        let (status, template) = if used >= LIMIT || exhausted_early {
            if used >= LIMIT {
                state.over_quota += 1;
            }
            state.used.insert(key, LIMIT);
            state.announced.push(Announced {
                from: at,
                until: reset_at,
                process,
                token: token.clone(),
            });
            let error = github_error(
                403,
                "API rate limit exceeded for user ID 1.",
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            );
            (403, headers(error, 0))
        } else if count % SECONDARY_EVERY == 0 {
            state.announced.push(Announced {
                from: at,
                until: at + Duration::from_secs(RETRY_AFTER_SECS),
                process,
                token: token.clone(),
            });
            let error = github_error(
                403,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            );
            (
                403,
                headers(error, LIMIT - used)
                    .insert_header("retry-after", RETRY_AFTER_SECS.to_string().as_str()),
            )
        } else {
            state.used.insert(key, used + 1);
            let (status, body, media) = Self::body(&path, request, state.repositories);
            (
                status,
                headers(ResponseTemplate::new(status), LIMIT - used - 1).set_body_raw(body, media),
            )
        };
        let arrival = Arrival {
            at,
            process,
            token,
            path,
            status,
            delay,
        };
        if delay > DELAY {
            state.slow_taken = Some(arrival.clone());
        }
        state.arrivals.push(arrival);
        template
    }
}

/// How the processes keep their limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// In Valkey, for the fleet.
    Shared,
    /// Shared, but the limits' Valkey is down: each process on its fallback.
    ValkeyDown,
    /// Each process alone (`provider_limits.shared = false`): the issue's "before".
    Off,
}

struct Run {
    state: State,
    /// Each process's stderr.
    logs: Vec<String>,
    killed: Option<(usize, Instant)>,
    elapsed: Duration,
}

impl Run {
    /// Requests that arrived more than `grace` into a wait announced on their token
    /// (`same_process`: only waits announced to the process that sent them).
    fn sent_into_waits(&self, grace: Duration, same_process: bool) -> usize {
        self.state
            .arrivals
            .iter()
            .filter(|a| {
                self.state.announced.iter().any(|w| {
                    w.token == a.token
                        && (!same_process || w.process == a.process)
                        && a.at > w.from + grace
                        && a.at < w.until
                })
            })
            .count()
    }

    /// The most requests in flight at once on one token.
    fn max_in_flight(&self) -> usize {
        let mut worst = 0;
        for token in TOKENS {
            let mut edges: Vec<(Instant, i32)> = Vec::new();
            for a in self.state.arrivals.iter().filter(|a| a.token == token) {
                let mut end = a.at + a.delay;
                if let Some((process, killed)) = self.killed
                    && process == a.process
                {
                    end = end.min(killed.max(a.at));
                }
                edges.push((a.at, 1));
                edges.push((end, -1));
            }
            edges.sort_by_key(|&(at, delta)| (at, delta));
            let mut now = 0;
            for (_, delta) in edges {
                now += delta;
                worst = worst.max(now);
            }
        }
        usize::try_from(worst).unwrap_or(0)
    }

    fn requests(&self) -> usize {
        self.state.arrivals.len()
    }
}

fn wump_worker(
    db: &TestDatabase,
    valkey: &TestValkey,
    server: &MockServer,
    process: usize,
    mode: Mode,
    dead_valkey: &str,
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wump-worker"));
    let base = format!("{}/p{process}", server.uri());
    command
        .env_remove("WUMP_ENV")
        .env_remove("GITHUB_TOKEN")
        .envs(ProcessEnv::for_test(db, valkey).vars())
        .env("WUMP__QUEUES__POLL_INTERVAL_MS", "50")
        .env("WUMP__QUEUES__HEARTBEAT_INTERVAL_SECS", "1")
        .env("WUMP__QUEUES__MISSED_HEARTBEATS", "3")
        .env("WUMP__QUEUES__MAX_ATTEMPTS", "2")
        .env("WUMP__QUEUES__BACKOFF_BASE_MS", "100")
        .env("WUMP__QUEUES__BACKOFF_MAX_MS", "200")
        .env("WUMP__WORKER__HEALTH_BIND", "127.0.0.1:0")
        .env("WUMP__WORKER__SHUTDOWN_GRACE_SECS", "2")
        .env("WUMP__HTTP_CACHE__ENABLED", "false")
        // GitHub is the mock server; every other provider stays off.
        .env("WUMP__PROVIDERS__GITHUB__ENABLED", "true")
        .env("WUMP__PROVIDERS__GITHUB__API_URL", &base)
        .env(
            "WUMP__PROVIDERS__GITHUB__GRAPHQL_URL",
            format!("{base}/graphql"),
        )
        .env("WUMP__PROVIDERS__GITHUB__TOKENS", TOKENS.join(","))
        .env("WUMP__PROVIDERS__GITHUB__MAX_WAIT_SECS", "5")
        .env("WUMP__PROVIDERS__HTTP__TIMEOUT_MS", TIMEOUT_MS.to_string())
        .env("WUMP__PROVIDERS__HTTP__BACKOFF_BASE_MS", "10")
        .env(
            "WUMP__PROVIDER_LIMITS__LEASE_MARGIN_MS",
            LEASE_MARGIN_MS.to_string(),
        )
        .env("WUMP__PROVIDER_LIMITS__RETRY_AFTER_FAILURE_MS", "1000")
        .env("WUMP__VALKEY__COMMAND_TIMEOUT_MS", "300")
        .env("RUST_LOG", "info,wump_worker::queue=warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match mode {
        Mode::Shared => {}
        Mode::ValkeyDown => {
            command.env("WUMP__PROVIDER_LIMITS__VALKEY_URL", dead_valkey);
        }
        Mode::Off => {
            command.env("WUMP__PROVIDER_LIMITS__SHARED", "false");
        }
    }
    command
}

/// A local port nothing listens on: a Valkey that is down.
fn dead_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("redis://127.0.0.1:{port}")
}

async fn run_fleet(mode: Mode, kill_slow: bool, repositories: usize) -> Run {
    let db = TestDatabase::new().await;
    let valkey = TestValkey::new().await;
    let server = MockServer::start().await;
    let stand = Stand(Arc::new(Mutex::new(State {
        slow: kill_slow.then_some(Duration::from_secs(20)),
        repositories,
        ..State::default()
    })));
    Mock::given(any())
        .respond_with(stand.clone())
        .mount(&server)
        .await;
    let dead = dead_port();

    let enqueued = wump_worker(&db, &valkey, &server, 1, mode, &dead)
        .args([
            "enqueue",
            "scrape",
            "--provider",
            "github",
            "--query",
            "language:javascript",
        ])
        .output()
        .unwrap();
    assert!(enqueued.status.success(), "{enqueued:?}");

    // Logs (JSON on stdout) go to files: a pipe nobody reads until the end could fill and
    // stall a child.
    let dir = tempfile::tempdir().unwrap();
    let log = |n: usize| dir.path().join(format!("p{n}.log"));
    let started = Instant::now();
    let mut children: Vec<Option<Child>> = (1..=PROCESSES)
        .map(|n| {
            Some(
                wump_worker(&db, &valkey, &server, n, mode, &dead)
                    .args(["run", "--until-idle"])
                    .stdout(std::fs::File::create(log(n)).unwrap())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    let mut killed = None;
    let mut logs = vec![String::new(); PROCESSES];
    let deadline = Duration::from_secs(45);
    loop {
        if kill_slow && killed.is_none() {
            let slow = stand.0.lock().unwrap().slow_taken.clone();
            if let Some(slow) = slow
                && let Some(child) = children[slow.process - 1].as_mut()
            {
                child.kill().unwrap();
                killed = Some((slow.process, Instant::now()));
            }
        }
        let mut running = 0;
        for (n, slot) in children.iter_mut().enumerate() {
            let Some(child) = slot else { continue };
            if let Some(status) = child.try_wait().unwrap() {
                slot.take();
                logs[n] = std::fs::read_to_string(log(n + 1)).unwrap_or_default();
                let was_killed = killed.is_some_and(|(p, _)| p == n + 1);
                assert!(
                    was_killed || status.success(),
                    "process {} failed: {}",
                    n + 1,
                    logs[n]
                );
            } else {
                running += 1;
            }
        }
        if running == 0 {
            break;
        }
        assert!(started.elapsed() < deadline, "the fleet never went idle");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    let state = std::mem::take(&mut *stand.0.lock().unwrap());
    Run {
        state,
        logs,
        killed,
        elapsed,
    }
}

/// Every repository's manifest was read: the scrape led to parse jobs that finished.
fn every_manifest_read(run: &Run) {
    for n in 1..=REPOSITORIES {
        let path = format!("/repos/acme/r{n}/contents/package.json");
        assert!(
            run.state
                .arrivals
                .iter()
                .any(|a| a.path == path && a.status == 200),
            "r{n}'s package.json was never read"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_sends_nothing_into_an_announced_wait_and_reclaims_a_killed_lease() {
    let run = run_fleet(Mode::Shared, true, REPOSITORIES).await;
    every_manifest_read(&run);
    let announced = run.state.announced.len();
    assert!(announced >= 3, "the stand-in announced {announced} waits");
    // A request in flight when a wait is announced arrived before it; with one request in
    // flight per token, there is none: nothing may arrive inside a wait.
    assert_eq!(
        run.sent_into_waits(Duration::ZERO, false),
        0,
        "requests arrived inside a wait GitHub had announced on their token"
    );
    assert_eq!(run.max_in_flight(), 1, "one request in flight per token");
    assert_eq!(run.state.over_quota, 0, "a request sent on a spent quota");

    // The killed process's lease held its token until it expired, then came back.
    let (process, _) = run.killed.expect("a process was killed");
    let slow = run.state.slow_taken.clone().unwrap();
    assert_eq!(slow.process, process);
    let lease = Duration::from_millis(TIMEOUT_MS + LEASE_MARGIN_MS);
    let next = run
        .state
        .arrivals
        .iter()
        .filter(|a| a.token == slow.token && a.at > slow.at)
        .map(|a| a.at - slow.at)
        .min()
        .expect("the token was used again after its holder died");
    assert!(
        next >= lease - Duration::from_millis(100),
        "the token was used at {next:?}, inside the dead process's lease ({lease:?})"
    );
    assert!(
        next <= lease + Duration::from_secs(3),
        "the lease was reclaimed only after {next:?}"
    );
    for (n, log) in run.logs.iter().enumerate() {
        assert!(
            !log.contains("fleet limits unavailable"),
            "process {} fell back: {log}",
            n + 1
        );
    }
    eprintln!(
        "shared: {} requests in {:?}, {} waits announced, {} arrived >50 ms into one",
        run.requests(),
        run.elapsed,
        announced,
        run.sent_into_waits(Duration::from_millis(50), false)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_limits_valkey_down_each_process_keeps_its_own_conservative_limits() {
    let run = run_fleet(Mode::ValkeyDown, false, REPOSITORIES).await;
    every_manifest_read(&run);
    assert_eq!(
        run.sent_into_waits(Duration::ZERO, true),
        0,
        "a process sent into a wait it had been told about itself"
    );
    assert!(
        run.max_in_flight() <= PROCESSES,
        "one request in flight per token per process: {}",
        run.max_in_flight()
    );
    for (n, log) in run.logs.iter().enumerate() {
        // A process that never got a GitHub job never asked the limits.
        let asked = run.state.arrivals.iter().any(|a| a.process == n + 1);
        assert_eq!(
            log.matches("fleet limits unavailable").count(),
            usize::from(asked),
            "process {} says it fell back once: {log}",
            n + 1
        );
        assert!(!log.contains("fleet limits reachable again"));
    }
    eprintln!(
        "valkey down: {} requests in {:?}, {} waits announced, {} arrived >50 ms into one \
         (any process), {} into its own",
        run.requests(),
        run.elapsed,
        run.state.announced.len(),
        run.sent_into_waits(Duration::from_millis(50), false),
        run.sent_into_waits(Duration::ZERO, true)
    );
}

/// The issue's measurement, before (each process alone) and after (shared): printed, not
/// asserted beyond the shared run's zero (the other tests assert that).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement for docs/providers.md: cargo test … -- --ignored --nocapture"]
async fn measure_requests_into_announced_waits_with_the_fleet_limits_off_and_on() {
    for mode in [Mode::Off, Mode::Shared] {
        // More repositories than the asserting tests: a steadier number.
        let run = run_fleet(mode, false, 40).await;
        eprintln!(
            "{mode:?}: {} of {} requests arrived more than 50 ms into an announced wait \
             ({} waits announced, {} sent on a spent quota, at most {} in flight per token, \
             {:?})",
            run.sent_into_waits(Duration::from_millis(50), false),
            run.requests(),
            run.state.announced.len(),
            run.state.over_quota,
            run.max_in_flight(),
            run.elapsed
        );
    }
}
