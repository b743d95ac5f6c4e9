//! PEP 508 dependency specifiers: `name [extras] (version-spec | @ url) ; marker`.
//!
//! Extras and environment markers say when a package is installed, not which one, so they are
//! dropped; the name and the version spec (or URL) are kept as written.

use super::{ParsedDependency, dep};
use wump_core::DependencyKind;

/// The parts of a specifier wump keeps.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Specifier<'a> {
    pub(super) name: &'a str,
    /// The version spec, or the URL of a direct reference; empty when unpinned.
    pub(super) requirement: &'a str,
    pub(super) url: bool,
}

/// Reads one specifier, or `None` when `spec` is not one (a malformed line, an option).
pub(super) fn parse(spec: &str) -> Option<Specifier<'_>> {
    let spec = spec.trim();
    let name_end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let (name, rest) = spec.split_at(name_end);
    let alphanumeric_ends = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !alphanumeric_ends {
        return None;
    }
    let rest = skip_extras(rest.trim_start())?;
    if let Some(url) = rest.strip_prefix('@') {
        return direct_reference(url).map(|url| Specifier {
            name,
            requirement: url,
            url: true,
        });
    }
    let version = rest.split(';').next().unwrap_or_default().trim();
    let version = version
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .map_or(version, str::trim);
    is_version_spec(version).then_some(Specifier {
        name,
        requirement: version,
        url: false,
    })
}

/// A dependency of `kind` from a specifier string; `file:` URLs are local files.
pub(super) fn dependency(spec: &str, kind: DependencyKind) -> Option<ParsedDependency> {
    let spec = parse(spec)?;
    if spec.url && spec.requirement.starts_with("file:") {
        return Some(dep(spec.name, "", kind).local());
    }
    Some(dep(spec.name, spec.requirement, kind))
}

/// `[extra1, extra2]` after the name selects optional features of the same package.
fn skip_extras(rest: &str) -> Option<&str> {
    match rest.strip_prefix('[') {
        Some(extras) => extras.split_once(']').map(|(_, after)| after.trim_start()),
        None => Some(rest),
    }
}

/// The URL of `name @ url ; marker` (PEP 508 requires a space before a marker after a URL).
fn direct_reference(after_at: &str) -> Option<&str> {
    let url = after_at.trim_start();
    let (url, tail) = url.split_at(url.find(char::is_whitespace).unwrap_or(url.len()));
    let tail = tail.trim_start();
    (!url.is_empty() && (tail.is_empty() || tail.starts_with(';'))).then_some(url)
}

/// Empty, or comparison clauses such as `>=1.2, <2` or `~= 1.4.5` (PEP 440).
fn is_version_spec(version: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || " \t.*+-_,!=<>~".contains(c);
    version.is_empty()
        || (version.starts_with(['<', '>', '=', '!', '~']) && version.chars().all(allowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, requirement: &str, url: bool) -> Option<Specifier<'static>> {
        let (name, requirement) = (name.to_owned().leak(), requirement.to_owned().leak());
        Some(Specifier {
            name,
            requirement,
            url,
        })
    }

    #[test]
    fn name_and_version_spec_are_kept_as_written() {
        assert_eq!(
            parse("requests >= 2.8.1, == 2.8.*"),
            spec("requests", ">= 2.8.1, == 2.8.*", false)
        );
        assert_eq!(parse("zope.interface"), spec("zope.interface", "", false));
        assert_eq!(parse("name (>=1.0)"), spec("name", ">=1.0", false));
    }

    #[test]
    fn extras_and_markers_are_dropped() {
        assert_eq!(
            parse("requests[security,tests] >= 2.8.1 ; python_version < \"2.7\""),
            spec("requests", ">= 2.8.1", false)
        );
        assert_eq!(
            parse("argparse;python_version<\"2.7\""),
            spec("argparse", "", false)
        );
    }

    #[test]
    fn direct_references_keep_the_url() {
        assert_eq!(
            parse(
                "pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee ; python_version >= '3'"
            ),
            spec(
                "pip",
                "https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee",
                true
            )
        );
        let local = dependency("mylib @ file:///src/mylib", DependencyKind::Runtime).unwrap();
        assert!(local.local);
        assert_eq!(local.requirement, "");
    }

    #[test]
    fn malformed_specifiers_are_rejected() {
        for bad in [
            "git://what@::/:/:/",
            "-e .",
            "name garbage",
            "[extra]",
            "name[unclosed",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
