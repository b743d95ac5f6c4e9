//! Gradle version catalogs (`gradle/libs.versions.toml` and the other `*.versions.toml` a
//! settings file names): `[versions]`, `[libraries]`, `[bundles]` and `[plugins]`.
//!
//! A catalog is read twice. On its own it declares every library (runtime: the catalog
//! says nothing about where one is used) and every plugin (build: plugins run only while
//! building). And build scripts pick its entries with type-safe accessors, `libs.foo.bar`,
//! `libs.bundles.x`, `libs.plugins.y`, which [`VersionCatalog::resolve`] turns back into
//! coordinates, so that a library gets the kind of the configuration that uses it.
//!
//! The rules are Gradle's ("Sharing dependency versions between projects" in its manual):
//! an alias's `-`, `_` and `.` all become `.` in its accessor; a version is a string, a
//! `version.ref` to `[versions]`, or a rich version (`strictly`, `require`, `prefer`, of
//! which wump keeps the first present, as written); a library without a version is managed
//! by a platform. A plugin is recorded under its marker artifact,
//! `id:id.gradle.plugin`, the Maven coordinates the Gradle Plugin Portal publishes it as.
//! A `version.ref` naming no version is an error, as it is in Gradle.

use std::collections::BTreeMap;

use toml::{Table, Value};

use wump_core::{DependencyKind, Ecosystem};

use super::coordinates;
use crate::{Format, ManifestError, ParsedDependency, ParsedManifest, toml_doc};

const FORMAT: Format = Format::GradleVersionCatalog;

/// A catalog's entries, keyed by accessor path (`foo.bar` for the alias `foo-bar`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VersionCatalog {
    libraries: BTreeMap<String, Entry>,
    bundles: BTreeMap<String, Vec<String>>,
    plugins: BTreeMap<String, Entry>,
}

/// A library's or plugin's coordinates and version requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    requirement: String,
}

/// What a build script's accessor stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// `libs.foo` or `libs.bundles.x`: libraries, declared with the configuration's kind.
    Libraries(Vec<ParsedDependency>),
    /// `libs.plugins.y`: a plugin, a build dependency.
    Plugin(ParsedDependency),
    /// `libs.versions.x`, or an accessor the catalog does not define.
    Nothing,
}

/// Parses a catalog on its own: its libraries and plugins.
pub(super) fn parse(text: &str) -> Result<ParsedManifest, ManifestError> {
    let catalog = read(text)?;
    let libraries = catalog
        .libraries
        .values()
        .map(|entry| entry.dependency(DependencyKind::Runtime));
    let plugins = catalog.plugins.values().map(Entry::plugin);
    Ok(ParsedManifest {
        dependencies: libraries.chain(plugins).collect(),
        ..ParsedManifest::default()
    })
}

/// Reads a catalog's tables into accessor-keyed entries.
pub(crate) fn read(text: &str) -> Result<VersionCatalog, ManifestError> {
    let doc = toml_doc::parse(FORMAT, text)?;
    let section = |name: &str, entry_keys: &[&str]| -> Result<Vec<(String, &Value)>, _> {
        let mut entries = Vec::new();
        if let Some(table) = toml_doc::table(FORMAT, &doc, name, name)? {
            flatten(table, "", entry_keys, &mut entries);
        }
        Ok::<_, ManifestError>(entries)
    };
    let versions: BTreeMap<String, &Value> = section("versions", RICH_VERSION_KEYS)?
        .into_iter()
        .map(|(alias, value)| (accessor(&alias), value))
        .collect();
    let mut catalog = VersionCatalog::default();
    for (alias, value) in section("libraries", &["module", "group", "name", "version"])? {
        let entry = library(&alias, value, &versions)?;
        catalog.libraries.insert(accessor(&alias), entry);
    }
    for (alias, value) in section("plugins", &["id", "version"])? {
        let entry = plugin(&alias, value, &versions)?;
        catalog.plugins.insert(accessor(&alias), entry);
    }
    for (alias, value) in section("bundles", &[])? {
        let members = bundle(&alias, value)?;
        if let Some(missing) = members.iter().find(|m| !catalog.libraries.contains_key(*m)) {
            return Err(syntax(format!(
                "`bundles.{alias}` names `{missing}`, which `[libraries]` does not define"
            )));
        }
        catalog.bundles.insert(accessor(&alias), members);
    }
    Ok(catalog)
}

