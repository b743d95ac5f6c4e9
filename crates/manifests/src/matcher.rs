//! Which files in a repository tree wump reads as manifests.
//!
//! [`select`] takes a tree listing — `/`-separated paths with their sizes, as a Git tree or
//! a directory walk gives them — and picks every file [`Format::from_path`] recognises, at
//! any depth (monorepos declare dependencies in many directories). It leaves out:
//!
//! - files inside directories that hold other people's code, build output or test data
//!   (see [`DirectoryRule`]), because their manifests are not the repository's own
//!   declarations: `node_modules/react/package.json` would make every app "depend" on
//!   React's dependencies, and a parser's test fixtures would make it depend on everything;
//! - files larger than [`Limits::max_file_bytes`];
//! - manifests beyond [`Limits::max_per_repository`], keeping the shallowest.
//!
//! Every file left out that would otherwise have been read is reported with a
//! [`SkipReason`], so a worker can log what it did not read and why. Files that are not
//! manifests at all (READMEs, sources) are neither selected nor reported.
//!
//! Rules apply to directory names only, never to file names: the root `build.gradle` is a
//! manifest even though `build/` is a generated tree, and so is `vendor.gemspec`.

use std::fmt;

use serde::Serialize;

use super::Format;

/// Bounds on what [`select`] takes from one repository: the `[manifests]` settings, owned
/// by wump-core's settings so that loading them needs no parser.
pub use wump_core::settings::ManifestLimits as Limits;

/// Why a directory's contents are not the repository's own declarations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryRule {
    /// Third-party code copied or installed into the tree (`node_modules`, `vendor`, …).
    Vendored,
    /// Build output, caches and tool state (`dist`, `build`, `target`, `.git`, …).
    Generated,
    /// Test data, often other projects' manifests kept as inputs (`fixtures`, `testdata`).
    Fixtures,
}

/// Directory names whose whole subtree is skipped, compared ASCII-case-insensitively with
/// each directory component of a path. Kept deliberately short: a name belongs here only
/// when a directory so named almost never holds a project's own manifest.
///
/// Deliberately absent: `examples`/`samples` (maintained, runnable code whose dependencies
/// are real; the manifest bound limits repositories made mostly of examples), `packages`
/// (the usual monorepo layout, even though old NuGet restores into it), `test`/`tests`,
/// `out`, `lib` and `env` (too often a project's own sources), `.github` (workflows and
/// FUNDING.yml live there).
pub const SKIPPED_DIRECTORIES: &[(&str, DirectoryRule)] = &[
    // Package managers' install and vendor directories.
    ("node_modules", DirectoryRule::Vendored),
    ("bower_components", DirectoryRule::Vendored),
    ("jspm_packages", DirectoryRule::Vendored),
    (".yarn", DirectoryRule::Vendored), // Yarn Berry's cache, releases and editor SDKs
    ("vendor", DirectoryRule::Vendored), // Go, Composer, Bundler (vendor/bundle), Cargo vendor
    ("third_party", DirectoryRule::Vendored),
    ("third-party", DirectoryRule::Vendored),
    ("thirdparty", DirectoryRule::Vendored),
    ("deps", DirectoryRule::Vendored), // Mix's checkouts; node's and C projects' vendored libs
    ("site-packages", DirectoryRule::Vendored), // any virtualenv, whatever it is called
    (".venv", DirectoryRule::Vendored),
    ("venv", DirectoryRule::Vendored),
    ("__pypackages__", DirectoryRule::Vendored), // PEP 582
    (".tox", DirectoryRule::Vendored),
    (".nox", DirectoryRule::Vendored),
    ("Pods", DirectoryRule::Vendored), // CocoaPods' installed pods
    ("Carthage", DirectoryRule::Vendored), // Carthage/Checkouts
    (".build", DirectoryRule::Vendored), // SwiftPM's checkouts
    (".pub-cache", DirectoryRule::Vendored),
    // Build output, caches and version-control state.
    ("dist", DirectoryRule::Generated),
    ("build", DirectoryRule::Generated),
    ("target", DirectoryRule::Generated), // Cargo writes target/package/*/Cargo.toml
    ("_build", DirectoryRule::Generated), // Mix
    (".next", DirectoryRule::Generated),
    (".nuxt", DirectoryRule::Generated),
    (".dart_tool", DirectoryRule::Generated),
    (".gradle", DirectoryRule::Generated),
    (".git", DirectoryRule::Generated),
    (".hg", DirectoryRule::Generated),
    (".svn", DirectoryRule::Generated),
    // Test data: parsers' and tools' fixtures are other projects' manifests.
    ("fixtures", DirectoryRule::Fixtures), // also test/fixtures, spec/fixtures
    ("fixture", DirectoryRule::Fixtures),
    ("__fixtures__", DirectoryRule::Fixtures), // Jest
    ("testdata", DirectoryRule::Fixtures),     // Go's convention, ignored by the go tool
];

