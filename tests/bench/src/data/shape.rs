//! What a generated dataset looks like: how many of each thing, and the long tails real
//! ecosystems have. Everything here is pure and seeded, so the same size and seed give the
//! same rows byte for byte.
//!
//! The tails follow what public data shows: a few packages are used by a large share of an
//! ecosystem (Zipf over each ecosystem's packages), most repositories have a handful of
//! stars and a few have hundreds of thousands (a Pareto tail), most organizations own one or
//! two repositories and a few own thousands (Zipf over organizations), and a repository
//! declares about ten dependencies (log-normal).

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{RngExt, distr::weighted::WeightedIndex, prelude::Distribution, rngs::StdRng};
use uuid::Uuid;
use wump_core::{DependencyKind, Ecosystem};

/// How big a dataset is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size {
    /// Its name in reports and in the database name (`wump_bench_<name>`).
    pub name: &'static str,
    /// Repositories to generate.
    pub repositories: u64,
    /// The mean number of dependencies a repository declares.
    pub mean_dependencies: f64,
}

impl Size {
    /// 100 k repositories, about 1 M edges: quick runs.
    pub const SMALL: Size = Size {
        name: "small",
        repositories: 100_000,
        mean_dependencies: 10.0,
    };
    /// 1 M repositories, about 10 M edges.
    pub const LARGE: Size = Size {
        name: "large",
        repositories: 1_000_000,
        mean_dependencies: 10.0,
    };
    /// A few thousand edges, for the tests of the generator itself.
    pub const TINY: Size = Size {
        name: "tiny",
        repositories: 600,
        mean_dependencies: 10.0,
    };

    /// A size by name.
    pub fn named(name: &str) -> Option<Size> {
        [Size::SMALL, Size::LARGE, Size::TINY]
            .into_iter()
            .find(|s| s.name == name)
    }

    /// Packages to generate: enough that most of an ecosystem's packages have few
    /// dependents while the head of the Zipf curve has a large share.
    pub fn packages(self) -> u64 {
        (self.repositories / 2).max(100)
    }

    /// Organizations (and users) owning the repositories.
    pub fn organizations(self) -> u64 {
        (self.repositories / 4).max(10)
    }
}

/// The share of repositories whose manifests are in each ecosystem, roughly as the
/// dependency graphs of GitHub are split (npm and PyPI first, Swift and Hex last).
pub const ECOSYSTEM_SHARES: [(Ecosystem, u32); 13] = [
    (Ecosystem::Npm, 34),
    (Ecosystem::Pypi, 20),
    (Ecosystem::Maven, 9),
    (Ecosystem::Go, 8),
    (Ecosystem::Cargo, 6),
    (Ecosystem::Rubygems, 5),
    (Ecosystem::Packagist, 4),
    (Ecosystem::Nuget, 4),
    (Ecosystem::Actions, 5),
    (Ecosystem::Pub, 2),
    (Ecosystem::Hex, 1),
    (Ecosystem::Swiftpm, 1),
    (Ecosystem::Cocoapods, 1),
];

/// The Zipf exponent of package popularity within an ecosystem.
const PACKAGE_ZIPF: f64 = 1.05;
/// The Zipf exponent of repositories per organization.
const ORGANIZATION_ZIPF: f64 = 1.1;
/// The Pareto index of stars: smaller is a heavier tail.
const STARS_PARETO: f64 = 0.75;
/// No repository has more stars than the most-starred ones on GitHub.
const MAX_STARS: f64 = 450_000.0;
/// Shares of archived repositories and forks (percent).
const ARCHIVED_PERCENT: u32 = 4;
const FORK_PERCENT: u32 = 6;
/// Forges other than GitHub, with their shares (percent).
const OTHER_HOSTS: [(&str, u32); 2] = [("gitlab.com", 6), ("codeberg.org", 2)];
/// Dependencies a repository declares at most.
const MAX_DEPENDENCIES: f64 = 400.0;

/// A generated package.
#[derive(Debug, Clone)]
pub struct PackageRow {
    pub id: Uuid,
    pub ecosystem: Ecosystem,
    pub name: String,
    pub normalized_name: String,
    pub latest_version: String,
}

/// A generated organization or user.
#[derive(Debug, Clone)]
pub struct OrganizationRow {
    pub id: Uuid,
    pub host: &'static str,
    pub login: String,
    pub user: bool,
    pub enriched: bool,
    pub sponsors: bool,
}

