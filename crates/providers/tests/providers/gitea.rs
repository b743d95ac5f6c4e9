//! Gitea/Forgejo (API v1) against a stand-in answering Codeberg's documented payloads,
//! headers, paging and errors.

use std::{sync::Arc, time::Duration};

use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, header_exists, method, path, query_param},
};
use wump_core::OrganizationKind;
use wump_providers::{
    DataProvider, ForgeSettings, GiteaProvider, MemoryHttpCache, ProviderError, RepoRef, TreeEntry,
    forge_mock::{StandInRepo, UPDATED_AT, gitea_not_found, gitea_repository, mount_gitea},
};

use crate::{
    forge_support::{
        answering, answering_exactly, assert_held, assert_not_found, assert_rate_limited_for,
        assert_unauthorized, assert_upstream, forge_settings, mount_one_bad_gateway,
        mount_token_gate, owner, repo_on, search, summary,
    },
    helpers::http_settings,
};

const WEB: &str = "https://codeberg.org";

fn settings(server: &MockServer, tokens: &[&str]) -> ForgeSettings {
    forge_settings(format!("{}/api/v1", server.uri()), "codeberg.org", tokens)
}

fn gitea(server: &MockServer, tokens: &[&str]) -> GiteaProvider {
    GiteaProvider::new(
        &settings(server, tokens),
        &http_settings(),
        Arc::new(MemoryHttpCache::default()),
    )
    .unwrap()
}

fn repo(full_name: &str) -> RepoRef {
    repo_on("codeberg.org", full_name)
}

