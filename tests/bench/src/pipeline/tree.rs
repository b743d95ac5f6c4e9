//! The generated local-provider tree the pipeline benchmark scrapes: owners with a few
//! repositories each, every repository with a `package.json`, a `Cargo.toml` and a
//! `requirements.txt` declaring about twenty packages between them, drawn from pools with
//! a heavy head (a few packages in most repositories, as in real ecosystems). The layout is
//! `crates/providers/src/local.rs`'s; what it should store is computed alongside.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    path::Path,
};

use rand::{RngExt, SeedableRng, rngs::StdRng};
use wump_core::Ecosystem;

/// Repositories per owner, on average.
const REPOSITORIES_PER_OWNER: usize = 4;

/// One manifest kind of every generated repository.
struct Manifest {
    ecosystem: Ecosystem,
    /// Packages in the pool it draws from.
    pool: usize,
    /// Packages it declares.
    declared: usize,
}

const MANIFESTS: [Manifest; 3] = [
    Manifest {
        ecosystem: Ecosystem::Npm,
        pool: 3_000,
        declared: 8,
    },
    Manifest {
        ecosystem: Ecosystem::Cargo,
        pool: 1_500,
        declared: 6,
    },
    Manifest {
        ecosystem: Ecosystem::Pypi,
        pool: 2_000,
        declared: 6,
    },
];

/// What the tree holds and what the pipeline must store for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    pub repositories: usize,
    pub organizations: usize,
    /// Edges: one per (repository, package).
    pub edges: usize,
    /// `(ecosystem, normalized name)` → (dependents, organizations among them).
    pub packages: BTreeMap<(String, String), (i64, i64)>,
}

/// Writes `repositories` repositories under `root` (which must not exist yet or be empty),
/// the same for the same `seed`; returns what the pipeline must store.
pub fn write(root: &Path, repositories: usize, seed: u64) -> std::io::Result<Expected> {
    let mut rng = StdRng::seed_from_u64(seed);
    let owners = repositories.div_ceil(REPOSITORIES_PER_OWNER).max(1);
    let mut dependents: BTreeMap<(String, String), (i64, BTreeSet<usize>)> = BTreeMap::new();
    let mut edges = 0;
    for o in 0..owners {
        let dir = root.join(owner_login(o));
        std::fs::create_dir_all(&dir)?;
        let profile =
            serde_json::json!({ "name": format!("Bench Owner {o}"), "kind": "organization" });
        std::fs::write(dir.join(".wump-owner.json"), profile.to_string())?;
    }
    for r in 0..repositories {
        // Every owner gets one first, the rest spread round the owners.
        let o = if r < owners {
            r
        } else {
            rng.random_range(0..owners)
        };
        let repo = root.join(owner_login(o)).join(format!("repo-{r:06}"));
        std::fs::create_dir_all(&repo)?;
        let meta = serde_json::json!({
            "stars": rng.random_range(0..5_000u32),
            "forks": rng.random_range(0..100u32),
            "pushed_at": "2026-11-01T12:00:00Z",
            "language": "TypeScript",
        });
        std::fs::write(repo.join(".wump-repo.json"), meta.to_string())?;
        for manifest in &MANIFESTS {
            let names = draw(&mut rng, manifest);
            let (file, text) = render(manifest.ecosystem, r, &names);
            std::fs::write(repo.join(file), text)?;
            for name in names {
                let key = (
                    manifest.ecosystem.as_str().to_owned(),
                    manifest.ecosystem.normalize_name(&name),
                );
                let entry = dependents.entry(key).or_default();
                entry.0 += 1;
                entry.1.insert(o);
                edges += 1;
            }
        }
    }
    Ok(Expected {
        repositories,
        organizations: owners,
        edges,
        packages: dependents
            .into_iter()
            .map(|(key, (n, orgs))| (key, (n, orgs.len() as i64)))
            .collect(),
    })
}

fn owner_login(o: usize) -> String {
    format!("bench-org-{o:05}")
}

/// `declared` distinct package names from the manifest's pool, the first ones far more
/// often (index ∝ u³).
fn draw(rng: &mut StdRng, manifest: &Manifest) -> Vec<String> {
    let mut picked = BTreeSet::new();
    while picked.len() < manifest.declared {
        let u: f64 = rng.random();
        picked.insert(((manifest.pool as f64) * u * u * u) as usize);
    }
    picked
        .into_iter()
        .map(|i| match manifest.ecosystem {
            Ecosystem::Npm => format!("bench-js-{i}"),
            Ecosystem::Cargo => format!("bench-rs-{i}"),
            _ => format!("bench-py-{i}"),
        })
        .collect()
}

/// The manifest file of `ecosystem` declaring `names`.
fn render(ecosystem: Ecosystem, repository: usize, names: &[String]) -> (&'static str, String) {
    let mut out = String::new();
    match ecosystem {
        Ecosystem::Npm => {
            // Two of them as development dependencies, the rest at run time.
            let (dev, run) = names.split_at(2.min(names.len()));
            let object = |names: &[String]| {
                names
                    .iter()
                    .map(|n| (n.clone(), serde_json::json!("^1.2.0")))
                    .collect::<serde_json::Map<_, _>>()
            };
            let json = serde_json::json!({
                "name": format!("repo-{repository}"),
                "version": "1.0.0",
                "dependencies": object(run),
                "devDependencies": object(dev),
            });
            ("package.json", json.to_string())
        }
        Ecosystem::Cargo => {
            let _ = writeln!(
                out,
                "[package]\nname = \"repo-{repository}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]"
            );
            for name in names {
                let _ = writeln!(out, "{name} = \"1.0\"");
            }
            ("Cargo.toml", out)
        }
        _ => {
            for name in names {
                let _ = writeln!(out, "{name}>=1.0,<3");
            }
            ("requirements.txt", out)
        }
    }
}