/// A generated repository, with what its edges copy.
#[derive(Debug, Clone)]
pub struct RepositoryRow {
    pub id: Uuid,
    pub organization: u32,
    pub name: String,
    pub ecosystem: Ecosystem,
    pub stars: i32,
    pub forks: i32,
    pub archived: bool,
    pub fork: bool,
    pub pushed_at: Option<DateTime<Utc>>,
}

/// A generated edge: repository `repository` depends on package `package`.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeRow {
    pub package: u32,
    pub kinds: Vec<DependencyKind>,
    pub requirement: String,
    pub resolved_version: Option<String>,
    pub direct: Option<bool>,
}

/// The packages of one ecosystem, most popular first, and a sampler over them.
#[derive(Debug)]
pub struct EcosystemPackages {
    /// Indexes into the package list, most popular first.
    pub packages: Vec<u32>,
    popularity: WeightedIndex<f64>,
}

/// The whole plan of a dataset: every package, organization and repository, and how
/// edges are drawn. Edges are drawn while they are written (ten million of them would not
/// fit comfortably in memory), from a generator seeded per repository.
#[derive(Debug)]
pub struct Dataset {
    pub size: Size,
    pub seed: u64,
    pub packages: Vec<PackageRow>,
    pub organizations: Vec<OrganizationRow>,
    pub repositories: Vec<RepositoryRow>,
    by_ecosystem: Vec<(Ecosystem, EcosystemPackages)>,
}

/// Ids ordered by creation time, as the writers' UUIDv7s are, from the seeded generator.
fn uuid_v7(rng: &mut StdRng, at: DateTime<Utc>) -> Uuid {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or_default();
    let random: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// Weights `1 / rank^s` for ranks `1..=n`.
fn zipf(n: usize, s: f64) -> WeightedIndex<f64> {
    WeightedIndex::new((1..=n).map(|rank| 1.0 / (rank as f64).powf(s)))
        .expect("n > 0 and finite weights")
}

fn percent(rng: &mut StdRng, p: u32) -> bool {
    rng.random_range(0..100) < p
}

/// The moment the dataset pretends to be generated at, so runs are reproducible.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
        .single()
        .expect("a valid date")
}

/// A package name in the ecosystem's own style (scopes, group ids, module paths).
fn package_name(ecosystem: Ecosystem, i: u64) -> String {
    match ecosystem {
        Ecosystem::Npm if i % 7 == 3 => format!("@scope-{}/pkg-{i}", i % 97),
        Ecosystem::Npm => format!("pkg-{i}"),
        Ecosystem::Pypi => format!("py-package-{i}"),
        Ecosystem::Cargo => format!("crate-{i}"),
        Ecosystem::Go => format!("github.com/owner-{}/module-{i}", i % 211),
        Ecosystem::Rubygems => format!("gem-{i}"),
        Ecosystem::Maven => format!("org.example{}:artifact-{i}", i % 53),
        Ecosystem::Packagist => format!("vendor-{}/package-{i}", i % 89),
        Ecosystem::Nuget => format!("Example.Package{i}"),
        Ecosystem::Hex => format!("hex_pkg_{i}"),
        Ecosystem::Pub => format!("dart_pkg_{i}"),
        Ecosystem::Swiftpm => format!("https://github.com/swift-owner-{}/Package{i}", i % 41),
        Ecosystem::Cocoapods => format!("Pod{i}"),
        Ecosystem::Actions => format!("action-owner-{}/action-{i}", i % 67),
    }
}

/// The manifest an edge of this ecosystem is read from.
pub fn manifest_path(ecosystem: Ecosystem) -> &'static str {
    match ecosystem {
        Ecosystem::Npm => "package.json",
        Ecosystem::Pypi => "pyproject.toml",
        Ecosystem::Cargo => "Cargo.toml",
        Ecosystem::Go => "go.mod",
        Ecosystem::Rubygems => "Gemfile",
        Ecosystem::Maven => "pom.xml",
        Ecosystem::Packagist => "composer.json",
        Ecosystem::Nuget => "src/App/App.csproj",
        Ecosystem::Hex => "mix.exs",
        Ecosystem::Pub => "pubspec.yaml",
        Ecosystem::Swiftpm => "Package.swift",
        Ecosystem::Cocoapods => "Podfile",
        Ecosystem::Actions => ".github/workflows/ci.yml",
    }
}

