//! scrape → parse → enrich per forge through the real jobs into PostgreSQL: a Gitea
//! (Codeberg), a GitLab and a Bitbucket Cloud stand-in, each serving repositories whose
//! files imply the dependents and roll-ups asserted, with an `acme` on each forge kept apart.

use std::sync::Arc;

use wiremock::{
    Mock, MockServer,
    matchers::{method, path},
};
use wump_core::{
    Ecosystem, FundingLink, OrganizationKind,
    jobs::{JobType, ParseJob, ScrapeJob},
};
use wump_db::{
    AsyncPgConnection,
    tables::{organizations, packages, repositories},
    views::{self, DependentsQuery, OrganizationsSort},
};
use wump_providers::{
    BitbucketProvider, ForgeSettings, GitLabProvider, GiteaProvider, HttpCache, MemoryHttpCache,
    ProviderError,
    config::HttpSettings,
    forge_mock::{StandInRepo, gitlab_error, mount_bitbucket, mount_gitea, mount_gitlab},
};
use wump_worker::jobs::Job;

use super::Harness;

/// A forge provider built by `new` for the stand-in API at `api` under `server`, its
/// repositories on `host`: anonymous, unspaced, with its own cache.
fn forge<P>(
    new: impl FnOnce(&ForgeSettings, &HttpSettings, Arc<dyn HttpCache>) -> Result<P, ProviderError>,
    server: &MockServer,
    api: &str,
    host: &str,
) -> P {
    let settings = ForgeSettings {
        api_url: format!("{}{api}", server.uri()),
        tokens: Vec::new(),
        host: Some(host.to_owned()),
        min_interval_ms: 0,
    };
    new(&settings, &http(), Arc::new(MemoryHttpCache::default())).unwrap()
}

fn http() -> HttpSettings {
    HttpSettings {
        timeout_ms: 5_000,
        connect_timeout_ms: 2_000,
        retries: 1,
        backoff_base_ms: 1,
        backoff_max_ms: 5,
        ..HttpSettings::default()
    }
}

