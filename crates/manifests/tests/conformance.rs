//! Conformance against the bibliothecary corpus in `../shared/corpus/bibliothecary`.
//!
//! The corpus holds real manifests with the dependency lists a respected peer parser
//! asserts for them. We read it at run time (it is AGPL test data: never copy it into this
//! repository) and require that at least 98 % of the asserted dependencies are found with
//! the right name, requirement and kind.
//!
//! The peer's conventions differ from ours; this table is the whole mapping (see also
//! `docs/manifests.md`):
//!
//! | peer | ours |
//! |---|---|
//! | requirement `*` (unpinned) | requirement `""` |
//! | RubyGems/CocoaPods `>= 0` (their unpinned default), `= 1.0` for a bare `'1.0'` | `""`, `1.0` as written |
//! | SwiftPM `0.12.0 - 0.12.9223372036854775807` (an Int64.max patch range) | `>= 0.12.0, < 0.13.0` |
//! | lockfile `requirement` (the locked version) | `resolved_version` |
//! | Pipfile.lock `==1.2.3` (pip's pin syntax) | `resolved_version` `1.2.3` |
//! | whitespace inside a requirement (`== 7.2.1`) | insignificant |
//! | `name` (PEP 503-normalised for PyPI, the alias target for npm aliases) | compared after [`Ecosystem::normalize_name`] |
//! | `runtime`, Maven `null` (compile scope), gradle `compile`/`implementation`/`api`/`runtimeOnly` | `runtime` |
//! | `development`, `develop`, `dev` | `development` |
//! | `test`, gradle `testImplementation`/`testCompile`/`testRuntimeOnly`… | `test` |
//! | Maven `provided`, npm `peer` | `peer` |
//! | gradle `compileOnly`, `annotationProcessor`, `kapt` | `build` |
//! | `optional` | `optional` |
//! | `optional: true` beside a runtime kind (a flag of its own in the peer) | kind `optional` |
//! | `type: null` in yarn.lock (it records no kind) | any kind |
//!
//! Formats whose parser is not written yet are listed and skipped; the threshold applies to
//! every format we claim to read.
//!
//! A plain clone has no corpus beside it: the test then says so in one line and passes,
//! unless `CI` is set, where a missing corpus is a failure.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    io::Write as _,
    path::{Path, PathBuf},
};

use serde_json::Value;
use wump_core::{DependencyKind, Ecosystem};
use wump_manifests::{self as manifest, Format, ManifestError, ParsedDependency};

const REQUIRED_RATIO: f64 = 0.98;

fn corpus_dir() -> PathBuf {
    std::env::var_os("WUMP_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/bibliothecary")
        })
}

/// Maps a peer `type` to ours; `None` means "any kind" (the peer records none).
fn map_kind(ecosystem: Ecosystem, peer: &Value) -> Option<DependencyKind> {
    let Some(peer) = peer.as_str() else {
        return (ecosystem == Ecosystem::Maven).then_some(DependencyKind::Runtime);
    };
    let kind = match peer {
        "runtime" | "compile" | "implementation" | "api" | "runtimeOnly" | "default" => {
            DependencyKind::Runtime
        }
        "development" | "develop" | "dev" => DependencyKind::Development,
        "provided" | "peer" => DependencyKind::Peer,
        "compileOnly" | "annotationProcessor" | "kapt" | "build" => DependencyKind::Build,
        "optional" => DependencyKind::Optional,
        other if other.starts_with("test") => DependencyKind::Test,
        other => panic!("the conformance table has no mapping for peer type `{other}`"),
    };
    Some(kind)
}

