//! Each registry's documented payload mapped onto package metadata.

use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path, query_param},
};
use wump_core::{Ecosystem, FundingLink, PackageRef};
use wump_providers::{
    DataProvider, PackageMetadata, ProviderError, ProviderKind,
    registries::{CratesIo, MavenCentral, Npm, Packagist, Pypi, Rubygems},
};

use crate::helpers::{base, client};

fn link(platform: &str, url: &str) -> FundingLink {
    FundingLink {
        platform: platform.into(),
        url: url.into(),
    }
}

async fn serve(path_: &str, body: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(path_))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn npm_maps_the_packument_and_the_latest_versions_funding() {
    // Shape of https://registry.npmjs.org/@babel%2fcore (trimmed).
    let server = serve(
        "/@babel%2Fcore",
        json!({
            "_id": "@babel/core",
            "_rev": "1234-abcdef",
            "name": "@babel/core",
            "description": "Babel compiler core.",
            "dist-tags": {"latest": "7.25.2", "next": "8.0.0-alpha.12"},
            "versions": {
                "7.25.1": {"name": "@babel/core", "version": "7.25.1",
                           "funding": {"type": "opencollective", "url": "https://opencollective.com/old"}},
                "7.25.2": {
                    "name": "@babel/core",
                    "version": "7.25.2",
                    "description": "Babel compiler core.",
                    "homepage": "https://babel.dev/docs/en/next/babel-core",
                    "repository": {"type": "git", "url": "https://github.com/babel/babel.git", "directory": "packages/babel-core"},
                    "funding": [
                        {"type": "opencollective", "url": "https://opencollective.com/babel"},
                        "https://github.com/sponsors/babel",
                        {"type": "individual", "url": "https://babel.dev/donate"}
                    ],
                    "dist": {"tarball": "https://registry.npmjs.org/@babel/core/-/core-7.25.2.tgz"}
                }
            },
            "time": {"created": "2015-01-01T00:00:00.000Z", "7.25.2": "2024-07-30T00:00:00.000Z"},
            "maintainers": [{"name": "hzoo", "email": "h@example.org"}],
            "homepage": "https://babel.dev/docs/en/next/babel-core",
            "repository": {"type": "git", "url": "git+https://github.com/babel/babel.git", "directory": "packages/babel-core"},
            "license": "MIT",
            "readme": "# @babel/core"
        }),
    )
    .await;
    let npm = Npm::new(client("npm"), base(&server));
    assert_eq!(npm.kind(), ProviderKind::Registry);
    let package = PackageRef::new(Ecosystem::Npm, "@babel/core");
    let meta = npm.fetch_package(&package).await.unwrap();
    assert_eq!(
        meta,
        PackageMetadata {
            package,
            description: Some("Babel compiler core.".into()),
            homepage_url: Some("https://babel.dev/docs/en/next/babel-core".into()),
            repository_url: Some("https://github.com/babel/babel".into()),
            latest_version: Some("7.25.2".into()),
            funding: vec![
                link("open_collective", "https://opencollective.com/babel"),
                link("github", "https://github.com/sponsors/babel"),
                link("custom", "https://babel.dev/donate"),
            ],
        }
    );
}

#[tokio::test]
async fn npm_accepts_string_repositories_and_missing_fields() {
    let server = serve(
        "/left-pad",
        json!({
            "name": "left-pad",
            "dist-tags": {"latest": "1.3.0"},
            "versions": {"1.3.0": {"name": "left-pad", "version": "1.3.0", "funding": "https://github.com/sponsors/stevemao"}},
            "repository": "stevemao/left-pad"
        }),
    )
    .await;
    let meta = Npm::new(client("npm"), base(&server))
        .fetch_package(&PackageRef::new(Ecosystem::Npm, "left-pad"))
        .await
        .unwrap();
    assert_eq!(
        meta.repository_url.as_deref(),
        Some("https://github.com/stevemao/left-pad")
    );
    assert_eq!((meta.description, meta.homepage_url), (None, None));
    assert_eq!(
        meta.funding,
        [link("github", "https://github.com/sponsors/stevemao")]
    );
}

