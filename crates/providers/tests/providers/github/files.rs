//! Trees and file contents: default branch, empty and deleted repositories, raw bytes, size
//! limits, ETags, malformed answers, retries and timeouts.

use std::time::Duration;

use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, header_exists, method, path, query_param},
};
use wump_providers::{DataProvider, ProviderError, TreeEntry};

use super::support::{
    ClockHold, config, error_json, limited, not_found, ok_json, provider, received, repo,
    repository, until,
};

const TREE_SHA: &str = "9fb037999f264ba9a7fc6274d15fa3ae2ab98312";
const COMMIT: &str = "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d";

async fn mount_repository(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(ok_json(repository("octocat", "User", "Hello-World", 80)))
        .mount(server)
        .await;
    mount_commit(server).await;
}

/// `GET /repos/{o}/{r}/commits/main` with the `sha` media type: the SHA as text.
async fn mount_commit(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World/commits/main"))
        .and(header("accept", "application/vnd.github.sha"))
        .respond_with(
            limited(ResponseTemplate::new(200), "core", 5000, 4990, 3600)
                .insert_header("etag", format!("W/{COMMIT:?}").as_str())
                .set_body_raw(COMMIT, "application/vnd.github.sha"),
        )
        .mount(server)
        .await;
}

fn tree_path() -> String {
    format!("/repos/octocat/Hello-World/git/trees/{COMMIT}")
}

#[tokio::test(start_paused = true)]
async fn list_files_reads_the_default_branch_then_the_recursive_tree() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    mount_repository(&server).await;
    Mock::given(method("GET"))
        .and(path(tree_path().as_str()))
        .and(query_param("recursive", "1"))
        .respond_with(ok_json(json!({
            "sha": TREE_SHA,
            "url": format!("https://api.github.com/repos/octocat/Hello-World/trees/{TREE_SHA}"),
            "tree": [
                {"path": "Cargo.toml", "mode": "100644", "type": "blob", "size": 132,
                 "sha": "7c258a9869f33c1e1e1f74fbb32f07c86cb5a75b",
                 "url": "https://api.github.com/repos/octocat/Hello-World/git/blobs/7c258a9869f33c1e1e1f74fbb32f07c86cb5a75b"},
                {"path": "src", "mode": "040000", "type": "tree",
                 "sha": "bc8bd8d2b2b0b2f4d5a0b5e4e1f5a2c3d4e5f6a7",
                 "url": "https://api.github.com/repos/octocat/Hello-World/git/trees/bc8bd8d2b2b0b2f4d5a0b5e4e1f5a2c3d4e5f6a7"},
                {"path": "src/main.rs", "mode": "100755", "type": "blob", "size": 30,
                 "sha": "23f6827669e43831def8a7ad935069c8bd418261",
                 "url": "https://api.github.com/repos/octocat/Hello-World/git/blobs/23f6827669e43831def8a7ad935069c8bd418261"},
                {"path": "latest", "mode": "120000", "type": "blob", "size": 11,
                 "sha": "0a2f2b4b8f5e0c1d2e3f4a5b6c7d8e9f0a1b2c3d",
                 "url": "https://api.github.com/repos/octocat/Hello-World/git/blobs/0a2f2b4b8f5e0c1d2e3f4a5b6c7d8e9f0a1b2c3d"},
                {"path": "vendor/lib", "mode": "160000", "type": "commit",
                 "sha": "1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c"}
            ],
            "truncated": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);

    let tree = github
        .list_files(&repo("octocat/Hello-World"), None)
        .await
        .unwrap();

    assert_eq!(
        tree.revision, COMMIT,
        "a commit, usable as fetch_file's ref"
    );
    assert!(tree.truncated);
    assert_eq!(
        tree.entries,
        [
            TreeEntry {
                path: "Cargo.toml".to_owned(),
                size: 132
            },
            TreeEntry {
                path: "src/main.rs".to_owned(),
                size: 30
            },
        ],
        "blobs only: no directories, symlinks or submodules"
    );
}

#[tokio::test(start_paused = true)]
async fn an_empty_repository_lists_no_files() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World/commits/main"))
        .respond_with(error_json(
            409,
            "Git Repository is empty.",
            "git/trees#get-a-tree",
        ))
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);

    let tree = github
        .list_files(&repo("octocat/Hello-World"), Some("main"))
        .await
        .unwrap();

    assert!(tree.entries.is_empty());
    assert!(!tree.truncated);
}

