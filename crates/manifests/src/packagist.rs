//! Packagist dependencies: `composer.json` and `composer.lock`.
//!
//! Platform requirements (`php`, `hhvm`, `ext-*`, `lib-*`, `composer`, `composer-plugin-api`,
//! `composer-runtime-api`) are not packages and are skipped. Names are compared
//! case-insensitively (see [`wump_core::Ecosystem::normalize_name`]).

use std::fmt;

use serde::{
    Deserialize, Deserializer,
    de::{IgnoredAny, MapAccess, SeqAccess, Visitor},
};
use serde_json::Value;

use super::{Format, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::{DependencyKind, Ecosystem};

/// Parses `text`, read from `path` inside a repository, as one of this module's formats.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    text: &str,
) -> Result<ParsedManifest, ManifestError> {
    match format {
        Format::ComposerJson => manifest(text),
        Format::ComposerLock => lockfile(text),
        _ => Err(ManifestError::Unsupported { format }),
    }
}

/// The parts of `composer.json` that declare dependencies.
#[derive(Debug, Deserialize)]
#[serde(expecting = "a composer.json object")]
struct ComposerJson {
    #[serde(default)]
    require: Option<Section>,
    #[serde(default, rename = "require-dev")]
    require_dev: Option<Section>,
    /// Only a lockfile has these two.
    #[serde(default)]
    packages: Option<IgnoredAny>,
    #[serde(default, rename = "content-hash")]
    content_hash: Option<IgnoredAny>,
}

fn manifest(text: &str) -> Result<ParsedManifest, ManifestError> {
    let syntax = |message: String| ManifestError::syntax(Format::ComposerJson, message);
    let composer: ComposerJson = from_object(text).map_err(syntax)?;
    if composer.packages.is_some() && composer.content_hash.is_some() {
        return Err(syntax(
            "this is a composer.lock (it has `packages` and `content-hash`)".into(),
        ));
    }
    let mut dependencies = Vec::new();
    let sections = [
        ("require", composer.require, DependencyKind::Runtime),
        (
            "require-dev",
            composer.require_dev,
            DependencyKind::Development,
        ),
    ];
    for (key, section, kind) in sections {
        for (name, constraint) in section.map(|s| s.0).unwrap_or_default() {
            let Value::String(constraint) = constraint else {
                return Err(syntax(format!(
                    "expected a version constraint string for `{name}` in `{key}`"
                )));
            };
            if !is_platform_package(&name) {
                dependencies.push(ParsedDependency::new(
                    Ecosystem::Packagist,
                    name,
                    constraint.trim(),
                    kind,
                ));
            }
        }
    }
    Ok(ParsedManifest {
        dependencies,
        ..ParsedManifest::default()
    })
}

/// The parts of `composer.lock` that list installed packages.
#[derive(Debug, Deserialize)]
#[serde(expecting = "a composer.lock object")]
struct ComposerLock {
    packages: Option<Vec<LockedPackage>>,
    #[serde(default, rename = "packages-dev")]
    packages_dev: Option<Vec<LockedPackage>>,
}

#[derive(Debug, Deserialize)]
struct LockedPackage {
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    dist: Option<Dist>,
}

#[derive(Debug, Deserialize)]
struct Dist {
    #[serde(default, rename = "type")]
    kind: String,
}

fn lockfile(text: &str) -> Result<ParsedManifest, ManifestError> {
    let syntax = |message: String| ManifestError::syntax(Format::ComposerLock, message);
    let lock: ComposerLock = from_object(text).map_err(syntax)?;
    let packages = lock
        .packages
        .ok_or_else(|| syntax("expected an array at `packages`".into()))?;
    let sections = [
        (packages, DependencyKind::Runtime),
        (
            lock.packages_dev.unwrap_or_default(),
            DependencyKind::Development,
        ),
    ];
    let dependencies = sections
        .into_iter()
        .flat_map(|(packages, kind)| {
            packages
                .into_iter()
                .map(move |package| locked(package, kind))
        })
        .collect();
    Ok(ParsedManifest {
        dependencies,
        ..ParsedManifest::default()
    })
}

fn locked(package: LockedPackage, kind: DependencyKind) -> ParsedDependency {
    // A path repository's package is symlinked or copied from the repository itself.
    let local = package.dist.is_some_and(|dist| dist.kind == "path");
    let version = package.version.trim();
    let dependency = ParsedDependency::new(Ecosystem::Packagist, package.name, version, kind)
        .resolved(version, None);
    if local {
        dependency.local()
    } else {
        dependency
    }
}

/// Deserializes a document that must be a JSON object (serde would also take an array for a
/// struct).
fn from_object<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    if !text.trim_start().starts_with('{') {
        return Err("expected a JSON object at the top level".to_owned());
    }
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// Composer's platform packages: the PHP runtime, its extensions and libraries, Composer itself.
fn is_platform_package(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    let platform_prefix = ["ext-", "lib-"]
        .iter()
        .any(|prefix| name.starts_with(prefix));
    !name.contains('/')
        && (platform_prefix
            || matches!(
                name.as_str(),
                "php"
                    | "php-64bit"
                    | "php-ipv6"
                    | "php-zts"
                    | "php-debug"
                    | "hhvm"
                    | "composer"
                    | "composer-plugin-api"
                    | "composer-runtime-api"
            ))
}

