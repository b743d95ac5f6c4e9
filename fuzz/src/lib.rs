//! What every fuzz target shares: pick a format from the input's first byte, parse the rest,
//! and check what comes back.
//!
//! Targets choose among formats by position in [`Format::ALL`] (filtered to one ecosystem),
//! never by a list of their own, so a format or a parser added to `wump-core` is fuzzed
//! without touching this crate. `make-seeds.py` writes seeds with the same first byte.
//! `parse_repository` is the exception: it picks paths from [`REPOSITORY_PATHS`], since what
//! a file takes from the shared build files depends on where both lie.

use wump_core::Ecosystem;
use wump_manifests::{
    self as manifest, DEFAULT_MAX_BYTES, Format, ManifestError, ParsedManifest, RepositoryContext,
};

/// The formats whose packages belong to `ecosystem`, in [`Format::ALL`] order; `None`
/// selects the funding files.
pub fn formats_of(ecosystem: Option<Ecosystem>) -> impl Iterator<Item = Format> {
    Format::ALL
        .iter()
        .copied()
        .filter(move |format| format.ecosystem() == ecosystem)
}

/// Parses `data[1..]` as the format `data[0]` picks from `ecosystem`'s formats.
pub fn fuzz_ecosystem(ecosystem: Option<Ecosystem>, data: &[u8]) {
    let count = formats_of(ecosystem).count();
    let Some((&selector, content)) = data.split_first() else {
        return;
    };
    if let Some(format) = formats_of(ecosystem).nth(usize::from(selector) % count) {
        parse_and_check(format, content);
    }
}

/// Parses `data[1..]` as the format `data[0]` picks from every format.
pub fn fuzz_any(data: &[u8]) {
    let Some((&selector, content)) = data.split_first() else {
        return;
    };
    let format = Format::ALL[usize::from(selector) % Format::ALL.len()];
    parse_and_check(format, content);
}

/// Parses `content` as `format`, read from a file named after the format, and checks the
/// result: any input may be refused, but none may panic, hang or report a package of
/// another ecosystem.
pub fn parse_and_check(format: Format, content: &[u8]) {
    match manifest::parse(format, format.id(), content) {
        Ok(parsed) => check_parsed(format, &parsed),
        Err(error) => check_error(&error),
    }
}

/// The paths of a repository input's files, picked by each file's first byte: the files
/// that supply context (version catalogs, MSBuild's central files) and those that use it,
/// at the root, in a nested build and in directories between, so that nearest-file lookups,
/// imports of the file above and same-named catalogs all come into play. `make-seeds.py`
/// reads this list to write `parse_repository` seeds: keep one path per line.
pub const REPOSITORY_PATHS: &[&str] = &[
    "gradle/libs.versions.toml",
    "gradle/testing.versions.toml",
    "build.gradle.kts",
    "app/build.gradle",
    "samples/gradle/libs.versions.toml",
    "samples/demo/build.gradle.kts",
    "Directory.Packages.props",
    "Directory.Build.props",
    "Directory.Build.targets",
    "src/Directory.Build.props",
    "src/Directory.Packages.props",
    "src/App/App.csproj",
    "tests/App.Tests/App.Tests.fsproj",
    "src/App/packages.lock.json",
];

/// Most files one repository input holds: enough for a catalog, a nested one and their
/// scripts, or the three shared MSBuild files, a nested one and projects.
const MAX_FILES: usize = 8;

/// Reads `data` as a small repository: NUL-separated files (at most [`MAX_FILES`]), each a
/// byte picking its path from [`REPOSITORY_PATHS`] then its content. Learns them all in a
/// [`RepositoryContext`], as the parse job does, then parses each with what applies to its
/// path, checking the results as [`parse_and_check`] does.
pub fn fuzz_repository(data: &[u8]) {
    let files: Vec<(&str, Format, &[u8])> = data
        .split(|&byte| byte == 0)
        .take(MAX_FILES)
        .filter_map(|file| {
            let (&selector, content) = file.split_first()?;
            let path = REPOSITORY_PATHS[usize::from(selector) % REPOSITORY_PATHS.len()];
            let format = Format::from_path(path)
                .unwrap_or_else(|| panic!("REPOSITORY_PATHS holds {path}, which names no format"));
            Some((path, format, content))
        })
        .collect();
    let mut context = RepositoryContext::new();
    for (path, format, content) in &files {
        // A shared file that cannot be read is left out, and the others parse without it.
        if let Err(error) = context.learn(*format, path, content, DEFAULT_MAX_BYTES) {
            check_error(&error);
        }
    }
    for (path, format, content) in files {
        match context.parse(format, path, content, DEFAULT_MAX_BYTES) {
            Ok(parsed) => check_parsed(format, &parsed),
            Err(error) => check_error(&error),
        }
    }
}

fn check_parsed(format: Format, parsed: &ParsedManifest) {
    match format.ecosystem() {
        Some(ecosystem) => {
            for dependency in &parsed.dependencies {
                assert_eq!(
                    dependency.ecosystem, ecosystem,
                    "{format} reported {dependency:?}"
                );
            }
        }
        None => assert!(
            parsed.dependencies.is_empty(),
            "funding file {format} reported dependencies"
        ),
    }
}

fn check_error(error: &ManifestError) {
    // Error messages end up in the worker's output: building one must not panic either.
    assert!(!error.to_string().is_empty());
}
