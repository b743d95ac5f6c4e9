//! `Package.swift`: the `.package(…)` dependencies of a Swift package.
//!
//! Requirements are rendered as version ranges in one readable form, whatever the
//! spelling: `from: "1.2.3"` and `.upToNextMajor(from: "1.2.3")` are `>= 1.2.3, < 2.0.0`;
//! `.upToNextMinor(from: "1.2.3")` is `>= 1.2.3, < 1.3.0`; `"1.0.0"..<"2.0.0"` is
//! `>= 1.0.0, < 2.0.0` and `"1.0.0"..."1.2.0"` is `>= 1.0.0, <= 1.2.0`; `exact:` is
//! `= 1.2.3`; `branch:` and `revision:` give the branch name or commit. The old
//! PackageDescription 3 form `.Package(url:, majorVersion: 0, minor: 12)` (any 0.12.x) is
//! `>= 0.12.0, < 0.13.0`. `.package(path:)` is local. All are runtime: the manifest does
//! not say which targets use a package for tests only.

use super::swift::{Tok, tokenize};
use crate::{Format, ManifestError, ParsedDependency};
use wump_core::{DependencyKind, Ecosystem};

fn error(message: impl ToString) -> ManifestError {
    ManifestError::syntax(Format::PackageSwift, message)
}

/// The package dependencies a Package.swift declares.
pub(super) fn parse(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let toks = tokenize(text)
        .map_err(|e| error(format!("string opened on line {} is never closed", e.line)))?;
    let declares_package = toks
        .windows(2)
        .any(|w| w[0] == Tok::Ident("Package".into()) && w[1] == Tok::Punct("("));
    if !declares_package {
        return Err(error("no `Package(…)` declaration found"));
    }
    let mut deps = Vec::new();
    let mut i = 0;
    while i + 2 < toks.len() {
        let is_call = toks.get(i) == Some(&Tok::Punct("."))
            && matches!(toks.get(i + 1), Some(Tok::Ident(w)) if w == "package" || w == "Package")
            && toks.get(i + 2) == Some(&Tok::Punct("("));
        if is_call {
            let (args, next) = split_args(&toks, i + 3);
            deps.extend(dependency(&args));
            i = next;
        } else {
            i += 1;
        }
    }
    Ok(deps)
}

/// One argument of a call: its label, if any, and its expression's tokens.
type Arg<'a> = (Option<&'a str>, &'a [Tok]);

/// Splits the arguments of a call whose `(` ends just before `start`; returns them and
/// the index after the closing `)`.
fn split_args(toks: &[Tok], start: usize) -> (Vec<Arg<'_>>, usize) {
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut arg_start = start;
    let mut i = start;
    while let Some(tok) = toks.get(i) {
        match tok {
            Tok::Punct("(" | "[" | "{") => depth += 1,
            Tok::Punct(")" | "]" | "}") if depth > 0 => depth -= 1,
            Tok::Punct(",") | Tok::Punct(")") if depth == 0 => {
                if let Some(expr) = toks.get(arg_start..i).filter(|e| !e.is_empty()) {
                    args.push(label(expr));
                }
                arg_start = i + 1;
                if *tok == Tok::Punct(")") {
                    return (args, i + 1);
                }
            }
            Tok::Punct("]" | "}") => return (args, i),
            _ => {}
        }
        i += 1;
    }
    (args, i)
}

fn label(expr: &[Tok]) -> Arg<'_> {
    match expr {
        [Tok::Ident(name), Tok::Punct(":"), rest @ ..] => (Some(name.as_str()), rest),
        _ => (None, expr),
    }
}

