//! `Package.resolved`: the versions SwiftPM pinned.
//!
//! Version 1 lists `object.pins[]` with `repositoryURL`; versions 2 and 3 list `pins[]`
//! with `location` (registry pins have only an `identity`). A pin's locked version is
//! `state.version`, or `state.revision` for branch and revision pins. Local source
//! control pins are local. The file records neither kinds nor directness.

use serde_json::Value;

use crate::{Format, ManifestError, ParsedDependency};
use wump_core::{DependencyKind, Ecosystem};

fn error(message: impl ToString) -> ManifestError {
    ManifestError::syntax(Format::PackageResolved, message)
}

/// The pins of a Package.resolved.
pub(super) fn parse(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let doc: Value = serde_json::from_str(text).map_err(error)?;
    let pins = doc
        .get("pins")
        .or_else(|| doc.get("object").and_then(|o| o.get("pins")))
        .ok_or_else(|| error("missing `pins` (or `object.pins` in version 1)"))?
        .as_array()
        .ok_or_else(|| error("expected a list at `pins`"))?;
    pins.iter()
        .enumerate()
        .map(|(i, pin)| pinned(i, pin))
        .collect()
}

fn pinned(index: usize, pin: &Value) -> Result<ParsedDependency, ManifestError> {
    let field = |key: &str| {
        pin.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let state = |key: &str| {
        pin.get("state")
            .and_then(|s| s.get(key))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let name = field("repositoryURL")
        .or_else(|| field("location"))
        .or_else(|| field("identity"))
        .ok_or_else(|| {
            error(format!(
                "pin {index} has no `location`, `repositoryURL` or `identity`"
            ))
        })?;
    let version = state("version")
        .or_else(|| state("revision"))
        .ok_or_else(|| {
            error(format!(
                "pin `{name}` has no `state.version` or `state.revision`"
            ))
        })?;
    let dep = ParsedDependency::new(Ecosystem::Swiftpm, name, version, DependencyKind::Runtime)
        .resolved(version, None);
    Ok(if field("kind") == Some("localSourceControl") {
        dep.local()
    } else {
        dep
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins(text: &str) -> Vec<(String, String, bool)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|d| (d.name, d.resolved_version.unwrap(), d.local))
            .collect()
    }

    #[test]
    fn version_1_pins() {
        let text = r#"{"object": {"pins": [{"package": "Yams", "repositoryURL": "https://github.com/jpsim/Yams.git",
            "state": {"branch": null, "revision": "01835dc2", "version": "5.0.1"}}]}, "version": 1}"#;
        assert_eq!(
            pins(text),
            [(
                "https://github.com/jpsim/Yams.git".into(),
                "5.0.1".into(),
                false
            )]
        );
    }

    #[test]
    fn version_2_and_3_pins_with_branches_local_and_registry() {
        let text = r#"{"originHash": "x", "pins": [
            {"identity": "swift-nio", "kind": "remoteSourceControl", "location": "https://github.com/apple/swift-nio.git", "state": {"revision": "aaa", "version": "2.58.0"}},
            {"identity": "dev", "kind": "remoteSourceControl", "location": "https://github.com/a/dev.git", "state": {"branch": "main", "revision": "bbb"}},
            {"identity": "mine", "kind": "localSourceControl", "location": "/src/mine", "state": {"revision": "ccc"}},
            {"identity": "mona.linkedlist", "kind": "registry", "location": "", "state": {"version": "0.4.0"}}
        ], "version": 3}"#;
        assert_eq!(
            pins(text),
            [
                (
                    "https://github.com/apple/swift-nio.git".into(),
                    "2.58.0".into(),
                    false
                ),
                ("https://github.com/a/dev.git".into(), "bbb".into(), false),
                ("/src/mine".into(), "ccc".into(), true),
                ("mona.linkedlist".into(), "0.4.0".into(), false),
            ]
        );
    }

    #[test]
    fn malformed_files_say_what_is_wrong() {
        assert!(
            parse("{\"version\": 2}")
                .unwrap_err()
                .to_string()
                .contains("`pins`")
        );
        assert!(
            parse("{\"pins\": {}}")
                .unwrap_err()
                .to_string()
                .contains("list at `pins`")
        );
        let err = parse(r#"{"pins": [{"location": "https://x/y.git", "state": {}}]}"#).unwrap_err();
        assert!(err.to_string().contains("state.version"), "{err}");
        assert!(parse("let package = Package(").is_err());
    }
}
