//! Pipenv's `Pipfile` (TOML) and `Pipfile.lock` (JSON).

use serde_json::Value as Json;
use toml::Value;

use super::{Format, ManifestError, ParsedDependency, dep, git_requirement, parse_toml, unpinned};
use wump_core::DependencyKind;

/// Pipfile tables that are settings, not package categories.
const NOT_CATEGORIES: &[&str] = &["source", "requires", "scripts", "pipenv"];

/// `[packages]` are runtime, `[dev-packages]` development; Pipenv also allows custom
/// categories (`[docs]`), which only a developer installs.
pub(super) fn parse_pipfile(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let document = parse_toml(Format::Pipfile, text)?;
    let mut deps = Vec::new();
    for (category, packages) in &document {
        if NOT_CATEGORIES.contains(&category.as_str()) {
            continue;
        }
        let Value::Table(packages) = packages else {
            let message = format!("expected a table of packages at `{category}`");
            return Err(ManifestError::syntax(Format::Pipfile, message));
        };
        let kind = category_kind(category);
        deps.extend(
            packages
                .iter()
                .map(|(name, spec)| pipfile_entry(name, spec, kind)),
        );
    }
    Ok(deps)
}

fn category_kind(category: &str) -> DependencyKind {
    match category {
        "packages" | "default" => DependencyKind::Runtime,
        _ => DependencyKind::Development,
    }
}

/// `name = "spec"` or `name = { version | git + ref | path | file, … }`.
fn pipfile_entry(name: &str, spec: &Value, kind: DependencyKind) -> ParsedDependency {
    let Value::Table(spec) = spec else {
        return dep(name, unpinned(spec.as_str().unwrap_or_default()), kind);
    };
    let text = |key: &str| spec.get(key).and_then(Value::as_str);
    source_dependency(
        name,
        text("version"),
        text("git"),
        text("ref"),
        text("path").or(text("file")),
        kind,
    )
}

/// Pipfile and Pipfile.lock describe a package's source with the same keys.
fn source_dependency(
    name: &str,
    version: Option<&str>,
    git: Option<&str>,
    reference: Option<&str>,
    path_or_file: Option<&str>,
    kind: DependencyKind,
) -> ParsedDependency {
    if let Some(git) = git {
        return dep(name, &git_requirement(git, reference), kind);
    }
    // Paths and file URLs (local or remote archives) are not packages from the index.
    if path_or_file.is_some() {
        return dep(name, "", kind).local();
    }
    dep(name, unpinned(version.unwrap_or_default()), kind)
}

/// `default` is what the project runs with, `develop` what its developers add; other keys
/// are custom categories (also for developers), `_meta` is not a category.
pub(super) fn parse_lock(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let document: Json =
        serde_json::from_str(text).map_err(|e| ManifestError::syntax(Format::PipfileLock, e))?;
    let Json::Object(categories) = document else {
        return Err(ManifestError::syntax(
            Format::PipfileLock,
            "expected a JSON object",
        ));
    };
    if !categories.contains_key("_meta") && !categories.contains_key("default") {
        let message = "no `_meta` or `default` section: not a Pipfile.lock";
        return Err(ManifestError::syntax(Format::PipfileLock, message));
    }
    let mut deps = Vec::new();
    for (category, packages) in categories.iter().filter(|(key, _)| *key != "_meta") {
        let Json::Object(packages) = packages else {
            let message = format!("expected an object of packages at `{category}`");
            return Err(ManifestError::syntax(Format::PipfileLock, message));
        };
        let kind = category_kind(category);
        deps.extend(
            packages
                .iter()
                .map(|(name, entry)| lock_entry(name, entry, kind)),
        );
    }
    Ok(deps)
}