/// A JSON object's entries in file order (serde_json's map would sort them).
#[derive(Debug, Default)]
struct Section(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Section {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SectionVisitor)
    }
}

#[derive(Debug)]
struct SectionVisitor;

impl<'de> Visitor<'de> for SectionVisitor {
    type Value = Section;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of package names to version constraints")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Section, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Value>()? {
            entries.push(entry);
        }
        Ok(Section(entries))
    }

    /// PHP's `json_encode` writes an empty section as `[]`.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Section, A::Error> {
        match seq.next_element::<IgnoredAny>()? {
            None => Ok(Section::default()),
            Some(_) => Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Seq,
                &self,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(deps: &[ParsedDependency]) -> Vec<(&str, &str, DependencyKind)> {
        deps.iter()
            .map(|d| (d.name.as_str(), d.requirement.as_str(), d.kind))
            .collect()
    }

    #[test]
    fn require_and_require_dev_in_file_order() {
        let text = r#"{
  "name": "acme/app",
  "require": { "symfony/console": "^7.0", "monolog/monolog": "3.5.*" },
  "require-dev": { "phpunit/phpunit": "^10.5" }
}"#;
        let deps = parse(Format::ComposerJson, "composer.json", text)
            .unwrap()
            .dependencies;
        assert_eq!(
            summary(&deps),
            [
                ("symfony/console", "^7.0", DependencyKind::Runtime),
                ("monolog/monolog", "3.5.*", DependencyKind::Runtime),
                ("phpunit/phpunit", "^10.5", DependencyKind::Development),
            ]
        );
    }

    #[test]
    fn platform_packages_are_skipped() {
        let text = r#"{"require": {
  "php": ">=8.1", "php-64bit": "*", "ext-json": "*", "ext-mbstring": "*", "lib-openssl": ">=1.1",
  "composer-plugin-api": "^2.0", "composer-runtime-api": "^2.2", "hhvm": "*",
  "ext-vendor/not-platform": "1.0", "Laravel/Framework": "^11.0"
}}"#;
        let deps = parse(Format::ComposerJson, "composer.json", text)
            .unwrap()
            .dependencies;
        let names: Vec<_> = deps.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["ext-vendor/not-platform", "Laravel/Framework"]);
        assert_eq!(deps[1].normalized_name, "laravel/framework");
    }

    #[test]
    fn empty_sections_may_be_arrays() {
        let text = r#"{"require": {"psr/log": "^3.0"}, "require-dev": []}"#;
        let deps = parse(Format::ComposerJson, "composer.json", text)
            .unwrap()
            .dependencies;
        assert_eq!(
            summary(&deps),
            [("psr/log", "^3.0", DependencyKind::Runtime)]
        );
    }

    #[test]
    fn malformed_manifests_are_errors() {
        let cases = [
            (
                r#"{"require": ["a/b"]}"#,
                "expected an object of package names to version constraints",
            ),
            (
                r#"{"require": {"a/b": 1}}"#,
                "expected a version constraint string for `a/b` in `require`",
            ),
            (
                r#"{"packages": [], "content-hash": "abc"}"#,
                "this is a composer.lock",
            ),
            ("[]", "expected a JSON object at the top level"),
            ("\"a/b\"", "expected a JSON object at the top level"),
        ];
        for (text, message) in cases {
            let err = parse(Format::ComposerJson, "composer.json", text).unwrap_err();
            assert!(err.to_string().contains(message), "{err}");
        }
    }

    #[test]
    fn locked_packages_and_dev_packages() {
        let text = r#"{
  "content-hash": "abc",
  "packages": [
    { "name": "psr/log", "version": "3.0.0", "dist": { "type": "zip", "url": "https://example.org/log.zip" } },
    { "name": "acme/shared", "version": "dev-main", "dist": { "type": "path", "url": "../shared" } }
  ],
  "packages-dev": [ { "name": "phpunit/phpunit", "version": "10.5.9" } ]
}"#;
        let deps = parse(Format::ComposerLock, "composer.lock", text)
            .unwrap()
            .dependencies;
        let got: Vec<_> = deps
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.resolved_version.as_deref(),
                    d.kind,
                    d.local,
                    d.direct,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "psr/log",
                    Some("3.0.0"),
                    DependencyKind::Runtime,
                    false,
                    None
                ),
                (
                    "acme/shared",
                    Some("dev-main"),
                    DependencyKind::Runtime,
                    true,
                    None
                ),
                (
                    "phpunit/phpunit",
                    Some("10.5.9"),
                    DependencyKind::Development,
                    false,
                    None
                ),
            ]
        );
        assert_eq!(deps[0].requirement, "3.0.0");
    }

    #[test]
    fn dev_packages_may_be_null() {
        let text = r#"{"packages": [], "packages-dev": null}"#;
        assert!(
            parse(Format::ComposerLock, "composer.lock", text)
                .unwrap()
                .dependencies
                .is_empty()
        );
    }

    #[test]
    fn a_manifest_is_not_a_lockfile() {
        let err = parse(
            Format::ComposerLock,
            "composer.lock",
            r#"{"require": {"a/b": "^1"}}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("expected an array at `packages`"),
            "{err}"
        );
        let err = parse(
            Format::ComposerLock,
            "composer.lock",
            r#"{"packages": [{"version": "1"}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing field `name`"), "{err}");
    }
}