#[tokio::test(start_paused = true)]
async fn a_deleted_repository_is_not_found() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/gone"))
        .respond_with(not_found())
        .expect(1)
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);

    let error = github
        .list_files(&repo("octocat/gone"), None)
        .await
        .unwrap_err();

    assert!(
        matches!(&error, ProviderError::NotFound { what, .. } if what == "octocat/gone"),
        "{error:?}"
    );
    assert!(error.is_permanent());
}

#[tokio::test(start_paused = true)]
async fn fetch_file_asks_for_the_raw_media_type_at_the_revision() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/repos/octocat/Hello-World/contents/crates/core/Cargo.toml",
        ))
        .and(query_param("ref", "v1.0"))
        .and(header("accept", "application/vnd.github.raw+json"))
        .respond_with(
            limited(ResponseTemplate::new(200), "core", 5000, 4990, 3600)
                .set_body_raw("[package]\nname = \"core\"\n", "application/vnd.github.raw"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);

    let file = github
        .fetch_file(
            &repo("octocat/Hello-World"),
            "crates/core/Cargo.toml",
            Some("v1.0"),
            1024,
        )
        .await
        .unwrap();

    assert_eq!(file.path, "crates/core/Cargo.toml");
    assert_eq!(file.bytes, b"[package]\nname = \"core\"\n");
}

#[tokio::test(start_paused = true)]
async fn a_file_over_the_limit_is_refused_by_its_content_length() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/repos/octocat/Hello-World/contents/package-lock.json",
        ))
        .respond_with(
            limited(ResponseTemplate::new(200), "core", 5000, 4990, 3600)
                .set_body_raw(vec![b'x'; 5_000], "application/vnd.github.raw"),
        )
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);

    let error = github
        .fetch_file(
            &repo("octocat/Hello-World"),
            "package-lock.json",
            None,
            4_096,
        )
        .await
        .unwrap_err();

    assert_eq!(
        error,
        ProviderError::TooLarge {
            path: "package-lock.json".to_owned(),
            size: 5_000,
            limit: 4_096
        }
    );
}

#[tokio::test(start_paused = true)]
async fn an_unchanged_file_is_revalidated_with_its_etag_and_costs_no_quota() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    let etag = "\"7c258a9869f33c1e1e1f74fbb32f07c86cb5a75b\"";
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World/contents/Cargo.toml"))
        .and(header("if-none-match", etag))
        .respond_with(
            limited(ResponseTemplate::new(304), "core", 5000, 4990, 3600)
                .insert_header("etag", etag),
        )
        .expect(2)
        .named("conditional")
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World/contents/Cargo.toml"))
        .respond_with(
            limited(ResponseTemplate::new(200), "core", 5000, 4990, 3600)
                .insert_header("etag", etag)
                .set_body_raw("[workspace]\n", "application/vnd.github.raw"),
        )
        .expect(1)
        .named("first")
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);
    let repo = repo("octocat/Hello-World");

    let first = github
        .fetch_file(&repo, "Cargo.toml", None, 1024)
        .await
        .unwrap();
    let core = |github: &wump_providers::GitHubProvider| {
        github
            .rate_limit_status()
            .into_iter()
            .find(|s| s.bucket == "core (token 1)")
            .map(|s| s.remaining)
    };
    assert_eq!(core(&github), Some(4990));
    let second = github
        .fetch_file(&repo, "Cargo.toml", None, 1024)
        .await
        .unwrap();
    let third = github
        .fetch_file(&repo, "Cargo.toml", None, 1024)
        .await
        .unwrap();

    assert_eq!(first.bytes, b"[workspace]\n");
    assert_eq!(second, first, "the 304 is answered from the cache");
    assert_eq!(third, first);
    assert_eq!(core(&github), Some(4990), "a 304 is free");
    let requests = server.received_requests().await.unwrap();
    assert!(requests[0].headers.get("if-none-match").is_none());
    assert_eq!(requests[1].headers["if-none-match"], etag);
}

