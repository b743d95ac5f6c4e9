//! Search (past the 1,000-result cap) and owner listings.

use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use serde_json::json;
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{header, method, path, query_param},
};
use wump_core::{OrganizationKind, PackageRef};
use wump_providers::{Capability, DataProvider, DiscoveryQuery, PageToken, ProviderError};

use super::support::{ClockHold, limited, not_found, ok_json, provider, repository};

#[tokio::test(start_paused = true)]
async fn search_maps_githubs_repository_items() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/search/repositories"))
        .and(query_param("q", "language:rust stars:>=1001"))
        .and(query_param("sort", "stars"))
        .and(query_param("per_page", "100"))
        .and(query_param("page", "1"))
        .and(header("accept", "application/vnd.github+json"))
        .and(header("authorization", "Bearer ghp_one"))
        .respond_with(limited(
            ResponseTemplate::new(200).set_body_json(json!({
                "total_count": 2,
                "incomplete_results": false,
                "items": [
                    repository("rust-lang", "Organization", "rust", 99_000),
                    repository("octocat", "User", "Hello-World", 1_500),
                ],
            })),
            "search",
            30,
            29,
            60,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);

    let query = DiscoveryQuery::Search {
        query: "stars:>1000 language:rust".to_owned(),
    };
    let page = github.discover_repositories(&query, None).await.unwrap();

    assert_eq!(page.next, None);
    let names: Vec<_> = page
        .repositories
        .iter()
        .map(|r| r.repo.full_name.to_string())
        .collect();
    assert_eq!(names, ["rust-lang/rust", "octocat/Hello-World"]);
    let rust = &page.repositories[0];
    assert_eq!(rust.repo.host, "github.com");
    assert_eq!(rust.owner.kind, OrganizationKind::Organization);
    assert_eq!(page.repositories[1].owner.kind, OrganizationKind::User);
    assert_eq!(rust.stars, 99_000);
    assert_eq!(rust.forks, 9);
    assert_eq!(rust.language.as_deref(), Some("Rust"));
    assert_eq!(rust.default_branch.as_deref(), Some("main"));
    assert_eq!(rust.change_token.as_deref(), Some("2011-01-26T19:06:43Z"));
    assert_eq!(
        rust.pushed_at.map(|t| t.to_rfc3339()),
        Some("2011-01-26T19:06:43+00:00".to_owned())
    );
    let search = github
        .rate_limit_status()
        .into_iter()
        .find(|s| s.bucket == "search (token 1)")
        .expect("search bucket");
    assert_eq!((search.remaining, search.limit), (29, 30));
}

/// A search index of `count` repositories, the i-th with i stars, answering like GitHub:
/// sorted by stars, 100 per page, at most 1,000 results per query.
struct StarIndex {
    count: u32,
    requests: Arc<AtomicUsize>,
}

impl Respond for StarIndex {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.requests.fetch_add(1, Ordering::SeqCst) as u32;
        let param = |name: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let q = param("q");
        let page: u32 = param("page").parse().unwrap_or(1);
        let stars = q
            .split_whitespace()
            .find_map(|t| t.strip_prefix("stars:"))
            .expect("every query carries a star window");
        let (lo, hi) = if let Some(lo) = stars.strip_prefix(">=") {
            (lo.parse().unwrap(), self.count - 1)
        } else {
            let (lo, hi) = stars.split_once("..").unwrap_or((stars, stars));
            (lo.parse::<u32>().unwrap(), hi.parse::<u32>().unwrap())
        };
        let hi = hi.min(self.count - 1);
        let total = if hi >= lo { hi - lo + 1 } else { 0 };
        if page > 10 {
            return ResponseTemplate::new(422).set_body_json(json!({
                "message": "Only the first 1000 search results are available",
                "documentation_url": "https://docs.github.com/v3/search/"
            }));
        }
        let items: Vec<_> = (0..100)
            .map(|i| (page - 1) * 100 + i)
            .filter(|offset| *offset < total)
            .map(|offset| {
                let stars = hi - offset;
                repository("stars-org", "Organization", &format!("repo-{stars}"), stars)
            })
            .collect();
        limited(
            ResponseTemplate::new(200).set_body_json(json!({
                "total_count": total,
                "incomplete_results": false,
                "items": items,
            })),
            "search",
            30,
            29 - n.min(29),
            60,
        )
    }
}

