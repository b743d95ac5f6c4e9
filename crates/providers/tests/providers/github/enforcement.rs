//! A mock GitHub that enforces the search limit (30 a minute) and watches concurrency,
//! against a burst of concurrent calls: the client never exceeds either.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use serde_json::json;
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{method, path},
};
use wump_providers::{DataProvider, DiscoveryQuery, GitHubConfig, GitHubProvider};

use super::support::{DATE_EPOCH, config, error_json, repository, settle, until};

const LIMIT: u32 = 30;
const WINDOW: u64 = 60;
/// How long the server holds each request: two requests arriving closer together than
/// this were in flight at the same time.
const HOLD: Duration = Duration::from_millis(25);
const MAX_CONCURRENCY: usize = 8;

#[derive(Default)]
struct Seen {
    window: u64,
    count: u32,
    requests: u32,
    violations: u32,
    arrivals: VecDeque<std::time::Instant>,
    max_concurrent: usize,
}

/// GitHub's search limit, on the test's virtual clock (`now`, seconds since the start,
/// moved by the test together with tokio's paused clock).
struct Enforcer {
    now: Arc<AtomicU64>,
    seen: Arc<Mutex<Seen>>,
}

impl Respond for Enforcer {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let now = self.now.load(Ordering::SeqCst);
        let mut seen = self.seen.lock().unwrap();
        let arrived = std::time::Instant::now();
        seen.arrivals.push_back(arrived);
        while seen
            .arrivals
            .front()
            .is_some_and(|a| arrived.duration_since(*a) >= HOLD)
        {
            seen.arrivals.pop_front();
        }
        seen.max_concurrent = seen.max_concurrent.max(seen.arrivals.len());
        seen.requests += 1;
        let window = now / WINDOW;
        if window != seen.window {
            seen.window = window;
            seen.count = 0;
        }
        seen.count += 1;
        let reset = DATE_EPOCH + ((window + 1) * WINDOW) as i64;
        let date = chrono::DateTime::from_timestamp(DATE_EPOCH + now as i64, 0)
            .unwrap()
            .to_rfc2822()
            .replace("+0000", "GMT");
        let template = if seen.count > LIMIT {
            seen.violations += 1;
            error_json(
                403,
                "API rate limit exceeded for user ID 1.",
                "overview/rate-limits-for-the-rest-api",
            )
        } else {
            ResponseTemplate::new(200).set_body_json(json!({
                "total_count": 1,
                "incomplete_results": false,
                "items": [repository("octocat", "User", "Hello-World", 5)],
            }))
        };
        template
            .insert_header("date", date.as_str())
            .insert_header("x-ratelimit-limit", LIMIT.to_string())
            .insert_header(
                "x-ratelimit-remaining",
                LIMIT.saturating_sub(seen.count).to_string(),
            )
            .insert_header("x-ratelimit-used", seen.count.min(LIMIT).to_string())
            .insert_header("x-ratelimit-reset", reset.to_string())
            .insert_header("x-ratelimit-resource", "search")
            .set_delay(HOLD)
    }
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_searches_never_exceeds_the_search_limit_or_the_concurrency() {
    let _hold = super::support::ClockHold::new();
    let server = MockServer::start().await;
    let now = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(Mutex::new(Seen::default()));
    Mock::given(method("GET"))
        .and(path("/search/repositories"))
        .respond_with(Enforcer {
            now: Arc::clone(&now),
            seen: Arc::clone(&seen),
        })
        .mount(&server)
        .await;
    let github = GitHubProvider::new(GitHubConfig {
        max_concurrency: MAX_CONCURRENCY,
        max_wait: Duration::from_secs(600),
        ..config(&server, &["ghp_one"])
    })
    .unwrap();

    let calls: Vec<_> = (0..100)
        .map(|i| {
            let github = github.clone();
            tokio::spawn(async move {
                let query = DiscoveryQuery::Search {
                    query: format!("stars:5 topic:burst-{i}"),
                };
                github.discover_repositories(&query, None).await
            })
        })
        .collect();

    // Each minute the client should use the whole window, then wait for the next one:
    // wait (in real time) until the window's calls have all been answered, check that
    // nothing more goes out as the clock nears the boundary, then cross it.
    let requests = || seen.lock().unwrap().requests;
    for window in 1..=4u32 {
        let expected = (LIMIT * window).min(100);
        until(async || {
            requests() == expected
                && calls.iter().filter(|c| c.is_finished()).count() == expected as usize
        })
        .await;
        if expected == 100 {
            break;
        }
        for _ in 0..11 {
            now.fetch_add(5, Ordering::SeqCst);
            tokio::time::advance(Duration::from_secs(5)).await;
        }
        settle(Duration::from_millis(50)).await;
        assert_eq!(
            requests(),
            expected,
            "nothing sent before the window resets"
        );
        now.fetch_add(5, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(5)).await;
    }
    for call in calls {
        let page = call.await.unwrap().unwrap();
        assert_eq!(page.repositories.len(), 1);
    }

    let seen = seen.lock().unwrap();
    assert_eq!(seen.violations, 0, "never over 30 searches a minute");
    assert_eq!(seen.requests, 100, "no request was refused and retried");
    assert!(
        seen.max_concurrent <= MAX_CONCURRENCY,
        "{} requests in flight at once",
        seen.max_concurrent
    );
    assert!(seen.max_concurrent > 1, "the burst did run concurrently");
    assert_eq!(
        now.load(Ordering::SeqCst),
        180,
        "100 searches take four windows: the last starts at 3 minutes"
    );
}
