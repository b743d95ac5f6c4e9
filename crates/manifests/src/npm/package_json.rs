//! `package.json`: the dependency sections and the `funding` field.

use serde_json::{Map, Value};

use super::{alias_target, declared, expect_object, is_local_spec, optional_object, parse_json};
use crate::{Format, ManifestError, ParsedDependency, ParsedManifest, funding};
use wump_core::{DependencyKind, FundingLink};

const FORMAT: Format = Format::PackageJson;

/// The sections npm installs from, in the order they are reported.
const SECTIONS: [(&str, DependencyKind); 4] = [
    ("dependencies", DependencyKind::Runtime),
    ("devDependencies", DependencyKind::Development),
    ("peerDependencies", DependencyKind::Peer),
    ("optionalDependencies", DependencyKind::Optional),
];

/// Parses a `package.json` manifest.
pub(super) fn parse(text: &str) -> Result<ParsedManifest, ManifestError> {
    let root = parse_json(text, FORMAT)?;
    let root = expect_object(&root, FORMAT, "the top level")?;
    reject_lockfile(root)?;

    let mut dependencies = Vec::new();
    for (section, kind) in SECTIONS {
        if let Some(deps) = optional_object(root, section, FORMAT, section)? {
            for (name, spec) in deps {
                if let Some(dep) = dependency(section, name, spec, kind)? {
                    dependencies.push(dep);
                }
            }
        }
    }
    dependencies.extend(bundled_only(root));
    Ok(ParsedManifest {
        dependencies,
        funding: root.get("funding").map(funding_links).unwrap_or_default(),
    })
}

/// A lockfile named `package.json` would otherwise read as a manifest with odd entries.
fn reject_lockfile(root: &Map<String, Value>) -> Result<(), ManifestError> {
    if root.contains_key("lockfileVersion") {
        return Err(ManifestError::syntax(
            FORMAT,
            "this is a lockfile (it has `lockfileVersion`), not a package.json manifest",
        ));
    }
    Ok(())
}

/// One `name: spec` entry of a section; `None` for npm's `//` comment keys (and empty names).
fn dependency(
    section: &str,
    name: &str,
    spec: &Value,
    kind: DependencyKind,
) -> Result<Option<ParsedDependency>, ManifestError> {
    if name.starts_with("//") || name.trim().is_empty() {
        return Ok(None);
    }
    let Some(spec) = spec.as_str() else {
        return Err(ManifestError::syntax(
            FORMAT,
            format!("expected a version string at `{section}.{name}`"),
        ));
    };
    let dep = if let Some((real, range)) = alias_target(spec) {
        declared(real, range, kind)
    } else if is_local_spec(spec) {
        declared(name, spec, kind).local()
    } else {
        declared(name, spec, kind)
    };
    Ok(Some(dep))
}

/// `bundleDependencies` names that no other section declares (npm requires them in
/// `dependencies`, so usually this adds nothing).
fn bundled_only(root: &Map<String, Value>) -> Vec<ParsedDependency> {
    let Some(names) = ["bundleDependencies", "bundledDependencies"]
        .iter()
        .find_map(|key| root.get(*key).and_then(Value::as_array))
    else {
        return Vec::new();
    };
    let declared_elsewhere = |name: &str| {
        SECTIONS.iter().any(|(section, _)| {
            root.get(*section)
                .and_then(Value::as_object)
                .is_some_and(|deps| deps.contains_key(name))
        })
    };
    names
        .iter()
        .filter_map(Value::as_str)
        .filter(|name| !name.trim().is_empty() && !declared_elsewhere(name))
        .map(|name| declared(name, "", DependencyKind::Runtime))
        .collect()
}

fn funding_url(entry: &Value) -> Option<&str> {
    match entry {
        Value::String(url) => Some(url.as_str()),
        Value::Object(fields) => fields.get("url").and_then(Value::as_str),
        _ => None,
    }
}