#[tokio::test(start_paused = true)]
async fn search_splits_star_windows_to_serve_more_than_1000_results() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    let requests = Arc::new(AtomicUsize::new(0));
    Mock::given(method("GET"))
        .and(path("/search/repositories"))
        .respond_with(StarIndex {
            count: 1_500,
            requests: Arc::clone(&requests),
        })
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);
    let query = DiscoveryQuery::Search {
        query: "topic:funding".to_owned(),
    };

    let mut seen = HashSet::new();
    let mut token: Option<PageToken> = None;
    let mut pages = 0;
    loop {
        let page = github
            .discover_repositories(&query, token.as_ref())
            .await
            .unwrap();
        pages += 1;
        for repo in page.repositories {
            assert!(
                seen.insert(repo.repo.full_name.to_string()),
                "no duplicates"
            );
        }
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
    }

    assert_eq!(seen.len(), 1_500, "every repository, past the 1,000 cap");
    // One probe (stars:>=0 reports 1,500 and is split at the 1,499 stars of its top
    // result), then 8 pages of 750 in each half.
    assert_eq!(pages, 16);
    assert_eq!(requests.load(Ordering::SeqCst), 17);
    let queries: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "q")
                .map(|(_, v)| v.into_owned())
                .unwrap()
        })
        .collect();
    assert_eq!(queries[0], "topic:funding stars:>=0");
    assert_eq!(queries[1], "topic:funding stars:750..1499");
    assert_eq!(queries[16], "topic:funding stars:0..749");
}

#[tokio::test(start_paused = true)]
async fn owner_listing_falls_back_to_users_and_follows_link_pagination() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/octocat/repos"))
        .respond_with(not_found())
        .expect(1)
        .mount(&server)
        .await;
    let next = format!(
        "<{uri}/user/583231/repos?per_page=100&page=2>; rel=\"next\", \
         <{uri}/user/583231/repos?per_page=100&page=2>; rel=\"last\"",
        uri = server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/users/octocat/repos"))
        .and(query_param("page", "1"))
        .respond_with(
            ok_json(json!([repository("octocat", "User", "Hello-World", 80)]))
                .insert_header("link", next.as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let prev = format!(
        "<{uri}/user/583231/repos?per_page=100&page=1>; rel=\"prev\", \
         <{uri}/user/583231/repos?per_page=100&page=1>; rel=\"first\"",
        uri = server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/users/octocat/repos"))
        .and(query_param("page", "2"))
        .respond_with(
            ok_json(json!([repository("octocat", "User", "Spoon-Knife", 12)]))
                .insert_header("link", prev.as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);
    let query = DiscoveryQuery::Owner {
        login: "octocat".to_owned(),
    };

    let first = github.discover_repositories(&query, None).await.unwrap();
    assert_eq!(
        first.repositories[0].repo.full_name.to_string(),
        "octocat/Hello-World"
    );
    let second = github
        .discover_repositories(&query, first.next.as_ref())
        .await
        .unwrap();
    assert_eq!(
        second.repositories[0].repo.full_name.to_string(),
        "octocat/Spoon-Knife"
    );
    assert_eq!(second.next, None);
}

#[tokio::test(start_paused = true)]
async fn dependents_are_not_something_github_lists() {
    let server = MockServer::start().await;
    let github = provider(&server, &[]);
    let query = DiscoveryQuery::DependentsOf {
        package: PackageRef::new(wump_core::Ecosystem::Cargo, "serde"),
    };
    let error = github
        .discover_repositories(&query, None)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        ProviderError::Unsupported {
            capability: Capability::DiscoverRepositories,
            ..
        }
    ));
}
