//! `yarn.lock`: yarn 1's own indented format, or YAML from yarn 2+ ("berry").
//!
//! Both key each entry by the descriptors (`name@range`, comma-separated) that resolved to
//! it. Neither records whether a package is for development, so every entry is runtime.

use std::collections::HashSet;

use serde_norway::{Mapping, Value};

use super::{alias_target, locked, split_name};
use crate::{Format, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::DependencyKind;

const FORMAT: Format = Format::YarnLock;

/// Parses a `yarn.lock` of either generation.
pub(super) fn parse(text: &str) -> Result<ParsedManifest, ManifestError> {
    let dependencies = if is_berry(text) {
        parse_berry(text)?
    } else {
        parse_classic(text)?
    };
    Ok(ParsedManifest {
        dependencies,
        funding: Vec::new(),
    })
}

/// Berry lockfiles start their YAML with a `__metadata` entry.
fn is_berry(text: &str) -> bool {
    text.lines().any(|line| line.starts_with("__metadata:"))
}

/// The comma-separated descriptors of an entry's key, unquoted.
fn descriptors(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in key.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out.into_iter()
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .collect()
}

/// The package a descriptor names: the alias target for `alias@npm:real@range`.
fn descriptor_name(descriptor: &str) -> Option<(&str, &str)> {
    let (name, range) = split_name(descriptor)?;
    Some(match alias_target(range) {
        Some((real, real_range)) if !real.is_empty() => (real, real_range),
        _ => (name, range),
    })
}

fn is_local_range(range: &str) -> bool {
    ["file:", "link:", "portal:"]
        .iter()
        .any(|p| range.starts_with(p))
}

// ---- yarn 1 ----

/// One yarn 1 entry while its indented body is read.
struct ClassicEntry {
    key: String,
    line: usize,
    version: Option<String>,
    property_indent: Option<usize>,
}

/// Yarn 1: `descriptors:` at column 0, then `version "1.2.3"` among the indented fields.
fn parse_classic(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let mut out = Vec::new();
    let mut current: Option<ClassicEntry> = None;
    for (index, line) in text.lines().enumerate() {
        let content = line.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 0 {
            if let Some(entry) = current.take() {
                out.push(classic_dependency(&entry)?);
            }
            let Some(key) = content.strip_suffix(':') else {
                return Err(ManifestError::syntax(
                    FORMAT,
                    format!(
                        "line {}: expected `name@range:` to start an entry",
                        index + 1
                    ),
                ));
            };
            current = Some(ClassicEntry {
                key: key.to_owned(),
                line: index + 1,
                version: None,
                property_indent: None,
            });
            continue;
        }
        let Some(entry) = current.as_mut() else {
            return Err(ManifestError::syntax(
                FORMAT,
                format!("line {}: indented field before the first entry", index + 1),
            ));
        };
        // Only the entry's own fields: a dependency called `version` is nested deeper.
        let own_field = *entry.property_indent.get_or_insert(indent) == indent;
        if let Some(value) = content.strip_prefix("version ").filter(|_| own_field) {
            entry.version = Some(value.trim().trim_matches('"').to_owned());
        }
    }
    if let Some(entry) = current {
        out.push(classic_dependency(&entry)?);
    }
    Ok(out)
}

fn classic_dependency(entry: &ClassicEntry) -> Result<ParsedDependency, ManifestError> {
    let descriptors = descriptors(&entry.key);
    let Some((name, range)) = descriptors.first().and_then(|d| descriptor_name(d)) else {
        return Err(ManifestError::syntax(
            FORMAT,
            format!(
                "line {}: `{}` does not name a package as `name@range`",
                entry.line, entry.key
            ),
        ));
    };
    let dep = locked(
        name,
        entry.version.as_deref().unwrap_or(""),
        DependencyKind::Runtime,
        None,
    );
    Ok(if is_local_range(range) {
        dep.local()
    } else {
        dep
    })
}

// ---- berry ----

/// Berry: YAML whose entries carry a `resolution` (`name@npm:1.2.3`). The project's own
/// workspaces (`@workspace:`) are skipped, and tell which descriptors are direct.
fn parse_berry(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let root: Value = crate::yaml::parse(FORMAT, text)?;
    let Value::Mapping(entries) = root else {
        return Err(ManifestError::syntax(
            FORMAT,
            "expected a mapping of entries at the top level",
        ));
    };
    let direct = workspace_descriptors(&entries);
    let mut out = Vec::new();
    for (key, entry) in &entries {
        let Some(key) = key.as_str() else { continue };
        if key == "__metadata" {
            continue;
        }
        let Value::Mapping(entry) = entry else {
            return Err(ManifestError::syntax(
                FORMAT,
                format!("expected a mapping at `{key}`"),
            ));
        };
        if let Some(dep) = berry_dependency(key, entry, &direct)? {
            out.push(dep);
        }
    }
    Ok(out)
}

/// `name@range` for every dependency a workspace entry declares.
fn workspace_descriptors(entries: &Mapping) -> HashSet<String> {
    entries
        .values()
        .filter(|entry| resolution(entry).is_some_and(|r| r.contains("@workspace:")))
        .filter_map(|entry| entry.get("dependencies").and_then(Value::as_mapping))
        .flat_map(|deps| deps.iter())
        .filter_map(|(name, range)| Some(format!("{}@{}", name.as_str()?, scalar(range)?)))
        .collect()
}

fn resolution(entry: &Value) -> Option<&str> {
    entry.get("resolution").and_then(Value::as_str)
}

/// A YAML scalar as text: berry writes `version: 1.0` unquoted, which YAML reads as a number.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn berry_dependency(
    key: &str,
    entry: &Mapping,
    direct: &HashSet<String>,
) -> Result<Option<ParsedDependency>, ManifestError> {
    let resolution = entry
        .get("resolution")
        .and_then(Value::as_str)
        .unwrap_or("");
    let (name, protocol) = match split_name(resolution) {
        Some((name, protocol)) => (Some(name.to_owned()), protocol),
        None => (fallback_name(key), ""),
    };
    if protocol.starts_with("workspace:") {
        return Ok(None);
    }
    // A `patch:` entry re-lists a package that also has its plain `npm:` entry.
    if protocol.starts_with("patch:") {
        return Ok(None);
    }
    let Some(name) = name else {
        return Err(ManifestError::syntax(
            FORMAT,
            format!("`{key}` does not name a package"),
        ));
    };
    let version = entry.get("version").and_then(scalar).unwrap_or_default();
    let is_direct = descriptors(key).iter().any(|d| direct.contains(d));
    let dep = locked(&name, &version, DependencyKind::Runtime, Some(is_direct));
    Ok(Some(if is_local_range(protocol) {
        dep.local()
    } else {
        dep
    }))
}