fn dependency(args: &[Arg<'_>]) -> Option<ParsedDependency> {
    let text = |wanted: &str| {
        args.iter()
            .find(|(l, _)| *l == Some(wanted))
            .and_then(|(_, expr)| string(expr))
    };
    if let Some(path) = text("path") {
        return Some(
            ParsedDependency::new(Ecosystem::Swiftpm, path, "", DependencyKind::Runtime).local(),
        );
    }
    let name = text("url").or_else(|| text("id"))?;
    let requirement = requirement(args).unwrap_or_default();
    Some(ParsedDependency::new(
        Ecosystem::Swiftpm,
        name,
        requirement,
        DependencyKind::Runtime,
    ))
}

fn string(expr: &[Tok]) -> Option<&str> {
    match expr {
        [Tok::Str(s)] => Some(s.trim()),
        _ => None,
    }
}

fn requirement(args: &[Arg<'_>]) -> Option<String> {
    let number = |wanted: &str| {
        args.iter()
            .find(|(l, _)| *l == Some(wanted))
            .and_then(|(_, expr)| match expr {
                [Tok::Num(n)] => n.parse::<u64>().ok(),
                _ => None,
            })
    };
    if let Some(major) = number("majorVersion") {
        return Some(match number("minor") {
            Some(minor) => format!(
                ">= {major}.{minor}.0, < {major}.{}.0",
                minor.saturating_add(1)
            ),
            None => format!(">= {major}.0.0, < {}.0.0", major.saturating_add(1)),
        });
    }
    args.iter().find_map(|(label, expr)| match *label {
        Some("from") => version(expr).map(|v| up_to_next(&v, Bound::Major)),
        Some("exact") => version(expr).map(|v| format!("= {v}")),
        Some("branch" | "revision") => string(expr).map(str::to_owned),
        Some("versions") | None => call_requirement(expr).or_else(|| range(expr)),
        _ => None,
    })
}

/// `.upToNextMajor(from: v)`, `.upToNextMinor(from: v)`, `.exact(v)`, `.branch(b)`,
/// `.revision(r)`; and a bare version (PackageDescription 3's exact form).
fn call_requirement(expr: &[Tok]) -> Option<String> {
    let [
        Tok::Punct("."),
        Tok::Ident(name),
        Tok::Punct("("),
        inner @ ..,
    ] = expr
    else {
        return version(expr)
            .filter(|_| !expr.iter().any(is_range))
            .map(|v| format!("= {v}"));
    };
    let (args, _) = split_args(inner, 0);
    let (_, arg) = args.first()?;
    match name.as_str() {
        "upToNextMajor" => version(arg).map(|v| up_to_next(&v, Bound::Major)),
        "upToNextMinor" => version(arg).map(|v| up_to_next(&v, Bound::Minor)),
        "exact" => version(arg).map(|v| format!("= {v}")),
        "branch" | "revision" => string(arg).map(str::to_owned),
        _ => None,
    }
}

fn is_range(tok: &Tok) -> bool {
    matches!(tok, Tok::Punct("..<" | "..."))
}

/// `a..<b` → `>= a, < b`; `a...b` → `>= a, <= b`.
fn range(expr: &[Tok]) -> Option<String> {
    let at = expr.iter().position(is_range)?;
    let (lower, upper) = (version(expr.get(..at)?)?, version(expr.get(at + 1..)?)?);
    let op = if expr.get(at) == Some(&Tok::Punct("...")) {
        "<="
    } else {
        "<"
    };
    Some(format!(">= {lower}, {op} {upper}"))
}

/// `"1.2.3"`, `Version("1.2.3")` or `Version(1, 2, 3)`.
fn version(expr: &[Tok]) -> Option<String> {
    if let Some(s) = string(expr) {
        return Some(s.to_owned());
    }
    let [
        Tok::Ident(ctor),
        Tok::Punct("("),
        inner @ ..,
        Tok::Punct(")"),
    ] = expr
    else {
        return None;
    };
    if ctor != "Version" {
        return None;
    }
    if let Some(s) = string(inner) {
        return Some(s.to_owned());
    }
    let parts: Vec<&str> = inner
        .iter()
        .filter_map(|t| match t {
            Tok::Num(n) => Some(n.as_str()),
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("."))
}

#[derive(Clone, Copy)]
enum Bound {
    Major,
    Minor,
}

/// `>= v, < next` where next bumps the major (or minor) component of `v`.
fn up_to_next(v: &str, bound: Bound) -> String {
    let mut parts = v.split(['.', '-', '+']).map(|p| p.parse::<u64>().ok());
    let major = parts.next().flatten();
    let minor = parts.next().flatten().unwrap_or(0);
    match (bound, major) {
        (Bound::Major, Some(major)) => format!(">= {v}, < {}.0.0", major.saturating_add(1)),
        (Bound::Minor, Some(major)) => format!(">= {v}, < {major}.{}.0", minor.saturating_add(1)),
        (_, None) => format!(">= {v}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(text: &str) -> Vec<(String, String, bool)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|d| (d.name, d.requirement, d.local))
            .collect()
    }

    fn dep(name: &str, requirement: &str) -> (String, String, bool) {
        (name.into(), requirement.into(), false)
    }

    #[test]
    fn every_requirement_spelling_renders_as_a_range() {
        let text = r#"
// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "Example",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.58.0"),
        .package(url: "https://github.com/a/major.git", .upToNextMajor(from: "1.2.3")),
        .package(url: "https://github.com/a/minor.git", .upToNextMinor(from: "1.2.3")),
        .package(url: "https://github.com/a/exact.git", exact: "1.0.0"),
        .package(url: "https://github.com/a/exact2.git", .exact("1.0.1")),
        .package(url: "https://github.com/a/range.git", "1.0.0"..<"2.0.0"),
        .package(url: "https://github.com/a/closed.git", "1.0.0"..."1.2.0"),
        .package(name: "Named", url: "https://github.com/a/branch.git", branch: "main"),
        .package(url: "https://github.com/a/rev.git", revision: "abc123"),
        .package(url: "https://github.com/a/old.git", .branch("develop")),
        .package(id: "mona.LinkedList", from: "0.4.0"),
        // .package(url: "https://github.com/a/commented.git", from: "1.0.0"),
    ],
    targets: [.target(name: "Example", dependencies: [.product(name: "NIO", package: "swift-nio")])]
)
"#;
        assert_eq!(
            deps(text),
            [
                dep(
                    "https://github.com/apple/swift-nio.git",
                    ">= 2.58.0, < 3.0.0"
                ),
                dep("https://github.com/a/major.git", ">= 1.2.3, < 2.0.0"),
                dep("https://github.com/a/minor.git", ">= 1.2.3, < 1.3.0"),
                dep("https://github.com/a/exact.git", "= 1.0.0"),
                dep("https://github.com/a/exact2.git", "= 1.0.1"),
                dep("https://github.com/a/range.git", ">= 1.0.0, < 2.0.0"),
                dep("https://github.com/a/closed.git", ">= 1.0.0, <= 1.2.0"),
                dep("https://github.com/a/branch.git", "main"),
                dep("https://github.com/a/rev.git", "abc123"),
                dep("https://github.com/a/old.git", "develop"),
                dep("mona.LinkedList", ">= 0.4.0, < 1.0.0"),
            ]
        );
    }

    #[test]
    fn package_description_3_forms() {
        let text = r#"
import PackageDescription
let package = Package(name: "Old", dependencies: [
    .Package(url: "https://github.com/a/minor.git", majorVersion: 0, minor: 12),
    .Package(url: "https://github.com/a/major.git", majorVersion: 3),
    .Package(url: "https://github.com/a/versions.git", versions: Version(1, 0, 0)..<Version(2, 0, 0)),
    .Package(url: "https://github.com/a/exact.git", Version(1, 2, 3)),
])
"#;
        assert_eq!(
            deps(text),
            [
                dep("https://github.com/a/minor.git", ">= 0.12.0, < 0.13.0"),
                dep("https://github.com/a/major.git", ">= 3.0.0, < 4.0.0"),
                dep("https://github.com/a/versions.git", ">= 1.0.0, < 2.0.0"),
                dep("https://github.com/a/exact.git", "= 1.2.3"),
            ]
        );
    }

    #[test]
    fn path_packages_are_local() {
        let text =
            "let package = Package(name: \"A\", dependencies: [.package(path: \"../Shared\")])";
        assert_eq!(deps(text), [("../Shared".into(), "".into(), true)]);
    }

    #[test]
    fn urls_normalize_to_the_package_identity() {
        let text = "let package = Package(name: \"A\", dependencies: [.package(url: \"https://github.com/Apple/swift-nio.git\", from: \"2.0.0\")])";
        assert_eq!(
            parse(text).unwrap()[0].normalized_name,
            "github.com/apple/swift-nio"
        );
    }

    #[test]
    fn malformed_manifests_say_what_is_wrong() {
        assert!(
            parse("{\"pins\": []}")
                .unwrap_err()
                .to_string()
                .contains("Package(")
        );
        assert!(
            parse("let package = Package(name: \"A)\n")
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
    }
}
