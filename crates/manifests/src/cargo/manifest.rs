//! `Cargo.toml`: the dependency tables of a package, including target-specific ones.
//!
//! `optional = true` keeps the section's kind, except in `[dependencies]` (plain or
//! target-specific), where it becomes [`DependencyKind::Optional`]: an optional runtime
//! dependency is a feature's dependency, while Cargo rejects optional dev-dependencies and an
//! optional build dependency is still only needed to build.

use toml::{Table, Value};

use super::{Format, ManifestError, ParsedDependency, dep, str_at, table};
use wump_core::DependencyKind;

const FORMAT: Format = Format::CargoToml;

/// Dependency sections and their kinds; the underscore spellings are Cargo's old aliases.
const SECTIONS: &[(&str, DependencyKind)] = &[
    ("dependencies", DependencyKind::Runtime),
    ("dev-dependencies", DependencyKind::Development),
    ("dev_dependencies", DependencyKind::Development),
    ("build-dependencies", DependencyKind::Build),
    ("build_dependencies", DependencyKind::Build),
];

/// The package's own dependency tables, then each `[target.'…'.*dependencies]`. A workspace
/// root's `[workspace.dependencies]` only offers versions to members: it declares nothing.
pub(super) fn parse(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let document = super::parse_toml(FORMAT, text)?;
    if matches!(document.get("package"), Some(Value::Array(_))) {
        let message = "`[[package]]` entries: this is a Cargo.lock, not Cargo.toml";
        return Err(ManifestError::syntax(FORMAT, message));
    }
    table(FORMAT, &document, "package", "package")?;
    let mut deps = sections(&document, "")?;
    if let Some(targets) = table(FORMAT, &document, "target", "target")? {
        for (target, body) in targets {
            let Value::Table(body) = body else {
                let message = format!("expected a table at `target.{target}`");
                return Err(ManifestError::syntax(FORMAT, message));
            };
            deps.extend(sections(body, &format!("target.{target}."))?);
        }
    }
    Ok(deps)
}

/// The dependency sections of one table (the document, or one target's table).
fn sections(parent: &Table, prefix: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let mut deps = Vec::new();
    for &(section, kind) in SECTIONS {
        let path = format!("{prefix}{section}");
        let Some(entries) = table(FORMAT, parent, section, &path)? else {
            continue;
        };
        for (key, spec) in entries {
            deps.push(entry(key, spec, kind, &path)?);
        }
    }
    Ok(deps)
}

/// `name = "req"` or `name = { version, path, git, package, workspace, optional, … }`.
fn entry(
    key: &str,
    spec: &Value,
    kind: DependencyKind,
    path: &str,
) -> Result<ParsedDependency, ManifestError> {
    let spec = match spec {
        Value::String(requirement) => return Ok(dep(key, requirement, kind)),
        Value::Table(spec) => spec,
        _ => {
            let message = format!("expected a version string or a table at `{path}.{key}`");
            return Err(ManifestError::syntax(FORMAT, message));
        }
    };
    // `foo = { package = "bar" }` depends on the crate `bar`, imported as `foo`.
    let name = str_at(spec, "package").unwrap_or(key);
    let optional = spec.get("optional").and_then(Value::as_bool) == Some(true);
    let kind = if optional && kind == DependencyKind::Runtime {
        DependencyKind::Optional
    } else {
        kind
    };
    let version = str_at(spec, "version").unwrap_or_default();
    if let Some(git) = str_at(spec, "git") {
        return Ok(dep(name, &git_requirement(git, spec), kind));
    }
    let dependency = dep(name, version, kind);
    Ok(if spec.contains_key("path") {
        dependency.local()
    } else {
        dependency
    })
}

