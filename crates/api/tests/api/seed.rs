//! Seeding through the data layer's own writers, so counts and roll-ups are what the
//! worker would have stored.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;
use wump_core::{DependencyKind, Ecosystem, FundingLink, OrganizationKind};
use wump_db::{
    AsyncPgConnection,
    edges::{EdgeInput, replace_repository_edges},
    tables::{
        organizations::{self, OrganizationInput, OrganizationProfile},
        packages::{self, PackageMetadataInput},
        repositories::{self, RepositoryInput},
    },
};

use crate::TestApp;

/// Writes organizations, repositories, packages and edges into a test database.
pub(crate) struct Seed {
    pub(crate) conn: AsyncPgConnection,
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seed").finish_non_exhaustive()
    }
}

/// A repository to create.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    pub(crate) stars: i32,
    pub(crate) archived: bool,
    pub(crate) fork: bool,
    pub(crate) pushed_at: Option<DateTime<Utc>>,
}

impl Repo {
    /// An active, non-fork repository with `stars`, pushed `days` days after 2024-01-01.
    pub(crate) fn stars(stars: i32) -> Self {
        Self {
            stars,
            archived: false,
            fork: false,
            pushed_at: Some(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()),
        }
    }

    pub(crate) fn pushed_days(mut self, days: i64) -> Self {
        self.pushed_at =
            Some(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap() + Duration::days(days));
        self
    }

    pub(crate) fn never_pushed(mut self) -> Self {
        self.pushed_at = None;
        self
    }

    pub(crate) fn archived(mut self) -> Self {
        self.archived = true;
        self
    }

    pub(crate) fn fork(mut self) -> Self {
        self.fork = true;
        self
    }
}

/// One dependency of a repository.
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    pub(crate) package: Uuid,
    pub(crate) kinds: Vec<DependencyKind>,
    pub(crate) direct: Option<bool>,
    pub(crate) manifest: String,
}

impl Edge {
    /// A direct runtime dependency declared in `package.json`.
    pub(crate) fn runtime(package: Uuid) -> Self {
        Self {
            package,
            kinds: vec![DependencyKind::Runtime],
            direct: Some(true),
            manifest: "package.json".into(),
        }
    }

    pub(crate) fn kinds(mut self, kinds: &[DependencyKind]) -> Self {
        self.kinds = kinds.to_vec();
        self
    }

    pub(crate) fn transitive(mut self) -> Self {
        self.direct = Some(false);
        self
    }

    pub(crate) fn manifest(mut self, path: &str) -> Self {
        self.manifest = path.into();
        self
    }
}

impl Seed {
    /// A seeder over the database at `url`.
    pub(crate) async fn connect(url: &str) -> Self {
        use diesel_async::AsyncConnection;
        Self {
            conn: AsyncPgConnection::establish(url).await.unwrap(),
        }
    }

    /// A seeder over the app's database.
    pub(crate) async fn new(app: &TestApp) -> Self {
        Self {
            conn: app.db.connection().await,
        }
    }

    /// An organization on github.com.
    pub(crate) async fn organization(&mut self, login: &str) -> Uuid {
        self.organization_on("github.com", login).await
    }

    /// An organization on `host`.
    pub(crate) async fn organization_on(&mut self, host: &str, login: &str) -> Uuid {
        let input = OrganizationInput {
            host: host.into(),
            login: login.into(),
            kind: OrganizationKind::Organization,
        };
        organizations::upsert(&mut self.conn, &[input])
            .await
            .unwrap()[0]
    }

    /// Gives an organization a sponsors page and FUNDING.yml links.
    pub(crate) async fn fund_organization(
        &mut self,
        id: Uuid,
        sponsors: Option<&str>,
        links: &[(&str, &str)],
    ) {
        let profile = OrganizationProfile {
            name: Some("Funded".into()),
            description: None,
            website_url: Some("https://example.org".into()),
            sponsors_listing_url: sponsors.map(Into::into),
            funding: links
                .iter()
                .map(|(platform, url)| FundingLink {
                    platform: (*platform).into(),
                    url: (*url).into(),
                })
                .collect(),
            repositories_count: 0,
        };
        organizations::update_profile(&mut self.conn, id, &profile)
            .await
            .unwrap();
    }

    /// A repository `full_name` owned by `organization` on github.com.
    pub(crate) async fn repository(
        &mut self,
        organization: Uuid,
        full_name: &str,
        repo: Repo,
    ) -> Uuid {
        self.repository_on("github.com", organization, full_name, repo)
            .await
    }

