//! GitLab (API v4) against a stand-in answering gitlab.com's documented payloads, headers,
//! keyset paging and errors.

use std::{sync::Arc, time::Duration};

use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path, query_param},
};
use wump_core::OrganizationKind;
use wump_providers::{
    DataProvider, GitLabProvider, MemoryHttpCache, PageToken, ProviderError, RepoRef,
    forge_mock::{StandInRepo, UPDATED_AT, gitlab_error, gitlab_project, mount_gitlab},
};

use crate::{
    forge_support::{
        answering, answering_exactly, assert_held, assert_not_found, assert_rate_limited_for,
        assert_unauthorized, assert_upstream, forge_settings, mount_token_gate, owner, repo_on,
        search, summary,
    },
    helpers::http_settings,
};

const WEB: &str = "https://gitlab.com";

fn gitlab(server: &MockServer, tokens: &[&str]) -> GitLabProvider {
    GitLabProvider::new(
        &forge_settings(format!("{}/api/v4", server.uri()), "gitlab.com", tokens),
        &http_settings(),
        Arc::new(MemoryHttpCache::default()),
    )
    .unwrap()
}

fn repo(full_name: &str) -> RepoRef {
    repo_on("gitlab.com", full_name)
}

fn fixture() -> Vec<StandInRepo> {
    let mut archived = StandInRepo::new("acme", "old", 2, &[]);
    archived.archived = true;
    let mut fork = StandInRepo::new(
        "bob",
        "tool",
        4,
        &[("Cargo.toml", "[package]\nname = \"t\"\n")],
    );
    fork.fork = true;
    vec![
        StandInRepo::new(
            "acme",
            "web",
            42,
            &[
                ("package.json", r#"{"dependencies":{"left-pad":"^1.3.0"}}"#),
                ("app/requirements.txt", "requests==2.32.0\n"),
            ],
        ),
        archived,
        fork,
    ]
}

#[tokio::test]
async fn project_search_maps_groups_users_stars_and_flags() {
    let server = MockServer::start().await;
    mount_gitlab(&server, WEB, &fixture(), &["acme"]).await;
    let page = gitlab(&server, &[])
        .discover_repositories(&search("web"), None)
        .await
        .unwrap();
    assert_eq!(
        summary(&page),
        [
            (
                "gitlab.com",
                "acme/web".to_owned(),
                OrganizationKind::Organization,
                42,
                false,
                false
            ),
            (
                "gitlab.com",
                "acme/old".to_owned(),
                OrganizationKind::Organization,
                2,
                true,
                false
            ),
            (
                "gitlab.com",
                "bob/tool".to_owned(),
                OrganizationKind::User,
                4,
                false,
                true
            ),
        ]
    );
    assert_eq!(
        page.repositories[0].change_token.as_deref(),
        Some(UPDATED_AT)
    );
    assert_eq!(page.next, None);
}

#[tokio::test]
async fn keyset_pages_follow_the_link_header_and_tokens_stay_on_the_instance() {
    let server = MockServer::start().await;
    let api = format!("{}/api/v4", server.uri());
    let next = format!(
        "{api}/projects?id_after=5042&order_by=id&pagination=keyset&per_page=100&search=lib&sort=asc&visibility=public"
    );
    let mut nested = gitlab_project(WEB, &StandInRepo::new("acme", "deep", 1, &[]), true);
    nested["namespace"]["full_path"] = json!("acme/sub");
    nested["path_with_namespace"] = json!("acme/sub/deep");
    Mock::given(method("GET"))
        .and(path("/api/v4/projects"))
        .and(query_param("id_after", "5042"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([gitlab_project(
                WEB,
                &StandInRepo::new("bob", "two", 3, &[]),
                false
            )])),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/projects"))
        .and(query_param("pagination", "keyset"))
        .and(query_param("search", "lib"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", format!("<{next}>; rel=\"next\""))
                .set_body_json(json!([
                    gitlab_project(WEB, &StandInRepo::new("acme", "one", 42, &[]), true),
                    nested
                ])),
        )
        .mount(&server)
        .await;
    let provider = gitlab(&server, &[]);
    let query = search("lib");
    let one = provider.discover_repositories(&query, None).await.unwrap();
    let names: Vec<_> = one
        .repositories
        .iter()
        .map(|r| r.repo.full_name.to_string())
        .collect();
    assert_eq!(
        names,
        ["acme/one"],
        "a project in a nested group is skipped"
    );
    let two = provider
        .discover_repositories(&query, one.next.as_ref())
        .await
        .unwrap();
    assert_eq!(two.repositories[0].repo.full_name.to_string(), "bob/two");
    assert_eq!(two.next, None);
    let elsewhere = PageToken(json!({"next": "https://evil.example/api/v4/projects"}).to_string());
    let refused = provider
        .discover_repositories(&query, Some(&elsewhere))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ProviderError::Config { .. }),
        "{refused:?}"
    );
}

#[tokio::test]
async fn owner_listing_tries_the_group_then_the_user() {
    let server = MockServer::start().await;
    mount_gitlab(&server, WEB, &fixture(), &["acme"]).await;
    let provider = gitlab(&server, &[]);
    let group = provider
        .discover_repositories(&owner("acme"), None)
        .await
        .unwrap();
    assert_eq!(group.repositories.len(), 2);
    let user = provider
        .discover_repositories(&owner("bob"), None)
        .await
        .unwrap();
    assert_eq!(user.repositories[0].owner.kind, OrganizationKind::User);
    let nobody = provider
        .discover_repositories(&owner("nobody"), None)
        .await
        .unwrap_err();
    assert_not_found(&nobody);
}

