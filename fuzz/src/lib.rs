//! What every fuzz target shares: pick a format from the input's first byte, parse the rest,
//! and check what comes back.
//!
//! Targets choose among formats by position in [`Format::ALL`] (filtered to one ecosystem),
//! never by a list of their own, so a format or a parser added to `wump-core` is fuzzed
//! without touching this crate. `make-seeds.py` writes seeds with the same first byte.

use wump_core::Ecosystem;
use wump_manifests::{self as manifest, Format, ManifestError, ParsedManifest};

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