/// An entry without a usable `resolution` is named by its first descriptor.
fn fallback_name(key: &str) -> Option<String> {
    let descriptors = descriptors(key);
    let (name, _) = descriptor_name(descriptors.first()?)?;
    Some(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<(String, String, Option<bool>, bool)> {
        parse(text)
            .unwrap()
            .dependencies
            .into_iter()
            .map(|d| {
                assert_eq!(d.resolved_version.as_deref(), Some(d.requirement.as_str()));
                assert_eq!(d.kind, DependencyKind::Runtime);
                (d.name, d.requirement, d.direct, d.local)
            })
            .collect()
    }

    fn row(
        name: &str,
        version: &str,
        direct: Option<bool>,
        local: bool,
    ) -> (String, String, Option<bool>, bool) {
        (name.into(), version.into(), direct, local)
    }

    const CLASSIC: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
  version "7.12.13"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.12.13.tgz#dcfc826b"
  dependencies:
    "@babel/highlight" "^7.12.13"
    version "^1.0.0"

my-alias@npm:left-pad@^1.3.0:
  version "1.3.0"

"statuses@>= 1.3.1 < 2":
  version "1.3.1"

"other@file:src/other":
  version "1.0.0"
"#;

    #[test]
    fn classic_entries_give_name_and_locked_version() {
        assert_eq!(
            rows(CLASSIC),
            [
                row("@babel/code-frame", "7.12.13", None, false),
                row("left-pad", "1.3.0", None, false),
                row("statuses", "1.3.1", None, false),
                row("other", "1.0.0", None, true),
            ]
        );
    }

    #[test]
    fn classic_garbage_is_an_error_with_its_line() {
        let err = parse("# yarn lockfile v1\nleft-pad@^1.3.0\n  version \"1.3.0\"\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = parse("  version \"1.3.0\"\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        let err = parse("no-version-here:\n  version \"1\"\n").unwrap_err();
        assert!(err.to_string().contains("name@range"), "{err}");
    }

    const BERRY: &str = r#"# This file is generated by running "yarn install" inside your project.

__metadata:
  version: 8
  cacheKey: 10c0

"left-pad@npm:^1.3.0":
  version: 1.3.0
  resolution: "left-pad@npm:1.3.0"
  languageName: node
  linkType: hard

"js-tokens@npm:^4.0.0":
  version: 4.0.0
  resolution: "js-tokens@npm:4.0.0"
  languageName: node
  linkType: hard

"strip-ansi-cjs@npm:strip-ansi@^6.0.1, strip-ansi@npm:^6.0.0":
  version: 6.0.1
  resolution: "strip-ansi@npm:6.0.1"
  languageName: node
  linkType: hard

"fsevents@patch:fsevents@npm%3A2.3.2#optional!builtin<compat/fsevents>":
  version: 2.3.2
  resolution: "fsevents@patch:fsevents@npm%3A2.3.2#optional!builtin<compat/fsevents>::version=2.3.2&hash=df0bf1"
  languageName: node
  linkType: hard

"tools@portal:../tools::locator=app%40workspace%3A.":
  version: 0.0.0-use.local
  resolution: "tools@portal:../tools::locator=app%40workspace%3A."
  languageName: node
  linkType: soft

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  dependencies:
    left-pad: "npm:^1.3.0"
  languageName: unknown
  linkType: soft
"#;

    #[test]
    fn berry_reads_resolutions_and_skips_workspaces_and_patches() {
        assert_eq!(
            rows(BERRY),
            [
                row("left-pad", "1.3.0", Some(true), false),
                row("js-tokens", "4.0.0", Some(false), false),
                row("strip-ansi", "6.0.1", Some(false), false),
                row("tools", "0.0.0-use.local", Some(false), true),
            ]
        );
    }

    #[test]
    fn berry_syntax_errors_are_reported() {
        assert!(parse("__metadata:\n  version: [\n").is_err());
        let err = parse("__metadata:\n  version: 8\n\"a@npm:1\": 3\n").unwrap_err();
        assert!(err.to_string().contains("a@npm:1"), "{err}");
    }
}