fn fixture() -> Vec<StandInRepo> {
    let mut archived = StandInRepo::new("forgejo", "legacy", 3, &[]);
    archived.archived = true;
    let mut fork = StandInRepo::new("alice", "web-fork", 1, &[("package.json", "{}")]);
    fork.fork = true;
    vec![
        StandInRepo::new(
            "forgejo",
            "web",
            120,
            &[
                ("package.json", r#"{"dependencies":{"left-pad":"^1.3.0"}}"#),
                ("docs/Cargo.toml", "[package]\nname = \"d\"\n"),
            ],
        ),
        archived,
        fork,
    ]
}

#[tokio::test]
async fn search_maps_repositories_with_owner_kinds_flags_and_change_tokens() {
    let server = MockServer::start().await;
    mount_gitea(&server, WEB, &fixture(), &["forgejo"]).await;
    let page = gitea(&server, &[])
        .discover_repositories(&search("web"), None)
        .await
        .unwrap();
    assert_eq!(
        summary(&page),
        [
            (
                "codeberg.org",
                "forgejo/web".to_owned(),
                OrganizationKind::Organization,
                120,
                false,
                false
            ),
            (
                "codeberg.org",
                "forgejo/legacy".to_owned(),
                OrganizationKind::Organization,
                3,
                true,
                false
            ),
            (
                "codeberg.org",
                "alice/web-fork".to_owned(),
                OrganizationKind::User,
                1,
                false,
                true
            ),
        ]
    );
    assert_eq!(
        page.repositories[0].change_token.as_deref(),
        Some(UPDATED_AT)
    );
    assert_eq!(page.repositories[0].default_branch.as_deref(), Some("main"));
    assert_eq!(page.next, None, "X-Total-Count 3 fits one page");
    // Each owner's kind was asked once, not once per repository.
    let asked = server.received_requests().await.unwrap();
    let org_lookups = asked
        .iter()
        .filter(|r| r.url.path() == "/api/v1/orgs/forgejo")
        .count();
    assert_eq!(org_lookups, 1);
}

#[tokio::test]
async fn search_pages_follow_the_link_header_and_stop_on_the_last() {
    let server = MockServer::start().await;
    let api = format!("{}/api/v1", server.uri());
    let first = StandInRepo::new("alice", "one", 9, &[]);
    let second = StandInRepo::new("alice", "two", 8, &[]);
    Mock::given(method("GET"))
        .and(path("/api/v1/orgs/alice"))
        .respond_with(gitea_not_found())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/repos/search"))
        .and(query_param("page", "1"))
        .and(query_param("limit", "50"))
        .and(query_param("q", "lang"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-total-count", "51")
                .insert_header(
                    "link",
                    format!("<{api}/repos/search?limit=50&page=2&q=lang>; rel=\"next\",<{api}/repos/search?limit=50&page=2&q=lang>; rel=\"last\""),
                )
                .set_body_json(json!({"ok": true, "data": [gitea_repository(WEB, &api, &first)]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/repos/search"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-total-count", "51")
                .insert_header("link", format!("<{api}/repos/search?limit=50&page=1&q=lang>; rel=\"first\",<{api}/repos/search?limit=50&page=1&q=lang>; rel=\"prev\""))
                .set_body_json(json!({"ok": true, "data": [gitea_repository(WEB, &api, &second)]})),
        )
        .mount(&server)
        .await;
    let provider = gitea(&server, &[]);
    let query = search("lang");
    let one = provider.discover_repositories(&query, None).await.unwrap();
    assert_eq!(one.repositories[0].repo.full_name.to_string(), "alice/one");
    let two = provider
        .discover_repositories(&query, one.next.as_ref())
        .await
        .unwrap();
    assert_eq!(two.repositories[0].repo.full_name.to_string(), "alice/two");
    assert_eq!(two.next, None);
}

#[tokio::test]
async fn owner_listing_falls_back_from_orgs_to_users_and_404s_when_neither() {
    let server = MockServer::start().await;
    mount_gitea(&server, WEB, &fixture(), &["forgejo"]).await;
    let provider = gitea(&server, &[]);
    let org = provider
        .discover_repositories(&owner("forgejo"), None)
        .await
        .unwrap();
    assert_eq!(org.repositories.len(), 2);
    let user = provider
        .discover_repositories(&owner("alice"), None)
        .await
        .unwrap();
    assert_eq!(user.repositories[0].owner.kind, OrganizationKind::User);
    let missing = provider
        .discover_repositories(&owner("nobody"), None)
        .await
        .unwrap_err();
    assert_not_found(&missing);
}

#[tokio::test]
async fn the_tree_is_read_at_the_default_branch_commit_and_raw_files_at_it() {
    let server = MockServer::start().await;
    let repos = fixture();
    mount_gitea(&server, WEB, &repos, &["forgejo"]).await;
    let provider = gitea(&server, &[]);
    let tree = provider
        .list_files(&repo("forgejo/web"), None)
        .await
        .unwrap();
    assert_eq!(tree.revision, repos[0].commit());
    assert!(!tree.truncated);
    assert_eq!(
        tree.entries,
        [
            TreeEntry {
                path: "package.json".into(),
                size: 38
            },
            TreeEntry {
                path: "docs/Cargo.toml".into(),
                size: 21
            },
        ]
    );
    let file = provider
        .fetch_file(
            &repo("forgejo/web"),
            "docs/Cargo.toml",
            Some(&tree.revision),
            1024,
        )
        .await
        .unwrap();
    assert_eq!(file.bytes, b"[package]\nname = \"d\"\n");
    let too_large = provider
        .fetch_file(&repo("forgejo/web"), "package.json", None, 10)
        .await
        .unwrap_err();
    assert!(
        matches!(too_large, ProviderError::TooLarge { limit: 10, .. }),
        "{too_large:?}"
    );
    let missing = provider
        .fetch_file(&repo("forgejo/web"), "nope.txt", None, 1024)
        .await
        .unwrap_err();
    assert_not_found(&missing);
    let gone = provider
        .list_files(&repo("forgejo/deleted"), None)
        .await
        .unwrap_err();
    assert_not_found(&gone);
}

#[tokio::test]
async fn a_truncated_tree_is_read_page_by_page() {
    let server = MockServer::start().await;
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let entry = |p: &str, kind: &str, mode: &str| json!({"path": p, "mode": mode, "type": kind, "size": 10, "sha": sha, "url": ""});
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/repos/o/big/git/trees/{sha}")))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sha": sha, "url": "", "truncated": true, "page": 1, "total_count": 4,
            "tree": [entry("a", "tree", "040000"), entry("a/package.json", "blob", "100644")]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/repos/o/big/git/trees/{sha}")))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sha": sha, "url": "", "truncated": false, "page": 2, "total_count": 4,
            "tree": [entry("link", "blob", "120000"), entry("z/Cargo.toml", "blob", "100644")]
        })))
        .mount(&server)
        .await;
    let tree = gitea(&server, &[])
        .list_files(&repo("o/big"), Some(sha))
        .await
        .unwrap();
    let paths: Vec<_> = tree.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["a/package.json", "z/Cargo.toml"],
        "no directories or symlinks"
    );
    assert!(!tree.truncated, "every page was read");
    assert_eq!(tree.revision, sha);
}

#[tokio::test]
async fn owners_have_profiles_and_funding_from_their_profile_repository() {
    let server = MockServer::start().await;
    let profile = StandInRepo::new(
        "forgejo",
        ".profile",
        0,
        &[(
            ".github/FUNDING.yml",
            "liberapay: forgejo\ncustom: [\"https://donate.example/forgejo\"]\n",
        )],
    );
    mount_gitea(&server, WEB, &[fixture()[0].clone(), profile], &["forgejo"]).await;
    mount_gitea(&server, WEB, &[fixture()[2].clone()], &[]).await;
    let provider = gitea(&server, &[]);
    let org = provider.fetch_owner("forgejo").await.unwrap();
    assert_eq!(org.kind, OrganizationKind::Organization);
    assert_eq!(org.name.as_deref(), Some("forgejo collective"));
    assert_eq!(org.website_url.as_deref(), Some("https://forgejo.example"));
    let urls: Vec<_> = org.funding.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://liberapay.com/forgejo",
            "https://donate.example/forgejo"
        ]
    );
    let user = provider.fetch_owner("alice").await.unwrap();
    assert_eq!(
        (user.kind, user.name.as_deref()),
        (OrganizationKind::User, Some("A Person"))
    );
    assert!(user.funding.is_empty());
    let nobody = provider.fetch_owner("nobody").await.unwrap_err();
    assert_not_found(&nobody);
}