impl Dataset {
    /// Plans a dataset of `size` from `seed`.
    pub fn plan(size: Size, seed: u64) -> Dataset {
        let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(seed);
        let start = epoch() - Duration::days(6 * 365);

        // Packages, split between ecosystems by their share, each ecosystem's list in
        // popularity order (the first is the most depended upon).
        let total_share: u32 = ECOSYSTEM_SHARES.iter().map(|(_, s)| s).sum();
        let mut packages = Vec::new();
        let mut by_ecosystem = Vec::new();
        for (ecosystem, share) in ECOSYSTEM_SHARES {
            let count = (size.packages() * u64::from(share) / u64::from(total_share)).max(20);
            let mut indexes = Vec::with_capacity(count as usize);
            for i in 0..count {
                let name = package_name(ecosystem, i);
                indexes.push(packages.len() as u32);
                packages.push(PackageRow {
                    id: uuid_v7(&mut rng, start + Duration::seconds(i as i64)),
                    ecosystem,
                    normalized_name: ecosystem.normalize_name(&name),
                    name,
                    latest_version: format!("{}.{}.{}", i % 9 + 1, i % 17, i % 5),
                });
            }
            let popularity = zipf(indexes.len(), PACKAGE_ZIPF);
            by_ecosystem.push((
                ecosystem,
                EcosystemPackages {
                    packages: indexes,
                    popularity,
                },
            ));
        }

        let organizations: Vec<OrganizationRow> = (0..size.organizations())
            .map(|i| {
                let roll = rng.random_range(0..100);
                let host = if roll < OTHER_HOSTS[0].1 {
                    OTHER_HOSTS[0].0
                } else if roll < OTHER_HOSTS[0].1 + OTHER_HOSTS[1].1 {
                    OTHER_HOSTS[1].0
                } else {
                    "github.com"
                };
                OrganizationRow {
                    id: uuid_v7(&mut rng, start + Duration::seconds(i as i64)),
                    host,
                    login: format!("org-{i}"),
                    user: percent(&mut rng, 30),
                    enriched: percent(&mut rng, 85),
                    sponsors: percent(&mut rng, 8),
                }
            })
            .collect();

        // Every organization owns at least one repository; the rest follow Zipf, so a few
        // own thousands.
        let owners = zipf(organizations.len(), ORGANIZATION_ZIPF);
        let shares =
            WeightedIndex::new(ECOSYSTEM_SHARES.iter().map(|(_, s)| *s)).expect("positive shares");
        let span_secs = (epoch() - start).num_seconds();
        let repositories = (0..size.repositories)
            .map(|i| {
                let organization = if (i as usize) < organizations.len() {
                    i as u32
                } else {
                    owners.sample(&mut rng) as u32
                };
                let u: f64 = rng.random_range(f64::EPSILON..1.0);
                let stars = ((1.0 / u).powf(1.0 / STARS_PARETO) - 1.0).min(MAX_STARS);
                // Recently pushed repositories are the common case: square the uniform draw
                // towards the end of the span.
                let recent: f64 = rng.random();
                let pushed_at = (!percent(&mut rng, 2)).then(|| {
                    epoch() - Duration::seconds((recent * recent * span_secs as f64) as i64)
                });
                RepositoryRow {
                    id: uuid_v7(&mut rng, start + Duration::seconds(i as i64 % span_secs)),
                    organization,
                    name: format!("repo-{i}"),
                    ecosystem: ECOSYSTEM_SHARES[shares.sample(&mut rng)].0,
                    stars: stars as i32,
                    forks: (stars / 8.0) as i32,
                    archived: percent(&mut rng, ARCHIVED_PERCENT),
                    fork: percent(&mut rng, FORK_PERCENT),
                    pushed_at,
                }
            })
            .collect();

        Dataset {
            size,
            seed,
            packages,
            organizations,
            repositories,
            by_ecosystem,
        }
    }

    /// The packages of `ecosystem`, most popular first.
    pub fn ecosystem_packages(&self, ecosystem: Ecosystem) -> &EcosystemPackages {
        &self
            .by_ecosystem
            .iter()
            .find(|(e, _)| *e == ecosystem)
            .expect("every ecosystem is planned")
            .1
    }