/// The repository URL, with the pinned `rev`, `tag` or `branch` after `#`.
fn git_requirement(url: &str, spec: &Table) -> String {
    match ["rev", "tag", "branch"]
        .iter()
        .find_map(|key| str_at(spec, key))
    {
        Some(reference) => format!("{url}#{reference}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(text: &str) -> Vec<(String, String, DependencyKind, bool)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|d| (d.name, d.requirement, d.kind, d.local))
            .collect()
    }

    fn entry(
        name: &str,
        requirement: &str,
        kind: DependencyKind,
    ) -> (String, String, DependencyKind, bool) {
        (name.into(), requirement.into(), kind, false)
    }

    #[test]
    fn sections_give_kinds() {
        let text = "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n\
                    [dependencies]\nregex = \"1.6\"\nserde = { version = \"1.0\", features = [\"derive\"] }\n\n\
                    [dev-dependencies]\ntempdir = \"0.3\"\n\n[build-dependencies]\ncc = \"1.0.3\"\n";
        assert_eq!(
            summary(text),
            vec![
                entry("regex", "1.6", DependencyKind::Runtime),
                entry("serde", "1.0", DependencyKind::Runtime),
                entry("tempdir", "0.3", DependencyKind::Development),
                entry("cc", "1.0.3", DependencyKind::Build),
            ]
        );
    }

    #[test]
    fn dotted_headers_and_keys() {
        let text =
            "[dependencies.rand]\nversion = \"0.8\"\n\n[dependencies]\nlog.version = \"0.4\"\n";
        assert_eq!(
            summary(text),
            vec![
                entry("rand", "0.8", DependencyKind::Runtime),
                entry("log", "0.4", DependencyKind::Runtime)
            ]
        );
    }

    #[test]
    fn target_specific_tables() {
        let text = "[target.'cfg(windows)'.dependencies]\nwinhttp = \"0.4.0\"\n\n\
                    [target.x86_64-pc-windows-gnu.dev-dependencies]\nmock = \"1\"\n";
        assert_eq!(
            summary(text),
            vec![
                entry("winhttp", "0.4.0", DependencyKind::Runtime),
                entry("mock", "1", DependencyKind::Development)
            ]
        );
    }

    #[test]
    fn renamed_dependencies_are_named_by_the_real_crate() {
        let deps =
            parse("[dependencies]\nbar = { package = \"Foo_Bar\", version = \"0.1\" }\n").unwrap();
        assert_eq!(
            (deps[0].name.as_str(), deps[0].normalized_name.as_str()),
            ("Foo_Bar", "foo-bar")
        );
    }

    #[test]
    fn workspace_inheritance_without_a_version_is_unpinned() {
        let text = "[dependencies]\nserde = { workspace = true }\ntokio.workspace = true\n";
        assert_eq!(
            summary(text),
            vec![
                entry("serde", "", DependencyKind::Runtime),
                entry("tokio", "", DependencyKind::Runtime)
            ]
        );
    }

    #[test]
    fn path_and_git_dependencies() {
        let text = "[dependencies]\nlocal_crate = { path = \"../local_crate\" }\n\
                    published = { path = \"../published\", version = \"0.2\" }\n\
                    regex = { git = \"https://github.com/rust-lang/regex.git\", tag = \"1.10.0\" }\n\
                    rand = { git = \"https://github.com/rust-random/rand\" }\n";
        assert_eq!(
            summary(text),
            vec![
                (
                    "local_crate".into(),
                    "".into(),
                    DependencyKind::Runtime,
                    true
                ),
                (
                    "published".into(),
                    "0.2".into(),
                    DependencyKind::Runtime,
                    true
                ),
                entry(
                    "regex",
                    "https://github.com/rust-lang/regex.git#1.10.0",
                    DependencyKind::Runtime
                ),
                entry(
                    "rand",
                    "https://github.com/rust-random/rand",
                    DependencyKind::Runtime
                ),
            ]
        );
    }

    #[test]
    fn optional_runtime_dependencies_are_optional() {
        let text = "[dependencies]\ngif = { version = \"0.11.1\", optional = true }\n\n\
                    [build-dependencies]\ncc = { version = \"1\", optional = true }\n";
        assert_eq!(
            summary(text),
            vec![
                entry("gif", "0.11.1", DependencyKind::Optional),
                entry("cc", "1", DependencyKind::Build)
            ]
        );
    }

    #[test]
    fn a_workspace_root_declares_nothing_of_its_own() {
        let text =
            "[workspace]\nmembers = [\"crates/*\"]\n\n[workspace.dependencies]\nserde = \"1\"\n";
        assert_eq!(summary(text), vec![]);
    }

    #[test]
    fn lockfiles_and_wrong_types_are_errors() {
        let err =
            parse("version = 3\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n").unwrap_err();
        assert!(err.to_string().contains("Cargo.lock"), "{err}");
        let err = parse("[dependencies]\nserde = 1\n").unwrap_err();
        assert!(err.to_string().contains("`dependencies.serde`"), "{err}");
        let err = parse("dependencies = \"serde\"\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a table at `dependencies`"),
            "{err}"
        );
    }
}