#[tokio::test]
async fn a_registry_refuses_packages_of_other_ecosystems_without_asking() {
    let server = MockServer::start().await;
    let npm = Npm::new(client("npm"), base(&server));
    let err = npm
        .fetch_package(&PackageRef::new(Ecosystem::Pypi, "requests"))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::NotFound { .. }), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn pypi_maps_info_and_project_urls() {
    // Shape of https://pypi.org/pypi/<name>/json (trimmed).
    let server = serve(
        "/pypi/friendly-bard/json",
        json!({
            "info": {
                "author": "Bard",
                "home_page": "",
                "name": "Friendly_Bard",
                "package_url": "https://pypi.org/project/Friendly-Bard/",
                "project_url": "https://pypi.org/project/Friendly-Bard/",
                "project_urls": {
                    "Homepage": "https://friendly-bard.example",
                    "Documentation": "https://friendly-bard.readthedocs.io",
                    "Source Code": "https://github.com/bards/friendly-bard",
                    "Funding": "https://opencollective.com/bards",
                    "Sponsor": "https://github.com/sponsors/bards",
                    "Issues": null
                },
                "requires_python": ">=3.9",
                "summary": "A friendly bard.",
                "version": "2.1.0",
                "yanked": false
            },
            "last_serial": 123,
            "releases": {"2.1.0": []},
            "urls": [],
            "vulnerabilities": []
        }),
    )
    .await;
    let meta = Pypi::new(client("pypi"), base(&server))
        .fetch_package(&PackageRef::new(Ecosystem::Pypi, "Friendly.Bard"))
        .await
        .unwrap();
    assert_eq!(meta.description.as_deref(), Some("A friendly bard."));
    assert_eq!(
        meta.homepage_url.as_deref(),
        Some("https://friendly-bard.example")
    );
    assert_eq!(
        meta.repository_url.as_deref(),
        Some("https://github.com/bards/friendly-bard")
    );
    assert_eq!(meta.latest_version.as_deref(), Some("2.1.0"));
    assert_eq!(
        meta.funding,
        [
            link("open_collective", "https://opencollective.com/bards"),
            link("github", "https://github.com/sponsors/bards"),
        ]
    );
}

#[tokio::test]
async fn pypi_falls_back_to_a_forge_home_page_and_tolerates_nulls() {
    let server = serve(
        "/pypi/requests/json",
        json!({"info": {"home_page": "https://github.com/psf/requests", "project_urls": null,
                        "summary": "Python HTTP for Humans.", "version": "2.32.3"}}),
    )
    .await;
    let meta = Pypi::new(client("pypi"), base(&server))
        .fetch_package(&PackageRef::new(Ecosystem::Pypi, "requests"))
        .await
        .unwrap();
    assert_eq!(
        meta.homepage_url.as_deref(),
        Some("https://github.com/psf/requests")
    );
    assert_eq!(
        meta.repository_url.as_deref(),
        Some("https://github.com/psf/requests")
    );
    assert!(meta.funding.is_empty());
}

#[tokio::test]
async fn crates_io_maps_the_crate_object() {
    // Shape of https://crates.io/api/v1/crates/serde (trimmed).
    let server = serve(
        "/api/v1/crates/serde",
        json!({
            "categories": [{"category": "Encoding", "id": "encoding"}],
            "crate": {
                "id": "serde",
                "name": "serde",
                "description": "A generic serialization/deserialization framework",
                "homepage": "https://serde.rs",
                "documentation": "https://docs.rs/serde",
                "repository": "https://github.com/serde-rs/serde",
                "max_version": "1.0.211-rc.1",
                "max_stable_version": "1.0.210",
                "newest_version": "1.0.211-rc.1",
                "downloads": 400000000,
                "created_at": "2014-12-05T20:20:39.487502+00:00",
                "updated_at": "2024-09-06T20:08:14.584225+00:00"
            },
            "keywords": [{"id": "serde", "keyword": "serde"}],
            "versions": [{"id": 1, "crate": "serde", "num": "1.0.210"}]
        }),
    )
    .await;
    let meta = CratesIo::new(client("crates.io"), base(&server))
        .fetch_package(&PackageRef::new(Ecosystem::Cargo, "serde"))
        .await
        .unwrap();
    assert_eq!(
        meta.description.as_deref(),
        Some("A generic serialization/deserialization framework")
    );
    assert_eq!(meta.homepage_url.as_deref(), Some("https://serde.rs"));
    assert_eq!(
        meta.repository_url.as_deref(),
        Some("https://github.com/serde-rs/serde")
    );
    assert_eq!(meta.latest_version.as_deref(), Some("1.0.210"));
    assert!(meta.funding.is_empty());
}

