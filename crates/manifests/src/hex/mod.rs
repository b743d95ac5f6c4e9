//! Hex (Elixir/Erlang): `mix.exs` and `mix.lock`, read with a small Elixir tokenizer.

mod elixir;
mod mix_exs;
mod mix_lock;

use super::{Format, ManifestError, ParsedManifest};

/// Parses `text`, read from `path` inside a repository, as one of this module's formats.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    text: &str,
) -> Result<ParsedManifest, ManifestError> {
    let dependencies = match format {
        Format::MixExs => mix_exs::parse(text)?,
        Format::MixLock => mix_lock::parse(text)?,
        _ => return Err(ManifestError::Unsupported { format }),
    };
    Ok(ParsedManifest {
        dependencies,
        funding: Vec::new(),
    })
}