#[tokio::test]
async fn tokens_go_in_the_authorization_header_and_a_refused_one_is_unauthorized() {
    let server = MockServer::start().await;
    mount_token_gate(
        &server,
        "/api/v1/version",
        ("authorization", "token good-token"),
        ResponseTemplate::new(200).set_body_json(json!({"version": "9.0.3+gitea-1.22.0"})),
        ResponseTemplate::new(401).set_body_json(json!({
            "message": "user does not exist [uid: 0, name: ]",
            "url": "https://codeberg.org/api/swagger"
        })),
    )
    .await;
    gitea(&server, &["good-token"]).health().await.unwrap();
    let refused = gitea(&server, &["bad-token"]).health().await.unwrap_err();
    assert_eq!(
        refused,
        ProviderError::Unauthorized {
            provider: "gitea".into(),
            status: 401
        }
    );
    assert!(!format!("{refused:?}").contains("bad-token"));
    let forbidden_server = answering(ResponseTemplate::new(403).set_body_json(json!({"message": "token does not have at least one of required scope(s): [read:repository]"}))).await;
    let forbidden = gitea(&forbidden_server, &["t"])
        .list_files(&repo("o/r"), None)
        .await
        .unwrap_err();
    assert_unauthorized(&forbidden, 403);
}

#[tokio::test]
async fn a_429_holds_every_request_for_its_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/repos/o/r"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "120")
                .set_body_string("Too Many Requests"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let provider = gitea(&server, &[]);
    let limited = provider.list_files(&repo("o/r"), None).await.unwrap_err();
    assert_rate_limited_for(&limited, Duration::from_secs(120));
    // Held: the next call is refused without a request (`expect(1)` checks on drop).
    let held = provider
        .fetch_file(&repo("o/r"), "a", None, 10)
        .await
        .unwrap_err();
    assert_held(&held);
}

#[tokio::test]
async fn a_spent_quota_holds_requests_until_its_reset() {
    let server = MockServer::start().await;
    let reset = chrono::Utc::now().timestamp() + 600;
    Mock::given(method("GET"))
        .and(path("/api/v1/version"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-limit", "500")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string())
                .set_body_json(json!({"version": "1.22.0"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let provider = gitea(&server, &[]);
    provider.health().await.unwrap();
    let held = provider.health().await.unwrap_err();
    assert!(
        matches!(held, ProviderError::RateLimited { retry_after, .. } if retry_after > Duration::from_secs(590)),
        "{held:?}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_and_then_reported() {
    let server = MockServer::start().await;
    mount_one_bad_gateway(
        &server,
        "/api/v1/version",
        ResponseTemplate::new(200).set_body_json(json!({"version": "1.22.0"})),
    )
    .await;
    gitea(&server, &[]).health().await.unwrap();
    let down = answering_exactly(
        ResponseTemplate::new(503).set_body_string("Service Unavailable"),
        3,
    )
    .await;
    let error = gitea(&down, &[]).health().await.unwrap_err();
    assert_upstream(&error, 503);
}

#[tokio::test]
async fn answers_with_an_etag_are_revalidated_and_a_304_serves_the_cached_body() {
    let server = MockServer::start().await;
    let api = format!("{}/api/v1", server.uri());
    let body = gitea_repository(WEB, &api, &StandInRepo::new("o", "r", 5, &[]));
    Mock::given(method("GET"))
        .and(path("/api/v1/repos/o/r"))
        .and(header_exists("if-none-match"))
        .respond_with(ResponseTemplate::new(304).insert_header("etag", "\"abc\""))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/repos/o/r"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"abc\"")
                .set_body_json(body),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/repos/o/r/branches/main"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"name": "main", "commit": {"id": "0123456789abcdef0123456789abcdef01234567"}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/api/v1/repos/o/r/git/trees/0123456789abcdef0123456789abcdef01234567",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"sha": "x", "tree": [], "truncated": false, "page": 1, "total_count": 0}),
        ))
        .mount(&server)
        .await;
    let provider = gitea(&server, &[]);
    provider.list_files(&repo("o/r"), None).await.unwrap();
    let again = provider.list_files(&repo("o/r"), None).await.unwrap();
    assert_eq!(again.revision, "0123456789abcdef0123456789abcdef01234567");
}

#[tokio::test]
async fn a_refused_token_leaves_the_pool_while_another_works() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/version"))
        .and(header("authorization", "token good-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": "1.22.0"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/version"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "token is required"})),
        )
        .mount(&server)
        .await;
    let provider = gitea(&server, &["revoked-token", "good-token"]);
    for _ in 0..3 {
        provider.health().await.unwrap();
    }
    let refused = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.headers.get("authorization").unwrap() == "token revoked-token")
        .count();
    assert_eq!(refused, 1, "asked once, then left out");
}
