//! What one file of a repository takes from others.
//!
//! Most formats stand alone, but two build systems spread a declaration over files: a
//! Gradle build script names libraries by catalog accessor (`libs.foo.bar`) defined in a
//! version catalog (`gradle/libs.versions.toml`), and an MSBuild project may leave a
//! package's version to the central `Directory.Packages.props` above it, or take
//! properties from `Directory.Build.props`. A [`RepositoryContext`] learns those files
//! first ([`Format::supplies_context`]), then parses every file of the repository with what
//! applies to its path:
//!
//! - A catalog serves the build rooted at the directory holding its `gradle/` folder (or at
//!   its own directory, for a catalog kept elsewhere), under its file name's first part:
//!   `gradle/libs.versions.toml` is `libs`, `gradle/testing.versions.toml` is `testing`,
//!   as Gradle names the default catalog and as projects conventionally name the others in
//!   their settings. A script sees, for each name, the catalog of its nearest enclosing
//!   build, or the only catalog of that name in the repository (included builds such as
//!   `build-logic/` share the main build's catalog).
//! - An MSBuild file sees the nearest `Directory.Build.props`, `Directory.Packages.props`
//!   and `Directory.Build.targets` at or above its directory, as MSBuild itself finds them,
//!   and the ones above those that they import.
//!
//! Paths are `/`-separated and relative to the repository's root.

use std::collections::BTreeMap;

use crate::{
    Format, ManifestError, ParsedManifest,
    maven::catalog::{self, Catalogs, VersionCatalog},
    nuget::msbuild::{self, Shared, SharedFile},
    parse_text, text_of,
};

/// The shared build files of one repository, learned before the files that use them.
#[derive(Debug, Clone, Default)]
pub struct RepositoryContext {
    catalogs: Vec<LearnedCatalog>,
    /// MSBuild shared files by (directory, format).
    msbuild: BTreeMap<(String, Format), SharedFile>,
}

#[derive(Debug, Clone)]
struct LearnedCatalog {
    /// The directory of the build it serves.
    root: String,
    /// The name accessors start with.
    name: String,
    catalog: VersionCatalog,
}

/// What applies to one file.
#[derive(Debug, Default)]
pub(crate) struct Scope<'c> {
    pub(crate) catalogs: Catalogs<'c>,
    pub(crate) msbuild: Shared<'c>,
}

impl RepositoryContext {
    /// A context that knows no shared file yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Learns a file other files may use; files of other formats are ignored. A shared file
    /// that cannot be read is an error here and, when parsed itself, again; the files that
    /// would have used it are parsed without it.
    pub fn learn(
        &mut self,
        format: Format,
        path: &str,
        content: &[u8],
        max_bytes: usize,
    ) -> Result<(), ManifestError> {
        if !format.supplies_context() {
            return Ok(());
        }
        let text = text_of(format, content, max_bytes)?;
        let path = normalized(path);
        let (dir, file) = split(path);
        if format == Format::GradleVersionCatalog {
            let root = match split(dir) {
                (above, "gradle") => above,
                _ => dir,
            };
            let name = file.split('.').next().unwrap_or(file);
            self.catalogs.push(LearnedCatalog {
                root: root.to_owned(),
                name: name.to_owned(),
                catalog: catalog::read(text)?,
            });
        } else {
            let shared = msbuild::learn(format, text)?;
            self.msbuild.insert((dir.to_owned(), format), shared);
        }
        Ok(())
    }

    /// Parses `content`, read from `path`, with what the learned files give it (see
    /// [`crate::parse_with_limit`] for the limits).
    pub fn parse(
        &self,
        format: Format,
        path: &str,
        content: &[u8],
        max_bytes: usize,
    ) -> Result<ParsedManifest, ManifestError> {
        let text = text_of(format, content, max_bytes)?;
        parse_text(format, path, text, &self.scope(format, normalized(path)))
    }