/// The keys of a rich version table.
const RICH_VERSION_KEYS: &[&str] = &["strictly", "require", "prefer", "reject", "rejectAll"];

/// A section's entries with their whole aliases. TOML reads an unquoted dotted alias
/// (`groovy.core = "…"`) as nested tables; a table is an entry when it has one of
/// `entry_keys`, otherwise a level of such an alias.
fn flatten<'t>(
    table: &'t Table,
    prefix: &str,
    entry_keys: &[&str],
    out: &mut Vec<(String, &'t Value)>,
) {
    for (key, value) in table {
        let alias = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Table(inner) if !entry_keys.iter().any(|k| inner.contains_key(*k)) => {
                flatten(inner, &alias, entry_keys, out);
            }
            _ => out.push((alias, value)),
        }
    }
}

/// The catalogs one build script sees, by the name its accessors start with (`libs`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalogs<'c> {
    by_name: Vec<(&'c str, &'c VersionCatalog)>,
}

impl<'c> Catalogs<'c> {
    /// Catalogs under the names a settings file gives them.
    pub(crate) fn new(by_name: Vec<(&'c str, &'c VersionCatalog)>) -> Self {
        Catalogs { by_name }
    }

    /// What a whole accessor (`libs.foo.bar`) stands for; [`Resolved::Nothing`] when its
    /// first name is no catalog's (a variable, an extension).
    pub(crate) fn resolve(&self, accessor: &str, kind: DependencyKind) -> Resolved {
        let Some((name, path)) = accessor.split_once('.') else {
            return Resolved::Nothing;
        };
        self.by_name
            .iter()
            .find(|(known, _)| *known == name)
            .map_or(Resolved::Nothing, |(_, catalog)| {
                catalog.resolve(path, kind)
            })
    }
}

impl VersionCatalog {
    /// What `path`, an accessor without the catalog's name (`foo.bar`, `bundles.x`,
    /// `plugins.y`), stands for, declared with `kind` where it is a library.
    pub(crate) fn resolve(&self, path: &str, kind: DependencyKind) -> Resolved {
        let library = |key: &str| self.libraries.get(key).map(|e| e.dependency(kind));
        // A library alias may itself start with `bundles`/`plugins`/`versions` only in
        // catalogs Gradle refuses, so the prefixes are unambiguous.
        if let Some(bundle) = path.strip_prefix("bundles.") {
            let members = self.bundles.get(bundle).into_iter().flatten();
            return Resolved::Libraries(members.filter_map(|m| library(m)).collect());
        }
        if let Some(plugin) = path.strip_prefix("plugins.") {
            return self
                .plugins
                .get(plugin)
                .map_or(Resolved::Nothing, |e| Resolved::Plugin(e.plugin()));
        }
        if path.starts_with("versions.") {
            return Resolved::Nothing;
        }
        library(path).map_or(Resolved::Nothing, |d| Resolved::Libraries(vec![d]))
    }
}

impl Entry {
    fn dependency(&self, kind: DependencyKind) -> ParsedDependency {
        ParsedDependency::new(
            Ecosystem::Maven,
            self.name.as_str(),
            self.requirement.as_str(),
            kind,
        )
    }

    /// A plugin is a build dependency. One without a version is already on the build's
    /// classpath: a convention plugin of the build's own `build-logic`, or one its settings
    /// version; it is local, as project references are.
    fn plugin(&self) -> ParsedDependency {
        let plugin = self.dependency(DependencyKind::Build);
        if self.requirement.is_empty() {
            plugin.local()
        } else {
            plugin
        }
    }
}

/// The accessor path Gradle generates for an alias: separators become dots.
fn accessor(alias: &str) -> String {
    alias.replace(['-', '_'], ".")
}

/// `"g:a:v"`, `"g:a"`, `{ module = "g:a", version… }` or `{ group, name, version… }`.
fn library(alias: &str, value: &Value, versions: &Versions) -> Result<Entry, ManifestError> {
    let at = format!("libraries.{alias}");
    match value {
        Value::String(notation) => {
            let (name, requirement) = coordinates(notation)
                .ok_or_else(|| syntax(format!("`{at}` is not `group:name[:version]`")))?;
            Ok(Entry { name, requirement })
        }
        Value::Table(table) => {
            let name = match (toml_doc::str_at(table, "module"), table.get("group")) {
                (Some(module), _) => coordinates(module)
                    .map(|(name, _)| name)
                    .ok_or_else(|| syntax(format!("`{at}.module` is not `group:name`")))?,
                (None, Some(_)) => {
                    let part = |key| {
                        toml_doc::str_at(table, key)
                            .filter(|s| !s.trim().is_empty())
                            .ok_or_else(|| syntax(format!("`{at}.{key}` must be a string")))
                    };
                    format!("{}:{}", part("group")?, part("name")?)
                }
                (None, None) => {
                    return Err(syntax(format!(
                        "`{at}` needs `module` or `group` and `name`"
                    )));
                }
            };
            let requirement = version(&at, table.get("version"), versions)?;
            Ok(Entry { name, requirement })
        }
        _ => Err(syntax(format!("`{at}` must be a string or a table"))),
    }
}

