//! Libraries.io and ecosyste.ms: package lookups and dependent repositories page by page.

use secrecy::SecretString;
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path, query_param},
};
use wump_core::{Ecosystem, FundingLink, PackageRef};
use wump_providers::{
    DataProvider, DiscoveryQuery, PageToken, ProviderError, ProviderKind, RepositoryPage,
    aggregators::{Ecosystems, LibrariesIo},
};

use crate::helpers::{base, client};

const KEY: &str = "s3cret-api-key";

fn libraries_io(server: &MockServer, per_page: u32) -> LibrariesIo {
    LibrariesIo::new(
        client("libraries.io"),
        base(server),
        SecretString::from(KEY),
        per_page,
    )
}

fn ecosystems(server: &MockServer, per_page: u32) -> Ecosystems {
    let url = base(server);
    let packages = url.join("packages/api/v1").unwrap();
    let repos = url.join("repos/api/v1").unwrap();
    Ecosystems::new(
        client("ecosyste.ms"),
        packages,
        repos,
        Some("ops@example.org".into()),
        per_page,
    )
}

fn dependents(ecosystem: Ecosystem, name: &str) -> DiscoveryQuery {
    DiscoveryQuery::DependentsOf {
        package: PackageRef::new(ecosystem, name),
    }
}

fn names(page: &RepositoryPage) -> Vec<String> {
    page.repositories
        .iter()
        .map(|r| format!("{}:{}", r.repo.host, r.repo.full_name))
        .collect()
}

/// A repository as Libraries.io's `dependent_repositories` lists it.
fn lio_repo(full_name: &str, host_type: &str, stars: u64) -> serde_json::Value {
    json!({
        "full_name": full_name, "description": "A dependent", "fork": false,
        "created_at": "2015-01-21T22:39:58.000Z", "updated_at": "2024-05-01T10:00:00.000Z",
        "pushed_at": "2024-04-30T09:00:00.000Z", "homepage": "", "size": 120,
        "stargazers_count": stars, "language": "JavaScript", "has_issues": true,
        "has_wiki": true, "has_pages": false, "forks_count": 3, "mirror_url": null,
        "open_issues_count": 1, "default_branch": "main", "subscribers_count": 2,
        "uuid": "123", "source_name": null, "license": "mit", "private": false,
        "contributions_count": 4, "has_readme": "README.md", "status": null,
        "last_synced_at": "2024-05-02T00:00:00.000Z", "rank": 10, "host_type": host_type,
        "host_domain": null, "name": null, "scm": "git", "fork_policy": null,
        "github_id": "456", "pull_requests_enabled": "true", "logo_url": null,
        "github_contributions_count": 0, "keywords": []
    })
}