    /// What applies to the file at `path`.
    fn scope(&self, format: Format, path: &str) -> Scope<'_> {
        let (dir, _) = split(path);
        let mut scope = Scope::default();
        if matches!(format, Format::Gradle | Format::GradleKts) {
            scope.catalogs = Catalogs::new(self.catalogs_for(dir));
        }
        if format.ecosystem() == Some(wump_core::Ecosystem::Nuget) {
            let chain = |kind| self.msbuild_chain(kind, dir, format == kind);
            scope.msbuild = Shared {
                build_props: chain(Format::DirectoryBuildProps),
                packages_props: chain(Format::DirectoryPackagesProps),
                build_targets: chain(Format::DirectoryBuildTargets),
            };
        }
        scope
    }

    /// For each catalog name, the catalog of the nearest build enclosing `dir`, else the
    /// only one of that name.
    fn catalogs_for(&self, dir: &str) -> Vec<(&str, &VersionCatalog)> {
        let mut by_name: BTreeMap<&str, Vec<&LearnedCatalog>> = BTreeMap::new();
        for learned in &self.catalogs {
            by_name.entry(&learned.name).or_default().push(learned);
        }
        by_name
            .into_iter()
            .filter_map(|(name, candidates)| {
                let enclosing = candidates
                    .iter()
                    .filter(|c| is_within(dir, &c.root))
                    .max_by_key(|c| c.root.len());
                let chosen = match (enclosing, candidates.as_slice()) {
                    (Some(nearest), _) => *nearest,
                    (None, [only]) => *only,
                    (None, _) => return None,
                };
                Some((name, &chosen.catalog))
            })
            .collect()
    }

    /// The shared files of `kind` that apply in `dir`, nearest first: the nearest at or
    /// above it, then those above that it imports. A shared file of that very kind (`is_self`)
    /// does not import itself: only the ones above it, and only if it imports them.
    fn msbuild_chain(&self, kind: Format, dir: &str, is_self: bool) -> Vec<&SharedFile> {
        let mut chain = Vec::new();
        let mut next = if is_self {
            match self.msbuild.get(&(dir.to_owned(), kind)) {
                Some(own) if own.imports_parent => parent(dir),
                _ => None,
            }
        } else {
            Some(dir)
        };
        while let Some(from) = next {
            let Some((found_dir, file)) =
                ancestors(from).find_map(|d| Some((d, self.msbuild.get(&(d.to_owned(), kind))?)))
            else {
                break;
            };
            chain.push(file);
            next = if file.imports_parent {
                parent(found_dir)
            } else {
                None
            };
        }
        chain
    }
}

fn normalized(path: &str) -> &str {
    path.trim_start_matches("./")
}

/// `(directory, file name)`; the root directory is `""`.
fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// The directory above `dir`; `None` above the root.
fn parent(dir: &str) -> Option<&str> {
    if dir.is_empty() {
        None
    } else {
        Some(split(dir).0)
    }
}

/// `dir` and every directory above it, up to the root (`""`).
fn ancestors(dir: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(dir), |d| parent(d))
}

