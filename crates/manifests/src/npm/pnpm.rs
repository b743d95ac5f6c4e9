//! `pnpm-lock.yaml`, lockfile versions 5 to 9.
//!
//! `importers` (or, before workspaces, the top level) list each project's direct
//! dependencies; `packages` lists every resolved package once per peer context, keyed
//! `/name/1.0.0_peer@2` (v5), `/name@1.0.0(peer@2)` (v6) or `name@1.0.0` (v9, which moves
//! the per-context data to `snapshots` and drops the `dev` flags).

use std::collections::{HashMap, HashSet};

use serde_norway::{Mapping, Value};

use super::{locked, locked_local, split_name};
use crate::{Format, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::DependencyKind;

const FORMAT: Format = Format::PnpmLock;

/// The sections of an importer, in report order.
const SECTIONS: [(&str, DependencyKind); 3] = [
    ("dependencies", DependencyKind::Runtime),
    ("devDependencies", DependencyKind::Development),
    ("optionalDependencies", DependencyKind::Optional),
];

/// How package keys separate name and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyStyle {
    /// v5: `/name/version_peers`.
    Slash,
    /// v6 and later: `/name@version(peers)` or `name@version(peers)`.
    At,
}

/// A package key without its leading `/` and peer suffix: how importers' references,
/// `packages` and `snapshots` are matched up.
type CanonicalKey = String;

/// The kinds the importer sections that ask for a package directly give it, in section
/// order.
type Direct = Vec<DependencyKind>;

/// Parses a `pnpm-lock.yaml`.
pub(super) fn parse(text: &str) -> Result<ParsedManifest, ManifestError> {
    let root: Value = crate::yaml::parse(FORMAT, text)?;
    let root = match root {
        Value::Mapping(root) => root,
        Value::Null => return Ok(ParsedManifest::default()),
        _ => {
            return Err(ManifestError::syntax(
                FORMAT,
                "expected a mapping at the top level",
            ));
        }
    };
    let style = key_style(root.get("lockfileVersion"));
    let mut dependencies = Vec::new();
    let mut direct: HashMap<CanonicalKey, Direct> = HashMap::new();
    for importer in importers(&root)? {
        read_importer(importer, style, &mut direct, &mut dependencies)?;
    }
    let optional = optional_snapshots(&root, style)?;
    let mut seen = HashSet::new();
    for (key, entry) in mapping_at(&root, "packages")?.into_iter().flatten() {
        let key = key
            .as_str()
            .ok_or_else(|| ManifestError::syntax(FORMAT, "expected string keys in `packages`"))?;
        let deps = package(key, entry, style, &direct, &optional)?;
        // v5/v6 list a package once per peer context; report each version once.
        let Some(first) = deps.first() else { continue };
        if seen.insert((first.name.clone(), first.requirement.clone())) {
            dependencies.extend(deps);
        }
    }
    Ok(ParsedManifest {
        dependencies,
        funding: Vec::new(),
    })
}

/// One `packages` entry, once per kind the importers declare it with (once, by its flags,
/// when no importer asks for it). Git and tarball packages carry their own `name` and
/// `version`.
fn package(
    key: &str,
    entry: &Value,
    style: KeyStyle,
    direct: &HashMap<CanonicalKey, Direct>,
    optional: &HashSet<CanonicalKey>,
) -> Result<Vec<ParsedDependency>, ManifestError> {
    let Value::Mapping(entry) = entry else {
        return Err(ManifestError::syntax(
            FORMAT,
            format!("expected a mapping at `packages.{key}`"),
        ));
    };
    let id = package_key(key, style);
    let name = string_at(entry, "name").or_else(|| id.as_ref().map(|(n, _)| n.clone()));
    let version = string_at(entry, "version").or_else(|| id.map(|(_, v)| v));
    let (Some(name), Some(version)) = (name, version) else {
        return Err(ManifestError::syntax(
            FORMAT,
            format!("cannot read a name and version from `packages.{key}`"),
        ));
    };
    let canonical = canonical(key, style);
    let asked = direct.get(&canonical);
    // What the project declared gives a direct package its kinds; the flags only say how
    // an install is reached, so they are the kind of transitive packages alone.
    let kinds = match asked {
        Some(kinds) => kinds.clone(),
        None => vec![package_kind(entry, optional.contains(&canonical))],
    };
    Ok(kinds
        .into_iter()
        .map(|kind| {
            if is_local_version(&version) {
                locked_local(&name, &version, kind, Some(asked.is_some()))
            } else {
                locked(&name, &version, kind, Some(asked.is_some()))
            }
        })
        .collect())
}

