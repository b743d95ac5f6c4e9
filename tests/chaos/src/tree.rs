//! A generated world of repositories, deterministic from a seed, so a clean run and a chaos
//! run load the same input: written as a local-provider tree (the layout of
//! `crates/providers/src/local.rs` and `demo/repos`) or served by the GitHub stand-in
//! ([`crate::github_standin`]).
//!
//! Owners hold a few repositories each; every repository has one to three manifests in
//! npm, PyPI, Cargo, Go, RubyGems, Composer or GitHub Actions, drawn from shared package
//! pools so packages have many dependents and organizations. Some owners are users, some
//! have an owner-wide `FUNDING.yml`, some repositories one of their own; a few are archived
//! or forks.

use std::{
    fmt::Write as _,
    io,
    path::{Path, PathBuf},
};

use rand::{RngExt, SeedableRng, rngs::StdRng};
use sha2::{Digest, Sha256};

/// Repositories per owner, on average.
const REPOSITORIES_PER_OWNER: usize = 4;

const NPM: &[&str] = &[
    "react",
    "lodash",
    "express",
    "axios",
    "vue",
    "typescript",
    "jest",
    "webpack",
    "chalk",
    "@babel/core",
    "@types/node",
    "left-pad",
    "moment",
    "zod",
    "vite",
];
const PYPI: &[&str] = &[
    "requests",
    "numpy",
    "pandas",
    "flask",
    "django",
    "pytest",
    "click",
    "pyyaml",
    "attrs",
    "sqlalchemy",
    "httpx",
    "pydantic",
];
const CARGO: &[&str] = &[
    "serde",
    "tokio",
    "anyhow",
    "thiserror",
    "clap",
    "rand",
    "regex",
    "tracing",
    "reqwest",
    "chrono",
];
const GO: &[&str] = &[
    "github.com/spf13/cobra",
    "github.com/stretchr/testify",
    "golang.org/x/sync",
    "google.golang.org/grpc",
    "github.com/gorilla/mux",
    "go.uber.org/zap",
];
const GEMS: &[&str] = &[
    "rails", "rake", "puma", "pg", "rspec", "sidekiq", "nokogiri",
];
const COMPOSER: &[&str] = &[
    "guzzlehttp/guzzle",
    "monolog/monolog",
    "symfony/console",
    "laravel/framework",
    "phpunit/phpunit",
];
const ACTIONS: &[&str] = &[
    "actions/checkout",
    "actions/setup-node",
    "actions/cache",
    "actions/upload-artifact",
    "docker/build-push-action",
];
const LANGUAGES: &[&str] = &["TypeScript", "Python", "Rust", "Go", "Ruby", "PHP", "Shell"];

/// An owner: an organization or a user, with its repositories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub login: String,
    /// `organization` or `user`.
    pub kind: &'static str,
    pub name: String,
    pub description: String,
    pub website_url: Option<String>,
    /// The owner-wide `.github/FUNDING.yml`, when it has one.
    pub funding: Option<String>,
    pub repositories: Vec<Repository>,
}

/// One repository and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub name: String,
    pub stars: u32,
    pub forks: u32,
    pub archived: bool,
    pub fork: bool,
    pub language: &'static str,
    pub description: String,
    /// RFC 3339, UTC.
    pub pushed_at: String,
    /// `(path, contents)`, paths relative to the repository, sorted.
    pub files: Vec<(String, String)>,
}

impl Repository {
    /// A 40-hex-digit commit id derived from the repository's files (what GitHub's trees
    /// and `commits/{ref}` answer).
    pub fn commit_sha(&self, owner: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(owner.as_bytes());
        hash.update(self.name.as_bytes());
        for (path, contents) in &self.files {
            hash.update(path.as_bytes());
            hash.update(contents.as_bytes());
        }
        let digest = hash.finalize();
        digest[..20].iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

/// The generated world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    pub seed: u64,
    pub owners: Vec<Owner>,
}

impl Tree {
    /// `repositories` repositories (at least one) under about a quarter as many owners,
    /// the same for the same `seed`.
    pub fn generate(seed: u64, repositories: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let repositories = repositories.max(1);
        let owner_count = repositories.div_ceil(REPOSITORIES_PER_OWNER);
        let mut owners: Vec<Owner> = (0..owner_count).map(|i| owner(&mut rng, seed, i)).collect();
        for r in 0..repositories {
            // Every owner gets one first, the rest go anywhere: uneven sizes.
            let o = if r < owner_count {
                r
            } else {
                rng.random_range(0..owner_count)
            };
            let number = owners[o].repositories.len();
            let repository = repository(&mut rng, &owners[o].login, number);
            owners[o].repositories.push(repository);
        }
        Self { seed, owners }
    }

