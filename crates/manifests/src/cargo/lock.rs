//! `Cargo.lock`, versions 1 to 4.
//!
//! Packages with a `source` come from a registry or a git repository; packages without
//! one are the workspace's own members (or path dependencies), which are not reported. A
//! package is direct when a member lists it. Member dependency references are `"name"`,
//! `"name version"` (when several versions are locked, and always in v4) or, in v1,
//! `"name version (source)"`.

use std::collections::HashMap;

use toml::{Table, Value};

use super::{Format, ManifestError, ParsedDependency, dep, str_at};
use wump_core::DependencyKind;

const FORMAT: Format = Format::CargoLock;

/// Every locked registry or git package, in file order.
pub(super) fn parse(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let document = super::parse_toml(FORMAT, text)?;
    let packages = packages(&document)?;
    let (members, locked): (Vec<&Table>, Vec<&Table>) = packages
        .into_iter()
        .partition(|p| !p.contains_key("source"));
    // Version 1 lockfiles describe the root package in `[root]`.
    let root = document.get("root").and_then(Value::as_table);
    let mut member_refs: HashMap<&str, Vec<Option<&str>>> = HashMap::new();
    for reference in members
        .iter()
        .copied()
        .chain(root)
        .flat_map(dependency_refs)
    {
        member_refs
            .entry(reference.name)
            .or_default()
            .push(reference.version);
    }
    let deps = locked.into_iter().map(|package| {
        let name = str_at(package, "name").unwrap_or_default();
        let version = str_at(package, "version").unwrap_or_default();
        let versions = member_refs.get(name).map(Vec::as_slice).unwrap_or_default();
        let direct = versions.iter().any(|v| v.is_none_or(|v| v == version));
        dep(name, version, DependencyKind::Runtime).resolved(version, Some(direct))
    });
    Ok(deps.collect())
}

/// The `[[package]]` tables; a file with neither packages nor a lockfile `version` (such as
/// a Cargo.toml given this name) is refused.
fn packages(document: &Table) -> Result<Vec<&Table>, ManifestError> {
    let list = match document.get("package") {
        Some(Value::Array(list)) => list.as_slice(),
        None if document.contains_key("version") || document.contains_key("root") => &[],
        None => {
            return Err(ManifestError::syntax(
                FORMAT,
                "no `[[package]]` entries: not a Cargo.lock",
            ));
        }
        Some(_) => {
            return Err(ManifestError::syntax(
                FORMAT,
                "expected an array of tables at `package`",
            ));
        }
    };
    list.iter()
        .map(|package| {
            let named = package
                .as_table()
                .filter(|p| str_at(p, "name").is_some() && str_at(p, "version").is_some());
            named.ok_or_else(|| {
                ManifestError::syntax(FORMAT, "every `[[package]]` needs a `name` and a `version`")
            })
        })
        .collect()
}

/// One entry of a package's `dependencies` list.
struct Reference<'a> {
    name: &'a str,
    version: Option<&'a str>,
}

fn dependency_refs(package: &Table) -> Vec<Reference<'_>> {
    let Some(Value::Array(list)) = package.get("dependencies") else {
        return Vec::new();
    };
    list.iter()
        .filter_map(Value::as_str)
        .filter_map(|reference| {
            let mut parts = reference.split_whitespace();
            let name = parts.next()?;
            Some(Reference {
                name,
                version: parts.next(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "rand_core 0.4.2",
 "regex",
]

[[package]]
name = "rand_core"
version = "0.3.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "rand_core 0.4.2",
]

[[package]]
name = "rand_core"
version = "0.4.2"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "regex"
version = "1.6.0"
source = "git+https://github.com/rust-lang/regex?tag=1.6.0#a5d31f5"
"#;

    #[test]
    fn packages_with_a_source_are_reported_and_members_skipped() {
        let deps = parse(V4).unwrap();
        let got: Vec<_> = deps
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.resolved_version.as_deref(),
                    d.direct,
                    d.kind,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "rand_core",
                    Some("0.3.1"),
                    Some(false),
                    DependencyKind::Runtime
                ),
                (
                    "rand_core",
                    Some("0.4.2"),
                    Some(true),
                    DependencyKind::Runtime
                ),
                ("regex", Some("1.6.0"), Some(true), DependencyKind::Runtime),
            ]
        );
        assert_eq!(deps[0].requirement, "0.3.1");
    }

    #[test]
    fn version_1_references_carry_the_source_and_root_is_a_member() {
        let text = r#"
[root]
name = "app"
version = "0.1.0"
dependencies = ["libc 0.2.126 (registry+https://github.com/rust-lang/crates.io-index)"]

[[package]]
name = "libc"
version = "0.2.126"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum libc 0.2.126 (registry+https://github.com/rust-lang/crates.io-index)" = "349d5a"
"#;
        let deps = parse(text).unwrap();
        assert_eq!(deps.len(), 1);
        assert_eq!(deps[0].direct, Some(true));
    }

    #[test]
    fn a_manifest_is_not_a_lockfile() {
        let err = parse("[package]\nname = \"app\"\n[dependencies]\nserde = \"1\"\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected an array of tables at `package`"),
            "{err}"
        );
        let err = parse("[dependencies]\nserde = \"1\"\n").unwrap_err();
        assert!(err.to_string().contains("not a Cargo.lock"), "{err}");
        let err = parse("[[package]]\nname = \"a\"\n").unwrap_err();
        assert!(err.to_string().contains("`version`"), "{err}");
    }
}