fn key_style(version: Option<&Value>) -> KeyStyle {
    let text = match version {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => return KeyStyle::At,
    };
    let major: u32 = text
        .split('.')
        .next()
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or(9);
    if major < 6 {
        KeyStyle::Slash
    } else {
        KeyStyle::At
    }
}

/// The mapping under `key`, `None` when absent or null.
fn mapping_at<'a>(parent: &'a Mapping, key: &str) -> Result<Option<&'a Mapping>, ManifestError> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Mapping(m)) => Ok(Some(m)),
        Some(_) => Err(ManifestError::syntax(
            FORMAT,
            format!("expected a mapping at `{key}`"),
        )),
    }
}

fn string_at(entry: &Mapping, key: &str) -> Option<String> {
    entry.get(key).and_then(scalar)
}

/// Every importer: the `importers` section's projects, or the top level of older files.
fn importers(root: &Mapping) -> Result<Vec<&Mapping>, ManifestError> {
    let Some(importers) = mapping_at(root, "importers")? else {
        return Ok(vec![root]);
    };
    importers
        .iter()
        .map(|(path, importer)| match importer {
            Value::Mapping(m) => Ok(m),
            _ => Err(ManifestError::syntax(
                FORMAT,
                format!(
                    "expected a mapping at `importers.{}`",
                    path.as_str().unwrap_or("?")
                ),
            )),
        })
        .collect()
}