    /// The edges of repository `index`, each package once, in a stable order.
    pub fn edges(&self, index: usize) -> Vec<EdgeRow> {
        let repository = &self.repositories[index];
        let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(
            self.seed ^ ((index as u64 + 1) * 0x9E37_79B9),
        );
        let pool = self.ecosystem_packages(repository.ecosystem);
        // Log-normal with the size's mean: exp(mu + sigma^2 / 2) = mean.
        let sigma: f64 = 0.7;
        let mu = self.size.mean_dependencies.ln() - sigma * sigma / 2.0;
        let normal = standard_normal(&mut rng);
        let wanted = (mu + sigma * normal)
            .exp()
            .round()
            .clamp(1.0, MAX_DEPENDENCIES) as usize;
        let wanted = wanted.min(pool.packages.len());

        let mut chosen = Vec::with_capacity(wanted);
        let mut seen = std::collections::HashSet::with_capacity(wanted);
        // The head of the curve collides often; a bounded number of redraws keeps the rare
        // repository that wants most of a small ecosystem from spinning.
        let mut draws = 0;
        while chosen.len() < wanted && draws < wanted * 20 {
            draws += 1;
            let package = pool.packages[pool.popularity.sample(&mut rng)];
            if seen.insert(package) {
                chosen.push(package);
            }
        }
        chosen.sort_unstable();
        chosen
            .into_iter()
            .map(|package| {
                let kind = edge_kind(&mut rng, repository.ecosystem);
                let mut kinds = vec![kind];
                if kind == DependencyKind::Runtime && percent(&mut rng, 4) {
                    kinds.push(DependencyKind::Development);
                }
                let version = &self.packages[package as usize].latest_version;
                EdgeRow {
                    package,
                    kinds,
                    requirement: format!("^{version}"),
                    resolved_version: percent(&mut rng, 60).then(|| version.clone()),
                    direct: match rng.random_range(0..100) {
                        0..85 => Some(true),
                        85..95 => Some(false),
                        _ => None,
                    },
                }
            })
            .collect()
    }
}

/// The kind an edge declares, in the proportions manifests show.
fn edge_kind(rng: &mut StdRng, ecosystem: Ecosystem) -> DependencyKind {
    if ecosystem == Ecosystem::Actions {
        return DependencyKind::Runtime;
    }
    match rng.random_range(0..100) {
        0..62 => DependencyKind::Runtime,
        62..90 => DependencyKind::Development,
        90..94 => DependencyKind::Test,
        94..97 => DependencyKind::Build,
        97..99 => DependencyKind::Optional,
        _ => DependencyKind::Peer,
    }
}

/// One draw from N(0, 1) (Box–Muller).
fn standard_normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_plans_the_same_rows() {
        let a = Dataset::plan(Size::TINY, 7);
        let b = Dataset::plan(Size::TINY, 7);
        assert_eq!(a.repositories.len(), b.repositories.len());
        for i in [0, 17, 599] {
            assert_eq!(a.repositories[i].id, b.repositories[i].id);
            assert_eq!(a.edges(i), b.edges(i));
        }
        let c = Dataset::plan(Size::TINY, 8);
        assert_ne!(a.repositories[17].id, c.repositories[17].id);
    }

    #[test]
    fn popularity_has_a_heavy_head_and_a_long_tail() {
        let data = Dataset::plan(Size::TINY, 1);
        let mut dependents = vec![0u32; data.packages.len()];
        let mut edges = 0usize;
        for i in 0..data.repositories.len() {
            for edge in data.edges(i) {
                dependents[edge.package as usize] += 1;
                edges += 1;
            }
        }
        let npm = data.ecosystem_packages(Ecosystem::Npm);
        let top = dependents[npm.packages[0] as usize];
        let median = {
            let mut counts: Vec<u32> = npm
                .packages
                .iter()
                .map(|&p| dependents[p as usize])
                .collect();
            counts.sort_unstable();
            counts[counts.len() / 2]
        };
        assert!(top > 10 * median.max(1), "top {top}, median {median}");
        // About ten edges per repository.
        let mean = edges as f64 / data.repositories.len() as f64;
        assert!((6.0..14.0).contains(&mean), "mean {mean}");
    }

    #[test]
    fn a_repository_depends_on_a_package_once() {
        let data = Dataset::plan(Size::TINY, 3);
        for i in 0..data.repositories.len() {
            let edges = data.edges(i);
            let mut packages: Vec<u32> = edges.iter().map(|e| e.package).collect();
            packages.dedup();
            assert_eq!(packages.len(), edges.len());
        }
    }

    #[test]
    fn names_normalize_to_distinct_keys_within_an_ecosystem() {
        let data = Dataset::plan(Size::TINY, 1);
        let mut keys = std::collections::HashSet::new();
        for p in &data.packages {
            assert!(
                keys.insert((p.ecosystem, p.normalized_name.clone())),
                "{}",
                p.name
            );
        }
    }
}
