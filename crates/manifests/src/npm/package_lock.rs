//! `package-lock.json` and `npm-shrinkwrap.json`.
//!
//! Versions 2 and 3 list every installed folder under `packages` (`node_modules/a`,
//! `node_modules/a/node_modules/b`); version 1 and old shrinkwraps nest `dependencies`
//! objects instead. Where both are present (v2) `packages` is the complete one.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{
    alias_target, expect_object, is_local_spec, locked, locked_local, not_an_object,
    optional_object, parse_json,
};
use crate::{Format, MAX_DEPTH, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::DependencyKind;

const NODE_MODULES: &str = "node_modules/";

/// The sections of a project's own entry (the root `""` or a workspace folder), with the
/// kind each gives the names it declares.
const DECLARING_SECTIONS: [(&str, DependencyKind); 4] = [
    ("dependencies", DependencyKind::Runtime),
    ("devDependencies", DependencyKind::Development),
    ("optionalDependencies", DependencyKind::Optional),
    ("peerDependencies", DependencyKind::Peer),
];

/// Parses a `package-lock.json` or `npm-shrinkwrap.json`.
pub(super) fn parse(format: Format, text: &str) -> Result<ParsedManifest, ManifestError> {
    let root = parse_json(text, format)?;
    let root = expect_object(&root, format, "the top level")?;
    let dependencies =
        if let Some(packages) = optional_object(root, "packages", format, "packages")? {
            from_packages(format, packages)?
        } else if let Some(deps) = optional_object(root, "dependencies", format, "dependencies")? {
            let mut out = Vec::new();
            from_nested(format, deps, "dependencies", 0, &mut out)?;
            out
        } else {
            Vec::new()
        };
    Ok(ParsedManifest {
        dependencies,
        funding: Vec::new(),
    })
}

/// v2/v3: one entry per installed folder; the project's own folders (`""` and workspace
/// folders) only tell which installs are direct, and with which kinds.
fn from_packages(
    format: Format,
    packages: &Map<String, Value>,
) -> Result<Vec<ParsedDependency>, ManifestError> {
    let declared = declared_kinds(packages);
    let mut out = Vec::new();
    for (key, entry) in packages {
        let Some(at) = key.rfind(NODE_MODULES) else {
            continue;
        };
        let install_name = key.get(at + NODE_MODULES.len()..).unwrap_or("");
        if install_name.is_empty() {
            continue;
        }
        let Some(entry) = entry.as_object() else {
            return Err(not_an_object(format, &format!("packages.{key}")));
        };
        // An aliased install keeps its alias as the folder name and the real one in `name`.
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(install_name);
        let version = entry.get("version").and_then(Value::as_str).unwrap_or("");
        let local =
            entry.get("link").and_then(Value::as_bool) == Some(true) || is_local_spec(version);
        // The project's declarations say what it asked for; the flags only describe how
        // the install is reached, so they are the kind of transitive entries alone.
        let (kinds, direct) = match declared.get(key.as_str()) {
            Some(kinds) => (kinds.clone(), true),
            None => (vec![kind_from_flags(entry)], false),
        };
        for kind in kinds {
            out.push(if local {
                locked_local(name, "", kind, Some(direct))
            } else {
                locked(name, version, kind, Some(direct))
            });
        }
    }
    Ok(out)
}

/// For each install a project folder's declaration resolves to, the kinds it is declared
/// with, in section order. The project folders are the root `""` and every folder entry
/// outside `node_modules` (workspaces and linked local packages), whose sections npm
/// copies from their `package.json`.
fn declared_kinds(packages: &Map<String, Value>) -> HashMap<String, Vec<DependencyKind>> {
    let mut kinds: HashMap<String, Vec<DependencyKind>> = HashMap::new();
    let projects = packages
        .iter()
        .filter(|(folder, _)| !folder.split('/').any(|segment| segment == "node_modules"))
        .filter_map(|(folder, entry)| Some((folder.as_str(), entry.as_object()?)));
    for (folder, project) in projects {
        for (section, kind) in DECLARING_SECTIONS {
            let Some(names) = project.get(section).and_then(Value::as_object) else {
                continue;
            };
            for name in names.keys().filter(|name| !name.starts_with("//")) {
                let Some(install) = resolve_install(packages, folder, name) else {
                    continue;
                };
                let at = kinds.entry(install).or_default();
                if !at.contains(&kind) {
                    at.push(kind);
                }
            }
        }
    }
    kinds
}

/// The install `name` resolves to from `folder`, as Node looks it up: the folder's own
/// `node_modules`, then each parent's, up to the root's (a workspace's dependencies are
/// usually hoisted there). `None` when it is not installed (an unmet optional or peer).
fn resolve_install(packages: &Map<String, Value>, folder: &str, name: &str) -> Option<String> {
    let mut folder = folder;
    loop {
        let key = if folder.is_empty() {
            format!("{NODE_MODULES}{name}")
        } else {
            format!("{folder}/{NODE_MODULES}{name}")
        };
        if packages.contains_key(&key) {
            return Some(key);
        }
        if folder.is_empty() {
            return None;
        }
        folder = folder.rsplit_once('/').map_or("", |(parent, _)| parent);
    }
}

/// v1 and shrinkwrap: `dependencies` maps names to entries that may nest their own.
fn from_nested(
    format: Format,
    deps: &Map<String, Value>,
    path: &str,
    depth: usize,
    out: &mut Vec<ParsedDependency>,
) -> Result<(), ManifestError> {
    if depth >= MAX_DEPTH {
        return Err(ManifestError::TooDeep { limit: MAX_DEPTH });
    }
    for (name, entry) in deps {
        // Paths are only spelled out for errors and nesting: most entries have neither.
        let here = || format!("{path}.{name}");
        let Some(entry) = entry.as_object() else {
            return Err(not_an_object(format, &here()));
        };
        if !name.trim().is_empty() {
            out.push(nested_entry(name, entry));
        }
        match entry.get("dependencies") {
            None | Some(Value::Null) => {}
            Some(Value::Object(children)) => {
                let children_path = format!("{}.dependencies", here());
                from_nested(format, children, &children_path, depth + 1, out)?;
            }
            Some(_) => return Err(not_an_object(format, &format!("{}.dependencies", here()))),
        }
    }
    Ok(())
}

/// One v1 entry. Its `version` is a version, an alias (`npm:real@1.0.0`), a local path
/// (`file:…`) or, for git dependencies, the resolved URL with the commit.
fn nested_entry(name: &str, entry: &Map<String, Value>) -> ParsedDependency {
    let kind = kind_from_flags(entry);
    let version = entry
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    if let Some((real, version)) = alias_target(version) {
        return locked(real, version, kind, None);
    }
    if is_local_spec(version) {
        return locked_local(name, version, kind, None);
    }
    if is_scm_url(version) {
        let from = entry.get("from").and_then(Value::as_str).unwrap_or("");
        return locked(name, &scm_version(from, version), kind, None);
    }
    locked(name, version, kind, None)
}

fn is_scm_url(version: &str) -> bool {
    version.contains("://")
        || ["git+", "git@", "github:", "gitlab:", "bitbucket:"]
            .iter()
            .any(|p| version.starts_with(p))
}

/// The tag the project asked for (`from`'s `#v2.10.0` or `#semver:v5.5.5` → `2.10.0`,
/// `5.5.5`), else the commit the lockfile resolved.
fn scm_version(from: &str, resolved: &str) -> String {
    let fragment = |spec: &str| spec.rsplit_once('#').map(|(_, f)| f.trim().to_owned());
    let tag = fragment(from).filter(|f| !f.is_empty());
    match tag {
        Some(tag) => {
            let tag = tag.strip_prefix("semver:").unwrap_or(&tag);
            tag.strip_prefix('v').unwrap_or(tag).to_owned()
        }
        None => fragment(resolved).unwrap_or_else(|| resolved.to_owned()),
    }
}

/// npm flags entries installed only for development, only optionally, or as peers.
fn kind_from_flags(entry: &Map<String, Value>) -> DependencyKind {
    let flag = |key: &str| entry.get(key).and_then(Value::as_bool) == Some(true);
    if flag("dev") || flag("devOptional") {
        DependencyKind::Development
    } else if flag("peer") {
        DependencyKind::Peer
    } else if flag("optional") {
        DependencyKind::Optional
    } else {
        DependencyKind::Runtime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (String, String, DependencyKind, Option<bool>, bool);

    fn rows(text: &str) -> Vec<Row> {
        parse(Format::PackageLock, text)
            .unwrap()
            .dependencies
            .into_iter()
            .map(|d| {
                assert_eq!(d.resolved_version.is_some(), !d.local, "{d:?}");
                (d.name, d.requirement, d.kind, d.direct, d.local)
            })
            .collect()
    }

    fn row(name: &str, req: &str, kind: DependencyKind, direct: Option<bool>, local: bool) -> Row {
        (name.into(), req.into(), kind, direct, local)
    }

    #[test]
    fn v3_packages_give_versions_kinds_and_directness() {
        // Reported in key order (serde_json keeps object keys sorted).
        let text = r#"{"lockfileVersion": 3, "packages": {
            "": {"name": "app", "dependencies": {"a": "^1"}, "devDependencies": {"t": "^2"}},
            "node_modules/a": {"version": "1.2.0"},
            "node_modules/t": {"version": "2.0.1", "dev": true},
            "node_modules/@s/o": {"version": "0.1.0", "optional": true},
            "node_modules/p": {"version": "3.0.0", "peer": true},
            "node_modules/a/node_modules/t": {"version": "1.0.0", "devOptional": true}
        }}"#;
        assert_eq!(
            rows(text),
            [
                row(
                    "@s/o",
                    "0.1.0",
                    DependencyKind::Optional,
                    Some(false),
                    false
                ),
                row("a", "1.2.0", DependencyKind::Runtime, Some(true), false),
                row(
                    "t",
                    "1.0.0",
                    DependencyKind::Development,
                    Some(false),
                    false
                ),
                row("p", "3.0.0", DependencyKind::Peer, Some(false), false),
                row("t", "2.0.1", DependencyKind::Development, Some(true), false),
            ]
        );
    }

    #[test]
    fn aliased_installs_report_the_real_name() {
        let text = r#"{"lockfileVersion": 3, "packages": {
            "": {"dependencies": {"my-zod": "npm:zod@^3"}},
            "node_modules/my-zod": {"name": "zod", "version": "3.24.2"}
        }}"#;
        assert_eq!(
            rows(text),
            [row(
                "zod",
                "3.24.2",
                DependencyKind::Runtime,
                Some(true),
                false
            )]
        );
    }

    #[test]
    fn links_are_local_and_workspace_folders_declare_direct_dependencies() {
        let text = r#"{"lockfileVersion": 2, "packages": {
            "": {"workspaces": ["packages/*"]},
            "node_modules/web": {"resolved": "packages/web", "link": true},
            "packages/web": {"name": "web", "version": "1.0.0", "dependencies": {"left-pad": "^1"}},
            "packages/web/node_modules/left-pad": {"version": "1.3.0"}
        }, "dependencies": {"ignored": {"version": "9.9.9"}}}"#;
        assert_eq!(
            rows(text),
            [
                row("web", "", DependencyKind::Runtime, Some(false), true),
                row(
                    "left-pad",
                    "1.3.0",
                    DependencyKind::Runtime,
                    Some(true),
                    false
                ),
            ]
        );
    }

    #[test]
    fn workspace_folders_declare_direct_dependencies_hoisted_to_the_root() {
        let text = r#"{"lockfileVersion": 3, "packages": {
            "": {"workspaces": ["packages/*"], "devDependencies": {"typescript": "^5"}},
            "node_modules/cli": {"resolved": "packages/cli", "link": true},
            "node_modules/web": {"resolved": "packages/web", "link": true},
            "node_modules/react": {"version": "18.3.1", "peer": true},
            "node_modules/typescript": {"version": "5.6.2"},
            "node_modules/ms": {"version": "2.1.3"},
            "packages/cli": {"name": "cli", "dependencies": {"typescript": "^5", "web": "*", "//": "x"}},
            "packages/web": {"name": "web", "peerDependencies": {"react": "^18"}}
        }}"#;
        assert_eq!(
            rows(text),
            [
                row("cli", "", DependencyKind::Runtime, Some(false), true),
                row("ms", "2.1.3", DependencyKind::Runtime, Some(false), false),
                row("react", "18.3.1", DependencyKind::Peer, Some(true), false),
                row(
                    "typescript",
                    "5.6.2",
                    DependencyKind::Development,
                    Some(true),
                    false
                ),
                row(
                    "typescript",
                    "5.6.2",
                    DependencyKind::Runtime,
                    Some(true),
                    false
                ),
                row("web", "", DependencyKind::Runtime, Some(true), true),
            ]
        );
    }

    #[test]
    fn direct_kinds_come_from_the_declaring_sections_not_the_install_flags() {
        // `dev`/`optional` say how an install is reached: `jest` is also reached from a
        // runtime dependency (no flag), `fsevents` only from an optional one.
        let text = r#"{"lockfileVersion": 2, "packages": {
            "": {"devDependencies": {"jest": "^29"}, "dependencies": {"chokidar": "^3"}},
            "node_modules/jest": {"version": "29.7.0"},
            "node_modules/chokidar": {"version": "3.6.0", "devOptional": true},
            "node_modules/fsevents": {"version": "2.3.3", "optional": true}
        }}"#;
        assert_eq!(
            rows(text),
            [
                row(
                    "chokidar",
                    "3.6.0",
                    DependencyKind::Runtime,
                    Some(true),
                    false
                ),
                row(
                    "fsevents",
                    "2.3.3",
                    DependencyKind::Optional,
                    Some(false),
                    false
                ),
                row(
                    "jest",
                    "29.7.0",
                    DependencyKind::Development,
                    Some(true),
                    false
                ),
            ]
        );
    }

    #[test]
    fn an_uninstalled_declaration_reports_nothing() {
        let text = r#"{"lockfileVersion": 3, "packages": {
            "": {"optionalDependencies": {"missing": "^1"}, "dependencies": {"a": "^1"}},
            "node_modules/a": {"version": "1.0.0"}
        }}"#;
        assert_eq!(
            rows(text),
            [row(
                "a",
                "1.0.0",
                DependencyKind::Runtime,
                Some(true),
                false
            )]
        );
    }

    #[test]
    fn v1_reads_nested_dependencies_with_their_flags() {
        let text = r#"{"lockfileVersion": 1, "dependencies": {
            "a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0", "dev": true}}},
            "c": {"version": "3.0.0", "optional": true},
            "d": {"version": "npm:@s/real@4.0.0"},
            "e": {"version": "file:../e"}
        }}"#;
        assert_eq!(
            rows(text),
            [
                row("a", "1.0.0", DependencyKind::Runtime, None, false),
                row("b", "2.0.0", DependencyKind::Development, None, false),
                row("c", "3.0.0", DependencyKind::Optional, None, false),
                row("@s/real", "4.0.0", DependencyKind::Runtime, None, false),
                row("e", "file:../e", DependencyKind::Runtime, None, true),
            ]
        );
    }

    #[test]
    fn v1_git_dependencies_report_the_requested_tag_or_the_commit() {
        let text = r#"{"lockfileVersion": 1, "dependencies": {
            "t": {"version": "git+ssh://git@github.com/o/t.git#7404d3", "from": "git+ssh://git@github.com/o/t.git#v2.10.0"},
            "s": {"version": "github:o/s#b8979e", "from": "github:o/s#semver:v5.5.5"},
            "h": {"version": "git+https://github.com/o/h.git#ecce95", "from": "git+https://github.com/o/h.git"}
        }}"#;
        let reqs: Vec<_> = rows(text).into_iter().map(|r| r.1).collect();
        // serde_json keeps object keys sorted.
        assert_eq!(reqs, ["ecce95", "5.5.5", "2.10.0"]);
    }

    #[test]
    fn shrinkwrap_reads_like_a_v1_lockfile() {
        let text = r#"{"name": "x", "dependencies": {"debug": {"version": "2.2.0", "from": "debug@>=2.1.3 <3.0.0", "dev": true}}}"#;
        let deps = parse(Format::NpmShrinkwrap, text).unwrap().dependencies;
        assert_eq!(
            (deps[0].name.as_str(), deps[0].kind),
            ("debug", DependencyKind::Development)
        );
    }

    #[test]
    fn malformed_entries_and_manifests_are_errors() {
        let err = parse(Format::PackageLock, r#"{"dependencies": {"a": "^1.0.0"}}"#).unwrap_err();
        assert!(err.to_string().contains("`dependencies.a`"), "{err}");
        let err = parse(
            Format::PackageLock,
            r#"{"packages": {"node_modules/a": 1}}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("`packages.node_modules/a`"),
            "{err}"
        );
        assert!(parse(Format::PackageLock, "null").is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        let mut text = String::from(r#"{"dependencies": "#);
        for _ in 0..(MAX_DEPTH + 5) {
            text.push_str(r#"{"a": {"version": "1", "dependencies": "#);
        }
        text.push_str("{}");
        for _ in 0..(MAX_DEPTH + 5) {
            text.push_str("}}");
        }
        text.push('}');
        assert!(parse(Format::PackageLock, &text).is_err());
    }
}
