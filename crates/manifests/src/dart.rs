//! pub (Dart and Flutter): `pubspec.yaml` and `pubspec.lock`.
//!
//! `pubspec.yaml`: `dependencies` are runtime and `dev_dependencies` development;
//! `dependency_overrides` only replace versions chosen elsewhere, so they are skipped. A
//! requirement is the version constraint as written (`^1.2.0`, `any`), `""` when none is
//! given. `path:` dependencies are local. `git:` dependencies without a `version` take the
//! repository URL as requirement, with `#ref` when one is given. SDK dependencies
//! (`flutter: {sdk: flutter}`, `flutter_test`) ship with the Flutter SDK rather than
//! pub.dev: they are reported, marked local, so the project still shows it uses Flutter.
//!
//! `pubspec.lock`: `dependency: "direct main"` is runtime and direct, `"direct dev"`
//! development and direct, `transitive` runtime and not direct; older files without the
//! field leave `direct` unknown. `"direct overridden"` marks a package named only in
//! `dependency_overrides` (pub writes `direct main`/`direct dev` when the package is also
//! declared there): not a dependency of the package, so it is skipped, as in the pubspec.
//! Packages from `sdk` and `path` sources are local.

use serde_norway::{Mapping, Value};

use super::{Format, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::{DependencyKind, Ecosystem};

/// Parses `text`, read from `path` inside a repository, as one of this module's formats.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    text: &str,
) -> Result<ParsedManifest, ManifestError> {
    let dependencies = match format {
        Format::Pubspec => pubspec(text)?,
        Format::PubspecLock => lockfile(text)?,
        _ => return Err(ManifestError::Unsupported { format }),
    };
    Ok(ParsedManifest {
        dependencies,
        funding: Vec::new(),
    })
}

fn document(format: Format, text: &str) -> Result<Mapping, ManifestError> {
    match super::yaml::parse(format, text) {
        Ok(Value::Mapping(map)) => Ok(map),
        Ok(Value::Null) => Ok(Mapping::new()),
        Ok(_) => Err(ManifestError::syntax(
            format,
            "expected a YAML mapping at the top level",
        )),
        Err(e) => Err(e),
    }
}

/// The entries of the mapping at `key`; absent or empty (`null`) sections have none.
fn section<'a>(
    format: Format,
    doc: &'a Mapping,
    key: &str,
) -> Result<Vec<(&'a str, &'a Value)>, ManifestError> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Mapping(map)) => Ok(map
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?, v)))
            .collect()),
        Some(_) => Err(ManifestError::syntax(
            format,
            format!("expected a mapping at `{key}`"),
        )),
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn pubspec(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let doc = document(Format::Pubspec, text)?;
    if doc.contains_key("packages") && !doc.contains_key("name") {
        return Err(ManifestError::syntax(
            Format::Pubspec,
            "this is a pubspec.lock (it has `packages` and no `name`), not a pubspec.yaml",
        ));
    }
    let mut deps = Vec::new();
    for (key, kind) in [
        ("dependencies", DependencyKind::Runtime),
        ("dev_dependencies", DependencyKind::Development),
    ] {
        for (name, spec) in section(Format::Pubspec, &doc, key)? {
            deps.push(declared(name, spec, kind));
        }
    }
    Ok(deps)
}

/// One `name: spec` entry, where spec is a constraint, `null`, or a source mapping.
fn declared(name: &str, spec: &Value, kind: DependencyKind) -> ParsedDependency {
    let version = spec.get("version").and_then(scalar);
    let mut local = spec.get("path").is_some() || spec.get("sdk").is_some();
    let requirement = if let Some(constraint) = scalar(spec) {
        constraint
    } else if let Some(version) = version {
        version
    } else if let Some(git) = spec.get("git") {
        local = false;
        git_requirement(git)
    } else {
        String::new()
    };
    let dep = ParsedDependency::new(Ecosystem::Pub, name, requirement, kind);
    if local { dep.local() } else { dep }
}

/// `git: URL` or `git: {url: URL, ref: REF}` → `URL` or `URL#REF`.
fn git_requirement(git: &Value) -> String {
    let url = scalar(git)
        .or_else(|| git.get("url").and_then(scalar))
        .unwrap_or_default();
    match git.get("ref").and_then(scalar) {
        Some(reference) => format!("{url}#{reference}"),
        None => url,
    }
}

fn lockfile(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let doc = document(Format::PubspecLock, text)?;
    if !doc.contains_key("packages") {
        return Err(ManifestError::syntax(
            Format::PubspecLock,
            "missing the `packages` mapping",
        ));
    }
    section(Format::PubspecLock, &doc, "packages")?
        .into_iter()
        .filter(|(_, entry)| {
            entry.get("dependency").and_then(Value::as_str) != Some("direct overridden")
        })
        .map(|(name, entry)| locked(name, entry))
        .collect()
}

fn locked(name: &str, entry: &Value) -> Result<ParsedDependency, ManifestError> {
    let Some(version) = entry.get("version").and_then(scalar) else {
        let message = format!("package `{name}` has no `version`");
        return Err(ManifestError::syntax(Format::PubspecLock, message));
    };
    let (kind, direct) = match entry.get("dependency").and_then(Value::as_str) {
        Some("direct dev") => (DependencyKind::Development, Some(true)),
        Some("transitive") => (DependencyKind::Runtime, Some(false)),
        Some(_) => (DependencyKind::Runtime, Some(true)),
        None => (DependencyKind::Runtime, None),
    };
    let dep = ParsedDependency::new(Ecosystem::Pub, name, version.clone(), kind)
        .resolved(version, direct);
    let local = matches!(
        entry.get("source").and_then(Value::as_str),
        Some("sdk" | "path")
    );
    Ok(if local { dep.local() } else { dep })
}

