//! `gradle.lockfile`: one `group:artifact:version=configuration,…` line per locked module.
//!
//! The file does not say which modules the build asks for directly, so `direct` is unknown.
//! A module locked only for test configurations is a test dependency; any other is runtime
//! (a compile-only module cannot be told apart, since builds often lock only some
//! configurations).

use crate::{Format, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::{DependencyKind, Ecosystem};

/// Parses a `gradle.lockfile`.
pub(super) fn parse(text: &str) -> Result<ParsedManifest, ManifestError> {
    let mut dependencies = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (module, configurations) = line.split_once('=').unwrap_or((line, ""));
        // `empty=…` lists the configurations that lock nothing.
        if module == "empty" {
            continue;
        }
        let mut parts = module.split(':');
        let (Some(group), Some(artifact), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            let message = format!(
                "line {}: expected `group:artifact:version=configurations`, found `{line}`",
                number + 1
            );
            return Err(ManifestError::syntax(Format::GradleLockfile, message));
        };
        let test_only = configurations
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .all(|c| c.to_ascii_lowercase().contains("test"));
        let kind = if test_only && !configurations.trim().is_empty() {
            DependencyKind::Test
        } else {
            DependencyKind::Runtime
        };
        let name = format!("{group}:{artifact}");
        dependencies.push(
            ParsedDependency::new(Ecosystem::Maven, name, version, kind).resolved(version, None),
        );
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
    fn locked_modules_with_kinds_from_configurations() {
        let text = "# This is a Gradle generated file for dependency locking.\n\
            com.google.guava:guava:33.0.0-jre=compileClasspath,runtimeClasspath\n\
            org.junit.jupiter:junit-jupiter-api:5.10.1=testCompileClasspath,testRuntimeClasspath\n\
            org.slf4j:slf4j-api:2.0.9=compileClasspath,testCompileClasspath\n\
            empty=annotationProcessor\n";
        let deps = parse(text).unwrap().dependencies;
        let got: Vec<_> = deps
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.resolved_version.as_deref(),
                    d.requirement.as_str(),
                    d.kind,
                    d.direct,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "com.google.guava:guava",
                    Some("33.0.0-jre"),
                    "33.0.0-jre",
                    DependencyKind::Runtime,
                    None
                ),
                (
                    "org.junit.jupiter:junit-jupiter-api",
                    Some("5.10.1"),
                    "5.10.1",
                    DependencyKind::Test,
                    None
                ),
                (
                    "org.slf4j:slf4j-api",
                    Some("2.0.9"),
                    "2.0.9",
                    DependencyKind::Runtime,
                    None
                ),
            ]
        );
    }

    #[test]
    fn other_lines_are_errors() {
        let err = parse("dependencies {\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("line 1: expected `group:artifact:version=configurations`"),
            "{err}"
        );
    }
}
