//! `packages.lock.json`: the packages NuGet restored, per target framework (and runtime).
//!
//! A package resolved for several targets is listed once per target, as the file does.
//! `Direct` packages are direct, `Transitive` and `CentralTransitive` ones are not, and
//! `Project` entries (other projects of the repository, with no version) are local.

use serde_json::{Map, Value};

use crate::{Format, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::{DependencyKind, Ecosystem};

/// Parses a `packages.lock.json`.
pub(super) fn parse(text: &str) -> Result<ParsedManifest, ManifestError> {
    let root: Value = serde_json::from_str(text).map_err(|e| syntax(e.to_string()))?;
    let targets = root
        .get("dependencies")
        .and_then(Value::as_object)
        .ok_or_else(|| syntax("expected an object at `dependencies`"))?;
    let mut dependencies = Vec::new();
    for (target, packages) in targets {
        let packages = packages
            .as_object()
            .ok_or_else(|| syntax(format!("expected an object at `dependencies.{target}`")))?;
        for (name, package) in packages {
            let package = package.as_object().ok_or_else(|| {
                syntax(format!(
                    "expected an object at `dependencies.{target}.{name}`"
                ))
            })?;
            dependencies.push(dependency(name, package));
        }
    }
    Ok(ParsedManifest {
        dependencies,
        ..ParsedManifest::default()
    })
}

fn dependency(name: &str, package: &Map<String, Value>) -> ParsedDependency {
    let kind = package.get("type").and_then(Value::as_str).unwrap_or("");
    let parsed = ParsedDependency::new(Ecosystem::Nuget, name, "", DependencyKind::Runtime);
    if kind.eq_ignore_ascii_case("Project") {
        return parsed.local();
    }
    let direct = kind.eq_ignore_ascii_case("Direct");
    match package.get("resolved").and_then(Value::as_str) {
        Some(version) => ParsedDependency {
            requirement: version.to_owned(),
            ..parsed
        }
        .resolved(version, Some(direct)),
        None => ParsedDependency {
            direct: Some(direct),
            ..parsed
        },
    }
}

fn syntax(message: impl ToString) -> ManifestError {
    ManifestError::syntax(Format::NugetLock, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"{
  "version": 1,
  "dependencies": {
    "net8.0": {
      "Newtonsoft.Json": { "type": "Direct", "requested": "[13.0.3, )", "resolved": "13.0.3", "contentHash": "x" },
      "System.Memory": { "type": "Transitive", "resolved": "4.5.5", "contentHash": "y" },
      "Shared": { "type": "Project", "dependencies": { "Newtonsoft.Json": "[13.0.3, )" } }
    },
    "net8.0/win-x64": {
      "System.Memory": { "type": "Transitive", "resolved": "4.5.5", "contentHash": "y" }
    }
  }
}"#;

    #[test]
    fn locked_packages_per_target_with_direct_flags() {
        let deps = parse(LOCK).unwrap().dependencies;
        let got: Vec<_> = deps
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.requirement.as_str(),
                    d.resolved_version.as_deref(),
                    d.direct,
                    d.local,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Newtonsoft.Json",
                    "13.0.3",
                    Some("13.0.3"),
                    Some(true),
                    false
                ),
                ("Shared", "", None, None, true),
                ("System.Memory", "4.5.5", Some("4.5.5"), Some(false), false),
                ("System.Memory", "4.5.5", Some("4.5.5"), Some(false), false),
            ]
        );
    }

    #[test]
    fn other_documents_are_errors() {
        let err = parse(r#"{"version": 1}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected an object at `dependencies`"),
            "{err}"
        );
        let err = parse(r#"{"dependencies": {"net8.0": []}}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected an object at `dependencies.net8.0`"),
            "{err}"
        );
        assert!(parse("<Project/>").is_err());
    }
}