/// A bundle's members, as accessor paths.
fn bundle(alias: &str, value: &Value) -> Result<Vec<String>, ManifestError> {
    let not_aliases = || syntax(format!("`bundles.{alias}` must be an array of aliases"));
    value
        .as_array()
        .ok_or_else(not_aliases)?
        .iter()
        .map(|member| member.as_str().map(accessor).ok_or_else(not_aliases))
        .collect()
}

/// `"id:v"`, `"id"` or `{ id = "…", version… }`.
fn plugin(alias: &str, value: &Value, versions: &Versions) -> Result<Entry, ManifestError> {
    let at = format!("plugins.{alias}");
    let (id, requirement) = match value {
        Value::String(notation) => match notation.split_once(':') {
            Some((id, version)) => (id.to_owned(), version.to_owned()),
            None => (notation.clone(), String::new()),
        },
        Value::Table(table) => {
            let id = toml_doc::str_at(table, "id")
                .ok_or_else(|| syntax(format!("`{at}.id` must be a string")))?;
            (id.to_owned(), version(&at, table.get("version"), versions)?)
        }
        _ => return Err(syntax(format!("`{at}` must be a string or a table"))),
    };
    let id = id.trim();
    if id.is_empty() || id.contains(char::is_whitespace) {
        return Err(syntax(format!("`{at}` has no plugin id")));
    }
    Ok(Entry {
        name: plugin_marker(id),
        requirement,
    })
}

/// The marker artifact the Gradle Plugin Portal publishes a plugin id under.
pub(crate) fn plugin_marker(id: &str) -> String {
    format!("{id}:{id}.gradle.plugin")
}

/// `[versions]` by accessor path (`version.ref` may spell an alias with any separator).
type Versions<'t> = BTreeMap<String, &'t Value>;

/// An entry's `version`: absent, a string, `{ ref = "…" }` or a rich version.
fn version(at: &str, value: Option<&Value>, versions: &Versions) -> Result<String, ManifestError> {
    match value {
        None => Ok(String::new()),
        Some(Value::Table(table)) if table.contains_key("ref") => {
            let key = toml_doc::str_at(table, "ref")
                .ok_or_else(|| syntax(format!("`{at}.version.ref` must be a string")))?;
            match versions.get(&accessor(key)) {
                Some(declared) => declared_version(&format!("versions.{key}"), declared),
                None => Err(syntax(format!(
                    "`{at}.version.ref` names `{key}`, which `[versions]` does not declare"
                ))),
            }
        }
        Some(declared) => declared_version(&format!("{at}.version"), declared),
    }
}

/// A version written as a string or a rich version table.
fn declared_version(at: &str, value: &Value) -> Result<String, ManifestError> {
    match value {
        Value::String(version) => Ok(version.trim().to_owned()),
        Value::Table(rich) => Ok(["strictly", "require", "prefer"]
            .iter()
            .find_map(|key| toml_doc::str_at(rich, key))
            .unwrap_or("")
            .trim()
            .to_owned()),
        _ => Err(syntax(format!("`{at}` must be a string or a rich version"))),
    }
}