#[tokio::test(start_paused = true)]
async fn malformed_json_is_malformed() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(
            limited(ResponseTemplate::new(200), "core", 5000, 4990, 3600)
                .set_body_raw("{\"id\": 1296269, \"name\": ", "application/json"),
        )
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);

    let error = github
        .list_files(&repo("octocat/Hello-World"), None)
        .await
        .unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_then_succeed() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(error_json(502, "Server Error", "overview"))
        .up_to_n_times(2)
        .expect(2)
        .named("two 502s")
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(ok_json(repository("octocat", "User", "Hello-World", 80)))
        .expect(1)
        .named("then a 200")
        .mount(&server)
        .await;
    mount_commit(&server).await;
    Mock::given(method("GET"))
        .and(path(tree_path().as_str()))
        .respond_with(ok_json(
            json!({"sha": TREE_SHA, "tree": [], "truncated": false}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);

    let tree = github
        .list_files(&repo("octocat/Hello-World"), None)
        .await
        .unwrap();
    assert_eq!(tree.revision, COMMIT);
}

#[tokio::test(start_paused = true)]
async fn server_errors_past_the_retries_are_upstream_and_4xx_are_not_retried() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(error_json(503, "Service Unavailable", "overview"))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/bad/commits/main"))
        .respond_with(error_json(400, "Bad Request", "commits/commits"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/private"))
        .and(header_exists("authorization"))
        .respond_with(error_json(401, "Bad credentials", "overview"))
        .expect(1)
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_revoked"]);

    let error = github
        .list_files(&repo("octocat/Hello-World"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Upstream { status: 503, .. }),
        "{error:?}"
    );
    let error = github
        .list_files(&repo("octocat/bad"), Some("main"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Rejected { status: 400, .. }),
        "{error:?}"
    );
    let error = github
        .list_files(&repo("octocat/private"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Unauthorized { status: 401, .. }),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_request_that_times_out_is_retried_then_a_network_error() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .respond_with(
            ok_json(repository("octocat", "User", "Hello-World", 80))
                .set_delay(Duration::from_secs(60)),
        )
        .expect(3)
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);
    let timeout = config(&server, &[]).timeout;

    let call = tokio::spawn({
        let github = github.clone();
        async move { github.list_files(&repo("octocat/Hello-World"), None).await }
    });
    for attempt in 1..=3 {
        until(async || received(&server).await == attempt).await;
        // The server is still sleeping on it; the request timeout passes on our clock.
        tokio::time::advance(timeout).await;
    }
    let error = call.await.unwrap().unwrap_err();

    assert!(
        matches!(&error, ProviderError::Network { message, .. } if message.contains("timed out")),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_repository_blocked_for_legal_reasons_is_not_found() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/blocked"))
        .respond_with(
            limited(ResponseTemplate::new(451), "core", 5000, 4990, 3600).set_body_json(json!({
                "message": "Repository access blocked",
                "block": {
                    "reason": "dmca",
                    "created_at": "2013-05-03T12:00:00Z",
                    "html_url": "https://github.com/github/dmca/blob/master/2013/2013-05-03-foo.md"
                }
            })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);

    let error = github
        .list_files(&repo("octocat/blocked"), None)
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::NotFound { .. }), "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn a_file_the_tree_listed_as_too_large_is_refused_without_a_request() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    mount_commit(&server).await;
    Mock::given(method("GET"))
        .and(path(tree_path().as_str()))
        .respond_with(ok_json(json!({
            "sha": TREE_SHA,
            "tree": [{"path": "yarn.lock", "mode": "100644", "type": "blob", "size": 2_097_152,
                      "sha": "3e5e0cbbd2a1f4a2b1c0d9e8f7a6b5c4d3e2f1a0"}],
            "truncated": false
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World/contents/yarn.lock"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);
    let repo = repo("octocat/Hello-World");

    let tree = github.list_files(&repo, Some("main")).await.unwrap();
    let error = github
        .fetch_file(&repo, "yarn.lock", Some(&tree.revision), 1_048_576)
        .await
        .unwrap_err();

    assert_eq!(
        error,
        ProviderError::TooLarge {
            path: "yarn.lock".to_owned(),
            size: 2_097_152,
            limit: 1_048_576
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_ref_that_does_not_exist_is_not_found() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World/commits/no-such-branch"))
        .respond_with(error_json(
            422,
            "No commit found for SHA: no-such-branch",
            "commits/commits#get-a-commit",
        ))
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);

    let error = github
        .list_files(&repo("octocat/Hello-World"), Some("no-such-branch"))
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::NotFound { .. }), "{error:?}");
}
