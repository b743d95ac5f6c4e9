//! `Podfile.lock`: every pod and subspec CocoaPods resolved, under `PODS`.
//!
//! Each `PODS` entry is `Name (version)`, optionally with its own dependencies nested
//! below (not separate entries: they appear in `PODS` themselves). `DEPENDENCIES` lists
//! what the Podfile asks for (`direct`), and `EXTERNAL SOURCES` entries with `:path` are
//! local pods. The file records no kinds, so every pod is runtime.

use std::collections::HashSet;

use serde_norway::Value;

use super::pod;
use crate::{Format, ManifestError, ParsedDependency};
use wump_core::DependencyKind;

fn error(message: impl ToString) -> ManifestError {
    ManifestError::syntax(Format::PodfileLock, message)
}

/// The pods a Podfile.lock resolved.
pub(super) fn parse(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let doc: Value = crate::yaml::parse(Format::PodfileLock, text)?;
    if !doc.is_mapping() {
        return Err(error("expected a YAML mapping with a `PODS` list"));
    }
    let pods = match doc.get("PODS") {
        None => return Err(error("missing the `PODS` list")),
        Some(Value::Null) => &[][..],
        Some(Value::Sequence(pods)) => pods.as_slice(),
        Some(_) => return Err(error("expected a list at `PODS`")),
    };
    let direct: Option<HashSet<&str>> =
        doc.get("DEPENDENCIES")
            .and_then(Value::as_sequence)
            .map(|deps| {
                deps.iter()
                    .filter_map(Value::as_str)
                    .map(|d| d.split(" (").next().unwrap_or(d).trim())
                    .collect()
            });
    let local: HashSet<&str> = doc
        .get("EXTERNAL SOURCES")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter(|(_, source)| source.get(":path").is_some())
        .filter_map(|(name, _)| name.as_str())
        .collect();

    pods.iter()
        .map(|entry| {
            let text = match entry {
                Value::String(s) => Some(s.as_str()),
                Value::Mapping(m) => m.keys().next().and_then(Value::as_str),
                _ => None,
            };
            let (name, version) = text.and_then(name_and_version).ok_or_else(|| {
                error(format!(
                    "expected `Name (version)` in `PODS`, found {entry:?}"
                ))
            })?;
            let dep = pod(name, version, DependencyKind::Runtime)
                .resolved(version, direct.as_ref().map(|d| d.contains(name)));
            let root = name.split('/').next().unwrap_or(name);
            Ok(if local.contains(root) {
                dep.local()
            } else {
                dep
            })
        })
        .collect()
}

/// `Alamofire (5.8.1)` → (`Alamofire`, `5.8.1`).
fn name_and_version(entry: &str) -> Option<(&str, &str)> {
    let (name, rest) = entry.split_once(" (")?;
    let version = rest.strip_suffix(')')?;
    Some((name.trim(), version.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "\
PODS:
  - Alamofire (5.8.1)
  - Firebase/Core (10.0.0):
    - FirebaseAnalytics (= 10.0.0)
  - FirebaseAnalytics (10.0.0)
  - \"Artsy+UIColors (1.0.0)\"
  - LocalKit (0.1.0)

DEPENDENCIES:
  - Alamofire (~> 5.8)
  - Firebase/Core
  - Artsy+UIColors
  - LocalKit (from `../LocalKit`)

EXTERNAL SOURCES:
  LocalKit:
    :path: \"../LocalKit\"

SPEC CHECKSUMS:
  Alamofire: 3ca42e259043ee0dc5c0cdd76c4bc568b8e42af7

COCOAPODS: 1.15.2
";

    #[test]
    fn every_resolved_pod_with_direct_and_local_flags() {
        let got: Vec<_> = parse(LOCK)
            .unwrap()
            .into_iter()
            .map(|d| {
                (
                    d.name,
                    d.normalized_name,
                    d.resolved_version.unwrap(),
                    d.direct,
                    d.local,
                )
            })
            .collect();
        let expected = [
            ("Alamofire", "Alamofire", "5.8.1", Some(true), false),
            ("Firebase/Core", "Firebase", "10.0.0", Some(true), false),
            (
                "FirebaseAnalytics",
                "FirebaseAnalytics",
                "10.0.0",
                Some(false),
                false,
            ),
            (
                "Artsy+UIColors",
                "Artsy+UIColors",
                "1.0.0",
                Some(true),
                false,
            ),
            ("LocalKit", "LocalKit", "0.1.0", Some(true), true),
        ];
        assert_eq!(
            got,
            expected.map(|(a, b, c, d, e)| (a.into(), b.into(), c.into(), d, e))
        );
    }

    #[test]
    fn malformed_files_say_what_is_wrong() {
        assert!(
            parse("DEPENDENCIES: []\n")
                .unwrap_err()
                .to_string()
                .contains("`PODS`")
        );
        assert!(
            parse("PODS: 3\n")
                .unwrap_err()
                .to_string()
                .contains("list at `PODS`")
        );
        assert!(
            parse("PODS:\n  - Alamofire\n")
                .unwrap_err()
                .to_string()
                .contains("Name (version)")
        );
        assert!(parse("pod 'Alamofire'\n").is_err());
    }
}
