//! Real-world fixtures: files copied from public repositories (`tests/real_world/<case>/`,
//! at their repository-relative paths), each case with a `case.toml` naming its source,
//! commit and license and listing, written by hand from the format's documentation, every
//! dependency its files declare (see `docs/manifests.md`, "Real-world fixtures").
//!
//! Over all cases, per (file, normalized name, kind): precision (ours that are expected,
//! among files that have expectations — such a file's full list is asserted), recall
//! (expected that we find) and kind accuracy (per (file, name), our set of kinds equals
//! the expected one). Fields an expectation gives (requirement, resolved, direct, local,
//! replaces) must match exactly.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use wump_core::DependencyKind;
use wump_manifests::{
    DEFAULT_MAX_BYTES, Format, ParsedDependency, ParsedManifest, RepositoryContext,
};

const MIN_PRECISION: f64 = 0.99;
const MIN_RECALL: f64 = 0.99;
const MIN_KINDS: f64 = 0.95;

/// Licenses whose terms let us keep a copy of the files in this repository.
const PERMISSIVE: &[&str] = &["MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC"];

/// A case's `case.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    source: String,
    commit: String,
    license: String,
    note: String,
    #[serde(default)]
    expect: Vec<Expect>,
}

/// One dependency a file declares. `resolved = ""` asserts that nothing is resolved;
/// `replaces = "module version"` names the requirement a go.mod `replace` swapped out
/// (`replaces = ""`: none).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    file: String,
    name: String,
    kind: DependencyKind,
    requirement: Option<String>,
    resolved: Option<String>,
    direct: Option<bool>,
    local: Option<bool>,
    replaces: Option<String>,
}

/// Parses every file of a case as the parse job parses a repository's files: the shared
/// build files (version catalogs, MSBuild's central files) learned first, then every file
/// with what they give it (files that are no manifest are left out).
fn parse_case(files: &[(String, Vec<u8>)]) -> Vec<(String, ParsedManifest)> {
    let manifests: Vec<(&String, Format, &[u8])> = files
        .iter()
        .filter_map(|(path, content)| Some((path, Format::from_path(path)?, content.as_slice())))
        .collect();
    let mut context = RepositoryContext::new();
    for (path, format, content) in &manifests {
        context
            .learn(*format, path, content, DEFAULT_MAX_BYTES)
            .unwrap_or_else(|e| panic!("{path}: a real file must parse: {e}"));
    }
    manifests
        .into_iter()
        .map(|(path, format, content)| {
            let parsed = context
                .parse(format, path, content, DEFAULT_MAX_BYTES)
                .unwrap_or_else(|e| panic!("{path}: a real file must parse: {e}"));
            (path.clone(), parsed)
        })
        .collect()
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real_world")
}

/// Every file under `dir` but `case.toml`, with its `/`-separated path relative to `root`.
fn read_files(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("case directory readable")
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_files(root, &path, out);
            continue;
        }
        let relative = path.strip_prefix(root).expect("under the case");
        let relative: Vec<_> = relative.iter().map(|s| s.to_string_lossy()).collect();
        let relative = relative.join("/");
        if relative != "case.toml" {
            out.push((relative, std::fs::read(&path).expect("fixture readable")));
        }
    }
}

/// (file, normalized name, kind): what precision and recall count.
type Key = (String, String, DependencyKind);

fn normalize(file: &str, name: &str) -> String {
    let ecosystem = Format::from_path(file)
        .and_then(Format::ecosystem)
        .unwrap_or_else(|| panic!("{file}: expectations name files of a package format"));
    ecosystem.normalize_name(name)
}

