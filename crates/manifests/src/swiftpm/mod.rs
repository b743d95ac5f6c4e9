//! SwiftPM: `Package.swift` (read with a small Swift tokenizer) and `Package.resolved`.
//!
//! A package is named by its source URL as written (or its registry id, or its path for
//! local packages); the normalized name is SwiftPM's identity of that URL.

mod manifest;
mod resolved;
mod swift;

use super::{Format, ManifestError, ParsedManifest};

/// Parses `text`, read from `path` inside a repository, as one of this module's formats.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    text: &str,
) -> Result<ParsedManifest, ManifestError> {
    let dependencies = match format {
        Format::PackageSwift => manifest::parse(text)?,
        Format::PackageResolved => resolved::parse(text)?,
        _ => return Err(ManifestError::Unsupported { format }),
    };
    Ok(ParsedManifest {
        dependencies,
        funding: Vec::new(),
    })
}
