//! `packages.config`: the packages a pre-PackageReference project has installed.
//!
//! Each `<package id version>` is a dependency pinned to that version;
//! `developmentDependency="true"` marks a development-only one.

use crate::{Format, ManifestError, ParsedDependency, ParsedManifest, xml};
use wump_core::{DependencyKind, Ecosystem};

/// Parses a `packages.config`.
pub(super) fn parse(text: &str) -> Result<ParsedManifest, ManifestError> {
    let packages = xml::parse(Format::PackagesConfig, text)?;
    if !packages.is("packages") {
        let message = format!(
            "expected a <packages> root element, found <{}>",
            packages.name
        );
        return Err(ManifestError::syntax(Format::PackagesConfig, message));
    }
    let mut dependencies = Vec::new();
    for (index, package) in packages.children_named("package").enumerate() {
        let Some(id) = package
            .attr("id")
            .map(str::trim)
            .filter(|id| !id.is_empty())
        else {
            let message = format!("<package> number {} has no `id`", index + 1);
            return Err(ManifestError::syntax(Format::PackagesConfig, message));
        };
        let version = package.attr("version").unwrap_or("").trim();
        let development = package
            .attr("developmentDependency")
            .is_some_and(|d| d.trim().eq_ignore_ascii_case("true"));
        let kind = if development {
            DependencyKind::Development
        } else {
            DependencyKind::Runtime
        };
        dependencies.push(ParsedDependency::new(Ecosystem::Nuget, id, version, kind));
    }
    Ok(ParsedManifest {
        dependencies,
        ..ParsedManifest::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_with_development_flag() {
        let text = r#"<?xml version="1.0" encoding="utf-8"?>
<packages>
  <package id="jQuery" version="3.7.1" targetFramework="net48" />
  <package id="Microsoft.Net.Compilers" version="4.2.0" developmentDependency="true" />
</packages>"#;
        let deps = parse(text).unwrap().dependencies;
        let got: Vec<_> = deps
            .iter()
            .map(|d| (d.name.as_str(), d.requirement.as_str(), d.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("jQuery", "3.7.1", DependencyKind::Runtime),
                (
                    "Microsoft.Net.Compilers",
                    "4.2.0",
                    DependencyKind::Development
                ),
            ]
        );
    }

    #[test]
    fn malformed_files_are_errors() {
        let err = parse("<packages><package version=\"1.0\" /></packages>").unwrap_err();
        assert!(
            err.to_string().contains("<package> number 1 has no `id`"),
            "{err}"
        );
        let err = parse("<Project />").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a <packages> root element"),
            "{err}"
        );
    }
}
