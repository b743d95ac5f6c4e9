//! Throughput of the lockfile parsers on large generated inputs, beside a baseline measured
//! in the same run: the generic parse of the same bytes (`serde_json::Value`, `toml::Table`)
//! that any reader of the format pays before looking at a single package. Shared machines
//! are noisy, so compare the ratio to the baseline more than the MB/s.
//!
//! `just bench-parsers` runs this and writes the figures into docs/benchmarks.md.

use std::{hint::black_box, time::Duration};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use wump_manifests::{Format, parse_with_limit};

/// Installed folders in the generated package-lock.json (about 12 MB, over the 5 MB default
/// limit of `manifest::parse`, so the benchmark passes its own).
const NPM_PACKAGES: usize = 24_000;
/// `[[package]]` entries in the generated Cargo.lock (about 1.7 MB).
const CARGO_PACKAGES: usize = 6_000;

fn lockfiles(c: &mut Criterion) {
    let package_lock = package_lock_v3(NPM_PACKAGES);
    describe("package_lock_v3", Format::PackageLock, &package_lock);
    let mut group = c.benchmark_group("package_lock_v3");
    configure(&mut group, package_lock.len());
    group.bench_function("wump", |b| {
        b.iter(|| parse(Format::PackageLock, black_box(&package_lock)));
    });
    group.bench_function("baseline_serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&package_lock)).unwrap());
    });
    group.finish();

    let cargo_lock = cargo_lock_v4(CARGO_PACKAGES);
    describe("cargo_lock_v4", Format::CargoLock, cargo_lock.as_bytes());
    let mut group = c.benchmark_group("cargo_lock_v4");
    configure(&mut group, cargo_lock.len());
    group.bench_function("wump", |b| {
        b.iter(|| parse(Format::CargoLock, black_box(cargo_lock.as_bytes())));
    });
    group.bench_function("baseline_toml_table", |b| {
        b.iter(|| toml::from_str::<toml::Table>(black_box(&cargo_lock)).unwrap());
    });
    group.finish();
}

fn configure(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    len: usize,
) {
    group
        .throughput(Throughput::Bytes(len as u64))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
}

/// One line per input for the report (scripts/bench-report.py reads it from the output).
fn describe(group: &str, format: Format, content: &[u8]) {
    let dependencies = parse(format, content);
    println!(
        "input {group}: {} bytes, {dependencies} dependencies",
        content.len()
    );
}

/// Parses as `manifest::parse` does, without its size limit; every input here is valid.
fn parse(format: Format, content: &[u8]) -> usize {
    let parsed = parse_with_limit(format, format.id(), content, usize::MAX)
        .unwrap_or_else(|e| panic!("generated {format} does not parse: {e}"));
    parsed.dependencies.len()
}

/// A deterministic xorshift generator: the same inputs in every run, no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn version(&mut self) -> String {
        let (major, minor, patch) = (self.below(12), self.below(30), self.below(20));
        if self.chance(3) {
            format!("{major}.{minor}.{patch}-beta.{}", self.below(9))
        } else {
            format!("{major}.{minor}.{patch}")
        }
    }

    fn chars(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.below(alphabet.len())]))
            .collect()
    }
}

const SYLLABLES: [&str; 24] = [
    "ba", "bel", "co", "da", "fast", "glob", "ify", "js", "lo", "ma", "no", "parse", "qu", "re",
    "sem", "ster", "ti", "ui", "ver", "wa", "xo", "yar", "ze", "ts",
];
const SCOPES: [&str; 6] = ["@babel", "@types", "@jest", "@aws-sdk", "@smithy", "@vue"];
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &[u8] = b"0123456789abcdef";

