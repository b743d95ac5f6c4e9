//! The local directory provider on a fixture tree written by each test.

use std::{fs, path::Path};

use tempfile::TempDir;
use wump_core::{Ecosystem, FundingLink, OrganizationKind, PackageRef, RepoFullName};
use wump_providers::{
    Capability, DataProvider, DiscoveryQuery, LocalProvider, PageToken, ProviderError,
    ProviderKind, RepoRef,
};

/// `<tmp>/root` holds the tree; `<tmp>/secret.txt` sits outside it.
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let fixture = Self { dir };
        fs::write(fixture.dir.path().join("secret.txt"), "outside the root").unwrap();
        fixture.write(
            "acme/.wump-owner.json",
            r#"{"name": "Acme Corp", "kind": "organization", "description": "Widgets",
                "website_url": "https://acme.example", "sponsors_listing_url": "https://github.com/sponsors/acme"}"#,
        );
        fixture.write(
            "acme/.github/FUNDING.yml",
            "github: [acme]\nopen_collective: acme\ncustom: [\"https://acme.example/donate\"]\n",
        );
        fixture.write(
            "acme/widgets/.wump-repo.json",
            r#"{"stars": 42, "forks": 7, "archived": true, "fork": false,
                "pushed_at": "2026-01-02T03:04:05Z", "language": "Rust",
                "description": "All the widgets", "default_branch": "trunk"}"#,
        );
        fixture.write(
            "acme/widgets/package.json",
            r#"{"name": "widgets", "dependencies": {"left-pad": "^1.3.0"}}"#,
        );
        fixture.write("acme/widgets/README.md", "# Widgets\n");
        fixture.write("acme/widgets/src/index.js", "module.exports = 1;\n");
        fixture.write(
            "acme/widgets/deep/nested/crate/Cargo.toml",
            "[package]\nname = \"x\"\n",
        );
        fixture.write("acme/widgets/.git/config", "[core]\n");
        fixture.write("acme/gadgets/requirements.txt", "requests==2.32.3\n");
        fixture.write("bob/.wump-owner.json", r#"{"kind": "user", "name": "Bob"}"#);
        fixture.write("bob/dotfiles/README.md", "mine\n");
        #[cfg(unix)]
        {
            let widgets = fixture.root().join("acme/widgets");
            std::os::unix::fs::symlink("../../../secret.txt", widgets.join("escape")).unwrap();
            std::os::unix::fs::symlink("README.md", widgets.join("readme-link")).unwrap();
            std::os::unix::fs::symlink("..", widgets.join("src/loop")).unwrap();
            // Linked owners and repositories are not followed: they could lead anywhere.
            let outside = fixture.dir.path().join("outside");
            fs::create_dir_all(outside.join("evil")).unwrap();
            fs::write(outside.join("evil/package.json"), "{}").unwrap();
            std::os::unix::fs::symlink(&outside, fixture.root().join("mallory")).unwrap();
            std::os::unix::fs::symlink("../bob/dotfiles", fixture.root().join("acme/linked"))
                .unwrap();
        }
        fixture
    }

    fn root(&self) -> std::path::PathBuf {
        self.dir.path().join("root")
    }

    fn write(&self, relative: &str, contents: &str) {
        let path = self.root().join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    fn provider(&self, page_size: usize) -> LocalProvider {
        LocalProvider::new(self.root(), page_size)
    }
}

fn repo(full_name: &str) -> RepoRef {
    RepoRef {
        host: "local".into(),
        full_name: full_name.parse::<RepoFullName>().unwrap(),
    }
}

fn names(page: &wump_providers::RepositoryPage) -> Vec<String> {
    page.repositories
        .iter()
        .map(|r| r.repo.full_name.to_string())
        .collect()
}

#[tokio::test]
async fn discovers_every_repository_in_sorted_pages() {
    let fixture = Fixture::new();
    let local = fixture.provider(2);
    assert_eq!(
        (local.name(), local.kind()),
        ("local", ProviderKind::RepositoryHost)
    );

    let first = local
        .discover_repositories(&DiscoveryQuery::All, None)
        .await
        .unwrap();
    assert_eq!(names(&first), ["acme/gadgets", "acme/widgets"]);
    assert_eq!(first.next, Some(PageToken("acme/widgets".into())));

    let second = local
        .discover_repositories(&DiscoveryQuery::All, first.next.as_ref())
        .await
        .unwrap();
    assert_eq!(names(&second), ["bob/dotfiles"]);
    assert_eq!(second.next, None);
}