    /// Every `(owner, repository)`, owners in order.
    pub fn repositories(&self) -> impl Iterator<Item = (&Owner, &Repository)> {
        self.owners
            .iter()
            .flat_map(|o| o.repositories.iter().map(move |r| (o, r)))
    }

    /// How many repositories there are.
    pub fn repository_count(&self) -> usize {
        self.owners.iter().map(|o| o.repositories.len()).sum()
    }

    /// Writes the local provider's layout under `root` (created if missing).
    pub fn write(&self, root: &Path) -> io::Result<()> {
        for owner in &self.owners {
            let dir = root.join(&owner.login);
            std::fs::create_dir_all(&dir)?;
            let profile = serde_json::json!({
                "name": owner.name,
                "kind": owner.kind,
                "description": owner.description,
                "website_url": owner.website_url,
            });
            std::fs::write(dir.join(".wump-owner.json"), pretty(&profile))?;
            if let Some(funding) = &owner.funding {
                write_file(&dir, ".github/FUNDING.yml", funding)?;
            }
            for repository in &owner.repositories {
                let repo_dir = dir.join(&repository.name);
                let meta = serde_json::json!({
                    "stars": repository.stars,
                    "forks": repository.forks,
                    "archived": repository.archived,
                    "fork": repository.fork,
                    "pushed_at": repository.pushed_at,
                    "language": repository.language,
                    "description": repository.description,
                    "default_branch": "main",
                });
                write_file(&repo_dir, ".wump-repo.json", &pretty(&meta))?;
                for (path, contents) in &repository.files {
                    write_file(&repo_dir, path, contents)?;
                }
            }
        }
        Ok(())
    }

    /// Writes the tree into a fresh temporary directory (removed when dropped).
    pub fn write_temp(&self) -> io::Result<WrittenTree> {
        let dir = tempfile::Builder::new()
            .prefix("wump-chaos-tree-")
            .tempdir()?;
        self.write(dir.path())?;
        Ok(WrittenTree { dir })
    }
}

/// A tree on disk; the directory goes when this is dropped.
#[derive(Debug)]
pub struct WrittenTree {
    dir: tempfile::TempDir,
}

impl WrittenTree {
    /// The root to give the local provider (`WUMP__PROVIDERS__LOCAL__ROOT`).
    pub fn root(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn write_file(dir: &Path, relative: &str, contents: &str) -> io::Result<()> {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, contents)
}

fn owner(rng: &mut StdRng, seed: u64, i: usize) -> Owner {
    let user = i % 5 == 4;
    let login = if user {
        format!("dev-{seed:x}-{i:03}")
    } else {
        format!("org-{seed:x}-{i:03}")
    };
    let funding = match rng.random_range(0..4u8) {
        0 => Some(format!("github: [{login}]\nopen_collective: {login}\n")),
        1 => Some(format!("custom: https://{login}.example/donate\n")),
        _ => None,
    };
    Owner {
        kind: if user { "user" } else { "organization" },
        name: format!("Owner {i}"),
        description: format!("Generated owner {i} of seed {seed}."),
        website_url: i
            .is_multiple_of(3)
            .then(|| format!("https://{login}.example")),
        funding,
        repositories: Vec::new(),
        login,
    }
}

fn repository(rng: &mut StdRng, owner: &str, number: usize) -> Repository {
    let name = format!("repo-{number:03}");
    let mut files = Vec::new();
    let manifests = rng.random_range(1..=3usize);
    let mut kinds: Vec<usize> = Vec::new();
    while kinds.len() < manifests {
        let kind = rng.random_range(0..7usize);
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    for kind in kinds {
        files.push(manifest(rng, kind, owner, &name));
    }
    if rng.random_range(0..6u8) == 0 {
        files.push((
            ".github/FUNDING.yml".to_owned(),
            format!("ko_fi: {owner}\n"),
        ));
    }
    files.push(("README.md".to_owned(), format!("# {owner}/{name}\n")));
    files.sort();
    let day = rng.random_range(1..=28u8);
    let month = rng.random_range(1..=11u8);
    Repository {
        stars: rng.random_range(0..5_000u32),
        forks: rng.random_range(0..300u32),
        archived: rng.random_range(0..20u8) == 0,
        fork: rng.random_range(0..25u8) == 0,
        language: LANGUAGES[rng.random_range(0..LANGUAGES.len())],
        description: format!("Generated repository {number} of {owner}."),
        pushed_at: format!("2026-{month:02}-{day:02}T12:00:00Z"),
        files,
        name,
    }
}

/// A few distinct names from `pool`.
fn pick<'a>(rng: &mut StdRng, pool: &[&'a str], most: usize) -> Vec<&'a str> {
    let count = rng.random_range(1..=most.min(pool.len()));
    let mut picked = Vec::new();
    while picked.len() < count {
        let name = pool[rng.random_range(0..pool.len())];
        if !picked.contains(&name) {
            picked.push(name);
        }
    }
    picked.sort_unstable();
    picked
}

