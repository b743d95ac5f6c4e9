//! PyPI manifests and lockfiles: requirements files, Pipfile, pyproject.toml, setup.cfg,
//! setup.py, and the Pipfile, Poetry, uv, PDM and PEP 751 lockfiles.
//!
//! Most of these formats embed PEP 508 requirement strings; [`pep508`] reads them once for all.

mod locks;
mod pep508;
mod pipfile;
mod pyproject;
mod requirements;
mod setup;

use toml::Value;

use super::toml_doc::{array, parse as parse_toml, str_at, table};
use super::{Format, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::{DependencyKind, Ecosystem};

/// Parses `text`, read from `path` inside a repository, as one of this module's formats.
pub(crate) fn parse(
    format: Format,
    path: &str,
    text: &str,
) -> Result<ParsedManifest, ManifestError> {
    let dependencies = match format {
        Format::Requirements => requirements::parse(path, text),
        Format::Pipfile => pipfile::parse_pipfile(text)?,
        Format::PipfileLock => pipfile::parse_lock(text)?,
        Format::Pyproject => pyproject::parse(text)?,
        Format::SetupCfg => setup::parse_cfg(text),
        Format::SetupPy => setup::parse_py(text),
        Format::PoetryLock => locks::parse_poetry(text)?,
        Format::UvLock => locks::parse_uv(text)?,
        Format::PdmLock => locks::parse_pdm(text)?,
        Format::Pylock => locks::parse_pylock(text)?,
        _ => return Err(ManifestError::Unsupported { format }),
    };
    Ok(ParsedManifest {
        dependencies,
        funding: Vec::new(),
    })
}

/// A PyPI dependency.
fn dep(name: &str, requirement: &str, kind: DependencyKind) -> ParsedDependency {
    ParsedDependency::new(Ecosystem::Pypi, name.trim(), requirement.trim(), kind)
}

/// A lockfile entry: the locked version is both the requirement and the resolution.
fn locked(name: &str, version: &str, kind: DependencyKind) -> ParsedDependency {
    dep(name, version, kind).resolved(version.trim(), None)
}

/// Tools write `*` for "any version"; we say unpinned with an empty requirement.
fn unpinned(requirement: &str) -> &str {
    let requirement = requirement.trim();
    if requirement == "*" { "" } else { requirement }
}

/// A VCS dependency's requirement: the repository URL, with the pinned ref after `#`.
fn git_requirement(url: &str, reference: Option<&str>) -> String {
    match reference {
        Some(reference) if !reference.is_empty() => format!("{url}#{reference}"),
        _ => url.to_owned(),
    }
}

/// The kind of a named dependency group (Poetry groups, PEP 735, PDM, lockfile groups):
/// the main/default group is what the project runs with, test groups are tests, every
/// other group (dev, docs, lint, …) is for developing it.
fn group_kind(group: &str) -> DependencyKind {
    let group = group.to_ascii_lowercase();
    match group.as_str() {
        "main" | "default" => DependencyKind::Runtime,
        _ if has_word_starting(&group, "test") => DependencyKind::Test,
        _ => DependencyKind::Development,
    }
}

/// Whether a word of `name` (split at anything but letters and digits) starts with
/// `prefix`: `ci-tests` and `testing` are about tests, `latest` is not.
fn has_word_starting(name: &str, prefix: &str) -> bool {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| word.starts_with(prefix))
}

/// Dependencies from an array of PEP 508 strings; entries that are not strings (such as
/// PEP 735 `{include-group = …}`) or do not parse are not packages and are skipped.
fn pep508_list(values: &[Value], kind: DependencyKind) -> impl Iterator<Item = ParsedDependency> {
    values
        .iter()
        .filter_map(Value::as_str)
        .filter_map(move |s| pep508::dependency(s, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_map_to_kinds() {
        assert_eq!(group_kind("main"), DependencyKind::Runtime);
        assert_eq!(group_kind("dev"), DependencyKind::Development);
        assert_eq!(group_kind("docs"), DependencyKind::Development);
        assert_eq!(group_kind("Tests"), DependencyKind::Test);
        assert_eq!(group_kind("ci-testing"), DependencyKind::Test);
        assert_eq!(group_kind("latest"), DependencyKind::Development);
    }

    /// Fragments of every PyPI format, so random inputs reach deep into the parsers.
    fn fragments() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        const PIECES: &[&str] = &[
            "[",
            "]",
            "(",
            ")",
            "{",
            "}",
            "=",
            ":",
            ",",
            ";",
            "#",
            "\\",
            "\n",
            " ",
            "\"",
            "'",
            "'''",
            "@",
            "-e ",
            "-r ",
            "git+https://h/r#egg=",
            "file:",
            "./",
            ".whl",
            "requests",
            ">=1.0",
            "[extra]",
            "install_requires",
            "extras_require",
            "dict",
            "[options]",
            "[project]",
            "dependencies",
            "[[package]]",
            "name = \"x\"",
            "version = \"1\"",
            "source = { editable = \".\" }",
            "groups = [\"dev\"]",
            "[tool.poetry.dependencies]",
            "x = [{version = \"1\"}, {git = \"u\"}]",
            "{\"default\": {\"x\": {}}}",
            "é",
        ];
        prop::collection::vec(prop::sample::select(PIECES), 0..120).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn no_input_makes_a_parser_panic(text in fragments()) {
            let formats = [
                Format::Requirements, Format::Pipfile, Format::PipfileLock, Format::Pyproject,
                Format::SetupCfg, Format::SetupPy, Format::PoetryLock, Format::UvLock,
                Format::PdmLock, Format::Pylock,
            ];
            for format in formats {
                let _ = parse(format, "requirements-dev.txt", &text);
            }
        }
    }

    #[test]
    fn other_ecosystems_formats_are_unsupported() {
        let err = parse(Format::GoMod, "go.mod", "").unwrap_err();
        assert_eq!(
            err,
            ManifestError::Unsupported {
                format: Format::GoMod
            }
        );
    }
}
