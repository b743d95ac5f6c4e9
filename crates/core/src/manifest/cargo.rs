//! Parsers for this ecosystem's manifests and lockfiles (not written yet).

use super::{Format, ManifestError, ParsedManifest};

/// Parses `text` as one of this module's formats.
pub(crate) fn parse(format: Format, _text: &str) -> Result<ParsedManifest, ManifestError> {
    Err(ManifestError::Unsupported { format })
}
