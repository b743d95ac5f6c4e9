//! Manifest and lockfile parsers: pure functions from a file's bytes to the dependencies
//! and funding links it declares ([`parse`], or [`RepositoryContext::parse`] for files that
//! use others of their repository), and the merge of a repository's declarations into one
//! edge per package ([`merge`]).
//!
//! Every input is untrusted. [`parse`] enforces a size limit before any parser runs, parsers
//! bound their nesting depth, none expands XML entities, and a malformed file is a
//! [`ManifestError`], never a panic.

mod context;
mod error;
mod format;
mod ruby;
mod scan;
mod toml_doc;
mod xml;
mod yaml;

pub mod actions;
pub mod cargo;
pub mod cocoapods;
pub mod dart;
pub mod funding;
pub mod go;
pub mod hex;
pub mod matcher;
pub mod maven;
pub mod merge;
pub mod npm;
pub mod nuget;
pub mod packagist;
pub mod pypi;
pub mod rubygems;
pub mod swiftpm;

use serde::Serialize;

pub use context::RepositoryContext;
pub use error::ManifestError;
pub use format::Format;
pub use merge::{Declaration, MergedDependency, merge_dependencies};

use context::Scope;
use wump_core::{DependencyKind, Ecosystem, FundingLink};

/// Files larger than this are refused unless the caller sets its own limit.
pub const DEFAULT_MAX_BYTES: usize = 5 * 1024 * 1024;

/// Deepest nesting of JSON/YAML/XML/TOML structures a parser will follow.
pub const MAX_DEPTH: usize = 128;

/// One dependency as a manifest or lockfile declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsedDependency {
    pub ecosystem: Ecosystem,
    /// The name as written in the file.
    pub name: String,
    /// The registry's canonical spelling (see [`Ecosystem::normalize_name`]).
    pub normalized_name: String,
    /// The version requirement as written; empty when the file pins nothing.
    pub requirement: String,
    pub kind: DependencyKind,
    /// For lockfiles, the exact version resolved; `None` for manifests.
    pub resolved_version: Option<String>,
    /// For lockfiles, whether the project asks for it itself (not only through another
    /// package); `None` where the format does not say.
    pub direct: Option<bool>,
    /// A path, workspace or link reference, not a package from the registry.
    pub local: bool,
    /// The module the project requires when another replaces it (go.mod `replace`): the
    /// dependency names the replacement, which is what gets built.
    pub replaces: Option<Replaced>,
}

/// A required module and the requirement a `replace` directive swapped out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replaced {
    /// The module path as the project requires (and imports) it.
    pub name: String,
    /// The version the project requires.
    pub requirement: String,
}

impl ParsedDependency {
    /// A registry dependency declared in a manifest: normalizes the name, no resolution.
    pub fn new(
        ecosystem: Ecosystem,
        name: impl Into<String>,
        requirement: impl Into<String>,
        kind: DependencyKind,
    ) -> Self {
        let name = name.into();
        Self {
            ecosystem,
            normalized_name: ecosystem.normalize_name(&name),
            name,
            requirement: unpinned_as_empty(requirement.into()),
            kind,
            resolved_version: None,
            direct: None,
            local: false,
            replaces: None,
        }
    }

    /// Records the version a lockfile resolved and whether the project asked for it directly.
    pub fn resolved(mut self, version: impl Into<String>, direct: Option<bool>) -> Self {
        self.resolved_version = Some(version.into());
        self.direct = direct;
        self
    }

    /// Marks a path, workspace or link reference.
    pub fn local(mut self) -> Self {
        self.local = true;
        self
    }

    /// Records the required module this dependency replaces.
    pub fn replacing(mut self, name: &str, requirement: &str) -> Self {
        self.replaces = Some(Replaced {
            name: name.to_owned(),
            requirement: requirement.to_owned(),
        });
        self
    }
}

/// Formats spell "any version" differently (`*` in npm and Cargo, `any` in pub); wump
/// always says it with an empty requirement.
fn unpinned_as_empty(requirement: String) -> String {
    match requirement.trim() {
        "*" | "any" => String::new(),
        trimmed if trimmed.len() == requirement.len() => requirement,
        trimmed => trimmed.to_owned(),
    }
}

/// What wump reads from one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParsedManifest {
    pub dependencies: Vec<ParsedDependency>,
    pub funding: Vec<FundingLink>,
}

/// Parses `content`, read from `path` inside a repository, as `format`, refusing files over
/// [`DEFAULT_MAX_BYTES`]. The path matters to some formats: `requirements-dev.txt` declares
/// development dependencies.
pub fn parse(format: Format, path: &str, content: &[u8]) -> Result<ParsedManifest, ManifestError> {
    parse_with_limit(format, path, content, DEFAULT_MAX_BYTES)
}

/// [`parse`] with the caller's size limit. The file is read on its own: a Gradle build
/// script's catalog accessors and an MSBuild project's central versions need the rest of
/// the repository, which [`RepositoryContext::parse`] has.
pub fn parse_with_limit(
    format: Format,
    path: &str,
    content: &[u8],
    max_bytes: usize,
) -> Result<ParsedManifest, ManifestError> {
    let text = text_of(format, content, max_bytes)?;
    parse_text(format, path, text, &Scope::default())
}

/// The file's text, once it is within the size limit, UTF-8 (a byte-order mark dropped) and
/// not nested too deep to parse safely.
fn text_of(format: Format, content: &[u8], max_bytes: usize) -> Result<&str, ManifestError> {
    if content.len() > max_bytes {
        return Err(ManifestError::TooLarge {
            size: content.len(),
            limit: max_bytes,
        });
    }
    let text = std::str::from_utf8(content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content))
        .map_err(|e| ManifestError::Encoding(e.to_string()))?;
    if yaml::FORMATS.contains(&format) {
        yaml::check_flow_depth(text)?;
    }
    Ok(text)
}

/// Parses a file's text with what the files it depends on give it.
fn parse_text(
    format: Format,
    path: &str,
    text: &str,
    scope: &Scope<'_>,
) -> Result<ParsedManifest, ManifestError> {
    let Some(ecosystem) = format.ecosystem() else {
        return funding::parse(format, path, text);
    };
    match ecosystem {
        Ecosystem::Npm => npm::parse(format, path, text),
        Ecosystem::Pypi => pypi::parse(format, path, text),
        Ecosystem::Cargo => cargo::parse(format, path, text),
        Ecosystem::Go => go::parse(format, path, text),
        Ecosystem::Rubygems => rubygems::parse(format, path, text),
        Ecosystem::Maven => maven::parse(format, path, text, &scope.catalogs),
        Ecosystem::Packagist => packagist::parse(format, path, text),
        Ecosystem::Nuget => nuget::parse(format, path, text, &scope.msbuild),
        Ecosystem::Hex => hex::parse(format, path, text),
        Ecosystem::Pub => dart::parse(format, path, text),
        Ecosystem::Swiftpm => swiftpm::parse(format, path, text),
        Ecosystem::Cocoapods => cocoapods::parse(format, path, text),
        Ecosystem::Actions => actions::parse(format, path, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_any_version_is_an_empty_requirement() {
        for (written, stored) in [
            ("*", ""),
            (" any ", ""),
            ("", ""),
            (" ^1.2 ", "^1.2"),
            ("1.*", "1.*"),
        ] {
            let dep = ParsedDependency::new(Ecosystem::Npm, "x", written, DependencyKind::Runtime);
            assert_eq!(dep.requirement, stored, "{written:?}");
        }
    }
}