/// Whether `dir` is `root` or lies under it.
fn is_within(dir: &str, root: &str) -> bool {
    root.is_empty()
        || dir == root
        || dir
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_MAX_BYTES;
    use wump_core::DependencyKind;

    fn learned(files: &[(&str, &str)]) -> RepositoryContext {
        let mut context = RepositoryContext::new();
        for (path, text) in files {
            let format = Format::from_path(path).unwrap();
            context
                .learn(format, path, text.as_bytes(), DEFAULT_MAX_BYTES)
                .unwrap();
        }
        context
    }

    fn parsed(
        context: &RepositoryContext,
        path: &str,
        text: &str,
    ) -> Vec<(String, String, DependencyKind)> {
        let format = Format::from_path(path).unwrap();
        context
            .parse(format, path, text.as_bytes(), DEFAULT_MAX_BYTES)
            .unwrap()
            .dependencies
            .into_iter()
            .map(|d| (d.name, d.requirement, d.kind))
            .collect()
    }

    fn triple(
        name: &str,
        requirement: &str,
        kind: DependencyKind,
    ) -> (String, String, DependencyKind) {
        (name.to_owned(), requirement.to_owned(), kind)
    }

    #[test]
    fn paths_split_into_directories() {
        assert_eq!(ancestors("a/b").collect::<Vec<_>>(), ["a/b", "a", ""]);
        assert_eq!(ancestors("").collect::<Vec<_>>(), [""]);
        assert!(is_within("app/src", "app"));
        assert!(is_within("app", ""));
        assert!(!is_within("application", "app"));
    }

    #[test]
    fn build_scripts_resolve_accessors_in_their_builds_catalog() {
        use DependencyKind::{Build, Runtime, Test};
        let context = learned(&[
            (
                "gradle/libs.versions.toml",
                "[libraries]\nokio = \"com.squareup.okio:okio:3.9.1\"\n\
                 [plugins]\nandroid-app = { id = \"com.android.application\", version = \"8.7.2\" }",
            ),
            (
                "samples/gradle/libs.versions.toml",
                "[libraries]\nokio = \"com.squareup.okio:okio:3.0.0\"",
            ),
        ]);
        let script = "plugins { alias(libs.plugins.android.app) }\n\
                      dependencies { implementation(libs.okio)\n testImplementation(libs.okio) }";
        assert_eq!(
            parsed(&context, "app/build.gradle.kts", script),
            [
                triple(
                    "com.android.application:com.android.application.gradle.plugin",
                    "8.7.2",
                    Build
                ),
                triple("com.squareup.okio:okio", "3.9.1", Runtime),
                triple("com.squareup.okio:okio", "3.9.1", Test),
            ]
        );
        // A nested build's own catalog wins inside it.
        assert_eq!(
            parsed(&context, "samples/demo/build.gradle", script)[0],
            triple("com.squareup.okio:okio", "3.0.0", Runtime)
        );
    }

    #[test]
    fn msbuild_files_take_central_versions_and_properties_from_above() {
        use DependencyKind::Runtime;
        let context = learned(&[
            (
                "Directory.Build.props",
                "<Project><PropertyGroup><XunitVersion>2.9.2</XunitVersion>\
                 <SerilogVersion>3.0.0</SerilogVersion></PropertyGroup></Project>",
            ),
            (
                "src/Directory.Build.props",
                "<Project><Import Project=\"$([MSBuild]::GetPathOfFileAbove('Directory.Build.props', '$(MSBuildThisFileDirectory)../'))\" />\
                 <PropertyGroup><SerilogVersion>4.1.0</SerilogVersion></PropertyGroup></Project>",
            ),
            (
                "Directory.Packages.props",
                "<Project><ItemGroup><PackageVersion Include=\"Newtonsoft.Json\" Version=\"13.0.3\" />\
                 <PackageVersion Include=\"xunit\" Version=\"$(XunitVersion)\" /></ItemGroup></Project>",
            ),
        ]);
        let project = "<Project><ItemGroup><PackageReference Include=\"newtonsoft.json\" />\
                       <PackageReference Include=\"xunit\" />\
                       <PackageReference Include=\"Serilog\" Version=\"$(SerilogVersion)\" />\
                       <PackageReference Include=\"Polly\" /></ItemGroup></Project>";
        assert_eq!(
            parsed(&context, "src/App/App.csproj", project),
            [
                triple("newtonsoft.json", "13.0.3", Runtime),
                triple("xunit", "2.9.2", Runtime),
                triple("Serilog", "4.1.0", Runtime),
                triple("Polly", "", Runtime),
            ]
        );
        // Outside `src/`, only the root's properties apply.
        assert_eq!(
            parsed(&context, "tools/Tool.csproj", project)[2],
            triple("Serilog", "3.0.0", Runtime)
        );
        // The same file read alone keeps what it cannot know as written.
        let alone = crate::parse(Format::MsbuildProject, "App.csproj", project.as_bytes()).unwrap();
        assert_eq!(alone.dependencies[0].requirement, "");
        assert_eq!(alone.dependencies[2].requirement, "$(SerilogVersion)");
    }

    #[test]
    fn shared_files_are_parsed_with_what_is_above_them() {
        let context = learned(&[
            (
                "Directory.Packages.props",
                "<Project><ItemGroup><PackageVersion Include=\"StyleCop.Analyzers\" Version=\"1.1.118\" /></ItemGroup></Project>",
            ),
            (
                "Directory.Build.props",
                "<Project><ItemGroup><PackageReference Include=\"StyleCop.Analyzers\" PrivateAssets=\"all\" /></ItemGroup></Project>",
            ),
        ]);
        assert_eq!(
            parsed(
                &context,
                "Directory.Build.props",
                "<Project><ItemGroup><PackageReference Include=\"StyleCop.Analyzers\" PrivateAssets=\"all\" /></ItemGroup></Project>"
            ),
            [triple(
                "StyleCop.Analyzers",
                "1.1.118",
                DependencyKind::Development
            )]
        );
    }

    #[test]
    fn a_broken_shared_file_is_an_error_and_the_others_parse_without_it() {
        let mut context = RepositoryContext::new();
        let error = context
            .learn(
                Format::GradleVersionCatalog,
                "gradle/libs.versions.toml",
                b"[libraries]\nx = 1",
                DEFAULT_MAX_BYTES,
            )
            .unwrap_err();
        assert!(error.to_string().contains("`libraries.x`"), "{error}");
        assert!(
            parsed(
                &context,
                "build.gradle",
                "dependencies { implementation libs.x }"
            )
            .is_empty()
        );
        let too_large = context.learn(
            Format::DirectoryPackagesProps,
            "Directory.Packages.props",
            b"<Project/>",
            4,
        );
        assert!(matches!(too_large, Err(ManifestError::TooLarge { .. })));
    }
}