/// The fields `want` gives that `dep` does not have, spelled for the report.
fn field_differences(want: &Expect, dep: &ParsedDependency) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(requirement) = &want.requirement
        && *requirement != dep.requirement
    {
        out.push(format!(
            "requirement {requirement:?} ≠ {:?}",
            dep.requirement
        ));
    }
    if let Some(resolved) = &want.resolved {
        let wanted = (!resolved.is_empty()).then_some(resolved.as_str());
        if wanted != dep.resolved_version.as_deref() {
            out.push(format!("resolved {wanted:?} ≠ {:?}", dep.resolved_version));
        }
    }
    if want.direct.is_some() && want.direct != dep.direct {
        out.push(format!("direct {:?} ≠ {:?}", want.direct, dep.direct));
    }
    if let Some(local) = want.local
        && local != dep.local
    {
        out.push(format!("local {local} ≠ {}", dep.local));
    }
    if let Some(replaces) = &want.replaces {
        // Spelled as go.mod spells a requirement, `module version`.
        let ours = dep
            .replaces
            .as_ref()
            .map(|r| format!("{} {}", r.name, r.requirement));
        let wanted = (!replaces.is_empty()).then(|| replaces.clone());
        if wanted != ours {
            out.push(format!("replaces {wanted:?} ≠ {ours:?}"));
        }
    }
    out
}

/// What one case scored.
#[derive(Default)]
struct Score {
    expected: usize,
    ours: usize,
    found: usize,
    kind_pairs: usize,
    kinds_right: usize,
    /// Expectations whose exact fields no dependency of ours has.
    fields_wrong: usize,
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// Scores one case, writing its misses to `misses`.
fn score_case(
    id: &str,
    case: &CaseFile,
    files: &[(String, Vec<u8>)],
    misses: &mut String,
) -> Score {
    for want in &case.expect {
        assert!(
            files.iter().any(|(path, _)| *path == want.file),
            "{id}: an expectation names `{}`, which the case does not hold",
            want.file
        );
    }
    let parsed = parse_case(files);
    let expected_files: BTreeSet<&str> = case.expect.iter().map(|e| e.file.as_str()).collect();
    let ours: Vec<(&str, &ParsedDependency)> = parsed
        .iter()
        .filter(|(path, _)| expected_files.contains(path.as_str()))
        .flat_map(|(path, m)| m.dependencies.iter().map(move |d| (path.as_str(), d)))
        .collect();
    let our_keys: BTreeSet<Key> = ours
        .iter()
        .map(|(path, d)| (path.to_string(), d.normalized_name.clone(), d.kind))
        .collect();
    let expected_keys: BTreeSet<Key> = case
        .expect
        .iter()
        .map(|e| (e.file.clone(), normalize(&e.file, &e.name), e.kind))
        .collect();

    let mut score = Score {
        expected: expected_keys.len(),
        ours: our_keys.len(),
        found: our_keys.intersection(&expected_keys).count(),
        ..Score::default()
    };
    for (file, name, kind) in expected_keys.difference(&our_keys) {
        let _ = writeln!(misses, "  {id}: {file}: missing {name} ({kind})");
    }
    for (file, name, kind) in our_keys.difference(&expected_keys) {
        let _ = writeln!(misses, "  {id}: {file}: not expected {name} ({kind})");
    }

    // Kinds per (file, name), over the names expected.
    let kinds_of = |keys: &BTreeSet<Key>| {
        let mut by_name: BTreeMap<(String, String), BTreeSet<DependencyKind>> = BTreeMap::new();
        for (file, name, kind) in keys {
            by_name
                .entry((file.clone(), name.clone()))
                .or_default()
                .insert(*kind);
        }
        by_name
    };
    let our_kinds = kinds_of(&our_keys);
    for ((file, name), want) in kinds_of(&expected_keys) {
        score.kind_pairs += 1;
        let got = our_kinds.get(&(file.clone(), name.clone()));
        if got == Some(&want) {
            score.kinds_right += 1;
        } else {
            let _ = writeln!(
                misses,
                "  {id}: {file}: {name} kinds {want:?}, ours {:?}",
                got.cloned().unwrap_or_default()
            );
        }
    }

    // Exact fields: some dependency of ours with the expectation's key has them all.
    for want in &case.expect {
        let name = normalize(&want.file, &want.name);
        let candidates: Vec<_> = ours
            .iter()
            .filter(|(path, d)| {
                *path == want.file && d.normalized_name == name && d.kind == want.kind
            })
            .collect();
        if candidates.is_empty() {
            continue; // already a recall miss
        }
        let differences: Vec<_> = candidates
            .iter()
            .map(|(_, d)| field_differences(want, d))
            .collect();
        if differences.iter().all(|d| !d.is_empty()) {
            let _ = writeln!(
                misses,
                "  {id}: {}: {} ({}): {}",
                want.file,
                want.name,
                want.kind,
                differences[0].join(", ")
            );
            score.fields_wrong += 1;
        }
    }
    score
}

fn check_metadata(id: &str, case: &CaseFile) {
    assert!(
        case.source.starts_with("https://github.com/"),
        "{id}: `source` must be the repository's GitHub address"
    );
    assert!(
        case.commit.len() == 40 && case.commit.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}: `commit` must be the full commit id"
    );
    assert!(
        PERMISSIVE.contains(&case.license.as_str()),
        "{id}: license `{}` is not one we may copy files under ({PERMISSIVE:?})",
        case.license
    );
    assert!(
        !case.note.trim().is_empty(),
        "{id}: say what the case shows"
    );
    assert!(!case.expect.is_empty(), "{id}: a case expects something");
}