#[tokio::test]
async fn libraries_io_looks_packages_up_with_its_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/NPM/base62"))
        .and(query_param("api_key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "dependent_repos_count": 12000, "dependents_count": 300,
            "deprecation_reason": null, "description": "JavaScript Base62 encode/decoder",
            "forks": 40, "homepage": "https://github.com/base62/base62.js",
            "keywords": ["base-62", "encoder"], "language": "JavaScript",
            "latest_download_url": "https://registry.npmjs.org/base62/-/base62-2.0.1.tgz",
            "latest_release_number": "2.0.2-beta.1",
            "latest_release_published_at": "2022-01-01T00:00:00.000Z",
            "latest_stable_release_number": "2.0.1",
            "latest_stable_release_published_at": "2019-01-13T00:00:00.000Z",
            "license_normalized": false, "licenses": "MIT", "name": "base62",
            "normalized_licenses": ["MIT"],
            "package_manager_url": "https://www.npmjs.com/package/base62",
            "platform": "NPM", "rank": 18,
            "repository_url": "https://github.com/base62/base62.js", "stars": 300,
            "status": null,
            "versions": [{"number": "2.0.1", "published_at": "2019-01-13T00:00:00.000Z"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let lio = libraries_io(&server, 100);
    assert_eq!(lio.kind(), ProviderKind::Aggregator);
    let meta = lio
        .fetch_package(&PackageRef::new(Ecosystem::Npm, "base62"))
        .await
        .unwrap();
    assert_eq!(
        meta.description.as_deref(),
        Some("JavaScript Base62 encode/decoder")
    );
    assert_eq!(
        meta.homepage_url.as_deref(),
        Some("https://github.com/base62/base62.js")
    );
    assert_eq!(
        meta.repository_url.as_deref(),
        Some("https://github.com/base62/base62.js")
    );
    assert_eq!(meta.latest_version.as_deref(), Some("2.0.1"));
}

#[tokio::test]
async fn libraries_io_pages_through_dependent_repositories() {
    let server = MockServer::start().await;
    for (page, body) in [
        (
            "1",
            json!([
                lio_repo("alice/app", "GitHub", 50),
                lio_repo("group/sub/project", "GitLab", 1)
            ]),
        ),
        ("2", json!([lio_repo("team/site", "GitLab", 7)])),
    ] {
        Mock::given(method("GET"))
            .and(path("/NPM/base62/dependent_repositories"))
            .and(query_param("page", page))
            .and(query_param("per_page", "2"))
            .and(query_param("api_key", KEY))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let lio = libraries_io(&server, 2);
    let query = dependents(Ecosystem::Npm, "base62");
    let first = lio.discover_repositories(&query, None).await.unwrap();
    // A GitLab subgroup path is no owner/name: skipped, but the page was full.
    assert_eq!(names(&first), ["github.com:alice/app"]);
    assert_eq!(first.next, Some(PageToken("2".into())));
    let app = &first.repositories[0];
    assert_eq!(
        (app.stars, app.forks, app.fork, app.archived),
        (50, 3, false, false)
    );
    assert_eq!(app.default_branch.as_deref(), Some("main"));
    assert_eq!(
        app.change_token.as_deref(),
        Some("2024-04-30T09:00:00+00:00")
    );

    let second = lio
        .discover_repositories(&query, first.next.as_ref())
        .await
        .unwrap();
    assert_eq!(names(&second), ["gitlab.com:team/site"]);
    assert_eq!(second.next, None);
    server.verify().await;

    let err = lio
        .discover_repositories(&query, Some(&PageToken("https://elsewhere".into())))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Config { .. }), "{err}");
    let err = lio
        .discover_repositories(&DiscoveryQuery::Search { query: "x".into() }, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Unsupported { .. }), "{err}");
}

#[tokio::test]
async fn the_libraries_io_key_never_shows_in_errors_or_debug_output() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&server)
        .await;
    let lio = libraries_io(&server, 100);
    let err = lio
        .fetch_package(&PackageRef::new(Ecosystem::Npm, "x"))
        .await
        .unwrap_err();
    for text in [err.to_string(), format!("{err:?}"), format!("{lio:?}")] {
        assert!(!text.contains(KEY), "{text}");
    }
    server.verify().await;

    // Nothing listens on port 1.
    let unreachable = LibrariesIo::new(
        client("libraries.io"),
        url::Url::parse("http://127.0.0.1:1/api").unwrap(),
        SecretString::from(KEY),
        100,
    );
    let err = unreachable
        .fetch_package(&PackageRef::new(Ecosystem::Npm, "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Network { .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains(KEY));
}

#[tokio::test]
async fn ecosystems_maps_packages_with_owner_funding_links() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/packages/api/v1/registries/npmjs.org/packages/@babel%2Fcore"))
        .and(query_param("mailto", "ops@example.org"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 1, "name": "@babel/core", "ecosystem": "npm",
            "description": "Babel compiler core.",
            "homepage": "https://babel.dev/docs/en/next/babel-core",
            "licenses": "MIT", "normalized_licenses": ["MIT"],
            "repository_url": "https://github.com/babel/babel",
            "keywords_array": [], "namespace": "babel", "versions_count": 200,
            "first_release_published_at": "2015-01-01T00:00:00.000Z",
            "latest_release_published_at": "2024-07-30T00:00:00.000Z",
            "latest_release_number": "7.25.2",
            "last_synced_at": "2024-08-01T00:00:00.000Z",
            "created_at": "2022-01-01T00:00:00.000Z", "updated_at": "2024-08-01T00:00:00.000Z",
            "registry_url": "https://www.npmjs.com/package/@babel/core",
            "documentation_url": null, "install_command": "npm install @babel/core",
            "metadata": {"funding": {"type": "opencollective", "url": "https://opencollective.com/babel"}},
            "repo_metadata": {
                "full_name": "babel/babel",
                "owner_record": {"login": "babel", "kind": "organization",
                                 "funding_links": ["https://github.com/sponsors/babel", "https://opencollective.com/babel"]}
            },
            "dependent_packages_count": 10000, "downloads": 1, "downloads_period": "last-month",
            "dependent_repos_count": 500000, "rankings": {}, "purl": "pkg:npm/%40babel/core",
            "advisories": [], "versions_url": "", "dependent_packages_url": "",
            "related_packages_url": "", "docker_usage_url": "", "docker_dependents_count": 0,
            "docker_downloads_count": 0, "usage_url": "", "dependent_repositories_url": "",
            "status": null, "funding_links": ["https://opencollective.com/babel"],
            "maintainers": [], "critical": true, "issue_metadata": {}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let meta = ecosystems(&server, 100)
        .fetch_package(&PackageRef::new(Ecosystem::Npm, "@babel/core"))
        .await
        .unwrap();
    assert_eq!(meta.description.as_deref(), Some("Babel compiler core."));
    assert_eq!(
        meta.repository_url.as_deref(),
        Some("https://github.com/babel/babel")
    );
    assert_eq!(meta.latest_version.as_deref(), Some("7.25.2"));
    assert_eq!(
        meta.funding,
        [
            FundingLink {
                platform: "open_collective".into(),
                url: "https://opencollective.com/babel".into()
            },
            FundingLink {
                platform: "github".into(),
                url: "https://github.com/sponsors/babel".into()
            },
        ]
    );
}

/// A row of the repos service's `usage/{ecosystem}/{package}/dependencies`.
fn usage_row(full_name: &str, host: &str, manifest: &str) -> serde_json::Value {
    json!({
        "id": 1, "package_name": "left-pad", "ecosystem": "npm", "requirements": "^1.3.0",
        "kind": "runtime", "direct": true, "optional": false,
        "repository": {
            "id": 2, "uuid": "abc", "full_name": full_name, "owner": full_name.split('/').next(),
            "description": "Uses left-pad", "archived": false, "fork": true,
            "pushed_at": "2024-03-01T12:00:00.000Z", "size": 10, "stargazers_count": 12,
            "open_issues_count": 0, "forks_count": 1, "subscribers_count": 1,
            "default_branch": "main", "language": "TypeScript",
            "host": {"name": host, "url": format!("https://{host}"), "kind": "github"}
        },
        "manifest": {"ecosystem": "npm", "filepath": manifest, "kind": "manifest"}
    })
}

#[tokio::test]
async fn ecosystems_follows_link_pagination_for_dependent_repositories() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let next = format!(
        "{uri}/repos/api/v1/usage/npm/left-pad/dependencies?page=2&per_page=2&mailto=ops%40example.org"
    );
    Mock::given(method("GET"))
        .and(path("/repos/api/v1/usage/npm/left-pad/dependencies"))
        .and(query_param("page", "1"))
        .and(query_param("per_page", "2"))
        .and(query_param("mailto", "ops@example.org"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\"").as_str(),
                )
                .set_body_json(json!([
                    usage_row("alice/app", "GitHub.com", "package.json"),
                    usage_row("alice/app", "GitHub.com", "packages/web/package.json"),
                ])),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/api/v1/usage/npm/left-pad/dependencies"))
        .and(query_param("page", "2"))
        .and(query_param("mailto", "ops@example.org"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([usage_row(
            "team/site",
            "gitlab.com",
            "package.json"
        )])))
        .expect(1)
        .mount(&server)
        .await;

    let eco = ecosystems(&server, 2);
    let query = dependents(Ecosystem::Npm, "left-pad");
    let first = eco.discover_repositories(&query, None).await.unwrap();
    assert_eq!(
        names(&first),
        ["github.com:alice/app"],
        "one repository, two manifests"
    );
    assert!(first.repositories[0].fork);
    assert_eq!(
        first.next.as_ref().map(|t| t.0.as_str()),
        Some(next.as_str())
    );

    let second = eco
        .discover_repositories(&query, first.next.as_ref())
        .await
        .unwrap();
    assert_eq!(names(&second), ["gitlab.com:team/site"]);
    assert_eq!(second.next, None);
    server.verify().await;
}

#[tokio::test]
async fn ecosystems_guesses_the_next_page_without_a_link_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/api/v1/usage/cargo/serde/dependencies"))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([usage_row(
            "a/b",
            "github.com",
            "Cargo.toml"
        )])))
        .expect(1)
        .mount(&server)
        .await;
    let eco = ecosystems(&server, 1);
    let first = eco
        .discover_repositories(&dependents(Ecosystem::Cargo, "serde"), None)
        .await
        .unwrap();
    let token = first.next.unwrap().0;
    assert!(
        token.contains("page=2") && token.contains("per_page=1"),
        "{token}"
    );
}