/// Records an importer's direct dependencies; its `link:` ones are reported here, as local.
fn read_importer(
    importer: &Mapping,
    style: KeyStyle,
    direct: &mut HashMap<CanonicalKey, Direct>,
    out: &mut Vec<ParsedDependency>,
) -> Result<(), ManifestError> {
    let specifiers = mapping_at(importer, "specifiers")?;
    for (section, kind) in SECTIONS {
        for (name, value) in mapping_at(importer, section)?.into_iter().flatten() {
            let Some(name) = name.as_str() else { continue };
            // v5 maps names to versions (specifiers apart); v6+ to `{specifier, version}`.
            let (specifier, version) = match value {
                Value::Mapping(m) => (string_at(m, "specifier"), string_at(m, "version")),
                other => (specifiers.and_then(|s| string_at(s, name)), scalar(other)),
            };
            let Some(version) = version else {
                return Err(ManifestError::syntax(
                    FORMAT,
                    format!("expected a version at `{section}.{name}`"),
                ));
            };
            if version.starts_with("link:") {
                out.push(locked_local(
                    name,
                    specifier.as_deref().unwrap_or(&version),
                    kind,
                    Some(true),
                ));
                continue;
            }
            for key in referenced_keys(name, &version, style) {
                let kinds = direct.entry(key).or_default();
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
        }
    }
    Ok(())
}

/// A YAML scalar as text: an unquoted `1.0` reads as a number.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The keys a dependency reference may point at: `name` at a bare version, or the
/// reference itself when it is a full key (an alias such as `/zod@4.0.5` or `zod@3.24.2`,
/// a git package `github.com/o/r/abc123`, a `file:` package in v6).
fn referenced_keys(name: &str, reference: &str, style: KeyStyle) -> [CanonicalKey; 2] {
    let separator = match style {
        KeyStyle::Slash => '/',
        KeyStyle::At => '@',
    };
    [
        canonical(&format!("{name}{separator}{reference}"), style),
        canonical(reference, style),
    ]
}

fn canonical(key: &str, style: KeyStyle) -> CanonicalKey {
    let key = strip_peers(key, style);
    key.strip_prefix('/').unwrap_or(key).to_owned()
}

fn strip_peers(reference: &str, style: KeyStyle) -> &str {
    let cut = match style {
        KeyStyle::Slash => {
            let last = reference.rfind('/').map_or(0, |i| i + 1);
            reference
                .get(last..)
                .and_then(|segment| segment.find('_'))
                .map(|i| last + i)
        }
        KeyStyle::At => reference.find('('),
    };
    cut.and_then(|i| reference.get(..i)).unwrap_or(reference)
}

/// `(name, version)` from a `packages` key, peer suffixes removed.
fn package_key(key: &str, style: KeyStyle) -> Option<(String, String)> {
    let key = strip_peers(key, style);
    let key = key.strip_prefix('/').unwrap_or(key);
    match style {
        KeyStyle::At => {
            let (name, version) = split_name(key)?;
            Some((name.to_owned(), version.to_owned()))
        }
        KeyStyle::Slash => {
            let (path, version) = key.rsplit_once('/')?;
            // Non-default registries prefix a host: keep the last segment, two when scoped.
            let name = match path.rsplit_once('/') {
                Some((before, last)) => match before.rsplit('/').next() {
                    Some(scope) if scope.starts_with('@') => format!("{scope}/{last}"),
                    _ => last.to_owned(),
                },
                None => path.to_owned(),
            };
            (!name.is_empty() && !version.is_empty()).then(|| (name, version.to_owned()))
        }
    }
}

/// v9 records `optional: true` on snapshots, not packages.
fn optional_snapshots(
    root: &Mapping,
    style: KeyStyle,
) -> Result<HashSet<CanonicalKey>, ManifestError> {
    let mut optional = HashSet::new();
    for (key, snapshot) in mapping_at(root, "snapshots")?.into_iter().flatten() {
        let is_optional = snapshot.get("optional").and_then(Value::as_bool) == Some(true);
        if let (true, Some(key)) = (is_optional, key.as_str()) {
            optional.insert(canonical(key, style));
        }
    }
    Ok(optional)
}

/// A transitive package's kind: v5/v6 flag packages `dev: true` (reached only from
/// development dependencies); `optional: true` (v9: on the snapshot) marks packages reached
/// only through optional ones; everything else is runtime (v9 drops the `dev` flags).
fn package_kind(entry: &Mapping, snapshot_optional: bool) -> DependencyKind {
    let flag = |key: &str| entry.get(key).and_then(Value::as_bool);
    if flag("dev") == Some(true) {
        DependencyKind::Development
    } else if flag("optional") == Some(true) || snapshot_optional {
        DependencyKind::Optional
    } else {
        DependencyKind::Runtime
    }
}

fn is_local_version(version: &str) -> bool {
    version.starts_with("file:") || version.starts_with("link:")
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (String, String, DependencyKind, Option<bool>, bool);

    fn rows(text: &str) -> Vec<Row> {
        parse(text)
            .unwrap()
            .dependencies
            .into_iter()
            .map(|d| (d.name, d.requirement, d.kind, d.direct, d.local))
            .collect()
    }

    fn row(name: &str, version: &str, kind: DependencyKind, direct: bool, local: bool) -> Row {
        (name.into(), version.into(), kind, Some(direct), local)
    }

    #[test]
    fn v5_keys_are_slash_separated_with_underscore_peers() {
        let text = r#"
lockfileVersion: 5.4
specifiers:
  '@babel/types': ^7.28.0
  my-zod: npm:zod
  mocha: ^2.2.1
dependencies:
  '@babel/types': 7.28.1
  my-zod: /zod/4.0.5
devDependencies:
  mocha: 2.5.3
packages:
  /@babel/types/7.28.1:
    resolution: {integrity: sha512-x}
    dev: false
  /zod/4.0.5:
    dev: false
  /mocha/2.5.3:
    dev: true
  /react-dom/17.0.2_react@17.0.2:
    dev: false
  /fsevents/0.3.8:
    dev: false
    optional: true
"#;
        assert_eq!(
            rows(text),
            [
                row(
                    "@babel/types",
                    "7.28.1",
                    DependencyKind::Runtime,
                    true,
                    false
                ),
                row("zod", "4.0.5", DependencyKind::Runtime, true, false),
                row("mocha", "2.5.3", DependencyKind::Development, true, false),
                row("react-dom", "17.0.2", DependencyKind::Runtime, false, false),
                row("fsevents", "0.3.8", DependencyKind::Optional, false, false),
            ]
        );
    }

    #[test]
    fn v6_keys_use_at_and_parenthesised_peers_once_per_version() {
        let text = r#"
lockfileVersion: '6.0'
dependencies:
  debug:
    specifier: ^2.2.0
    version: 2.2.0(supports-color@1.2.0)
  my-zod:
    specifier: npm:zod
    version: /zod@4.0.5
packages:
  /debug@2.2.0(supports-color@1.2.0):
    dev: false
  /debug@2.2.0:
    dev: false
  /zod@4.0.5:
    dev: false
  /supports-color@1.2.0:
    dev: false
"#;
        assert_eq!(
            rows(text),
            [
                row("debug", "2.2.0", DependencyKind::Runtime, true, false),
                row("zod", "4.0.5", DependencyKind::Runtime, true, false),
                row(
                    "supports-color",
                    "1.2.0",
                    DependencyKind::Runtime,
                    false,
                    false
                ),
            ]
        );
    }

    #[test]
    fn v9_reads_importers_packages_and_snapshot_flags() {
        let text = r#"
lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      my-zod:
        specifier: npm:zod
        version: zod@3.24.2
      shared:
        specifier: workspace:*
        version: link:packages/shared
    devDependencies:
      mocha:
        specifier: ^2.2.1
        version: 2.5.3
packages:
  zod@3.24.2:
    resolution: {integrity: sha512-x}
  mocha@2.5.3:
    resolution: {integrity: sha512-y}
  ms@0.7.1:
    resolution: {integrity: sha512-z}
  fsevents@0.3.8:
    resolution: {integrity: sha512-w}
snapshots:
  zod@3.24.2: {}
  mocha@2.5.3:
    dependencies:
      ms: 0.7.1
  ms@0.7.1: {}
  fsevents@0.3.8:
    optional: true
"#;
        assert_eq!(
            rows(text),
            [
                row("shared", "workspace:*", DependencyKind::Runtime, true, true),
                row("zod", "3.24.2", DependencyKind::Runtime, true, false),
                row("mocha", "2.5.3", DependencyKind::Development, true, false),
                row("ms", "0.7.1", DependencyKind::Runtime, false, false),
                row("fsevents", "0.3.8", DependencyKind::Optional, false, false),
            ]
        );
    }

    #[test]
    fn direct_kinds_come_from_every_importer_section_that_declares_them() {
        // The flags describe reachability: `typescript` is reached from production code
        // (`dev: false`) but the root only declares it for development, and a workspace
        // for run time; `chokidar` is flagged optional yet declared a plain dependency.
        let text = r#"
lockfileVersion: '6.0'
importers:
  .:
    devDependencies:
      typescript:
        specifier: ^5
        version: 5.6.2
  packages/cli:
    dependencies:
      typescript:
        specifier: ^5
        version: 5.6.2
      chokidar:
        specifier: ^3
        version: 3.6.0
packages:
  /typescript@5.6.2:
    dev: false
  /chokidar@3.6.0:
    dev: false
    optional: true
"#;
        assert_eq!(
            rows(text),
            [
                row(
                    "typescript",
                    "5.6.2",
                    DependencyKind::Development,
                    true,
                    false
                ),
                row("typescript", "5.6.2", DependencyKind::Runtime, true, false),
                row("chokidar", "3.6.0", DependencyKind::Runtime, true, false),
            ]
        );
    }

    #[test]
    fn git_packages_take_name_and_version_from_their_fields() {
        let text = r#"
lockfileVersion: 5.4
dependencies:
  tool: github.com/o/tool/abc123
packages:
  github.com/o/tool/abc123:
    resolution: {tarball: https://codeload.github.com/o/tool/tar.gz/abc123}
    name: tool
    version: 1.2.0
    dev: false
"#;
        assert_eq!(
            rows(text),
            [row("tool", "1.2.0", DependencyKind::Runtime, true, false)]
        );
    }

    #[test]
    fn file_packages_are_local() {
        let text = r#"
lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      vendored:
        specifier: file:vendor/vendored
        version: file:vendor/vendored
packages:
  vendored@file:vendor/vendored:
    resolution: {directory: vendor/vendored, type: directory}
snapshots:
  vendored@file:vendor/vendored: {}
"#;
        assert_eq!(
            rows(text),
            [row(
                "vendored",
                "file:vendor/vendored",
                DependencyKind::Runtime,
                true,
                true
            )]
        );
    }

    #[test]
    fn malformed_files_are_errors() {
        assert!(
            parse("- a\n- b\n")
                .unwrap_err()
                .to_string()
                .contains("top level")
        );
        let err = parse("lockfileVersion: '9.0'\npackages:\n  nonsense: {}\n").unwrap_err();
        assert!(err.to_string().contains("`packages.nonsense`"), "{err}");
        let err = parse("lockfileVersion: '9.0'\npackages: [1]\n").unwrap_err();
        assert!(err.to_string().contains("`packages`"), "{err}");
        assert!(parse("").unwrap().dependencies.is_empty());
    }
}
