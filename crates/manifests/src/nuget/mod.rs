//! NuGet dependencies: MSBuild project files (`*.csproj`, `*.fsproj`, `*.vbproj`),
//! `Directory.Build.props`, `Directory.Build.targets`, `Directory.Packages.props`,
//! `packages.config` and `packages.lock.json`.

mod lockfile;
pub(crate) mod msbuild;
mod packages_config;

use super::{Format, ManifestError, ParsedManifest};
use msbuild::Shared;

/// Parses `text`, read from `path` inside a repository, as one of this module's formats; an
/// MSBuild file takes versions and properties from the `shared` files above it.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    text: &str,
    shared: &Shared<'_>,
) -> Result<ParsedManifest, ManifestError> {
    match format {
        Format::MsbuildProject
        | Format::DirectoryPackagesProps
        | Format::DirectoryBuildProps
        | Format::DirectoryBuildTargets => msbuild::parse(format, text, shared),
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
            parse(Format::PomXml, "pom.xml", "<project/>", &Shared::default()),
            Err(ManifestError::Unsupported {
                format: Format::PomXml
            })
        );
    }
}
