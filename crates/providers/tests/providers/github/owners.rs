//! Owner profiles: REST profile, FUNDING.yml in the `.github` repository, Sponsors via
//! GraphQL, and batched GraphQL lookups.

use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{body_string_contains, header, method, path},
};
use wump_core::{FundingLink, OrganizationKind};
use wump_providers::{DataProvider, ProviderError};

use super::support::{ClockHold, limited, not_found, ok_json, provider, repository};

fn user(login: &str, kind: &str, name: &str, blog: &str, bio: Value) -> Value {
    json!({
        "login": login,
        "id": 9919,
        "node_id": "MDEyOk9yZ2FuaXphdGlvbjk5MTk=",
        "avatar_url": "https://avatars.githubusercontent.com/u/9919?v=4",
        "gravatar_id": "",
        "url": format!("https://api.github.com/users/{login}"),
        "html_url": format!("https://github.com/{login}"),
        "type": kind,
        "user_view_type": "public",
        "site_admin": false,
        "name": name,
        "company": null,
        "blog": blog,
        "location": "San Francisco, CA",
        "email": null,
        "hireable": null,
        "bio": bio,
        "twitter_username": null,
        "public_repos": 512,
        "public_gists": 0,
        "followers": 58000,
        "following": 0,
        "created_at": "2008-05-11T04:37:31Z",
        "updated_at": "2024-01-26T19:14:43Z"
    })
}

fn graphql(data: Value) -> ResponseTemplate {
    limited(ResponseTemplate::new(200), "graphql", 5000, 4999, 3600).set_body_raw(
        json!({ "data": data }).to_string(),
        "application/json; charset=utf-8",
    )
}