/// Codeberg: the `acme` organization (with funding in its `.profile` repository) and the
/// user `alice`.
async fn codeberg() -> MockServer {
    let server = MockServer::start().await;
    let web = "https://codeberg.org";
    let mut archived = StandInRepo::new(
        "acme",
        "old-site",
        3,
        &[("package.json", r#"{"dependencies": {"jquery": "^3.7.1"}}"#)],
    );
    archived.archived = true;
    let repos = [
        StandInRepo::new(
            "acme",
            "web",
            120,
            &[
                (
                    "package.json",
                    r#"{"name": "web", "dependencies": {"lodash": "^4.17.21", "react": "^18.2.0"}, "devDependencies": {"jest": "^29.0.0"}}"#,
                ),
                ("README.md", "# web\n"),
            ],
        ),
        archived,
        StandInRepo::new(
            "alice",
            "notebook",
            7,
            &[
                ("requirements.txt", "requests==2.32.0\nnumpy>=1.26\n"),
                (".github/FUNDING.yml", "ko_fi: alice\n"),
            ],
        ),
    ];
    mount_gitea(&server, web, &repos, &["acme"]).await;
    // Mounted after: not in the search (the first search answer wins), but readable.
    let profile = StandInRepo::new(
        "acme",
        ".profile",
        0,
        &[(".github/FUNDING.yml", "liberapay: acme\n")],
    );
    mount_gitea(&server, web, &[profile], &["acme"]).await;
    server
}

/// gitlab.com: the `acme` group and the user `bob`, whose project is a fork.
async fn gitlab_dot_com() -> MockServer {
    let server = MockServer::start().await;
    let mut fork = StandInRepo::new(
        "bob",
        "scraper",
        4,
        &[("app/requirements.txt", "requests>=2.31\n")],
    );
    fork.fork = true;
    let repos = [
        StandInRepo::new(
            "acme",
            "api",
            42,
            &[
                ("package.json", r#"{"dependencies": {"lodash": "4.17.21"}}"#),
                (
                    "Cargo.toml",
                    "[package]\nname = \"api\"\nversion = \"0.1.0\"\n\n[dependencies]\nserde = \"1\"\n",
                ),
            ],
        ),
        fork,
    ];
    mount_gitlab(&server, "https://gitlab.com", &repos, &["acme"]).await;
    server
}

/// bitbucket.org: the team workspace `acme` (funding in its `.github` repository) and the
/// person `carol`, whose repository is a fork with a FUNDING.yml of its own.
async fn bitbucket_dot_org() -> MockServer {
    let server = MockServer::start().await;
    let web = "https://bitbucket.org";
    let mut fork = StandInRepo::new(
        "carol",
        "crawler",
        0,
        &[
            ("requirements.txt", "requests>=2.31\n"),
            (".github/FUNDING.yml", "ko_fi: carol\n"),
        ],
    );
    fork.fork = true;
    let repos = [
        StandInRepo::new(
            "acme",
            "portal",
            0,
            &[
                (
                    "package.json",
                    r#"{"dependencies": {"lodash": "^4.17.21"}}"#,
                ),
                (
                    "services/api/requirements.txt",
                    "requests==2.32.0\nflask>=3.0\n",
                ),
                ("bitbucket-pipelines.yml", "pipelines: {}\n"),
            ],
        ),
        fork,
    ];
    mount_bitbucket(&server, web, &repos, &["acme"]).await;
    // Mounted after: not in the listing (the first answer wins), but readable.
    let profile = StandInRepo::new(
        "acme",
        ".github",
        0,
        &[("FUNDING.yml", "liberapay: acme\n")],
    );
    mount_bitbucket(&server, web, &[profile], &["acme"]).await;
    server
}

fn bitbucket(server: &MockServer) -> BitbucketProvider {
    forge(BitbucketProvider::new, server, "/2.0", "bitbucket.org")
}

async fn harness(codeberg: &MockServer, gitlab: &MockServer) -> Harness {
    harness_with(codeberg, gitlab, |_| {}).await
}

/// [`harness`] with `more` providers registered too.
async fn harness_with(
    codeberg: &MockServer,
    gitlab: &MockServer,
    more: impl FnOnce(&mut wump_providers::ProviderRegistry),
) -> Harness {
    let gitea = forge(GiteaProvider::new, codeberg, "/api/v1", "codeberg.org");
    let gitlab = forge(GitLabProvider::new, gitlab, "/api/v4", "gitlab.com");
    Harness::with_providers(|r| {
        r.register(Arc::new(gitea));
        r.register(Arc::new(gitlab));
        more(r);
    })
    .await
}

/// `(host, full name, stars)` of a package's dependents, most-starred first.
async fn dependents(
    conn: &mut AsyncPgConnection,
    ecosystem: Ecosystem,
    name: &str,
) -> Vec<(String, String, i32)> {
    let Some(package) = packages::by_name(conn, ecosystem, name).await.unwrap() else {
        return Vec::new();
    };
    let query = DependentsQuery {
        limit: 100,
        ..DependentsQuery::default()
    };
    views::dependents(conn, package.id, &query)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.repository.host, d.repository.full_name, d.edge.repo_stars))
        .collect()
}

/// `(host, login, repositories, stars)` of the organizations using a package, by stars.
async fn users(
    conn: &mut AsyncPgConnection,
    ecosystem: Ecosystem,
    name: &str,
) -> Vec<(String, String, i32, i64)> {
    let package = packages::by_name(conn, ecosystem, name)
        .await
        .unwrap()
        .unwrap();
    views::organizations_using(
        conn,
        package.id,
        OrganizationsSort::Stars,
        &Default::default(),
        None,
        100,
    )
    .await
    .unwrap()
    .into_iter()
    .map(|u| {
        (
            u.organization.host,
            u.organization.login,
            u.repositories_count,
            u.stars_sum,
        )
    })
    .collect()
}

fn d(host: &str, name: &str, stars: i32) -> (String, String, i32) {
    (host.to_owned(), name.to_owned(), stars)
}

/// `runs` (a scrape's job types) hold `parses` parse and `enriches` enrich jobs.
#[track_caller]
fn assert_runs(runs: &[JobType], parses: usize, enriches: usize) {
    let count = |t: JobType| runs.iter().filter(|j| **j == t).count();
    assert_eq!(count(JobType::Parse), parses, "{runs:?}");
    assert_eq!(count(JobType::Enrich), enriches, "{runs:?}");
}

async fn scrape(h: &Harness, provider: &str, query: &str) -> Vec<JobType> {
    h.drain(Job::Scrape(ScrapeJob {
        provider: provider.into(),
        query: Some(query.into()),
    }))
    .await
    .into_iter()
    .map(|(job, _)| job.job_type())
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn gitea_and_gitlab_scrapes_store_the_dependents_and_roll_ups_their_files_imply() {
    let (codeberg, gitlab) = (codeberg().await, gitlab_dot_com().await);
    let h = harness(&codeberg, &gitlab).await;

    assert_runs(&scrape(&h, "gitea", "web").await, 3, 2);
    assert_runs(&scrape(&h, "gitlab", "api").await, 2, 2);

    let mut conn = h.conn().await;
    use Ecosystem::{Cargo, Npm, Pypi};
    assert_eq!(
        dependents(&mut conn, Npm, "lodash").await,
        [
            d("codeberg.org", "acme/web", 120),
            d("gitlab.com", "acme/api", 42)
        ]
    );
    // One `acme` per forge: two entries, each under its own host.
    assert_eq!(
        users(&mut conn, Npm, "lodash").await,
        [
            ("codeberg.org".into(), "acme".into(), 1, 120),
            ("gitlab.com".into(), "acme".into(), 1, 42)
        ]
    );
    assert_eq!(
        dependents(&mut conn, Npm, "jest").await,
        [d("codeberg.org", "acme/web", 120)]
    );
    // The archived repository's dependency is stored, and hidden unless asked for.
    assert_eq!(dependents(&mut conn, Npm, "jquery").await, []);
    let jquery = packages::by_name(&mut conn, Npm, "jquery")
        .await
        .unwrap()
        .unwrap();
    let archived = DependentsQuery {
        limit: 100,
        include_archived: true,
        ..DependentsQuery::default()
    };
    let with_archived: Vec<_> = views::dependents(&mut conn, jquery.id, &archived)
        .await
        .unwrap()
        .into_iter()
        .map(|d| {
            (
                d.repository.host,
                d.repository.full_name,
                d.edge.repo_archived,
            )
        })
        .collect();
    assert_eq!(
        with_archived,
        [("codeberg.org".to_owned(), "acme/old-site".to_owned(), true)]
    );
    assert_eq!(
        dependents(&mut conn, Cargo, "serde").await,
        [d("gitlab.com", "acme/api", 42)]
    );
    // GitLab's `forked_from_project` made bob's project a fork: hidden unless asked for.
    assert_eq!(
        dependents(&mut conn, Pypi, "requests").await,
        [d("codeberg.org", "alice/notebook", 7)]
    );
    let requests = packages::by_name(&mut conn, Pypi, "requests")
        .await
        .unwrap()
        .unwrap();
    let forks = DependentsQuery {
        limit: 100,
        include_forks: true,
        ..DependentsQuery::default()
    };
    let with_forks: Vec<_> = views::dependents(&mut conn, requests.id, &forks)
        .await
        .unwrap()
        .into_iter()
        .map(|d| {
            (
                d.repository.full_name,
                d.edge.repo_fork,
                d.edge.manifest_paths,
            )
        })
        .collect();
    assert_eq!(
        with_forks,
        [
            (
                "alice/notebook".to_owned(),
                false,
                vec!["requirements.txt".to_owned()]
            ),
            (
                "bob/scraper".to_owned(),
                true,
                vec!["app/requirements.txt".to_owned()]
            )
        ]
    );
    let p = packages::by_name(&mut conn, Npm, "lodash")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.dependents_count, p.organizations_count), (2, 2));

    // The flags and change tokens the forges reported.
    let old = repositories::find(&mut conn, "codeberg.org", "acme/old-site")
        .await
        .unwrap()
        .unwrap();
    assert!(old.archived && !old.fork);
    assert_eq!(
        old.change_token.as_deref(),
        Some(wump_providers::forge_mock::UPDATED_AT)
    );
    assert!(old.parsed_at.is_some());
    let scraper = repositories::find(&mut conn, "gitlab.com", "bob/scraper")
        .await
        .unwrap()
        .unwrap();
    assert!(scraper.fork && !scraper.archived);

    // Enrichment: each forge's profile, the owner's funding from its profile repository
    // (Codeberg's `.profile`), a user's from their repository's FUNDING.yml.
    let acme_codeberg = organizations::by_login(&mut conn, "codeberg.org", "acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acme_codeberg.kind, OrganizationKind::Organization);
    assert_eq!(acme_codeberg.name.as_deref(), Some("acme collective"));
    assert_eq!(
        acme_codeberg.website_url.as_deref(),
        Some("https://acme.example")
    );
    let funding: Vec<FundingLink> = serde_json::from_value(acme_codeberg.funding).unwrap();
    assert_eq!(
        funding.iter().map(|f| f.url.as_str()).collect::<Vec<_>>(),
        ["https://liberapay.com/acme"]
    );
    assert_eq!(
        (acme_codeberg.repositories_count, acme_codeberg.stars_total),
        (2, 123)
    );
    let acme_gitlab = organizations::by_login(&mut conn, "gitlab.com", "acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acme_gitlab.name.as_deref(), Some("acme group"));
    assert_ne!(acme_gitlab.id, acme_codeberg.id);
    let alice = organizations::by_login(&mut conn, "codeberg.org", "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.kind, OrganizationKind::User);
    let funding: Vec<FundingLink> = serde_json::from_value(alice.funding).unwrap();
    assert_eq!(
        funding.iter().map(|f| f.url.as_str()).collect::<Vec<_>>(),
        ["https://ko-fi.com/alice"]
    );
    let bob = organizations::by_login(&mut conn, "gitlab.com", "bob")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.description.as_deref(), Some("Writes code"));
    assert!(bob.enriched_at.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_gone_from_gitlab_loses_its_edges_and_is_marked_gone() {
    let (codeberg, gitlab) = (codeberg().await, gitlab_dot_com().await);
    let h = harness(&codeberg, &gitlab).await;
    scrape(&h, "gitlab", "api").await;
    let mut conn = h.conn().await;
    assert_eq!(
        dependents(&mut conn, Ecosystem::Cargo, "serde").await,
        [d("gitlab.com", "acme/api", 42)]
    );
    // The project is deleted: GitLab answers 404 for it from now on.
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/acme%2Fapi"))
        .respond_with(gitlab_error(404, "404 Project Not Found"))
        .with_priority(1)
        .mount(&gitlab)
        .await;
    let outcome = super::run(
        &h.ctx,
        &Job::Parse(ParseJob {
            host: "gitlab.com".into(),
            repository: "acme/api".parse().unwrap(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(outcome.metadata["gone"], true);
    assert_eq!(dependents(&mut conn, Ecosystem::Cargo, "serde").await, []);
    let api = repositories::find(&mut conn, "gitlab.com", "acme/api")
        .await
        .unwrap()
        .unwrap();
    assert!(api.gone_at.is_some());
    // The user's project on the same forge is untouched.
    let scraper = repositories::find(&mut conn, "gitlab.com", "bob/scraper")
        .await
        .unwrap()
        .unwrap();
    assert!(scraper.gone_at.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_no_forge_serves_is_refused_as_unsupported() {
    let (codeberg, gitlab) = (codeberg().await, gitlab_dot_com().await);
    let h = harness(&codeberg, &gitlab).await;
    assert!(h.ctx.repository_host("codeberg.org").is_ok());
    assert!(h.ctx.repository_host("gitlab.com").is_ok());
    assert!(h.ctx.repository_host("local").is_ok());
    let error = h.ctx.repository_host("git.sr.ht").unwrap_err();
    assert!(error.to_string().contains("git.sr.ht"), "{error}");
}

/// An ecosyste.ms usage row: `full_name` on `host` (a forge of `kind`) depends on npm
/// `lodash`.
fn usage_row(full_name: &str, host: &str, kind: &str, stars: u32) -> serde_json::Value {
    serde_json::json!({
        "id": 1, "package_name": "lodash", "ecosystem": "npm", "requirements": "^4.17.21",
        "kind": "runtime", "direct": true, "optional": false,
        "repository": {
            "id": 2, "uuid": "abc", "full_name": full_name, "owner": full_name.split('/').next(),
            "description": "Uses lodash", "archived": false, "fork": false,
            "pushed_at": "2026-10-01T12:00:00.000Z", "size": 10, "stargazers_count": stars,
            "open_issues_count": 0, "forks_count": 1, "subscribers_count": 1,
            "default_branch": "main", "language": "JavaScript",
            "host": {"name": host, "url": format!("https://{host}"), "kind": kind}
        },
        "manifest": {"ecosystem": "npm", "filepath": "package.json", "kind": "manifest"}
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn dependents_an_aggregator_finds_on_other_forges_are_parsed_through_them() {
    let (codeberg, gitlab) = (codeberg().await, gitlab_dot_com().await);
    let aggregator = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/api/v1/usage/npm/lodash/dependencies"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!([
                usage_row("acme/web", "Codeberg.org", "forgejo", 120),
                usage_row("acme/api", "GitLab.com", "gitlab", 42)
            ])),
        )
        .mount(&aggregator)
        .await;
    let base = |url: &str| wump_providers::http::parse_base_url("ecosyste.ms", url).unwrap();
    let ecosystems = wump_providers::aggregators::Ecosystems::new(
        wump_providers::http::HttpClient::new("ecosyste.ms", &http(), std::time::Duration::ZERO)
            .unwrap(),
        base(&format!("{}/packages/api/v1", aggregator.uri())),
        base(&format!("{}/repos/api/v1", aggregator.uri())),
        None,
        100,
    );
    let h = harness_with(&codeberg, &gitlab, |r| {
        r.register(Arc::new(ecosystems));
    })
    .await;
    let runs: Vec<JobType> = h
        .drain(Job::Discover(wump_core::jobs::DiscoverJob {
            ecosystem: Ecosystem::Npm,
            name: "lodash".into(),
        }))
        .await
        .into_iter()
        .map(|(job, _)| job.job_type())
        .collect();
    assert_eq!(
        runs.iter().filter(|j| **j == JobType::Parse).count(),
        2,
        "{runs:?}"
    );
    let mut conn = h.conn().await;
    // Parsed from each forge's own tree: the edges name the manifests read there.
    assert_eq!(
        dependents(&mut conn, Ecosystem::Npm, "lodash").await,
        [
            d("codeberg.org", "acme/web", 120),
            d("gitlab.com", "acme/api", 42)
        ]
    );
    assert_eq!(
        dependents(&mut conn, Ecosystem::Cargo, "serde").await,
        [d("gitlab.com", "acme/api", 42)],
        "read from GitLab's Cargo.toml, which the aggregator never mentioned"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bitbucket_scrape_stores_the_dependents_and_roll_ups_its_files_imply() {
    let (codeberg, gitlab, bitbucket_org) = (
        codeberg().await,
        gitlab_dot_com().await,
        bitbucket_dot_org().await,
    );
    let h = harness_with(&codeberg, &gitlab, |r| {
        r.register(Arc::new(bitbucket(&bitbucket_org)));
    })
    .await;
    assert!(h.ctx.repository_host("bitbucket.org").is_ok());

    assert_runs(&scrape(&h, "bitbucket", "portal").await, 2, 2);
    scrape(&h, "gitlab", "api").await;

    let mut conn = h.conn().await;
    use Ecosystem::{Npm, Pypi};
    // Bitbucket has no stars: its repositories count 0 and rank after starred ones.
    assert_eq!(
        dependents(&mut conn, Npm, "lodash").await,
        [
            d("gitlab.com", "acme/api", 42),
            d("bitbucket.org", "acme/portal", 0)
        ]
    );
    assert_eq!(
        users(&mut conn, Npm, "lodash").await,
        [
            ("gitlab.com".into(), "acme".into(), 1, 42),
            ("bitbucket.org".into(), "acme".into(), 1, 0)
        ]
    );
    // Read from a nested directory of the `src` listing.
    assert_eq!(
        dependents(&mut conn, Pypi, "flask").await,
        [d("bitbucket.org", "acme/portal", 0)]
    );
    // carol's repository has a `parent`: a fork, hidden unless asked for.
    let requests = packages::by_name(&mut conn, Pypi, "requests")
        .await
        .unwrap()
        .unwrap();
    let forks = DependentsQuery {
        limit: 100,
        include_forks: true,
        ..DependentsQuery::default()
    };
    let mut with_forks: Vec<_> = views::dependents(&mut conn, requests.id, &forks)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.repository.host == "bitbucket.org")
        .map(|d| {
            (
                d.repository.full_name,
                d.edge.repo_fork,
                d.edge.manifest_paths,
            )
        })
        .collect();
    with_forks.sort();
    assert_eq!(
        with_forks,
        [
            (
                "acme/portal".to_owned(),
                false,
                vec!["services/api/requirements.txt".to_owned()]
            ),
            (
                "carol/crawler".to_owned(),
                true,
                vec!["requirements.txt".to_owned()]
            )
        ]
    );
    assert_eq!(
        dependents(&mut conn, Pypi, "requests").await,
        [d("bitbucket.org", "acme/portal", 0)],
        "forks (carol's, and bob's on GitLab) hidden"
    );

    let portal = repositories::find(&mut conn, "bitbucket.org", "acme/portal")
        .await
        .unwrap()
        .unwrap();
    assert!(!portal.archived && !portal.fork && portal.parsed_at.is_some());
    assert_eq!(
        portal.change_token.as_deref(),
        Some(wump_providers::forge_mock::UPDATED_AT)
    );

    // Enrichment: the workspace's name, the team's funding from its `.github` repository,
    // the person's from their repository's FUNDING.yml; one `acme` per forge.
    let acme = organizations::by_login(&mut conn, "bitbucket.org", "acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acme.kind, OrganizationKind::Organization);
    assert_eq!(acme.name.as_deref(), Some("acme team"));
    assert_eq!((acme.repositories_count, acme.stars_total), (1, 0));
    let funding: Vec<FundingLink> = serde_json::from_value(acme.funding).unwrap();
    assert_eq!(
        funding.iter().map(|f| f.url.as_str()).collect::<Vec<_>>(),
        ["https://liberapay.com/acme"]
    );
    let acme_gitlab = organizations::by_login(&mut conn, "gitlab.com", "acme")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(acme.id, acme_gitlab.id);
    let carol = organizations::by_login(&mut conn, "bitbucket.org", "carol")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(carol.kind, OrganizationKind::User);
    assert!(carol.enriched_at.is_some());
    let funding: Vec<FundingLink> = serde_json::from_value(carol.funding).unwrap();
    assert_eq!(
        funding.iter().map(|f| f.url.as_str()).collect::<Vec<_>>(),
        ["https://ko-fi.com/carol"]
    );
}