/// npm's `funding`: a URL, an object with `url` (and an optional `type`), or a list of either.
fn funding_links(value: &Value) -> Vec<FundingLink> {
    let urls: Vec<&str> = match value {
        Value::Array(entries) => entries.iter().filter_map(funding_url).collect(),
        other => funding_url(other).into_iter().collect(),
    };
    urls.into_iter()
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(funding::link_for_url)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> ParsedManifest {
        parse(text).unwrap()
    }

    fn summary(manifest: &ParsedManifest) -> Vec<(String, String, DependencyKind, bool)> {
        manifest
            .dependencies
            .iter()
            .map(|d| (d.name.clone(), d.requirement.clone(), d.kind, d.local))
            .collect()
    }

    #[test]
    fn sections_map_to_kinds() {
        let manifest = parse_ok(
            r#"{"dependencies": {"foo": "1.0.0 - 2.9999.9999"},
                "devDependencies": {"tap": "^16"},
                "peerDependencies": {"tea": "2.x"},
                "optionalDependencies": {"fsevents": "~2.3"}}"#,
        );
        assert_eq!(
            summary(&manifest),
            [
                (
                    "foo".into(),
                    "1.0.0 - 2.9999.9999".into(),
                    DependencyKind::Runtime,
                    false
                ),
                (
                    "tap".into(),
                    "^16".into(),
                    DependencyKind::Development,
                    false
                ),
                ("tea".into(), "2.x".into(), DependencyKind::Peer, false),
                (
                    "fsevents".into(),
                    "~2.3".into(),
                    DependencyKind::Optional,
                    false
                ),
            ]
        );
        assert!(
            manifest
                .dependencies
                .iter()
                .all(|d| d.resolved_version.is_none() && d.direct.is_none())
        );
    }

    #[test]
    fn the_same_name_in_two_sections_is_two_entries() {
        let manifest = parse_ok(
            r#"{"devDependencies": {"react": "^18"}, "peerDependencies": {"react": ">=16"}}"#,
        );
        let kinds: Vec<_> = manifest.dependencies.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [DependencyKind::Development, DependencyKind::Peer]);
    }

    #[test]
    fn aliases_report_the_real_package() {
        let manifest =
            parse_ok(r#"{"dependencies": {"my-react": "npm:react@^18.2.0", "z": "npm:zod"}}"#);
        assert_eq!(
            summary(&manifest),
            [
                (
                    "react".into(),
                    "^18.2.0".into(),
                    DependencyKind::Runtime,
                    false
                ),
                ("zod".into(), "".into(), DependencyKind::Runtime, false),
            ]
        );
    }

    #[test]
    fn local_references_are_marked_local() {
        let manifest = parse_ok(
            r#"{"dependencies": {"a": "file:../a", "b": "link:../b", "c": "workspace:*", "d": "portal:../d"}}"#,
        );
        assert!(manifest.dependencies.iter().all(|d| d.local));
        assert_eq!(manifest.dependencies[0].requirement, "file:../a");
    }

    #[test]
    fn urls_and_git_specs_are_kept_as_written_and_a_star_is_unpinned() {
        let manifest = parse_ok(
            r#"{"dependencies": {"vue": "https://github.com/vuejs/vue.git#v2.6.12", "x": "expressjs/express#4.x", "y": "*", "z": ""}}"#,
        );
        let requirements: Vec<_> = manifest
            .dependencies
            .iter()
            .map(|d| d.requirement.as_str())
            .collect();
        assert_eq!(
            requirements,
            [
                "https://github.com/vuejs/vue.git#v2.6.12",
                "expressjs/express#4.x",
                "",
                ""
            ]
        );
        assert!(manifest.dependencies.iter().all(|d| !d.local));
    }

    #[test]
    fn comment_keys_peer_meta_and_overrides_are_not_dependencies() {
        let manifest = parse_ok(
            r#"{"dependencies": {"//": ["a comment"], "a": "1"},
                "peerDependenciesMeta": {"b": {"optional": true}},
                "overrides": {"c": "2"}, "resolutions": {"d": "3"}}"#,
        );
        assert_eq!(
            summary(&manifest),
            [("a".into(), "1".into(), DependencyKind::Runtime, false)]
        );
    }

    #[test]
    fn bundled_names_not_declared_elsewhere_are_runtime() {
        let manifest =
            parse_ok(r#"{"dependencies": {"a": "1"}, "bundleDependencies": ["a", "b"]}"#);
        let names: Vec<_> = manifest
            .dependencies
            .iter()
            .map(|d| (d.name.as_str(), d.requirement.as_str()))
            .collect();
        assert_eq!(names, [("a", "1"), ("b", "")]);
    }

    #[test]
    fn funding_accepts_a_string_an_object_or_a_list() {
        let urls = |text: &str| -> Vec<(String, String)> {
            parse_ok(text)
                .funding
                .into_iter()
                .map(|l| (l.platform, l.url))
                .collect()
        };
        assert_eq!(
            urls(r#"{"funding": "https://github.com/sponsors/sindresorhus"}"#),
            [(
                "github".into(),
                "https://github.com/sponsors/sindresorhus".into()
            )]
        );
        assert_eq!(
            urls(
                r#"{"funding": {"type": "patreon", "url": "https://www.patreon.com/my-account"}}"#
            ),
            [(
                "patreon".into(),
                "https://www.patreon.com/my-account".into()
            )]
        );
        assert_eq!(
            urls(
                r#"{"funding": ["https://example.com/donate", {"type": "opencollective", "url": "https://opencollective.com/babel"}, {"type": "x"}]}"#
            ),
            [
                ("custom".into(), "https://example.com/donate".into()),
                (
                    "open_collective".into(),
                    "https://opencollective.com/babel".into()
                ),
            ]
        );
    }

    #[test]
    fn a_lockfile_is_not_a_manifest() {
        let err = parse(
            r#"{"name": "x", "lockfileVersion": 1, "dependencies": {"a": {"version": "1.0.0"}}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("lockfile"), "{err}");
    }

    #[test]
    fn malformed_sections_are_named_in_the_error() {
        let err = parse(r#"{"dependencies": ["a"]}"#).unwrap_err();
        assert!(err.to_string().contains("`dependencies`"), "{err}");
        let err = parse(r#"{"devDependencies": {"a": {"version": "1"}}}"#).unwrap_err();
        assert!(err.to_string().contains("`devDependencies.a`"), "{err}");
        assert!(
            parse("[1, 2]")
                .unwrap_err()
                .to_string()
                .contains("top level")
        );
        assert!(parse("{").is_err());
    }
}
