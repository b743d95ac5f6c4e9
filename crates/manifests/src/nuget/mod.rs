//! NuGet dependencies: MSBuild project files (`*.csproj`, `*.fsproj`, `*.vbproj`),
//! `Directory.Packages.props`, `packages.config` and `packages.lock.json`.

mod lockfile;
mod msbuild;
mod packages_config;

use super::{Format, ManifestError, ParsedManifest};

/// Parses `text`, read from `path` inside a repository, as one of this module's formats.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    text: &str,
) -> Result<ParsedManifest, ManifestError> {
    match format {
        Format::MsbuildProject | Format::DirectoryPackagesProps => msbuild::parse(format, text),
        Format::PackagesConfig => packages_config::parse(text),
        Format::NugetLock => lockfile::parse(text),
        _ => Err(ManifestError::Unsupported { format }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_formats_are_not_read_here() {
        assert_eq!(
            parse(Format::PomXml, "pom.xml", "<project/>"),
            Err(ManifestError::Unsupported {
                format: Format::PomXml
            })
        );
    }
}
