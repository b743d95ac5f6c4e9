//! CocoaPods: `Podfile` (Ruby DSL) and `Podfile.lock` (YAML).
//!
//! A subspec (`Firebase/Core`) keeps its name as written, but its normalized name is the
//! root pod (`Firebase`): the subspec ships inside that one pod, so that is the package
//! its dependents use.

mod lockfile;
mod podfile;

use super::{Format, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::{DependencyKind, Ecosystem};

/// Parses `text`, read from `path` inside a repository, as one of this module's formats.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    text: &str,
) -> Result<ParsedManifest, ManifestError> {
    let dependencies = match format {
        Format::Podfile => podfile::parse(text)?,
        Format::PodfileLock => lockfile::parse(text)?,
        _ => return Err(ManifestError::Unsupported { format }),
    };
    Ok(ParsedManifest {
        dependencies,
        funding: Vec::new(),
    })
}

/// A pod dependency whose normalized name is its root pod.
fn pod(name: &str, requirement: impl Into<String>, kind: DependencyKind) -> ParsedDependency {
    let mut dep = ParsedDependency::new(Ecosystem::Cocoapods, name, requirement, kind);
    if let Some((root, _)) = dep.normalized_name.split_once('/') {
        dep.normalized_name = root.to_owned();
    }
    dep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subspecs_normalize_to_their_root_pod() {
        let dep = pod("Firebase/Core", "~> 10.0", DependencyKind::Runtime);
        assert_eq!(
            (dep.name.as_str(), dep.normalized_name.as_str()),
            ("Firebase/Core", "Firebase")
        );
        assert_eq!(
            pod("Alamofire", "", DependencyKind::Runtime).normalized_name,
            "Alamofire"
        );
    }
}