/// A locked package: `version` is a pip pin, `==x.y.z`, of which we keep the version as
/// every other lockfile gives it; git and path entries have none.
fn lock_entry(name: &str, entry: &Json, kind: DependencyKind) -> ParsedDependency {
    let text = |key: &str| entry.get(key).and_then(Json::as_str);
    let path_or_file = text("path").or(text("file"));
    let version = text("version").map(|pin| {
        let pin = pin.trim();
        pin.strip_prefix("===")
            .or_else(|| pin.strip_prefix("=="))
            .unwrap_or(pin)
    });
    let dependency = source_dependency(name, version, text("git"), text("ref"), path_or_file, kind);
    if dependency.requirement.is_empty() {
        return dependency;
    }
    let resolved = dependency.requirement.clone();
    dependency.resolved(resolved, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(deps: &[ParsedDependency]) -> Vec<(&str, &str, DependencyKind, bool)> {
        deps.iter()
            .map(|d| (d.name.as_str(), d.requirement.as_str(), d.kind, d.local))
            .collect()
    }

    #[test]
    fn pipfile_packages_are_runtime_and_dev_packages_development() {
        let text = "[[source]]\nurl = \"https://pypi.org/simple\"\nname = \"pypi\"\n\n\
                    [requires]\npython_version = \"3.12\"\n\n\
                    [packages]\nrequests = \"*\"\nDjango = \">1.10\"\n\n\
                    [dev-packages]\npytest = { version = \"~=8.0\" }\n";
        let deps = parse_pipfile(text).unwrap();
        assert_eq!(
            summary(&deps),
            vec![
                ("requests", "", DependencyKind::Runtime, false),
                ("Django", ">1.10", DependencyKind::Runtime, false),
                ("pytest", "~=8.0", DependencyKind::Development, false),
            ]
        );
        assert_eq!(deps[1].normalized_name, "django");
    }

    #[test]
    fn pipfile_git_and_path_sources() {
        let text = "[packages]\n\
                    pinax = { git = \"https://github.com/pinax/pinax.git\", ref = \"1.4\" }\n\
                    mylib = { path = \"./mylib\", editable = true }\n\
                    wheel = { file = \"https://example.org/wheel-1.0-py3-none-any.whl\" }\n";
        assert_eq!(
            summary(&parse_pipfile(text).unwrap()),
            vec![
                (
                    "pinax",
                    "https://github.com/pinax/pinax.git#1.4",
                    DependencyKind::Runtime,
                    false
                ),
                ("mylib", "", DependencyKind::Runtime, true),
                ("wheel", "", DependencyKind::Runtime, true),
            ]
        );
    }

    #[test]
    fn pipfile_custom_categories_are_development() {
        let deps = parse_pipfile("[docs]\nsphinx = \"*\"\n").unwrap();
        assert_eq!(deps[0].kind, DependencyKind::Development);
    }

    #[test]
    fn pipfile_errors_name_the_problem() {
        let err = parse_pipfile("[packages]\nrequests = \n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = parse_pipfile("packages = 3\n").unwrap_err();
        assert!(err.to_string().contains("`packages`"), "{err}");
    }

    #[test]
    fn lock_entries_are_resolved() {
        let text = r#"{"_meta": {"pipfile-spec": 6},
            "default": {"mylib": {"path": ".", "editable": true},
                        "requests": {"version": "==2.32.4", "hashes": []}},
            "develop": {"nose": {"version": "==1.3.7"}}}"#;
        let deps = parse_lock(text).unwrap();
        assert_eq!(
            summary(&deps),
            vec![
                ("mylib", "", DependencyKind::Runtime, true),
                ("requests", "2.32.4", DependencyKind::Runtime, false),
                ("nose", "1.3.7", DependencyKind::Development, false),
            ]
        );
        assert_eq!(deps[0].resolved_version, None);
        assert_eq!(deps[1].resolved_version.as_deref(), Some("2.32.4"));
    }

    #[test]
    fn a_pipfile_is_not_a_lockfile() {
        assert!(parse_lock("[packages]\nrequests = \"*\"\n").is_err());
        assert!(parse_lock("{\"packages\": {}}").is_err());
    }
}