#[tokio::test]
async fn crates_io_answers_404_with_an_errors_body() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/crates/no-such-crate"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(
                json!({"errors": [{"detail": "crate `no-such-crate` does not exist"}]}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = CratesIo::new(client("crates.io"), base(&server))
        .fetch_package(&PackageRef::new(Ecosystem::Cargo, "no-such-crate"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "crates.io: not found: cargo/no-such-crate");
}

#[tokio::test]
async fn maven_central_searches_by_group_and_artifact() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/solrsearch/select"))
        .and(query_param("q", "g:\"com.google.inject\" AND a:\"guice\""))
        .and(query_param("rows", "1"))
        .and(query_param("wt", "json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "responseHeader": {"status": 0, "QTime": 1, "params": {"q": "g:com.google.inject AND a:guice", "wt": "json"}},
            "response": {"numFound": 1, "start": 0, "docs": [{
                "id": "com.google.inject:guice", "g": "com.google.inject", "a": "guice",
                "latestVersion": "7.0.0", "repositoryId": "central", "p": "jar",
                "timestamp": 1683216000000_u64, "versionCount": 32,
                "text": ["com.google.inject", "guice", "-sources.jar", ".jar", ".pom"],
                "ec": ["-sources.jar", ".jar", ".pom"]
            }]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let maven = MavenCentral::new(client("maven-central"), base(&server));
    let meta = maven
        .fetch_package(&PackageRef::new(
            Ecosystem::Maven,
            "com.google.inject:guice",
        ))
        .await
        .unwrap();
    assert_eq!(meta.latest_version.as_deref(), Some("7.0.0"));
    assert_eq!((meta.description, meta.repository_url), (None, None));
}

#[tokio::test]
async fn maven_central_reports_unknown_coordinates_as_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/solrsearch/select"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "responseHeader": {"status": 0, "QTime": 0},
            "response": {"numFound": 0, "start": 0, "docs": []}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let maven = MavenCentral::new(client("maven-central"), base(&server));
    let missing = maven
        .fetch_package(&PackageRef::new(Ecosystem::Maven, "org.example:nothing"))
        .await;
    assert!(
        matches!(missing, Err(ProviderError::NotFound { .. })),
        "{missing:?}"
    );
    // Not a coordinate: refused without a request (the mock expects exactly one).
    let bad = maven
        .fetch_package(&PackageRef::new(Ecosystem::Maven, "guice"))
        .await;
    assert!(
        matches!(bad, Err(ProviderError::NotFound { .. })),
        "{bad:?}"
    );
}

#[tokio::test]
async fn rubygems_maps_the_gem_and_its_metadata() {
    // Shape of https://rubygems.org/api/v1/gems/rails.json (trimmed).
    let server = serve(
        "/api/v1/gems/rails.json",
        json!({
            "name": "rails",
            "downloads": 500000000,
            "version": "7.1.3",
            "version_created_at": "2024-01-16T22:00:00.000Z",
            "platform": "ruby",
            "authors": "David Heinemeier Hansson",
            "info": "Ruby on Rails is a full-stack web framework.",
            "licenses": ["MIT"],
            "metadata": {
                "bug_tracker_uri": "https://github.com/rails/rails/issues",
                "changelog_uri": "https://github.com/rails/rails/releases/tag/v7.1.3",
                "source_code_uri": "https://github.com/rails/rails/tree/v7.1.3",
                "funding_uri": "https://github.com/sponsors/rails",
                "rubygems_mfa_required": "true"
            },
            "yanked": false,
            "sha": "abc",
            "project_uri": "https://rubygems.org/gems/rails",
            "gem_uri": "https://rubygems.org/gems/rails-7.1.3.gem",
            "homepage_uri": "https://rubyonrails.org",
            "wiki_uri": null,
            "documentation_uri": "https://api.rubyonrails.org/v7.1.3/",
            "mailing_list_uri": null,
            "source_code_uri": "https://github.com/rails/rails/tree/v7.1.3",
            "bug_tracker_uri": "https://github.com/rails/rails/issues",
            "changelog_uri": "https://github.com/rails/rails/releases/tag/v7.1.3",
            "funding_uri": null,
            "dependencies": {"development": [], "runtime": [{"name": "actionpack", "requirements": "= 7.1.3"}]}
        }),
    )
    .await;
    let meta = Rubygems::new(client("rubygems"), base(&server))
        .fetch_package(&PackageRef::new(Ecosystem::Rubygems, "rails"))
        .await
        .unwrap();
    assert_eq!(
        meta.description.as_deref(),
        Some("Ruby on Rails is a full-stack web framework.")
    );
    assert_eq!(
        meta.homepage_url.as_deref(),
        Some("https://rubyonrails.org")
    );
    assert_eq!(
        meta.repository_url.as_deref(),
        Some("https://github.com/rails/rails")
    );
    assert_eq!(meta.latest_version.as_deref(), Some("7.1.3"));
    assert_eq!(
        meta.funding,
        [link("github", "https://github.com/sponsors/rails")]
    );
}

#[tokio::test]
async fn packagist_reads_the_newest_release_of_the_p2_metadata() {
    // Shape of https://repo.packagist.org/p2/monolog/monolog.json (trimmed, minified).
    let server = serve(
        "/p2/monolog/monolog.json",
        json!({
            "packages": {
                "monolog/monolog": [
                    {
                        "name": "monolog/monolog",
                        "description": "Sends your logs to files, sockets, inboxes, databases and various web services",
                        "keywords": ["log", "logging", "psr-3"],
                        "homepage": "https://github.com/Seldaek/monolog",
                        "version": "3.7.0",
                        "version_normalized": "3.7.0.0",
                        "license": ["MIT"],
                        "authors": [{"name": "Jordi Boggiano", "email": "j.boggiano@seld.be", "homepage": "https://seld.be"}],
                        "source": {"url": "https://github.com/Seldaek/monolog.git", "type": "git", "reference": "f4393b648b78a5408747de94fca38beb5f7e9ef8"},
                        "dist": {"url": "https://api.github.com/repos/Seldaek/monolog/zipball/f4393b6", "type": "zip", "shasum": "", "reference": "f4393b6"},
                        "type": "library",
                        "support": {"issues": "https://github.com/Seldaek/monolog/issues", "source": "https://github.com/Seldaek/monolog/tree/3.7.0"},
                        "funding": [
                            {"url": "https://github.com/Seldaek", "type": "github"},
                            {"url": "https://tidelift.com/funding/github/packagist/monolog/monolog", "type": "tidelift"}
                        ],
                        "time": "2024-06-28T09:40:51+00:00"
                    },
                    {"version": "3.6.0", "version_normalized": "3.6.0.0", "time": "2024-04-12T21:02:21+00:00"}
                ]
            },
            "minified": "composer/2.0"
        }),
    )
    .await;
    let meta = Packagist::new(client("packagist"), base(&server))
        .fetch_package(&PackageRef::new(Ecosystem::Packagist, "Monolog/Monolog"))
        .await
        .unwrap();
    assert_eq!(
        meta.description.as_deref(),
        Some("Sends your logs to files, sockets, inboxes, databases and various web services")
    );
    assert_eq!(
        meta.homepage_url.as_deref(),
        Some("https://github.com/Seldaek/monolog")
    );
    assert_eq!(
        meta.repository_url.as_deref(),
        Some("https://github.com/Seldaek/monolog")
    );
    assert_eq!(meta.latest_version.as_deref(), Some("3.7.0"));
    assert_eq!(
        meta.funding,
        [
            link("github", "https://github.com/Seldaek"),
            link(
                "tidelift",
                "https://tidelift.com/funding/github/packagist/monolog/monolog"
            ),
        ]
    );
}

#[tokio::test]
async fn packagist_without_tagged_releases_has_no_version() {
    let server = serve(
        "/p2/acme/dev-only.json",
        json!({"packages": {"acme/dev-only": []}, "minified": "composer/2.0"}),
    )
    .await;
    let meta = Packagist::new(client("packagist"), base(&server))
        .fetch_package(&PackageRef::new(Ecosystem::Packagist, "acme/dev-only"))
        .await
        .unwrap();
    assert_eq!(meta.latest_version, None);
}