    /// A repository on `host` (its organization's host).
    pub(crate) async fn repository_on(
        &mut self,
        host: &str,
        organization: Uuid,
        full_name: &str,
        repo: Repo,
    ) -> Uuid {
        let input = RepositoryInput {
            host: host.into(),
            full_name: full_name.into(),
            organization_id: organization,
            description: Some(format!("{full_name} does things")),
            language: Some("TypeScript".into()),
            default_branch: Some("main".into()),
            stars: repo.stars,
            forks: 0,
            archived: repo.archived,
            fork: repo.fork,
            pushed_at: repo.pushed_at,
            change_token: Some("t1".into()),
        };
        repositories::upsert(&mut self.conn, &[input])
            .await
            .unwrap()[0]
            .id
    }

    /// A package.
    pub(crate) async fn package(&mut self, ecosystem: Ecosystem, name: &str) -> Uuid {
        packages::upsert(&mut self.conn, &[(ecosystem, name)])
            .await
            .unwrap()[0]
    }

    /// Gives a package metadata and funding links.
    pub(crate) async fn describe_package(
        &mut self,
        id: Uuid,
        description: &str,
        funding: &[(&str, &str)],
    ) {
        let input = PackageMetadataInput {
            description: Some(description.into()),
            homepage_url: Some("https://example.org".into()),
            repository_url: None,
            latest_version: Some("1.0.0".into()),
            funding: funding
                .iter()
                .map(|(platform, url)| FundingLink {
                    platform: (*platform).into(),
                    url: (*url).into(),
                })
                .collect(),
        };
        packages::update_metadata(&mut self.conn, id, Some(&input))
            .await
            .unwrap();
    }

    /// Replaces a repository's dependencies with `edges`.
    pub(crate) async fn depends(&mut self, repository: Uuid, edges: &[Edge]) {
        let input: Vec<EdgeInput> = edges
            .iter()
            .map(|e| EdgeInput {
                package_id: e.package,
                kinds: e.kinds.iter().copied().collect::<BTreeSet<_>>(),
                requirement: "^1.0.0".into(),
                resolved_version: Some("1.0.3".into()),
                direct: e.direct,
                manifest_paths: vec![e.manifest.clone()],
            })
            .collect();
        replace_repository_edges(&mut self.conn, repository, &input)
            .await
            .unwrap();
    }
}

/// The ids of the standard fixture.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Standard {
    pub(crate) left_pad: Uuid,
    pub(crate) scoped: Uuid,
    pub(crate) go_module: Uuid,
    pub(crate) acme: Uuid,
    pub(crate) globex: Uuid,
}

/// A small world: three organizations (acme funded, globex not, initech funded only by
/// FUNDING.yml), seven repositories (one archived, one fork, star ties, a never-pushed
/// one) and four packages whose names need escaping in a path.
pub(crate) async fn standard(app: &TestApp) -> Standard {
    standard_into(&mut Seed::new(app).await).await
}

/// The standard fixture, written through `seed`.
pub(crate) async fn standard_into(seed: &mut Seed) -> Standard {
    let acme = seed.organization("acme").await;
    let globex = seed.organization("globex").await;
    let initech = seed.organization("initech").await;
    seed.fund_organization(
        acme,
        Some("https://github.com/sponsors/acme"),
        &[("github", "https://github.com/sponsors/acme")],
    )
    .await;
    seed.fund_organization(
        initech,
        None,
        &[("open_collective", "https://opencollective.com/initech")],
    )
    .await;

    let left_pad = seed.package(Ecosystem::Npm, "left-pad").await;
    let scoped = seed.package(Ecosystem::Npm, "@scope/Pkg").await;
    let go_module = seed.package(Ecosystem::Go, "github.com/x/y").await;
    let maven = seed.package(Ecosystem::Maven, "org.example:lib").await;
    seed.describe_package(
        left_pad,
        "pads strings on the left",
        &[("github", "https://github.com/sponsors/pad")],
    )
    .await;

    let repos = [
        (acme, "acme/app", Repo::stars(100).pushed_days(10)),
        (acme, "acme/site", Repo::stars(50).pushed_days(30)),
        (initech, "initech/api", Repo::stars(100).pushed_days(30)),
        (initech, "initech/old", Repo::stars(3).never_pushed()),
        (globex, "globex/tool", Repo::stars(10).pushed_days(5)),
        (globex, "globex/archive", Repo::stars(500).archived()),
        (globex, "globex/fork", Repo::stars(7).fork()),
    ];
    for (org, name, repo) in repos {
        let id = seed.repository(org, name, repo).await;
        let mut edges = vec![Edge::runtime(left_pad)];
        match name {
            "acme/app" => {
                edges.push(Edge::runtime(scoped).kinds(&[DependencyKind::Development]));
                edges.push(Edge::runtime(go_module).manifest("go.mod"));
                edges.push(Edge::runtime(maven).manifest("pom.xml").transitive());
            }
            "globex/tool" => {
                edges[0] = Edge::runtime(left_pad).kinds(&[DependencyKind::Development])
            }
            "initech/old" => edges[0] = Edge::runtime(left_pad).transitive(),
            _ => {}
        }
        seed.depends(id, &edges).await;
    }
    Standard {
        left_pad,
        scoped,
        go_module,
        acme,
        globex,
    }
}