#[cfg(test)]
mod tests {
    use super::*;
    use DependencyKind::*;

    fn manifest(text: &str) -> Vec<(String, String, DependencyKind, bool)> {
        pubspec(text)
            .unwrap()
            .into_iter()
            .map(|d| (d.name, d.requirement, d.kind, d.local))
            .collect()
    }

    fn dep(
        name: &str,
        requirement: &str,
        kind: DependencyKind,
        local: bool,
    ) -> (String, String, DependencyKind, bool) {
        (name.into(), requirement.into(), kind, local)
    }

    #[test]
    fn dependencies_and_dev_dependencies_with_their_constraints() {
        let text = "\
name: my_app
environment:
  sdk: ^3.0.0
dependencies:
  http: ^1.1.0
  path:
  collection: any
dev_dependencies:
  test: '>=1.24.0 <2.0.0'
dependency_overrides:
  http: 1.0.0
";
        assert_eq!(
            manifest(text),
            [
                dep("http", "^1.1.0", Runtime, false),
                dep("path", "", Runtime, false),
                dep("collection", "", Runtime, false),
                dep("test", ">=1.24.0 <2.0.0", Development, false),
            ]
        );
    }

    #[test]
    fn source_mappings() {
        let text = "\
name: my_app
dependencies:
  flutter:
    sdk: flutter
  local_pkg:
    path: ../local_pkg
  kittens:
    git:
      url: https://github.com/munificent/kittens.git
      ref: main
  puppies:
    git: https://github.com/munificent/puppies.git
  hosted_pkg:
    hosted: https://some-package-server.com
    version: ^1.4.0
";
        assert_eq!(
            manifest(text),
            [
                dep("flutter", "", Runtime, true),
                dep("local_pkg", "", Runtime, true),
                dep(
                    "kittens",
                    "https://github.com/munificent/kittens.git#main",
                    Runtime,
                    false
                ),
                dep(
                    "puppies",
                    "https://github.com/munificent/puppies.git",
                    Runtime,
                    false
                ),
                dep("hosted_pkg", "^1.4.0", Runtime, false),
            ]
        );
    }

    #[test]
    fn malformed_pubspecs_say_what_is_wrong() {
        let err = pubspec("name: x\ndependencies: [http]\n").unwrap_err();
        assert!(
            err.to_string().contains("mapping at `dependencies`"),
            "{err}"
        );
        let err = pubspec("packages:\n  http:\n    version: \"1.0.0\"\n").unwrap_err();
        assert!(err.to_string().contains("pubspec.lock"), "{err}");
        assert!(pubspec("- a\n").is_err());
    }

    #[test]
    fn deeply_nested_flow_collections_are_refused_as_too_deep() {
        // Through the public entry point, which guards every YAML format.
        let err = crate::parse(
            Format::Pubspec,
            "pubspec.yaml",
            "[".repeat(1_000_000).as_bytes(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            ManifestError::TooDeep {
                limit: crate::MAX_DEPTH
            }
        );
        assert!(pubspec("name: x\ndescription: '[[[[' # {{{{\ndependencies: {a: ^1.0}\n").is_ok());
    }

    #[test]
    fn lockfile_kinds_directness_and_local_sources_without_overrides() {
        let text = r#"
packages:
  http:
    dependency: "direct main"
    description:
      name: http
      url: "https://pub.dev"
    source: hosted
    version: "1.1.0"
  test:
    dependency: "direct dev"
    source: hosted
    version: "1.24.9"
  meta:
    dependency: transitive
    source: hosted
    version: "1.11.0"
  flutter:
    dependency: "direct main"
    description: flutter
    source: sdk
    version: "0.0.0"
  mine:
    dependency: "direct main"
    description:
      path: "../mine"
      relative: true
    source: path
    version: "0.1.0"
sdks:
  dart: ">=3.0.0 <4.0.0"
"#;
        let got: Vec<_> = lockfile(text)
            .unwrap()
            .into_iter()
            .map(|d| {
                (
                    d.name,
                    d.resolved_version.unwrap(),
                    d.kind,
                    d.direct,
                    d.local,
                )
            })
            .collect();
        let expected = [
            ("http", "1.1.0", Runtime, Some(true), false),
            ("test", "1.24.9", Development, Some(true), false),
            ("meta", "1.11.0", Runtime, Some(false), false),
            ("flutter", "0.0.0", Runtime, Some(true), true),
            ("mine", "0.1.0", Runtime, Some(true), true),
        ];
        assert_eq!(
            got,
            expected.map(|(n, v, k, d, l)| (n.into(), v.into(), k, d, l))
        );
    }

    #[test]
    fn malformed_lockfiles_say_what_is_wrong() {
        assert!(
            lockfile("name: app\n")
                .unwrap_err()
                .to_string()
                .contains("`packages`")
        );
        let err = lockfile("packages:\n  http:\n    source: hosted\n").unwrap_err();
        assert!(err.to_string().contains("`http` has no `version`"), "{err}");
    }
}