/// `count` distinct package names: word-like, some `-`-joined, some scoped.
fn names(rng: &mut Rng, count: usize) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    while seen.len() < count {
        let words = 1 + rng.below(3);
        let mut name = (0..words)
            .map(|_| {
                let syllables = 1 + rng.below(3);
                (0..syllables)
                    .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("-");
        if rng.chance(15) {
            name = format!("{}/{name}", SCOPES[rng.below(SCOPES.len())]);
        }
        seen.insert(name);
    }
    let mut names: Vec<String> = seen.into_iter().collect();
    names.sort();
    names
}

/// One installed folder's entry, as npm 9 writes it.
fn npm_entry(rng: &mut Rng, name: &str, version: &str, pool: &[String]) -> Value {
    let base = name.rsplit('/').next().unwrap_or(name);
    let mut entry = Map::new();
    entry.insert("version".into(), json!(version));
    entry.insert(
        "resolved".into(),
        json!(format!(
            "https://registry.npmjs.org/{name}/-/{base}-{version}.tgz"
        )),
    );
    entry.insert(
        "integrity".into(),
        json!(format!("sha512-{}==", rng.chars(BASE64, 86))),
    );
    if rng.chance(40) {
        entry.insert("dev".into(), json!(true));
    } else if rng.chance(5) {
        entry.insert("optional".into(), json!(true));
    } else if rng.chance(3) {
        entry.insert("peer".into(), json!(true));
    }
    entry.insert(
        "license".into(),
        json!(["MIT", "ISC", "Apache-2.0"][rng.below(3)]),
    );
    let dependencies: Map<String, Value> = (0..rng.below(7))
        .map(|_| {
            let dep = &pool[rng.below(pool.len())];
            (dep.clone(), json!(format!("^{}", rng.version())))
        })
        .collect();
    if !dependencies.is_empty() {
        entry.insert("dependencies".into(), Value::Object(dependencies));
    }
    if rng.chance(20) {
        entry.insert("engines".into(), json!({ "node": ">=14" }));
    }
    if rng.chance(8) {
        entry.insert("bin".into(), json!({ base: "bin/cli.js" }));
    }
    if rng.chance(10) {
        entry.insert(
            "funding".into(),
            json!({ "url": format!("https://github.com/sponsors/{base}") }),
        );
    }
    Value::Object(entry)
}

/// A lockfileVersion 3 package-lock.json with `packages` folders: top-level installs,
/// installs nested up to four `node_modules` deep, and two workspace packages.
fn package_lock_v3(packages: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let top = packages * 3 / 4;
    let pool = names(&mut rng, top);
    let mut folders = Map::new();
    let direct = |rng: &mut Rng, n: usize| -> Map<String, Value> {
        (0..n)
            .map(|_| {
                (
                    pool[rng.below(pool.len())].clone(),
                    json!(format!("^{}", rng.version())),
                )
            })
            .collect()
    };
    folders.insert(
        String::new(),
        json!({
            "name": "big-app",
            "version": "1.0.0",
            "workspaces": ["packages/*"],
            "dependencies": direct(&mut rng, 90),
            "devDependencies": direct(&mut rng, 60),
        }),
    );
    for workspace in ["web", "api"] {
        folders.insert(
            format!("packages/{workspace}"),
            json!({ "name": workspace, "version": "0.0.0", "dependencies": direct(&mut rng, 20) }),
        );
        folders.insert(
            format!("node_modules/{workspace}"),
            json!({ "resolved": format!("packages/{workspace}"), "link": true }),
        );
    }
    let mut count = 0;
    for name in &pool {
        let version = rng.version();
        let folder = format!("node_modules/{name}");
        folders.insert(folder.clone(), npm_entry(&mut rng, name, &version, &pool));
        count += 1;
        // Other versions of some dependencies are installed under their dependents.
        let mut parent = folder;
        while count < packages && rng.chance(30) && parent.matches("node_modules").count() < 4 {
            let nested = &pool[rng.below(pool.len())];
            let version = rng.version();
            parent = format!("{parent}/node_modules/{nested}");
            folders.insert(parent.clone(), npm_entry(&mut rng, nested, &version, &pool));
            count += 1;
        }
    }
    let lock = json!({
        "name": "big-app",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": true,
        "packages": folders,
    });
    serde_json::to_vec_pretty(&lock).expect("a Value always serializes")
}

/// A version 4 Cargo.lock: workspace members without a source, registry and git packages,
/// some names locked at two versions (then referenced as `"name version"`).
fn cargo_lock_v4(packages: usize) -> String {
    use std::fmt::Write;

    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let names: Vec<String> = names(&mut rng, packages)
        .into_iter()
        .map(|name| name.trim_start_matches('@').replace(['/', '-'], "_"))
        .collect();
    // (name, version, source) in Cargo's order: by name, then version.
    let mut locked: Vec<(String, String, Option<String>)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let source = if i % 300 == 0 {
            None // a workspace member
        } else if rng.chance(2) {
            Some(format!(
                "git+https://github.com/org/{name}?branch=main#{}",
                rng.chars(HEX, 40)
            ))
        } else {
            Some("registry+https://github.com/rust-lang/crates.io-index".to_owned())
        };
        let twice = source.is_some() && rng.chance(6);
        locked.push((name.clone(), rng.version(), source.clone()));
        if twice {
            locked.push((name.clone(), rng.version(), source));
        }
    }
    locked.sort();
    locked.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    let mut versions = std::collections::HashMap::<&str, usize>::new();
    for (name, ..) in &locked {
        *versions.entry(name).or_default() += 1;
    }
    let duplicated = |name: &str| versions[name] > 1;

    let mut out = String::from(
        "# This file is automatically @generated by Cargo.\n\
         # It is not intended for manual editing.\nversion = 4\n",
    );
    for (name, version, source) in &locked {
        write!(
            out,
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\n"
        )
        .unwrap();
        if let Some(source) = source {
            writeln!(out, "source = \"{source}\"").unwrap();
            if source.starts_with("registry+") {
                writeln!(out, "checksum = \"{}\"", rng.chars(HEX, 64)).unwrap();
            }
        }
        let dependencies = if source.is_none() { 40 } else { rng.below(6) };
        if dependencies > 0 {
            out.push_str("dependencies = [\n");
            for _ in 0..dependencies {
                let (dep, dep_version, _) = &locked[rng.below(locked.len())];
                if duplicated(dep) {
                    writeln!(out, " \"{dep} {dep_version}\",").unwrap();
                } else {
                    writeln!(out, " \"{dep}\",").unwrap();
                }
            }
            out.push_str("]\n");
        }
    }
    out
}

criterion_group!(benches, lockfiles);
criterion_main!(benches);