#[tokio::test]
async fn the_tree_follows_keyset_pages_at_the_default_branch_commit_and_raw_files_read_at_it() {
    let server = MockServer::start().await;
    let repos = fixture();
    let sha = repos[0].commit();
    let api = format!("{}/api/v4", server.uri());
    // A second tree page behind a keyset `Link`, with a directory and a symlink to skip.
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/acme%2Fweb/repository/tree"))
        .and(query_param("page_token", "abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "1", "name": "lib", "type": "tree", "path": "lib", "mode": "040000"},
            {"id": "2", "name": "latest", "type": "blob", "path": "lib/latest", "mode": "120000"},
            {"id": "3", "name": "go.mod", "type": "blob", "path": "lib/go.mod", "mode": "100644"}
        ])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/acme%2Fweb/repository/tree"))
        .and(query_param("ref", sha.as_str()))
        .and(query_param("pagination", "keyset"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", format!("<{api}/projects/acme%2Fweb/repository/tree?page_token=abc&pagination=keyset&per_page=100&recursive=true&ref={sha}>; rel=\"next\""))
                .set_body_json(json!([
                    {"id": "4", "name": "package.json", "type": "blob", "path": "package.json", "mode": "100644"}
                ])),
        )
        .mount(&server)
        .await;
    mount_gitlab(&server, WEB, &repos, &["acme"]).await;
    let provider = gitlab(&server, &[]);
    let tree = provider.list_files(&repo("acme/web"), None).await.unwrap();
    assert_eq!(tree.revision, sha);
    let paths: Vec<_> = tree.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["package.json", "lib/go.mod"]);
    let file = provider
        .fetch_file(&repo("acme/web"), "app/requirements.txt", Some(&sha), 1024)
        .await
        .unwrap();
    assert_eq!(file.bytes, b"requests==2.32.0\n");
    let missing = provider
        .fetch_file(&repo("acme/web"), "nope", None, 1024)
        .await
        .unwrap_err();
    assert_not_found(&missing);
    let too_large = provider
        .fetch_file(&repo("acme/web"), "package.json", Some(&sha), 8)
        .await
        .unwrap_err();
    assert!(
        matches!(too_large, ProviderError::TooLarge { .. }),
        "{too_large:?}"
    );
    let gone = provider
        .list_files(&repo("acme/deleted"), None)
        .await
        .unwrap_err();
    assert_not_found(&gone);
}

#[tokio::test]
async fn groups_and_users_have_profiles_and_funding_from_their_profile_projects() {
    let server = MockServer::start().await;
    let profile = StandInRepo::new(
        "acme",
        "gitlab-profile",
        0,
        &[(
            "funding.json",
            r#"{"version": "v1.0.0", "entity": {"type": "organisation", "role": "owner", "name": "Acme", "email": "a@acme.example", "description": "x", "webpageUrl": {"url": "https://acme.example"}}, "projects": [], "funding": {"channels": [{"guid": "oc", "type": "payment-provider", "address": "https://opencollective.com/acme", "description": "Open Collective"}], "plans": []}}"#,
        )],
    );
    mount_gitlab(&server, WEB, &[fixture()[0].clone(), profile], &["acme"]).await;
    mount_gitlab(&server, WEB, &[fixture()[2].clone()], &[]).await;
    let provider = gitlab(&server, &[]);
    let group = provider.fetch_owner("acme").await.unwrap();
    assert_eq!(group.kind, OrganizationKind::Organization);
    assert_eq!(group.name.as_deref(), Some("acme group"));
    assert_eq!(group.description.as_deref(), Some("The acme group"));
    let urls: Vec<_> = group.funding.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(urls, ["https://opencollective.com/acme"]);
    let user = provider.fetch_owner("bob").await.unwrap();
    assert_eq!(user.kind, OrganizationKind::User);
    assert_eq!(user.description.as_deref(), Some("Writes code"));
    assert_eq!(user.website_url.as_deref(), Some("https://bob.example"));
}

#[tokio::test]
async fn the_private_token_header_carries_the_token_and_401_403_are_unauthorized() {
    let server = MockServer::start().await;
    mount_token_gate(
        &server,
        "/api/v4/projects",
        ("private-token", "glpat-good"),
        ResponseTemplate::new(200).set_body_json(json!([])),
        gitlab_error(401, "401 Unauthorized"),
    )
    .await;
    gitlab(&server, &["glpat-good"]).health().await.unwrap();
    let refused = gitlab(&server, &["glpat-bad"]).health().await.unwrap_err();
    assert_eq!(
        refused,
        ProviderError::Unauthorized {
            provider: "gitlab".into(),
            status: 401
        }
    );
    let forbidden = answering(gitlab_error(403, "403 Forbidden")).await;
    let error = gitlab(&forbidden, &[])
        .list_files(&repo("a/b"), None)
        .await
        .unwrap_err();
    assert_unauthorized(&error, 403);
}

#[tokio::test]
async fn ratelimit_headers_and_429_hold_the_provider() {
    let server = MockServer::start().await;
    let reset = chrono::Utc::now().timestamp() + 45;
    Mock::given(method("GET"))
        .and(path("/api/v4/projects"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("ratelimit-name", "throttle_unauthenticated_api")
                .insert_header("ratelimit-limit", "500")
                .insert_header("ratelimit-observed", "501")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-reset", reset.to_string())
                .insert_header("retry-after", "30")
                .set_body_string("Retry later\n"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let provider = gitlab(&server, &[]);
    let limited = provider.health().await.unwrap_err();
    assert_rate_limited_for(&limited, Duration::from_secs(30));
    let held = provider.health().await.unwrap_err();
    assert_held(&held);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let server = answering_exactly(gitlab_error(500, "500 Internal Server Error"), 3).await;
    let error = gitlab(&server, &[]).health().await.unwrap_err();
    assert_upstream(&error, 500);
}
