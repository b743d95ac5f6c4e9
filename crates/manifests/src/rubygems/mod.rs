//! RubyGems: Gemfile / gems.rb, *.gemspec, and Gemfile.lock / gems.locked.

mod gemfile;
mod gemspec;
mod lockfile;

use super::{Format, ManifestError, ParsedManifest};

/// Parses `text`, read from `path` inside a repository, as one of this module's formats.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    text: &str,
) -> Result<ParsedManifest, ManifestError> {
    let dependencies = match format {
        Format::Gemfile => gemfile::parse(text)?,
        Format::Gemspec => gemspec::parse(text)?,
        Format::GemfileLock => lockfile::parse(text)?,
        _ => return Err(ManifestError::Unsupported { format }),
    };
    Ok(ParsedManifest {
        dependencies,
        funding: Vec::new(),
    })
}