fn version(rng: &mut StdRng) -> String {
    format!(
        "{}.{}.{}",
        rng.random_range(0..10u8),
        rng.random_range(0..30u8),
        rng.random_range(0..10u8)
    )
}

/// One manifest of the `kind`-th ecosystem: `(path, contents)`.
fn manifest(rng: &mut StdRng, kind: usize, owner: &str, name: &str) -> (String, String) {
    match kind {
        0 => {
            let deps: Vec<String> = pick(rng, NPM, 5)
                .into_iter()
                .map(|d| format!("    \"{d}\": \"^{}\"", version(rng)))
                .collect();
            let dev: Vec<String> = pick(rng, NPM, 2)
                .into_iter()
                .map(|d| format!("    \"{d}\": \"~{}\"", version(rng)))
                .collect();
            (
                "package.json".to_owned(),
                format!(
                    "{{\n  \"name\": \"{name}\",\n  \"dependencies\": {{\n{}\n  }},\n  \"devDependencies\": {{\n{}\n  }}\n}}\n",
                    deps.join(",\n"),
                    dev.join(",\n")
                ),
            )
        }
        1 => {
            let lines: String = pick(rng, PYPI, 5)
                .into_iter()
                .map(|d| format!("{d}>={}\n", version(rng)))
                .collect();
            ("requirements.txt".to_owned(), lines)
        }
        2 => {
            let lines: String = pick(rng, CARGO, 5)
                .into_iter()
                .map(|d| format!("{d} = \"{}\"\n", version(rng)))
                .collect();
            (
                "Cargo.toml".to_owned(),
                format!(
                    "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{lines}"
                ),
            )
        }
        3 => {
            let lines: String = pick(rng, GO, 4)
                .into_iter()
                .map(|d| format!("\t{d} v{}\n", version(rng)))
                .collect();
            (
                "go.mod".to_owned(),
                format!("module github.com/{owner}/{name}\n\ngo 1.22\n\nrequire (\n{lines})\n"),
            )
        }
        4 => {
            let lines: String = pick(rng, GEMS, 4)
                .into_iter()
                .map(|d| format!("gem \"{d}\", \"~> {}\"\n", version(rng)))
                .collect();
            (
                "Gemfile".to_owned(),
                format!("source \"https://rubygems.org\"\n\n{lines}"),
            )
        }
        5 => {
            let deps: Vec<String> = pick(rng, COMPOSER, 3)
                .into_iter()
                .map(|d| format!("    \"{d}\": \"^{}\"", version(rng)))
                .collect();
            (
                "composer.json".to_owned(),
                format!(
                    "{{\n  \"name\": \"{owner}/{name}\",\n  \"require\": {{\n    \"php\": \">=8.2\",\n{}\n  }}\n}}\n",
                    deps.join(",\n")
                ),
            )
        }
        _ => {
            let steps: String = pick(rng, ACTIONS, 3)
                .into_iter()
                .map(|d| format!("      - uses: {d}@v{}\n", rng.random_range(1..5u8)))
                .collect();
            (
                ".github/workflows/ci.yml".to_owned(),
                format!(
                    "name: ci\non:\n  push:\n    branches: [main]\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n{steps}      - run: make test\n"
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_tree_and_another_seed_another() {
        let a = Tree::generate(7, 40);
        assert_eq!(a, Tree::generate(7, 40));
        assert_ne!(a, Tree::generate(8, 40));
        assert_eq!(a.repository_count(), 40);
        assert_eq!(a.owners.len(), 10);
        assert!(a.owners.iter().all(|o| !o.repositories.is_empty()));
        assert!(a.owners.iter().any(|o| o.kind == "user"));
        assert!(a.owners.iter().any(|o| o.funding.is_some()));
        let manifests: std::collections::BTreeSet<&str> = a
            .repositories()
            .flat_map(|(_, r)| r.files.iter().map(|(p, _)| p.as_str()))
            .collect();
        for path in ["package.json", "requirements.txt", "Cargo.toml", "go.mod"] {
            assert!(manifests.contains(path), "{path} in {manifests:?}");
        }
    }

    #[test]
    fn writes_the_local_providers_layout() {
        let tree = Tree::generate(1, 6);
        let written = tree.write_temp().unwrap();
        let (owner, repository) = tree.repositories().next().unwrap();
        let dir = written.root().join(&owner.login);
        assert!(dir.join(".wump-owner.json").is_file());
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(&repository.name).join(".wump-repo.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["stars"], repository.stars);
        for (path, contents) in &repository.files {
            assert_eq!(
                &std::fs::read_to_string(dir.join(&repository.name).join(path)).unwrap(),
                contents
            );
        }
        assert_eq!(repository.commit_sha(&owner.login).len(), 40);
    }
}