#[tokio::test]
async fn ecosystems_refuses_page_tokens_pointing_elsewhere() {
    let server = MockServer::start().await;
    let eco = ecosystems(&server, 100);
    for token in [
        "https://evil.example/repos/api/v1/usage",
        "not a url",
        "http://127.0.0.1:1/x",
    ] {
        let err = eco
            .discover_repositories(
                &dependents(Ecosystem::Npm, "x"),
                Some(&PageToken(token.into())),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, ProviderError::Config { .. }),
            "{token}: {err}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
    let actions = PackageRef::new(Ecosystem::Actions, "actions/checkout");
    assert!(matches!(
        eco.fetch_package(&actions).await,
        Err(ProviderError::NotFound { .. })
    ));
}

#[tokio::test]
async fn libraries_io_health_checks_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/platforms"))
        .and(query_param("api_key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"name": "NPM", "project_count": 4000000, "homepage": "https://www.npmjs.com",
             "color": "#f1e05a", "default_language": "JavaScript"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    libraries_io(&server, 100).health().await.unwrap();

    let rejecting = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"error": "Error 403, you don't have permissions for this operation."}),
        ))
        .expect(1)
        .mount(&rejecting)
        .await;
    let err = libraries_io(&rejecting, 100).health().await.unwrap_err();
    assert_eq!(
        err,
        ProviderError::Unauthorized {
            provider: "libraries.io".into(),
            status: 403
        }
    );
}
