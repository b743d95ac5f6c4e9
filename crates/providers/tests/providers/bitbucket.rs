//! Bitbucket Cloud (API 2.0) against a stand-in answering bitbucket.org's documented
//! payloads, paginated envelopes, `next` links and errors.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::json;
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{header_exists, method, path, query_param},
};
use wump_core::OrganizationKind;
use wump_providers::{
    BitbucketProvider, DataProvider, DiscoveryQuery, MemoryHttpCache, PageToken, ProviderError,
    RepoRef, TreeEntry,
    config::HttpSettings,
    forge_mock::{
        StandInRepo, UPDATED_AT, bitbucket_error, bitbucket_page, bitbucket_repository,
        bitbucket_src_entry, mount_bitbucket,
    },
};

use crate::{
    forge_support::{
        answering, answering_exactly, assert_held, assert_not_found, assert_rate_limited_for,
        assert_unauthorized, forge_settings, mount_one_bad_gateway, mount_token_gate, owner,
        repo_on, search,
    },
    helpers::http_settings,
};

const WEB: &str = "https://bitbucket.org";

fn bitbucket_with(server: &MockServer, tokens: &[&str], http: &HttpSettings) -> BitbucketProvider {
    BitbucketProvider::new(
        &forge_settings(api(server), "bitbucket.org", tokens),
        http,
        Arc::new(MemoryHttpCache::default()),
    )
    .unwrap()
}

fn bitbucket(server: &MockServer, tokens: &[&str]) -> BitbucketProvider {
    bitbucket_with(server, tokens, &http_settings())
}

fn api(server: &MockServer) -> String {
    format!("{}/2.0", server.uri())
}

fn repo(full_name: &str) -> RepoRef {
    repo_on("bitbucket.org", full_name)
}

/// The team workspace `atlassian` and the person `bob`, whose repository is a fork.
fn fixture() -> Vec<StandInRepo> {
    let mut fork = StandInRepo::new(
        "bob",
        "tool",
        4,
        &[("Cargo.toml", "[package]\nname = \"t\"\n")],
    );
    fork.fork = true;
    vec![
        StandInRepo::new(
            "atlassian",
            "web",
            42,
            &[
                ("package.json", r#"{"dependencies":{"left-pad":"^1.3.0"}}"#),
                ("app/requirements.txt", "requests==2.32.0\n"),
            ],
        ),
        fork,
    ]
}

#[tokio::test]
async fn search_filters_the_public_listing_by_name_and_maps_workspaces_and_forks() {
    let server = MockServer::start().await;
    mount_bitbucket(&server, WEB, &fixture(), &["atlassian"]).await;
    let page = bitbucket(&server, &[])
        .discover_repositories(&search("we\"b"), None)
        .await
        .unwrap();
    let got: Vec<_> = page
        .repositories
        .iter()
        .map(|r| {
            (
                r.repo.host.as_str(),
                r.repo.full_name.to_string(),
                r.owner.login.as_str(),
                r.owner.kind,
                r.fork,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "bitbucket.org",
                "atlassian/web".to_owned(),
                "atlassian",
                OrganizationKind::Organization,
                false
            ),
            (
                "bitbucket.org",
                "bob/tool".to_owned(),
                "bob",
                OrganizationKind::User,
                true
            ),
        ]
    );
    let web = &page.repositories[0];
    // Bitbucket has no stars, fork counts or archived flag.
    assert_eq!((web.stars, web.forks, web.archived), (0, 0, false));
    assert_eq!(web.change_token.as_deref(), Some(UPDATED_AT));
    assert_eq!(web.default_branch.as_deref(), Some("main"));
    assert_eq!(web.language.as_deref(), Some("javascript"));
    assert_eq!(page.next, None);
    let asked = &server.received_requests().await.unwrap()[0];
    let q: Vec<_> = asked.url.query_pairs().collect();
    assert!(
        q.contains(&(
            "q".into(),
            r#"name ~ "we\"b" AND is_private = false"#.into()
        )),
        "BBQL with the quote escaped: {q:?}"
    );
    assert!(q.contains(&("pagelen".into(), "100".into())), "{q:?}");
}

#[tokio::test]
async fn pages_follow_next_links_and_never_leave_the_api() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let api = api(&server);
    let mut private =
        bitbucket_repository(WEB, &api, &StandInRepo::new("acme", "secret", 0, &[]), true);
    private["is_private"] = json!(true);
    Mock::given(method("GET"))
        .and(path("/2.0/repositories/acme"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bitbucket_page(
            vec![bitbucket_repository(
                WEB,
                &api,
                &StandInRepo::new("acme", "two", 0, &[]),
                true,
            )],
            2,
            None,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2.0/repositories/acme"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bitbucket_page(
            vec![
                bitbucket_repository(WEB, &api, &StandInRepo::new("acme", "one", 0, &[]), true),
                private,
            ],
            1,
            Some(format!("{api}/repositories/acme?pagelen=100&page=2")),
        )))
        .mount(&server)
        .await;
    // A listing whose `next` points at another host.
    Mock::given(method("GET"))
        .and(path("/2.0/repositories/evil"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bitbucket_page(
            vec![bitbucket_repository(
                WEB,
                &api,
                &StandInRepo::new("evil", "bait", 0, &[]),
                true,
            )],
            1,
            Some(format!("{}/2.0/repositories/evil?page=2", elsewhere.uri())),
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let provider = bitbucket(&server, &["ATCTT3xFfGN0token"]);
    let one = provider
        .discover_repositories(&owner("acme"), None)
        .await
        .unwrap();
    let names: Vec<_> = one
        .repositories
        .iter()
        .map(|r| r.repo.full_name.to_string())
        .collect();
    assert_eq!(names, ["acme/one"], "the private repository is skipped");
    let two = provider
        .discover_repositories(&owner("acme"), one.next.as_ref())
        .await
        .unwrap();
    assert_eq!(two.repositories[0].repo.full_name.to_string(), "acme/two");
    assert_eq!(two.next, None);

    let foreign = provider
        .discover_repositories(&owner("evil"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&foreign, ProviderError::Malformed { message, .. } if message.contains("leaves the configured API")),
        "{foreign:?}"
    );
    let token = PageToken(
        json!({"next": format!("{}/2.0/repositories/evil?page=2", elsewhere.uri())}).to_string(),
    );
    let refused = provider
        .discover_repositories(&owner("evil"), Some(&token))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ProviderError::Config { .. }),
        "{refused:?}"
    );
    // A sibling path on the same host is not the API either.
    let sibling =
        PageToken(json!({"next": format!("{}/2.0evil/repositories", server.uri())}).to_string());
    let refused = provider
        .discover_repositories(&owner("evil"), Some(&sibling))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ProviderError::Config { .. }),
        "{refused:?}"
    );
    elsewhere.verify().await;
}