/// Why a file that would have been read as a manifest was not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// Inside `dir` (the path of the directory, e.g. `web/node_modules`), third-party code.
    VendoredDirectory { dir: String },
    /// Inside `dir`, build output or tool state.
    GeneratedDirectory { dir: String },
    /// Inside `dir`, test data.
    FixturesDirectory { dir: String },
    /// The file is `size` bytes, over the `limit`.
    TooLarge { size: u64, limit: u64 },
    /// The repository already has `limit` manifests closer to its root.
    TooManyManifests { limit: usize },
}

impl SkipReason {
    fn for_directory(rule: DirectoryRule, dir: String) -> Self {
        match rule {
            DirectoryRule::Vendored => SkipReason::VendoredDirectory { dir },
            DirectoryRule::Generated => SkipReason::GeneratedDirectory { dir },
            DirectoryRule::Fixtures => SkipReason::FixturesDirectory { dir },
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::VendoredDirectory { dir } => {
                write!(f, "inside vendored directory `{dir}`")
            }
            SkipReason::GeneratedDirectory { dir } => {
                write!(f, "inside generated directory `{dir}`")
            }
            SkipReason::FixturesDirectory { dir } => {
                write!(f, "inside test fixtures directory `{dir}`")
            }
            SkipReason::TooLarge { size, limit } => {
                write!(f, "file is {size} bytes, over the {limit}-byte limit")
            }
            SkipReason::TooManyManifests { limit } => {
                write!(f, "repository has more than {limit} manifests")
            }
        }
    }
}

/// The outcome of [`select`]: both lists are sorted by path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Selection {
    /// Files to read, with the format each is read as.
    pub selected: Vec<(String, Format)>,
    /// Manifests left out, with the reason.
    pub skipped: Vec<(String, SkipReason)>,
}

/// Picks the manifests wump reads from a repository tree of (`/`-separated path, size in
/// bytes) entries. Pure: the same tree gives the same selection whatever its order.
pub fn select<I, P>(tree: I, limits: &Limits) -> Selection
where
    I: IntoIterator<Item = (P, u64)>,
    P: AsRef<str>,
{
    let mut selection = Selection::default();
    let mut candidates = Vec::new();
    for (path, size) in tree {
        let path = path.as_ref();
        let Some(format) = Format::from_path(path) else {
            continue;
        };
        if let Some(reason) = skipped_directory(path) {
            selection.skipped.push((path.to_owned(), reason));
        } else if size > limits.max_file_bytes {
            let reason = SkipReason::TooLarge {
                size,
                limit: limits.max_file_bytes,
            };
            selection.skipped.push((path.to_owned(), reason));
        } else {
            candidates.push((path.to_owned(), format));
        }
    }

    // The bound keeps the manifests closest to the root: those describe the project itself.
    // Sorting by depth, then path, keeps a directory's manifest and lockfile together.
    candidates.sort_by(|(a, _), (b, _)| depth(a).cmp(&depth(b)).then_with(|| a.cmp(b)));
    let extra = candidates.split_off(limits.max_per_repository.min(candidates.len()));
    selection.skipped.extend(extra.into_iter().map(|(path, _)| {
        let reason = SkipReason::TooManyManifests {
            limit: limits.max_per_repository,
        };
        (path, reason)
    }));
    selection.selected = candidates;

    selection.selected.sort();
    selection.skipped.sort_by(|(a, _), (b, _)| a.cmp(b));
    selection
}