#[test]
fn real_world_files_declare_what_their_formats_say() {
    let root = cases_dir();
    let mut ids: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/real_world exists")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_dir())
        .collect();
    ids.sort();
    assert!(
        !ids.is_empty(),
        "no real-world cases under {}",
        root.display()
    );

    let mut total = Score::default();
    let mut misses = String::new();
    println!(
        "{:<40} {:>5} {:>5} {:>5} {:>9} {:>7} {:>6}",
        "case", "want", "ours", "found", "precision", "recall", "kinds"
    );
    for dir in ids {
        let id = dir
            .file_name()
            .expect("named")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(dir.join("case.toml"))
            .unwrap_or_else(|e| panic!("{id}: case.toml: {e}"));
        let case: CaseFile =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{id}: case.toml: {e}"));
        check_metadata(&id, &case);
        let mut files = Vec::new();
        read_files(&dir, &dir, &mut files);
        let score = score_case(&id, &case, &files, &mut misses);
        println!(
            "{:<40} {:>5} {:>5} {:>5} {:>9.3} {:>7.3} {:>6.3}",
            id,
            score.expected,
            score.ours,
            score.found,
            ratio(score.found, score.ours),
            ratio(score.found, score.expected),
            ratio(score.kinds_right, score.kind_pairs)
        );
        total.expected += score.expected;
        total.ours += score.ours;
        total.found += score.found;
        total.kind_pairs += score.kind_pairs;
        total.kinds_right += score.kinds_right;
        total.fields_wrong += score.fields_wrong;
    }
    let field_misses = total.fields_wrong;
    let precision = ratio(total.found, total.ours);
    let recall = ratio(total.found, total.expected);
    let kinds = ratio(total.kinds_right, total.kind_pairs);
    println!(
        "all: precision {precision:.4} ({}/{}), recall {recall:.4} ({}/{}), kinds {kinds:.4} ({}/{}), {field_misses} field differences",
        total.found, total.ours, total.found, total.expected, total.kinds_right, total.kind_pairs
    );
    println!("misses:\n{misses}");
    assert!(
        precision >= MIN_PRECISION
            && recall >= MIN_RECALL
            && kinds >= MIN_KINDS
            && field_misses == 0,
        "precision {precision:.4} (need {MIN_PRECISION}), recall {recall:.4} (need {MIN_RECALL}), \
         kinds {kinds:.4} (need {MIN_KINDS}), {field_misses} field differences (need 0):\n{misses}"
    );
}