/// An answer: status, headers and the JSON body (`Null` when there is none).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: serde_json::Value,
}

impl Answer {
    /// A header's value as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with `status` naming `parameter`.
    #[track_caller]
    pub(crate) fn assert_problem(&self, status: u16, parameter: Option<&str>) {
        assert_eq!(self.status, status, "{:#}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{:#}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert_eq!(
            self.body["parameter"].as_str(),
            parameter,
            "{:#}",
            self.body
        );
    }
}

impl TestApp {
    /// `GET path` as an [`Answer`].
    pub(crate) async fn get_json(&self, path: &str) -> Answer {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("GET {path}: {status} not JSON ({e}): {bytes:?}"))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Every item of a listing, following `Link` headers from `path`; asserts each page
    /// agrees with its body's `next_cursor`.
    pub(crate) async fn walk(&self, path: &str) -> Vec<serde_json::Value> {
        let mut items = Vec::new();
        let mut next = Some(path.to_owned());
        let mut pages = 0;
        while let Some(path) = next.take() {
            let page = self.get_json(&path).await;
            assert_eq!(page.status, 200, "GET {path}: {:#}", page.body);
            items.extend(page.body["items"].as_array().unwrap().iter().cloned());
            next = page.header("link").map(link_target);
            match page.body["next_cursor"].as_str() {
                Some(cursor) => assert!(
                    next.as_deref()
                        .unwrap()
                        .ends_with(&format!("cursor={cursor}"))
                ),
                None => assert!(next.is_none(), "a Link on the last page"),
            }
            pages += 1;
            assert!(pages < 1000, "pagination does not end");
        }
        items
    }
}

/// The URL of `<url>; rel="next"`.
pub(crate) fn link_target(link: &str) -> String {
    assert!(link.ends_with("; rel=\"next\""), "{link}");
    link.trim_start_matches('<')
        .split_once('>')
        .map(|(url, _)| url.to_owned())
        .unwrap()
}

/// The `full_name`s of a list of dependents.
pub(crate) fn full_names(items: &[serde_json::Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["repository"]["full_name"].as_str().unwrap().to_owned())
        .collect()
}

/// Not a test: `just fuzz-api` runs it to create, migrate and seed the database it fuzzes
/// (`WUMP_FUZZ_RECREATE_DATABASE` names it, `WUMP_FUZZ_SEED_URL` points at it).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "seeds the fuzz-api database; run by scripts/fuzz-api.sh"]
async fn seed_fuzz_database() {
    use diesel_async::{AsyncConnection, RunQueryDsl};
    use secrecy::ExposeSecret;

    let name = std::env::var("WUMP_FUZZ_RECREATE_DATABASE").expect("WUMP_FUZZ_RECREATE_DATABASE");
    let url = std::env::var("WUMP_FUZZ_SEED_URL").expect("WUMP_FUZZ_SEED_URL");
    assert!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "{name}"
    );
    let server = wump_db::test_support::server_settings();
    let mut admin = AsyncPgConnection::establish(server.url.expose_secret())
        .await
        .unwrap();
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut settings = server.clone();
    settings.url = secrecy::SecretString::from(url.clone());
    wump_db::migrations::migrate(&settings).await.unwrap();

    let mut seed = Seed::connect(&url).await;
    let ids = standard_into(&mut seed).await;
    // Enough rows that listings page, and names that need escaping.
    let org = seed.organization("pagination-org").await;
    for i in 0..40 {
        let repo = seed
            .repository(
                org,
                &format!("pagination-org/repo-{i}"),
                Repo::stars(i % 5).pushed_days(i.into()),
            )
            .await;
        seed.depends(
            repo,
            &[
                Edge::runtime(ids.left_pad),
                Edge::runtime(ids.scoped).manifest("web/package.json"),
            ],
        )
        .await;
    }
    // The documentation's examples exist.
    let rust_lang = seed.organization("rust-lang").await;
    let crates_io = seed
        .repository(rust_lang, "rust-lang/crates.io", Repo::stars(3000))
        .await;
    seed.depends(crates_io, &[Edge::runtime(ids.left_pad)])
        .await;
    println!("seeded {name}");
}
