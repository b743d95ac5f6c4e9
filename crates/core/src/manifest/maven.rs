//! Parsers for this ecosystem's manifests and lockfiles (not written yet).

use super::{Format, ManifestError, ParsedManifest};

/// Parses `text`, read from `path` inside a repository, as one of this module's formats.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    _text: &str,
) -> Result<ParsedManifest, ManifestError> {
    Err(ManifestError::Unsupported { format })
}