#[tokio::test]
async fn a_workspace_listing_is_not_found_when_the_workspace_is_not_there() {
    let server = MockServer::start().await;
    mount_bitbucket(&server, WEB, &fixture(), &["atlassian"]).await;
    let provider = bitbucket(&server, &[]);
    let team = provider
        .discover_repositories(&owner("atlassian"), None)
        .await
        .unwrap();
    assert_eq!(team.repositories.len(), 1);
    let nobody = provider
        .discover_repositories(&owner("nobody"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&nobody, ProviderError::NotFound { what, .. } if what == "owner nobody"),
        "{nobody:?}"
    );
    let everything = provider
        .discover_repositories(&DiscoveryQuery::All, None)
        .await
        .unwrap_err();
    assert!(
        matches!(everything, ProviderError::Unsupported { .. }),
        "{everything:?}"
    );
}

#[tokio::test]
async fn the_src_listing_is_read_at_the_main_commit_and_raw_files_at_it_or_at_main() {
    let server = MockServer::start().await;
    let repos = fixture();
    mount_bitbucket(&server, WEB, &repos, &["atlassian"]).await;
    let provider = bitbucket(&server, &[]);
    let tree = provider
        .list_files(&repo("atlassian/web"), None)
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
                path: "app/requirements.txt".into(),
                size: 17
            },
        ],
        "files only, no `app` directory"
    );
    let listed = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().contains("/src/"))
        .unwrap();
    assert!(
        listed
            .url
            .path()
            .ends_with(&format!("/src/{}/", repos[0].commit()))
    );
    assert!(
        listed.url.query().unwrap().contains("max_depth=20"),
        "{}",
        listed.url
    );
    let at_commit = provider
        .fetch_file(
            &repo("atlassian/web"),
            "app/requirements.txt",
            Some(&tree.revision),
            1024,
        )
        .await
        .unwrap();
    assert_eq!(at_commit.bytes, b"requests==2.32.0\n");
    // No revision: the main branch (remembered from the repository, not asked again).
    let at_main = provider
        .fetch_file(&repo("atlassian/web"), "package.json", None, 1024)
        .await
        .unwrap();
    assert_eq!(at_main.bytes, br#"{"dependencies":{"left-pad":"^1.3.0"}}"#);
    let repository_lookups = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/2.0/repositories/atlassian/web")
        .count();
    assert_eq!(repository_lookups, 1);
    let missing = provider
        .fetch_file(&repo("atlassian/web"), "nope.txt", None, 1024)
        .await
        .unwrap_err();
    assert_not_found(&missing);
    let too_large = provider
        .fetch_file(&repo("atlassian/web"), "package.json", None, 10)
        .await
        .unwrap_err();
    assert!(
        matches!(too_large, ProviderError::TooLarge { limit: 10, .. }),
        "{too_large:?}"
    );
    let gone = provider
        .list_files(&repo("atlassian/deleted"), None)
        .await
        .unwrap_err();
    assert_not_found(&gone);
}

