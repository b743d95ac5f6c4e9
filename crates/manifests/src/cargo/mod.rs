//! Cargo manifests (`Cargo.toml`) and lockfiles (`Cargo.lock`, versions 1 to 4).

mod lock;
mod manifest;

use super::toml_doc::{parse as parse_toml, str_at, table};
use super::{Format, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::{DependencyKind, Ecosystem};

/// Parses `text`, read from `path` inside a repository, as one of this module's formats.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    text: &str,
) -> Result<ParsedManifest, ManifestError> {
    let dependencies = match format {
        Format::CargoToml => manifest::parse(text)?,
        Format::CargoLock => lock::parse(text)?,
        _ => return Err(ManifestError::Unsupported { format }),
    };
    Ok(ParsedManifest {
        dependencies,
        funding: Vec::new(),
    })
}

/// A crates.io dependency.
fn dep(name: &str, requirement: &str, kind: DependencyKind) -> ParsedDependency {
    ParsedDependency::new(Ecosystem::Cargo, name.trim(), requirement.trim(), kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fragments of Cargo.toml and Cargo.lock, so random inputs reach deep into the parsers.
    fn fragments() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        const PIECES: &[&str] = &[
            "[dependencies]",
            "[target.'cfg(unix)'.dev-dependencies]",
            "[[package]]",
            "[package]",
            "\n",
            "serde = \"1\"",
            "x = { path = \"p\" }",
            "y = { git = \"u\", tag = \"t\" }",
            "name = \"a\"",
            "version = \"1\"",
            "source = \"registry+u\"",
            "dependencies = [\"a 1\"]",
            "version = 4",
            "=",
            "[",
            "]",
            "{",
            "}",
            "\"",
            ".",
        ];
        prop::collection::vec(prop::sample::select(PIECES), 0..80).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn no_input_makes_a_parser_panic(text in fragments()) {
            let _ = parse(Format::CargoToml, "Cargo.toml", &text);
            let _ = parse(Format::CargoLock, "Cargo.lock", &text);
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