fn syntax(message: String) -> ManifestError {
    ManifestError::syntax(FORMAT, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &str = r#"
[versions]
kotlin = "2.0.21"
okhttp = { strictly = "[4.12, 5.0[", prefer = "4.12.0" }
junit = { require = "5.10.2" }

[libraries]
okhttp = { module = "com.squareup.okhttp3:okhttp", version.ref = "okhttp" }
kotlinx-coroutines-core = { group = "org.jetbrains.kotlinx", name = "kotlinx-coroutines-core", version = "1.9.0" }
androidx_core.ktx = "androidx.core:core-ktx:1.13.1"
compose-bom = "androidx.compose:compose-bom:2024.10.01"
compose-ui = { module = "androidx.compose.ui:ui" }
junit-jupiter = { module = "org.junit.jupiter:junit-jupiter", version = { ref = "junit" } }
kotlin-test = { module = "org.jetbrains.kotlin:kotlin-test", version.ref = "kotlin" }

[bundles]
testing = ["junit-jupiter", "kotlin-test"]

[plugins]
kotlin-android = { id = "org.jetbrains.kotlin.android", version.ref = "kotlin" }
ksp = "com.google.devtools.ksp:2.0.21-1.0.25"
convention-library = { id = "example.convention.library" }
"#;

    fn names(deps: &[ParsedDependency]) -> Vec<(&str, &str, DependencyKind)> {
        deps.iter()
            .map(|d| (d.name.as_str(), d.requirement.as_str(), d.kind))
            .collect()
    }

    #[test]
    fn on_its_own_a_catalog_declares_its_libraries_and_plugins() {
        use DependencyKind::{Build, Runtime};
        let parsed = parse(CATALOG).unwrap();
        assert_eq!(
            names(&parsed.dependencies),
            [
                ("androidx.core:core-ktx", "1.13.1", Runtime),
                ("androidx.compose:compose-bom", "2024.10.01", Runtime),
                ("androidx.compose.ui:ui", "", Runtime),
                ("org.junit.jupiter:junit-jupiter", "5.10.2", Runtime),
                ("org.jetbrains.kotlin:kotlin-test", "2.0.21", Runtime),
                (
                    "org.jetbrains.kotlinx:kotlinx-coroutines-core",
                    "1.9.0",
                    Runtime
                ),
                ("com.squareup.okhttp3:okhttp", "[4.12, 5.0[", Runtime),
                (
                    "example.convention.library:example.convention.library.gradle.plugin",
                    "",
                    Build
                ),
                (
                    "org.jetbrains.kotlin.android:org.jetbrains.kotlin.android.gradle.plugin",
                    "2.0.21",
                    Build
                ),
                (
                    "com.google.devtools.ksp:com.google.devtools.ksp.gradle.plugin",
                    "2.0.21-1.0.25",
                    Build
                ),
            ]
        );
    }

    #[test]
    fn a_plugin_without_a_version_is_the_builds_own() {
        let parsed = parse(CATALOG).unwrap();
        let local: Vec<&str> = parsed
            .dependencies
            .iter()
            .filter(|d| d.local)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(
            local,
            ["example.convention.library:example.convention.library.gradle.plugin"]
        );
    }

    #[test]
    fn accessors_resolve_libraries_bundles_and_plugins() {
        use DependencyKind::{Build, Test};
        let catalog = read(CATALOG).unwrap();
        let resolved = |path| catalog.resolve(path, Test);
        let Resolved::Libraries(libraries) = resolved("androidx.core.ktx") else {
            panic!("a library alias written with `_` and `.` resolves by dots");
        };
        assert_eq!(
            names(&libraries),
            [("androidx.core:core-ktx", "1.13.1", Test)]
        );
        let Resolved::Libraries(bundle) = resolved("bundles.testing") else {
            panic!("bundles resolve");
        };
        assert_eq!(
            names(&bundle),
            [
                ("org.junit.jupiter:junit-jupiter", "5.10.2", Test),
                ("org.jetbrains.kotlin:kotlin-test", "2.0.21", Test),
            ]
        );
        let Resolved::Plugin(plugin) = resolved("plugins.kotlin.android") else {
            panic!("plugins resolve");
        };
        assert_eq!(plugin.kind, Build);
        assert_eq!(resolved("versions.kotlin"), Resolved::Nothing);
        assert_eq!(resolved("no.such.alias"), Resolved::Nothing);
    }

    #[test]
    fn broken_catalogs_are_errors_that_name_the_entry() {
        for (text, expected) in [
            (
                "[libraries]\nx = { module = \"g:a\", version.ref = \"nope\" }",
                "`libraries.x.version.ref` names `nope`",
            ),
            ("[libraries]\nx = { version = \"1\" }", "needs `module`"),
            (
                "[libraries]\nx = \"not coordinates\"",
                "`libraries.x` is not",
            ),
            ("[bundles]\nb = [\"missing\"]", "names `missing`"),
            ("[plugins]\np = 3", "`plugins.p` must be"),
            ("libraries = 1", "expected a table at `libraries`"),
            ("[libraries\n", "line 1"),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