#[tokio::test(start_paused = true)]
async fn an_owner_has_its_profile_funding_yml_and_sponsors_listing() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/rust-lang"))
        .respond_with(ok_json(user(
            "rust-lang",
            "Organization",
            "The Rust Programming Language",
            "rust-lang.org",
            Value::Null,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/rust-lang/.github"))
        .respond_with(ok_json(repository(
            "rust-lang",
            "Organization",
            ".github",
            10,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/repos/rust-lang/.github/contents/.github/FUNDING.yml",
        ))
        .respond_with(not_found())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/rust-lang/.github/contents/FUNDING.yml"))
        .and(header("accept", "application/vnd.github.raw+json"))
        .respond_with(
            limited(ResponseTemplate::new(200), "core", 5000, 4990, 3600).set_body_raw(
                "# These are supported funding model platforms\n\
                 github: [rust-lang]\n\
                 open_collective: rust-lang\n\
                 custom: [\"https://foundation.rust-lang.org/members/join/\"]\n",
                "application/vnd.github.raw",
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", "Bearer ghp_one"))
        .and(body_string_contains("o0: repositoryOwner(login: $l0)"))
        .and(body_string_contains("hasSponsorsListing"))
        .respond_with(graphql(json!({
            "o0": {
                "__typename": "Organization",
                "login": "rust-lang",
                "name": "The Rust Programming Language",
                "description": "The Rust Programming Language",
                "websiteUrl": "https://rust-lang.org",
                "hasSponsorsListing": true,
                "sponsorsListing": { "url": "https://github.com/sponsors/rust-lang" },
                "repositories": { "totalCount": 230 }
            }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);

    let owner = github.fetch_owner("rust-lang").await.unwrap();

    assert_eq!(owner.login, "rust-lang");
    assert_eq!(owner.kind, OrganizationKind::Organization);
    assert_eq!(owner.name.as_deref(), Some("The Rust Programming Language"));
    assert_eq!(
        owner.description.as_deref(),
        Some("The Rust Programming Language"),
        "organizations describe themselves in GraphQL"
    );
    assert_eq!(owner.website_url.as_deref(), Some("https://rust-lang.org"));
    assert_eq!(
        owner.sponsors_listing_url.as_deref(),
        Some("https://github.com/sponsors/rust-lang")
    );
    assert_eq!(owner.repositories_count, Some(512));
    let link = |platform: &str, url: &str| FundingLink {
        platform: platform.to_owned(),
        url: url.to_owned(),
    };
    assert_eq!(
        owner.funding,
        [
            link("github", "https://github.com/sponsors/rust-lang"),
            link("open_collective", "https://opencollective.com/rust-lang"),
            link("custom", "https://foundation.rust-lang.org/members/join/"),
        ]
    );
    let graphql_request = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/graphql")
        .unwrap();
    let body: Value = serde_json::from_slice(&graphql_request.body).unwrap();
    assert_eq!(body["variables"], json!({"l0": "rust-lang"}));
}

#[tokio::test(start_paused = true)]
async fn a_user_without_a_github_repository_has_no_funding_file_and_no_graphql_anonymously() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/octocat"))
        .respond_with(ok_json(user(
            "octocat",
            "User",
            "The Octocat",
            "https://github.blog",
            json!("There once was..."),
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/.github"))
        .respond_with(not_found())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(401))
        .expect(0)
        .mount(&server)
        .await;
    let github = provider(&server, &[]);

    let owner = github.fetch_owner("octocat").await.unwrap();

    assert_eq!(owner.kind, OrganizationKind::User);
    assert_eq!(owner.description.as_deref(), Some("There once was..."));
    assert_eq!(owner.website_url.as_deref(), Some("https://github.blog"));
    assert!(owner.funding.is_empty());
    assert_eq!(owner.sponsors_listing_url, None);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_unknown_owner_is_not_found() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/nobody-here"))
        .respond_with(not_found())
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);

    let error = github.fetch_owner("nobody-here").await.unwrap_err();
    assert!(matches!(error, ProviderError::NotFound { .. }), "{error:?}");
}

/// Answers a batched owner query: every `oN` alias, `null` for logins starting `ghost`.
fn batch_answer(request: &Request) -> ResponseTemplate {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    let variables = body["variables"].as_object().unwrap();
    let data: serde_json::Map<String, Value> = variables
        .iter()
        .map(|(name, login)| {
            let alias = name.replacen('l', "o", 1);
            let login = login.as_str().unwrap();
            let owner = if login.starts_with("ghost") {
                Value::Null
            } else {
                json!({
                    "__typename": "User",
                    "login": login,
                    "name": null,
                    "bio": "",
                    "websiteUrl": null,
                    "hasSponsorsListing": false,
                    "sponsorsListing": null,
                    "repositories": { "totalCount": 3 }
                })
            };
            (alias, owner)
        })
        .collect();
    graphql(Value::Object(data))
}

#[tokio::test(start_paused = true)]
async fn owners_are_looked_up_50_to_a_graphql_query() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(batch_answer)
        .expect(2)
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);
    let logins: Vec<String> = (0..60)
        .map(|i| {
            if i == 55 {
                "ghost-1".to_owned()
            } else {
                format!("user-{i}")
            }
        })
        .collect();
    let logins: Vec<&str> = logins.iter().map(String::as_str).collect();

    let owners = github.fetch_owners(&logins).await.unwrap();

    assert_eq!(owners.len(), 60);
    assert_eq!(owners[0].as_ref().unwrap().login, "user-0");
    assert_eq!(owners[59].as_ref().unwrap().login, "user-59");
    assert!(owners[55].is_none(), "an unknown login answers null");
    let first = owners[1].as_ref().unwrap();
    assert_eq!(first.kind, OrganizationKind::User);
    assert_eq!(first.description, None);
    assert_eq!(first.repositories_count, Some(3));
    let sizes: Vec<usize> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["variables"].as_object().unwrap().len()
        })
        .collect();
    assert_eq!(sizes, [50, 10]);
}

#[tokio::test(start_paused = true)]
async fn a_graphql_rate_limit_error_is_a_rate_limit() {
    let _hold = ClockHold::new();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(
            limited(ResponseTemplate::new(200), "graphql", 5000, 0, 900).set_body_raw(
                json!({
                    "errors": [{
                        "type": "RATE_LIMITED",
                        "message": "API rate limit exceeded for user ID 1."
                    }]
                })
                .to_string(),
                "application/json; charset=utf-8",
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let github = provider(&server, &["ghp_one"]);

    let error = github.fetch_owners(&["octocat"]).await.unwrap_err();
    assert_eq!(
        error.retry_after(),
        Some(std::time::Duration::from_secs(900))
    );
}
