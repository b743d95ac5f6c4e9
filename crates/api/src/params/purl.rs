//! Package URLs (<https://github.com/package-url/purl-spec>) to an ecosystem and a name.
//!
//! A small parser rather than the `packageurl` crate: we need only the type, namespace and
//! name, and the mapping of purl types onto our ecosystems (`golang` → `go`, `gem` →
//! `rubygems`, Maven `group:artifact`, …) is ours to write either way.

use percent_encoding::percent_decode_str;
use wump_core::Ecosystem;

use super::PackageKey;
use crate::problem::ApiError;

/// The package a purl names (version, qualifiers and subpath are ignored).
pub fn parse_purl(purl: &str) -> Result<PackageKey, ApiError> {
    let invalid = |reason: &str| ApiError::invalid("purl", reason.to_owned());
    let purl = purl.trim();
    if purl.len() > 2 * super::MAX_NAME_LEN {
        return Err(invalid("is too long"));
    }
    let purl = purl.split_once('#').map_or(purl, |(p, _)| p);
    let purl = purl.split_once('?').map_or(purl, |(p, _)| p);
    let rest = purl
        .get(..4)
        .filter(|scheme| scheme.eq_ignore_ascii_case("pkg:"))
        .map(|_| &purl[4..])
        .ok_or_else(|| invalid("must start with `pkg:`"))?;
    let rest = rest.trim_start_matches('/').trim_end_matches('/');
    let (purl_type, path) = rest
        .split_once('/')
        .ok_or_else(|| invalid("must have the form pkg:type/namespace/name@version"))?;
    // The version follows the last `@` of the last segment (an npm scope's `@` may be
    // written unencoded in the namespace).
    let (namespace, last) = path.rsplit_once('/').map_or(("", path), |(n, l)| (n, l));
    let name = match last.rfind('@') {
        Some(at) if at > 0 => &last[..at],
        _ => last,
    };
    let decode = |segment: &str| -> Result<String, ApiError> {
        percent_decode_str(segment)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| invalid("is not valid UTF-8 once percent-decoded"))
    };
    let name = decode(name)?;
    let namespace = namespace
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?
        .join("/");
    if name.is_empty() {
        return Err(invalid("has no package name"));
    }
    let joined = |sep: &str| {
        if namespace.is_empty() {
            name.clone()
        } else {
            format!("{namespace}{sep}{name}")
        }
    };
    let (ecosystem, full_name) = match purl_type.to_ascii_lowercase().as_str() {
        "npm" if namespace.is_empty() => (Ecosystem::Npm, name.clone()),
        "npm" if namespace.starts_with('@') => (Ecosystem::Npm, joined("/")),
        "npm" => (Ecosystem::Npm, format!("@{namespace}/{name}")),
        "pypi" => (Ecosystem::Pypi, name.clone()),
        "cargo" => (Ecosystem::Cargo, name.clone()),
        "gem" => (Ecosystem::Rubygems, name.clone()),
        "hex" => (Ecosystem::Hex, name.clone()),
        "pub" => (Ecosystem::Pub, name.clone()),
        "nuget" => (Ecosystem::Nuget, name.clone()),
        "cocoapods" => (Ecosystem::Cocoapods, name.clone()),
        "golang" => (Ecosystem::Go, joined("/")),
        "composer" => (Ecosystem::Packagist, joined("/")),
        "swift" => (Ecosystem::Swiftpm, joined("/")),
        "github" | "githubactions" => (Ecosystem::Actions, joined("/")),
        "maven" if namespace.is_empty() => {
            return Err(invalid("a Maven purl needs a namespace (the group id)"));
        }
        "maven" => (Ecosystem::Maven, joined(":")),
        other => {
            return Err(invalid(&format!(
                "purl type `{other}` is not supported (npm, pypi, cargo, golang, gem, maven, \
                 composer, nuget, hex, pub, swift, cocoapods, githubactions)"
            )));
        }
    };
    PackageKey::new(ecosystem, &full_name).map_err(|_| invalid("names an invalid package"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(purl: &str) -> (Ecosystem, String) {
        let key = parse_purl(purl).unwrap();
        (key.ecosystem, key.name)
    }

    #[test]
    fn scoped_npm_packages_with_encoded_or_plain_at() {
        assert_eq!(
            parsed("pkg:npm/%40scope/name@1.0"),
            (Ecosystem::Npm, "@scope/name".into())
        );
        assert_eq!(
            parsed("pkg:npm/@angular/core"),
            (Ecosystem::Npm, "@angular/core".into())
        );
        assert_eq!(
            parsed("pkg:npm/left-pad@1.3.0?arch=x#lib"),
            (Ecosystem::Npm, "left-pad".into())
        );
    }

    #[test]
    fn purl_types_map_onto_ecosystems() {
        assert_eq!(
            parsed("pkg:golang/github.com/gorilla/mux@v1.8.0"),
            (Ecosystem::Go, "github.com/gorilla/mux".into())
        );
        assert_eq!(
            parsed("pkg:maven/org.apache.commons/commons-lang3@3.12.0"),
            (Ecosystem::Maven, "org.apache.commons:commons-lang3".into())
        );
        assert_eq!(
            parsed("pkg:gem/rails@7.0.0"),
            (Ecosystem::Rubygems, "rails".into())
        );
        assert_eq!(
            parsed("pkg:composer/symfony/console"),
            (Ecosystem::Packagist, "symfony/console".into())
        );
        assert_eq!(
            parsed("PKG:PyPI/Django@4.2"),
            (Ecosystem::Pypi, "Django".into())
        );
        assert_eq!(
            parsed("pkg:githubactions/actions/checkout@v4"),
            (Ecosystem::Actions, "actions/checkout".into())
        );
    }

    #[test]
    fn malformed_purls_are_400s_naming_purl() {
        for bad in [
            "npm/left-pad",
            "pkg:npm",
            "pkg:npm/",
            "pkg:unknown/x",
            "pkg:maven/artifact",
            "pkg:npm/%FF",
        ] {
            match parse_purl(bad) {
                Err(ApiError::InvalidParameter { parameter, .. }) => {
                    assert_eq!(parameter, "purl", "{bad}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