fn squash(requirement: &str) -> String {
    let requirement = if requirement == "*" { "" } else { requirement };
    requirement.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Gem::Requirement (and CocoaPods, which uses it) prints an unpinned requirement as
/// `>= 0` and a bare version as `= 1.0`; we keep what the file says. The peer's SwiftPM
/// parser writes "any patch of 0.12" as `0.12.0 - 0.12.<Int64.max>`; we write the range.
fn canonical(ecosystem: Ecosystem, squashed: String) -> String {
    if ecosystem == Ecosystem::Swiftpm {
        return swift_patch_range(&squashed).unwrap_or(squashed);
    }
    if !matches!(ecosystem, Ecosystem::Rubygems | Ecosystem::Cocoapods) {
        return squashed;
    }
    if squashed == ">=0" {
        return String::new();
    }
    squashed
        .split(',')
        .map(|part| part.strip_prefix('=').unwrap_or(part))
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether `ours` satisfies one asserted peer dependency (only the keys present are asserted).
fn matches(
    format: Format,
    ecosystem: Ecosystem,
    expected: &Value,
    ours: &ParsedDependency,
) -> bool {
    if let Some(name) = expected.get("name").and_then(Value::as_str)
        && ecosystem.normalize_name(name) != ours.normalized_name
    {
        return false;
    }
    if let Some(requirement) = expected.get("requirement").and_then(Value::as_str) {
        let requirement = match format {
            Format::PipfileLock => requirement.trim_start_matches("=="),
            _ => requirement,
        };
        let ours_requirement = if format.is_lockfile() {
            ours.resolved_version
                .as_deref()
                .unwrap_or(&ours.requirement)
        } else {
            &ours.requirement
        };
        if canonical(ecosystem, squash(requirement))
            != canonical(ecosystem, squash(ours_requirement))
        {
            return false;
        }
    }
    let optional = expected.get("optional").and_then(Value::as_bool) == Some(true);
    if let Some(kind) = expected
        .get("type")
        .and_then(|kind| map_kind(ecosystem, kind))
        && kind != ours.kind
        && !(optional && kind == DependencyKind::Runtime && ours.kind == DependencyKind::Optional)
    {
        return false;
    }
    if let Some(local) = expected.get("local").and_then(Value::as_bool)
        && local != ours.local
    {
        return false;
    }
    true
}

fn swift_patch_range(squashed: &str) -> Option<String> {
    let (lower, upper) = squashed.rsplit_once('-')?;
    let (major, minor) = upper
        .strip_suffix(".9223372036854775807")?
        .split_once('.')?;
    let next_minor = minor.parse::<u64>().ok()? + 1;
    Some(format!(">={lower},<{major}.{next_minor}.0"))
}

#[derive(Default)]
struct Tally {
    asserted: usize,
    found: usize,
    checks_failed: usize,
    report: String,
}

impl Tally {
    fn expect_deps(
        &mut self,
        case: &str,
        format: Format,
        expected: &[Value],
        ours: &[ParsedDependency],
    ) {
        let ecosystem = format
            .ecosystem()
            .expect("corpus cases name package formats");
        let mut unused: Vec<&ParsedDependency> = ours.iter().collect();
        for dep in expected {
            self.asserted += 1;
            if let Some(i) = unused
                .iter()
                .position(|o| matches(format, ecosystem, dep, o))
            {
                unused.remove(i);
                self.found += 1;
            } else {
                let _ = writeln!(self.report, "  {case}: missing {dep}");
            }
        }
    }

    fn check(
        &mut self,
        case: &str,
        assertion: &Value,
        result: &Result<Vec<ParsedDependency>, ManifestError>,
        format: Format,
    ) {
        let kind = assertion.get("assert").and_then(Value::as_str);
        if let Some(list) = assertion.as_array() {
            return self.check_deps(case, format, list, result, true);
        }
        match kind {
            Some("unordered") => {
                let deps = assertion["deps"].as_array().expect("deps");
                self.check_deps(case, format, deps, result, true);
            }
            Some("subset") => {
                let deps = assertion["deps"].as_array().expect("deps");
                self.check_deps(case, format, deps, result, false);
            }
            Some("index") => {
                self.check_deps(
                    case,
                    format,
                    std::slice::from_ref(&assertion["dep"]),
                    result,
                    false,
                );
            }
            Some("names_unordered") => {
                let deps: Vec<Value> = assertion["names"]
                    .as_array()
                    .expect("names")
                    .iter()
                    .map(|n| serde_json::json!({ "name": n }))
                    .collect();
                self.check_deps(case, format, &deps, result, false);
            }
            Some("count") => {
                let want = assertion["value"].as_u64().expect("value") as usize;
                let ecosystem = format.ecosystem().expect("package format");
                let kind = assertion
                    .get("where")
                    .map(|w| map_kind(ecosystem, &w["type"]));
                let got = result.as_ref().map(|deps| {
                    deps.iter()
                        .filter(|d| kind.flatten().is_none_or(|k| d.kind == k))
                        .count()
                });
                if got.as_ref().ok() != Some(&want) {
                    self.checks_failed += 1;
                    let _ = writeln!(
                        self.report,
                        "  {case}: expected {want} dependencies, got {got:?}"
                    );
                }
            }
            Some("error") => {
                if result.is_ok() {
                    self.checks_failed += 1;
                    let _ = writeln!(self.report, "  {case}: expected an error, parsed fine");
                }
            }
            Some("all_of") => {
                for check in assertion["checks"].as_array().expect("checks") {
                    self.check(case, check, result, format);
                }
            }
            other => panic!("unknown assertion kind {other:?} in {case}"),
        }
    }

    fn check_deps(
        &mut self,
        case: &str,
        format: Format,
        expected: &[Value],
        result: &Result<Vec<ParsedDependency>, ManifestError>,
        full_list: bool,
    ) {
        match result {
            Ok(ours) => {
                self.expect_deps(case, format, expected, ours);
                if full_list && ours.len() > expected.len() {
                    let _ = writeln!(
                        self.report,
                        "  {case}: {} dependencies beyond the peer's {} (not counted)",
                        ours.len() - expected.len(),
                        expected.len()
                    );
                }
            }
            Err(err) => {
                self.asserted += expected.len();
                let _ = writeln!(self.report, "  {case}: failed to parse: {err}");
            }
        }
    }
}

#[test]
fn corpus_dependencies_are_found_with_the_right_name_requirement_and_kind() {
    let dir = corpus_dir();
    let index = match std::fs::read_to_string(dir.join("index.json")) {
        Ok(index) => index,
        // A plain clone has no corpus beside it; only this project's CI is sure to.
        Err(e) if std::env::var_os("CI").is_none_or(|ci| ci.is_empty()) => {
            // Straight to stderr: libtest hides what a passing test prints with `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: conformance corpus not found at {} ({e}); set WUMP_CORPUS_DIR to run it",
                dir.display()
            );
            return;
        }
        Err(e) => panic!(
            "the conformance corpus must be at {} in CI (or set WUMP_CORPUS_DIR): {e}",
            dir.display()
        ),
    };
    let cases: Vec<Value> = serde_json::from_str(&index).expect("index.json is JSON");

    let mut tally = Tally::default();
    let mut unsupported: BTreeMap<String, usize> = BTreeMap::new();
    for case in &cases {
        let file = case["file"].as_str().expect("file");
        let parse_as = case["parse_as"].as_str().expect("parse_as");
        let format = Format::from_path(parse_as)
            .unwrap_or_else(|| panic!("{file}: `{parse_as}` is a file name wump must recognise"));
        let content = std::fs::read(dir.join(file)).expect("fixture readable");
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(case["expected"].as_str().expect("expected")))
                .expect("expectation readable"),
        )
        .expect("expectation is JSON");

        let result = manifest::parse(format, parse_as, &content).map(|m| m.dependencies);
        if let Err(ManifestError::Unsupported { .. }) = result {
            *unsupported.entry(format.id().to_owned()).or_default() += 1;
            continue;
        }
        tally.check(&format!("{file} as {parse_as}"), &expected, &result, format);
    }

    let ratio = if tally.asserted == 0 {
        1.0
    } else {
        tally.found as f64 / tally.asserted as f64
    };
    println!(
        "conformance: {}/{} asserted dependencies found ({:.2} %), {} other checks failed",
        tally.found,
        tally.asserted,
        ratio * 100.0,
        tally.checks_failed
    );
    println!("formats not parsed yet: {unsupported:?}");
    println!("differences:\n{}", tally.report);
    assert!(
        ratio >= REQUIRED_RATIO,
        "only {:.2} % of asserted dependencies found (need {:.0} %):\n{}",
        ratio * 100.0,
        REQUIRED_RATIO * 100.0,
        tally.report
    );
}
