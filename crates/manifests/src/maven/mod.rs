//! Maven-repository dependencies: `pom.xml`, Gradle build scripts (Groovy and Kotlin DSL),
//! Gradle version catalogs and `gradle.lockfile`. Names are `groupId:artifactId`.

pub(crate) mod catalog;
mod gradle;
mod lockfile;
mod pom;
// Shared with the NuGet parsers, which read MSBuild XML the same way.

use super::{Format, ManifestError, ParsedManifest};
use catalog::Catalogs;

/// Parses `text`, read from `path` inside a repository, as one of this module's formats; a
/// build script's catalog accessors resolve in `catalogs`.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    text: &str,
    catalogs: &Catalogs<'_>,
) -> Result<ParsedManifest, ManifestError> {
    match format {
        Format::PomXml => pom::parse(text),
        Format::Gradle | Format::GradleKts => gradle::parse(format, text, catalogs),
        Format::GradleVersionCatalog => catalog::parse(text),
        Format::GradleLockfile => lockfile::parse(text),
        _ => Err(ManifestError::Unsupported { format }),
    }
}

/// Splits a `group:artifact[:version[:classifier]][@extension]` notation into the name and
/// the version (empty when absent); `None` when it is not such a notation (a URL, a project
/// path, prose). Colons inside `${…}` templates do not split.
fn coordinates(notation: &str) -> Option<(String, String)> {
    let notation = notation.trim();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut template_depth = 0usize;
    let bytes = notation.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'{' if i > 0 && bytes.get(i - 1) == Some(&b'$') => template_depth += 1,
            b'{' if template_depth > 0 => template_depth += 1,
            b'}' if template_depth > 0 => template_depth -= 1,
            b':' if template_depth == 0 => {
                parts.push(notation.get(start..i)?);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(notation.get(start..)?);
    let strip_extension = |part: &str| part.split_once('@').map_or(part, |(p, _)| p).to_owned();
    let (group, artifact, version) = match parts.as_slice() {
        [group, artifact] => (*group, strip_extension(artifact), String::new()),
        [group, artifact, version, ..] if parts.len() <= 4 => {
            (*group, (*artifact).to_owned(), strip_extension(version))
        }
        _ => return None,
    };
    let plain = |s: &str| {
        !s.is_empty()
            && !s
                .contains(|c: char| c.is_whitespace() || matches!(c, '/' | '\\' | '"' | '\'' | '$'))
    };
    (plain(group) && plain(&artifact)).then(|| (format!("{group}:{artifact}"), version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_split_name_and_version() {
        let cases = [
            (
                "org.slf4j:slf4j-api:2.0.9",
                Some(("org.slf4j:slf4j-api", "2.0.9")),
            ),
            ("org.slf4j:slf4j-api", Some(("org.slf4j:slf4j-api", ""))),
            ("com.x:y:1.0@aar", Some(("com.x:y", "1.0"))),
            ("com.x:y@aar", Some(("com.x:y", ""))),
            (
                "net.java.dev.jna:jna:5.14.0:jpms",
                Some(("net.java.dev.jna:jna", "5.14.0")),
            ),
            ("g:a:${v ?: '1:2'}", Some(("g:a", "${v ?: '1:2'}"))),
            ("https://example.com/x", None),
            (":app", None),
            ("reason: it is needed", None),
            ("a:b:c:d:e", None),
        ];
        for (notation, want) in cases {
            let got = coordinates(notation);
            assert_eq!(
                got.as_ref().map(|(n, v)| (n.as_str(), v.as_str())),
                want,
                "{notation}"
            );
        }
    }

    #[test]
    fn other_formats_are_not_read_here() {
        assert_eq!(
            parse(
                Format::ComposerJson,
                "composer.json",
                "{}",
                &Catalogs::default()
            ),
            Err(ManifestError::Unsupported {
                format: Format::ComposerJson
            })
        );
    }
}