#[tokio::test]
async fn src_pages_follow_next_and_skip_directories_symlinks_and_submodules() {
    let server = MockServer::start().await;
    let api = api(&server);
    let big = StandInRepo::new("o", "big", 1, &[]);
    let sha = big.commit();
    let listing = format!("/2.0/repositories/o/big/src/{sha}/");
    let mut link = bitbucket_src_entry(&api, &big, "latest", Some(12));
    link["attributes"] = json!(["link"]);
    let mut submodule = bitbucket_src_entry(&api, &big, "vendor/lib", Some(0));
    submodule["attributes"] = json!(["subrepository"]);
    let mut executable = bitbucket_src_entry(&api, &big, "z/Cargo.toml", Some(21));
    executable["attributes"] = json!(["executable"]);
    Mock::given(method("GET"))
        .and(path(listing.clone()))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bitbucket_page(
            vec![link, submodule, executable],
            2,
            None,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(listing.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(bitbucket_page(
            vec![
                bitbucket_src_entry(&api, &big, "a", None),
                bitbucket_src_entry(&api, &big, "a/package.json", Some(10)),
            ],
            1,
            Some(format!(
                "{api}{}?max_depth=20&pagelen=100&page=2",
                &listing[4..]
            )),
        )))
        .mount(&server)
        .await;
    let tree = bitbucket(&server, &[])
        .list_files(&repo("o/big"), Some(&sha))
        .await
        .unwrap();
    let paths: Vec<_> = tree.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["a/package.json", "z/Cargo.toml"]);
    assert!(!tree.truncated, "every page was read");
    assert_eq!(tree.revision, sha, "a SHA needs no resolving");

    // A `next` to another host is not followed.
    let bait = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(listing))
        .respond_with(ResponseTemplate::new(200).set_body_json(bitbucket_page(
            vec![bitbucket_src_entry(&api, &big, "README", Some(3))],
            1,
            Some(format!(
                "https://evil.example/2.0/repositories/o/big/src/{sha}/?page=2"
            )),
        )))
        .mount(&bait)
        .await;
    let error = bitbucket(&bait, &[])
        .list_files(&repo("o/big"), Some(&sha))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Malformed { message, .. } if message.contains("evil.example")),
        "{error:?}"
    );
}

/// Answers every `src` page with `per_page` files and a `next` to the page after.
struct EndlessListing {
    api: String,
    per_page: usize,
}

impl Respond for EndlessListing {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let page: usize = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(1);
        let repo = StandInRepo::new("o", "huge", 1, &[]);
        let values = (0..self.per_page)
            .map(|i| bitbucket_src_entry(&self.api, &repo, &format!("d{page}/f{i}.txt"), Some(1)))
            .collect();
        let next = format!(
            "{}/repositories/o/huge/src/{}/?pagelen=100&page={}",
            self.api,
            repo.commit(),
            page + 1
        );
        ResponseTemplate::new(200).set_body_json(bitbucket_page(values, page as u32, Some(next)))
    }
}