/// The outermost skipped directory `path` lies in, as a skip reason.
fn skipped_directory(path: &str) -> Option<SkipReason> {
    let path = path.trim_start_matches("./").trim_start_matches('/');
    let (dir, _file) = path.rsplit_once('/')?;
    let mut end = 0;
    for component in dir.split('/') {
        end += component.len();
        if let Some((_, rule)) = SKIPPED_DIRECTORIES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(component))
        {
            return Some(SkipReason::for_directory(*rule, dir[..end].to_owned()));
        }
        end += 1; // the `/`
    }
    None
}

fn depth(path: &str) -> usize {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .matches('/')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: u64 = 100;

    fn run(paths: &[&str]) -> Selection {
        select(paths.iter().map(|p| (*p, SMALL)), &Limits::default())
    }

    fn selected(selection: &Selection) -> Vec<&str> {
        selection.selected.iter().map(|(p, _)| p.as_str()).collect()
    }

    #[test]
    fn finds_manifests_at_any_depth_with_their_formats() {
        let selection = run(&[
            "package.json",
            "packages/web/package.json",
            "packages/web/pnpm-lock.yaml",
            "services/api/go.mod",
            "tools/deep/er/still/Cargo.toml",
            ".github/workflows/ci.yml",
            ".github/FUNDING.yml",
        ]);
        assert_eq!(
            selection.selected,
            vec![
                (".github/FUNDING.yml".to_owned(), Format::FundingYml),
                (
                    ".github/workflows/ci.yml".to_owned(),
                    Format::GithubWorkflow
                ),
                ("package.json".to_owned(), Format::PackageJson),
                ("packages/web/package.json".to_owned(), Format::PackageJson),
                ("packages/web/pnpm-lock.yaml".to_owned(), Format::PnpmLock),
                ("services/api/go.mod".to_owned(), Format::GoMod),
                (
                    "tools/deep/er/still/Cargo.toml".to_owned(),
                    Format::CargoToml
                ),
            ]
        );
        assert!(selection.skipped.is_empty());
    }

    #[test]
    fn files_that_are_not_manifests_are_neither_selected_nor_reported() {
        let selection = run(&[
            "README.md",
            "src/main.rs",
            "node_modules/react/index.js",
            "docs/notes.txt",
        ]);
        assert_eq!(selection, Selection::default());
    }

    #[test]
    fn every_listed_directory_is_skipped_with_its_rule() {
        for (name, rule) in SKIPPED_DIRECTORIES {
            let path = format!("app/{name}/pkg/package.json");
            let selection = run(&[&path]);
            let expected = SkipReason::for_directory(*rule, format!("app/{name}"));
            assert_eq!(selection.skipped, vec![(path.clone(), expected)], "{name}");
            assert!(selection.selected.is_empty(), "{name}");
        }
    }

    #[test]
    fn vendored_trees_are_skipped_at_any_depth() {
        let selection = run(&[
            "node_modules/left-pad/package.json",
            "web/node_modules/@types/node/package.json",
            "vendor/github.com/pkg/errors/go.mod",
            "php/vendor/monolog/monolog/composer.json",
            "third_party/abseil/Cargo.toml",
            "ios/Pods/Alamofire/Package.swift",
            ".venv/lib/python3.12/site-packages/requests/setup.py",
            "bower_components/jquery/bower.json",
        ]);
        assert!(selection.selected.is_empty());
        let dirs: Vec<_> = selection
            .skipped
            .iter()
            .map(|(_, reason)| match reason {
                SkipReason::VendoredDirectory { dir } => dir.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        // bower.json is not a format wump reads, so it is not reported.
        assert_eq!(
            dirs,
            [
                ".venv",
                "ios/Pods",
                "node_modules",
                "php/vendor",
                "third_party",
                "vendor",
                "web/node_modules",
            ]
        );
    }

    #[test]
    fn the_outermost_skipped_directory_is_named() {
        let selection = run(&["vendor/a/node_modules/b/package.json"]);
        assert_eq!(
            selection.skipped,
            vec![(
                "vendor/a/node_modules/b/package.json".to_owned(),
                SkipReason::VendoredDirectory {
                    dir: "vendor".to_owned()
                }
            )]
        );
    }

    #[test]
    fn generated_trees_are_skipped() {
        let selection = run(&[
            "dist/package.json",
            "target/package/foo-0.1.0/Cargo.toml",
            "android/app/build/intermediates/pom.xml",
            "_build/dev/lib/plug/mix.exs",
            ".git/modules/sub/package.json",
        ]);
        assert!(selection.selected.is_empty());
        assert!(
            selection
                .skipped
                .iter()
                .all(|(_, r)| matches!(r, SkipReason::GeneratedDirectory { .. })),
            "{selection:?}"
        );
        assert_eq!(selection.skipped.len(), 5);
    }

    #[test]
    fn fixtures_and_test_data_are_skipped() {
        let selection = run(&[
            "test/fixtures/npm/package.json",
            "spec/fixtures/Gemfile",
            "src/__fixtures__/yarn.lock",
            "internal/modfile/testdata/go.mod",
            "test/package.json",
        ]);
        assert_eq!(selected(&selection), ["test/package.json"]);
        assert_eq!(
            selection.skipped[3],
            (
                "test/fixtures/npm/package.json".to_owned(),
                SkipReason::FixturesDirectory {
                    dir: "test/fixtures".to_owned()
                }
            )
        );
        assert_eq!(selection.skipped.len(), 4);
    }

    #[test]
    fn rules_apply_to_directories_not_to_file_names() {
        let selection = run(&[
            "build.gradle",
            "build.gradle.kts",
            "app/build.gradle",
            "vendor.gemspec",
            "build/build.gradle",
        ]);
        assert_eq!(
            selected(&selection),
            [
                "app/build.gradle",
                "build.gradle",
                "build.gradle.kts",
                "vendor.gemspec"
            ]
        );
        assert_eq!(
            selection.skipped,
            vec![(
                "build/build.gradle".to_owned(),
                SkipReason::GeneratedDirectory {
                    dir: "build".to_owned()
                }
            )]
        );
    }

    #[test]
    fn directory_names_match_whole_components_case_insensitively() {
        let selection = run(&[
            "vendored/package.json",
            "my_node_modules/package.json",
            "distribution/go.mod",
            "buildSrc/build.gradle.kts",
            "targets/Cargo.toml",
            "Vendor/composer.json",
            "BUILD/pom.xml",
        ]);
        assert_eq!(
            selected(&selection),
            [
                "buildSrc/build.gradle.kts",
                "distribution/go.mod",
                "my_node_modules/package.json",
                "targets/Cargo.toml",
                "vendored/package.json",
            ]
        );
        assert_eq!(selection.skipped.len(), 2);
    }

    #[test]
    fn examples_and_monorepo_packages_are_read() {
        let selection = run(&[
            "examples/with-react/package.json",
            "packages/core/package.json",
            "samples/Console/Console.csproj",
        ]);
        assert_eq!(selection.selected.len(), 3);
    }

    #[test]
    fn leading_dot_slash_does_not_hide_a_skipped_directory() {
        let selection = run(&["./node_modules/x/package.json"]);
        assert!(selection.selected.is_empty());
        assert_eq!(
            selection.skipped[0].1,
            SkipReason::VendoredDirectory {
                dir: "node_modules".to_owned()
            }
        );
    }

    #[test]
    fn files_over_the_size_limit_are_skipped_with_their_size() {
        let limits = Limits {
            max_file_bytes: 1_000,
            ..Limits::default()
        };
        let tree = [
            ("package-lock.json", 1_001),
            ("package.json", 1_000),
            ("huge.bin", 10_000_000),
        ];
        let selection = select(tree, &limits);
        assert_eq!(selected(&selection), ["package.json"]);
        assert_eq!(
            selection.skipped,
            vec![(
                "package-lock.json".to_owned(),
                SkipReason::TooLarge {
                    size: 1_001,
                    limit: 1_000
                }
            )]
        );
    }

    #[test]
    fn the_default_size_limit_is_the_parsers_limit() {
        assert_eq!(
            Limits::default().max_file_bytes,
            crate::DEFAULT_MAX_BYTES as u64
        );
    }

    #[test]
    fn a_file_in_a_skipped_directory_reports_the_directory_not_its_size() {
        let selection = select(
            [("node_modules/x/package.json", u64::MAX)],
            &Limits::default(),
        );
        assert!(matches!(
            selection.skipped[0].1,
            SkipReason::VendoredDirectory { .. }
        ));
    }

    #[test]
    fn the_manifest_bound_keeps_the_shallowest_whatever_the_input_order() {
        let limits = Limits {
            max_per_repository: 3,
            ..Limits::default()
        };
        let tree = [
            "packages/z/deep/package.json",
            "packages/b/package.json",
            "packages/a/package.json",
            "packages/a/package-lock.json",
            "Cargo.toml",
        ];
        let forward = select(tree.iter().map(|p| (*p, SMALL)), &limits);
        let backward = select(tree.iter().rev().map(|p| (*p, SMALL)), &limits);
        assert_eq!(forward, backward);
        assert_eq!(
            selected(&forward),
            [
                "Cargo.toml",
                "packages/a/package-lock.json",
                "packages/a/package.json"
            ]
        );
        let too_many = SkipReason::TooManyManifests { limit: 3 };
        assert_eq!(
            forward.skipped,
            vec![
                ("packages/b/package.json".to_owned(), too_many.clone()),
                ("packages/z/deep/package.json".to_owned(), too_many),
            ]
        );
    }

    #[test]
    fn skipped_files_do_not_count_towards_the_bound() {
        let limits = Limits {
            max_file_bytes: 10,
            max_per_repository: 1,
        };
        let tree = [
            ("node_modules/a/package.json", 1),
            ("big/package.json", 11),
            ("app/package.json", 1),
        ];
        let selection = select(tree, &limits);
        assert_eq!(selected(&selection), ["app/package.json"]);
        assert_eq!(selection.skipped.len(), 2);
    }

    #[test]
    fn a_zero_bound_skips_every_manifest() {
        let limits = Limits {
            max_per_repository: 0,
            ..Limits::default()
        };
        let selection = select([("package.json", 1)], &limits);
        assert!(selection.selected.is_empty());
        assert_eq!(
            selection.skipped[0].1,
            SkipReason::TooManyManifests { limit: 0 }
        );
    }

    #[test]
    fn reasons_read_well_in_logs_and_serialize_with_a_tag() {
        let reason = SkipReason::VendoredDirectory {
            dir: "web/node_modules".to_owned(),
        };
        assert_eq!(
            reason.to_string(),
            "inside vendored directory `web/node_modules`"
        );
        assert_eq!(
            serde_json::to_value(&reason).unwrap(),
            serde_json::json!({ "reason": "vendored_directory", "dir": "web/node_modules" })
        );
        assert_eq!(
            SkipReason::TooLarge {
                size: 11,
                limit: 10
            }
            .to_string(),
            "file is 11 bytes, over the 10-byte limit"
        );
        assert_eq!(
            SkipReason::TooManyManifests { limit: 5 }.to_string(),
            "repository has more than 5 manifests"
        );
    }
}