#[tokio::test]
async fn metadata_is_read_and_missing_metadata_defaults() {
    let fixture = Fixture::new();
    let page = fixture
        .provider(10)
        .discover_repositories(
            &DiscoveryQuery::Owner {
                login: "acme".into(),
            },
            None,
        )
        .await
        .unwrap();
    let [gadgets, widgets] = page.repositories.as_slice() else {
        panic!("{page:?}");
    };
    assert_eq!(widgets.repo.host, "local");
    assert_eq!(
        (widgets.stars, widgets.forks, widgets.archived, widgets.fork),
        (42, 7, true, false)
    );
    assert_eq!(widgets.language.as_deref(), Some("Rust"));
    assert_eq!(widgets.default_branch.as_deref(), Some("trunk"));
    assert_eq!(widgets.description.as_deref(), Some("All the widgets"));
    assert_eq!(
        widgets.pushed_at.unwrap().to_rfc3339(),
        "2026-01-02T03:04:05+00:00"
    );
    assert_eq!(widgets.owner.kind, OrganizationKind::Organization);
    assert!(
        widgets
            .change_token
            .as_deref()
            .unwrap()
            .starts_with("sha256:")
    );

    assert_eq!(
        (gadgets.stars, gadgets.forks, gadgets.archived, gadgets.fork),
        (0, 0, false, false)
    );
    assert_eq!(gadgets.pushed_at, None);
    assert_eq!(page.next, None);

    let bob = fixture
        .provider(10)
        .discover_repositories(
            &DiscoveryQuery::Owner {
                login: "bob".into(),
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(bob.repositories[0].owner.kind, OrganizationKind::User);
}

#[tokio::test]
async fn unknown_owners_and_unsupported_queries_are_typed_errors() {
    let fixture = Fixture::new();
    let local = fixture.provider(10);
    for login in ["nobody", "..", "a/b", "mallory"] {
        let err = local
            .discover_repositories(
                &DiscoveryQuery::Owner {
                    login: login.into(),
                },
                None,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, ProviderError::NotFound { .. }),
            "{login}: {err}"
        );
    }
    let err = local
        .discover_repositories(
            &DiscoveryQuery::Search {
                query: "stars:>1".into(),
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ProviderError::Unsupported {
            capability: Capability::DiscoverRepositories,
            ..
        }
    ));
    let dependents = DiscoveryQuery::DependentsOf {
        package: PackageRef::new(Ecosystem::Npm, "x"),
    };
    assert!(
        local
            .discover_repositories(&dependents, None)
            .await
            .is_err()
    );
    let err = local
        .discover_repositories(&DiscoveryQuery::All, Some(&PageToken("not a name".into())))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Config { .. }), "{err}");
    assert!(
        local
            .fetch_package(&PackageRef::new(Ecosystem::Npm, "x"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn lists_files_at_any_depth_without_git_metadata_or_escaping_links() {
    let fixture = Fixture::new();
    let tree = fixture
        .provider(10)
        .list_files(&repo("acme/widgets"), None)
        .await
        .unwrap();
    let paths: Vec<&str> = tree.entries.iter().map(|e| e.path.as_str()).collect();
    let mut expected = vec![
        "README.md",
        "deep/nested/crate/Cargo.toml",
        "package.json",
        "src/index.js",
    ];
    if cfg!(unix) {
        expected.push("readme-link");
        expected.sort();
    }
    assert_eq!(paths, expected);
    assert_eq!(
        tree.entries
            .iter()
            .find(|e| e.path == "README.md")
            .unwrap()
            .size,
        10
    );
    assert!(tree.revision.starts_with("sha256:"));
    assert!(!tree.truncated);

    for linked_or_missing in ["acme/missing", "acme/linked", "mallory/evil"] {
        let err = fixture
            .provider(10)
            .list_files(&repo(linked_or_missing), None)
            .await
            .unwrap_err();
        assert!(matches!(err, ProviderError::NotFound { .. }), "{err}");
    }
    let elsewhere = RepoRef {
        host: "github.com".into(),
        ..repo("acme/widgets")
    };
    assert!(matches!(
        fixture.provider(10).list_files(&elsewhere, None).await,
        Err(ProviderError::NotFound { .. })
    ));
}

#[tokio::test]
async fn fetches_files_and_refuses_paths_leaving_the_repository() {
    let fixture = Fixture::new();
    let local = fixture.provider(10);
    let widgets = repo("acme/widgets");

    let file = local
        .fetch_file(&widgets, "src/index.js", None, 1024)
        .await
        .unwrap();
    assert_eq!(file.path, "src/index.js");
    assert_eq!(file.bytes, b"module.exports = 1;\n");
    let nested = local
        .fetch_file(&widgets, "./deep/nested/crate/Cargo.toml", None, 1024)
        .await;
    assert!(nested.is_ok(), "{nested:?}");

    let secret = fixture.dir.path().join("secret.txt");
    let absolute = secret.to_str().unwrap().to_owned();
    for path in [
        "../../../secret.txt",
        "../gadgets/requirements.txt",
        "src/../../gadgets/requirements.txt",
        absolute.as_str(),
        "/etc/passwd",
        "escape",
        "src\\..\\..\\gadgets\\requirements.txt",
        "",
        "missing.txt",
        "src",
    ] {
        let err = local
            .fetch_file(&widgets, path, None, 1024)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ProviderError::NotFound { .. }),
            "{path}: {err}"
        );
    }
    assert!(Path::new(&secret).exists());
}

#[tokio::test]
async fn files_over_the_limit_are_too_large() {
    let fixture = Fixture::new();
    let err = fixture
        .provider(10)
        .fetch_file(&repo("acme/widgets"), "README.md", None, 4)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ProviderError::TooLarge {
            path: "acme/widgets:README.md".into(),
            size: 10,
            limit: 4
        }
    );
    assert!(err.is_permanent());
}