#[tokio::test]
async fn an_over_long_listing_is_cut_short_and_an_over_large_page_refused() {
    let server = MockServer::start().await;
    let sha = StandInRepo::new("o", "huge", 1, &[]).commit();
    Mock::given(method("GET"))
        .and(path(format!("/2.0/repositories/o/huge/src/{sha}/")))
        .respond_with(EndlessListing {
            api: api(&server),
            per_page: 2,
        })
        .mount(&server)
        .await;
    let tree = bitbucket(&server, &[])
        .list_files(&repo("o/huge"), Some(&sha))
        .await
        .unwrap();
    assert!(tree.truncated, "the listing never ends: cut short");
    assert_eq!(tree.entries.len(), 2 * 50, "50 pages read");
    assert_eq!(server.received_requests().await.unwrap().len(), 50);

    // One page over the response cap is refused rather than read.
    let small = HttpSettings {
        max_response_bytes: 4 * 1024,
        ..http_settings()
    };
    let wide = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/2.0/repositories/o/huge/src/{sha}/")))
        .respond_with(EndlessListing {
            api: api(&wide),
            per_page: 100,
        })
        .mount(&wide)
        .await;
    let error = bitbucket_with(&wide, &[], &small)
        .list_files(&repo("o/huge"), Some(&sha))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::TooLarge { limit: 4096, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_empty_repository_has_no_files() {
    let server = MockServer::start().await;
    let mut empty = bitbucket_repository(
        WEB,
        &api(&server),
        &StandInRepo::new("o", "e", 0, &[]),
        true,
    );
    empty["mainbranch"] = json!(null);
    Mock::given(method("GET"))
        .and(path("/2.0/repositories/o/e"))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty))
        .expect(1)
        .mount(&server)
        .await;
    let tree = bitbucket(&server, &[])
        .list_files(&repo("o/e"), None)
        .await
        .unwrap();
    assert!(tree.entries.is_empty() && !tree.truncated);
}

#[tokio::test]
async fn workspaces_have_names_kinds_and_funding_from_their_github_repository() {
    let server = MockServer::start().await;
    let profile = StandInRepo::new(
        "atlassian",
        ".github",
        0,
        &[(
            ".github/FUNDING.yml",
            "liberapay: atlassian\ncustom: [\"https://donate.example/atlassian\"]\n",
        )],
    );
    mount_bitbucket(
        &server,
        WEB,
        &[fixture()[0].clone(), profile],
        &["atlassian"],
    )
    .await;
    mount_bitbucket(&server, WEB, &[fixture()[1].clone()], &[]).await;
    // A fresh provider: the kinds come from the workspaces' own listings.
    let provider = bitbucket(&server, &[]);
    let team = provider.fetch_owner("atlassian").await.unwrap();
    assert_eq!(team.login, "atlassian");
    assert_eq!(team.kind, OrganizationKind::Organization);
    assert_eq!(team.name.as_deref(), Some("atlassian team"));
    assert_eq!((team.description, team.website_url), (None, None));
    let urls: Vec<_> = team.funding.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://liberapay.com/atlassian",
            "https://donate.example/atlassian"
        ]
    );
    let person = provider.fetch_owner("bob").await.unwrap();
    assert_eq!(
        (person.kind, person.name.as_deref()),
        (OrganizationKind::User, Some("A Person"))
    );
    assert!(person.funding.is_empty());
    // bob has no `.github`: asked once, not once per funding path.
    let asked = server.received_requests().await.unwrap();
    let bob_profile = asked
        .iter()
        .filter(|r| r.url.path().starts_with("/2.0/repositories/bob/.github"))
        .count();
    assert_eq!(bob_profile, 1);
    let nobody = provider.fetch_owner("nobody").await.unwrap_err();
    assert_not_found(&nobody);
}

