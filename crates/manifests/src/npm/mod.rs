//! npm: `package.json`, `package-lock.json` / `npm-shrinkwrap.json`, `yarn.lock` (v1 and
//! berry), `pnpm-lock.yaml` (v5–v9) and `bun.lock`.
//!
//! Conventions shared by every format here: an `npm:` alias reports the real package (the
//! alias is only a local install name), and `file:`, `link:`, `workspace:` and `portal:`
//! references are local, not registry packages.

mod bun;
mod package_json;
mod package_lock;
mod pnpm;
mod yarn;

use serde_json::{Map, Value};

use super::{Format, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::{DependencyKind, Ecosystem};

/// Parses `text`, read from `path` inside a repository, as one of this module's formats.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    text: &str,
) -> Result<ParsedManifest, ManifestError> {
    match format {
        Format::PackageJson => package_json::parse(text),
        Format::PackageLock | Format::NpmShrinkwrap => package_lock::parse(format, text),
        Format::YarnLock => yarn::parse(text),
        Format::PnpmLock => pnpm::parse(text),
        Format::BunLock => bun::parse(text),
        _ => Err(ManifestError::Unsupported { format }),
    }
}

/// A dependency as a manifest declares it.
fn declared(name: &str, requirement: &str, kind: DependencyKind) -> ParsedDependency {
    ParsedDependency::new(Ecosystem::Npm, name, requirement.trim(), kind)
}

/// A dependency a lockfile pinned to `version` (an entry without one resolves nothing).
fn locked(
    name: &str,
    version: &str,
    kind: DependencyKind,
    direct: Option<bool>,
) -> ParsedDependency {
    let version = version.trim();
    let dep = declared(name, version, kind);
    if version.is_empty() {
        return ParsedDependency { direct, ..dep };
    }
    dep.resolved(version, direct)
}

/// A local reference recorded in a lockfile: no registry version to resolve.
fn locked_local(
    name: &str,
    requirement: &str,
    kind: DependencyKind,
    direct: Option<bool>,
) -> ParsedDependency {
    let mut dep = declared(name, requirement, kind).local();
    dep.direct = direct;
    dep
}

/// Whether a version spec points at the project's own tree rather than a registry.
fn is_local_spec(spec: &str) -> bool {
    ["file:", "link:", "workspace:", "portal:"]
        .iter()
        .any(|prefix| spec.trim_start().starts_with(prefix))
}

/// Splits `name@rest` where the name may be scoped (`@scope/name@rest`).
fn split_name(descriptor: &str) -> Option<(&str, &str)> {
    let at = descriptor.get(1..)?.find('@')? + 1;
    let (name, rest) = descriptor.split_at(at);
    Some((name, rest.get(1..).unwrap_or("")))
}

/// For `npm:real@range` (an alias) the real package and its range; `npm:real` has none.
fn alias_target(spec: &str) -> Option<(&str, &str)> {
    let target = spec.trim().strip_prefix("npm:")?;
    Some(split_name(target).unwrap_or((target, "")))
}

/// The object at `what` in a JSON document, or an error that says what was expected there.
fn expect_object<'a>(
    value: &'a Value,
    format: Format,
    what: &str,
) -> Result<&'a Map<String, Value>, ManifestError> {
    value.as_object().ok_or_else(|| not_an_object(format, what))
}

fn not_an_object(format: Format, what: &str) -> ManifestError {
    ManifestError::syntax(format, format!("expected an object at `{what}`"))
}

/// The object under `key`, `None` when the key is absent or null.
fn optional_object<'a>(
    parent: &'a Map<String, Value>,
    key: &str,
    format: Format,
    what: &str,
) -> Result<Option<&'a Map<String, Value>>, ManifestError> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => expect_object(value, format, what).map(Some),
    }
}

/// Reads `text` as JSON, turning serde's message into a syntax error for `format`.
fn parse_json(text: &str, format: Format) -> Result<Value, ManifestError> {
    serde_json::from_str(text).map_err(|e| ManifestError::syntax(format, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_and_plain_names_split_at_the_version() {
        assert_eq!(
            split_name("@babel/core@^7.0.0"),
            Some(("@babel/core", "^7.0.0"))
        );
        assert_eq!(split_name("left-pad@1.3.0"), Some(("left-pad", "1.3.0")));
        assert_eq!(split_name("left-pad"), None);
        assert_eq!(split_name("@"), None);
    }

    #[test]
    fn aliases_name_the_real_package() {
        assert_eq!(
            alias_target("npm:@scope/real@^1.1.3"),
            Some(("@scope/real", "^1.1.3"))
        );
        assert_eq!(alias_target("npm:zod"), Some(("zod", "")));
        assert_eq!(alias_target("^1.0.0"), None);
    }

    #[test]
    fn a_lockfile_entry_without_a_version_resolves_nothing() {
        let dep = locked("a", " ", DependencyKind::Runtime, Some(true));
        assert_eq!(
            (dep.requirement.as_str(), dep.resolved_version, dep.direct),
            ("", None, Some(true))
        );
        let dep = locked("a", "1.0.0", DependencyKind::Runtime, None);
        assert_eq!(dep.resolved_version.as_deref(), Some("1.0.0"));
    }

    #[test]
    fn other_formats_are_not_ours() {
        assert_eq!(
            parse(Format::CargoLock, "Cargo.lock", ""),
            Err(ManifestError::Unsupported {
                format: Format::CargoLock
            })
        );
    }
}