#[tokio::test]
async fn owner_profiles_carry_funding_from_the_github_directory() {
    let fixture = Fixture::new();
    let local = fixture.provider(10);
    let acme = local.fetch_owner("acme").await.unwrap();
    assert_eq!(acme.login, "acme");
    assert_eq!(acme.kind, OrganizationKind::Organization);
    assert_eq!(acme.name.as_deref(), Some("Acme Corp"));
    assert_eq!(acme.website_url.as_deref(), Some("https://acme.example"));
    assert_eq!(
        acme.sponsors_listing_url.as_deref(),
        Some("https://github.com/sponsors/acme")
    );
    assert_eq!(acme.repositories_count, Some(2));
    let link = |platform: &str, url: &str| FundingLink {
        platform: platform.into(),
        url: url.into(),
    };
    assert_eq!(
        acme.funding,
        [
            link("github", "https://github.com/sponsors/acme"),
            link("open_collective", "https://opencollective.com/acme"),
            link("custom", "https://acme.example/donate"),
        ]
    );

    let bob = local.fetch_owner("bob").await.unwrap();
    assert_eq!((bob.kind, bob.funding.len()), (OrganizationKind::User, 0));
    assert!(matches!(
        local.fetch_owner("nobody").await,
        Err(ProviderError::NotFound { .. })
    ));
    for login in ["..", "mallory"] {
        assert!(matches!(
            local.fetch_owner(login).await,
            Err(ProviderError::NotFound { .. })
        ));
    }

    fixture.write("bob/.github/FUNDING.yml", "- not: a mapping\n");
    assert!(matches!(
        local.fetch_owner("bob").await,
        Err(ProviderError::Malformed { .. })
    ));
}

#[tokio::test]
async fn the_change_token_moves_with_manifests_not_with_other_files() {
    let fixture = Fixture::new();
    let local = fixture.provider(10);
    let token = || async {
        local
            .discover_repositories(
                &DiscoveryQuery::Owner {
                    login: "acme".into(),
                },
                None,
            )
            .await
            .unwrap()
            .repositories
            .into_iter()
            .find(|r| r.repo.full_name.name() == "widgets")
            .unwrap()
            .change_token
            .unwrap()
    };
    let before = token().await;
    assert_eq!(token().await, before, "stable across calls");

    fixture.write("acme/widgets/README.md", "# Widgets, now with more words\n");
    fixture.write("acme/widgets/src/index.js", "module.exports = 2;\n");
    assert_eq!(
        token().await,
        before,
        "a README or source change is not a manifest change"
    );

    fixture.write(
        "acme/widgets/package.json",
        r#"{"name": "widgets", "dependencies": {"left-pad": "^2"}}"#,
    );
    let after_manifest = token().await;
    assert_ne!(after_manifest, before);

    fixture.write("acme/widgets/sub/requirements.txt", "flask\n");
    assert_ne!(token().await, after_manifest, "a new manifest moves it too");

    // A manifest over the parsers' limit is digested by size, never read whole.
    let huge = "x".repeat(wump_manifests::DEFAULT_MAX_BYTES + 1);
    fixture.write("acme/widgets/package-lock.json", &huge);
    let with_huge = token().await;
    assert_eq!(token().await, with_huge);
    fixture.write("acme/widgets/package-lock.json", &format!("{huge}y"));
    assert_ne!(token().await, with_huge);

    let tree = local.list_files(&repo("acme/widgets"), None).await.unwrap();
    assert_eq!(Some(tree.revision), Some(token().await));
}

#[tokio::test]
async fn malformed_metadata_is_reported() {
    let fixture = Fixture::new();
    fixture.write("acme/gadgets/.wump-repo.json", "{\"stars\": \"many\"}");
    let err = fixture
        .provider(10)
        .discover_repositories(&DiscoveryQuery::All, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Malformed { .. }), "{err}");
}

#[tokio::test]
async fn health_requires_an_existing_directory() {
    let fixture = Fixture::new();
    fixture.provider(10).health().await.unwrap();
    let missing = LocalProvider::new(fixture.dir.path().join("nope"), 10);
    assert!(matches!(
        missing.health().await,
        Err(ProviderError::Config { .. })
    ));
    let file = LocalProvider::new(fixture.dir.path().join("secret.txt"), 10);
    assert!(matches!(
        file.health().await,
        Err(ProviderError::Config { .. })
    ));
}