/// Lines written by the tracing subscriber of the current thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn bearer_tokens_401_and_403_are_unauthorized_and_tokens_stay_out_of_logs_and_errors() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    mount_token_gate(
        &server,
        "/2.0/repositories",
        ("authorization", "Bearer ATCTT3xFfGN0good"),
        ResponseTemplate::new(200).set_body_json(bitbucket_page(vec![], 1, None)),
        bitbucket_error(
            401,
            "Token is invalid, expired, or not supported for this endpoint.",
        ),
    )
    .await;
    bitbucket(&server, &["ATCTT3xFfGN0good"])
        .health()
        .await
        .unwrap();
    // A refused token leaves the pool while another works.
    let pool = bitbucket(&server, &["ATCTT3xFfGN0revoked", "ATCTT3xFfGN0good"]);
    for _ in 0..3 {
        pool.health().await.unwrap();
    }
    let refused = bitbucket(&server, &["ATCTT3xFfGN0bad"])
        .health()
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        ProviderError::Unauthorized {
            provider: "bitbucket".into(),
            status: 401
        }
    );
    let forbidden_server = answering(bitbucket_error(
        403,
        "Your credentials lack one or more required privilege scopes.",
    ))
    .await;
    let forbidden = bitbucket(&forbidden_server, &["ATCTT3xFfGN0scopeless"])
        .list_files(&repo("o/r"), None)
        .await
        .unwrap_err();
    assert_unauthorized(&forbidden, 403);

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("forge refused"),
        "the refusals are logged: {logs}"
    );
    let revoked = wump_providers::fleet::fingerprint("ATCTT3xFfGN0revoked");
    assert!(logs.contains(&revoked[..8]), "named by fingerprint: {logs}");
    for text in [
        logs,
        format!("{refused:?} {refused}"),
        format!("{forbidden:?} {forbidden}"),
    ] {
        assert!(!text.contains("ATCTT3xFfGN0"), "a token leaked: {text}");
    }
}

#[tokio::test]
async fn a_429_holds_for_its_retry_after_or_five_minutes_without_one() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2.0/repositories/o/r"))
        .respond_with(
            bitbucket_error(429, "Rate limit for this resource has been exceeded")
                .insert_header("retry-after", "120"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let provider = bitbucket(&server, &[]);
    let limited = provider.list_files(&repo("o/r"), None).await.unwrap_err();
    assert_rate_limited_for(&limited, Duration::from_secs(120));
    // Held: the next call is refused without a request (`expect(1)` checks on drop).
    let held = provider
        .fetch_file(&repo("o/r"), "a", Some("main"), 10)
        .await
        .unwrap_err();
    assert_held(&held);

    let bare = answering_exactly(
        bitbucket_error(429, "Rate limit for this resource has been exceeded")
            .insert_header("x-ratelimit-limit", "1000")
            .insert_header("x-ratelimit-resource", "api")
            .insert_header("x-ratelimit-nearlimit", "true"),
        1,
    )
    .await;
    let provider = bitbucket(&bare, &["ATCTT3xFfGN0t"]);
    let limited = provider.health().await.unwrap_err();
    assert_rate_limited_for(&limited, Duration::from_secs(300));
    let held = provider.health().await.unwrap_err();
    assert!(
        matches!(held, ProviderError::RateLimited { retry_after, .. } if retry_after > Duration::from_secs(290)),
        "{held:?}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_and_other_refusals_rejected() {
    let server = MockServer::start().await;
    mount_one_bad_gateway(
        &server,
        "/2.0/repositories",
        ResponseTemplate::new(200).set_body_json(bitbucket_page(vec![], 1, None)),
    )
    .await;
    bitbucket(&server, &[]).health().await.unwrap();
    let down = answering_exactly(bitbucket_error(500, "Something went wrong"), 3).await;
    let error = bitbucket(&down, &[]).health().await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::Upstream { status: 500, message, .. } if message == "Something went wrong"),
        "{error:?}"
    );
    // An invalid BBQL query: the message is Bitbucket's `error.message`.
    let picky = answering(bitbucket_error(400, "Invalid field name 'nmae'")).await;
    let rejected = bitbucket(&picky, &[])
        .discover_repositories(&search("x"), None)
        .await
        .unwrap_err();
    assert_eq!(
        rejected,
        ProviderError::Rejected {
            provider: "bitbucket".into(),
            status: 400,
            message: "Invalid field name 'nmae'".into()
        }
    );
}

#[tokio::test]
async fn raw_files_with_an_etag_are_revalidated_and_a_304_serves_the_kept_body() {
    let server = MockServer::start().await;
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let file = format!("/2.0/repositories/o/r/src/{sha}/package.json");
    Mock::given(method("GET"))
        .and(path(file.clone()))
        .and(header_exists("if-none-match"))
        .respond_with(ResponseTemplate::new(304).insert_header("etag", "\"f1\""))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(file))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"f1\"")
                .set_body_string("{}"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let provider = bitbucket(&server, &[]);
    for _ in 0..2 {
        let file = provider
            .fetch_file(&repo("o/r"), "package.json", Some(sha), 1024)
            .await
            .unwrap();
        assert_eq!(file.bytes, b"{}");
    }
}
