//! Package ecosystems and their name-normalization rules.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A package ecosystem (registry) wump understands, identified by a lower-case id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::AsExpression, diesel::FromSqlRow),
    diesel(sql_type = diesel::sql_types::Text)
)]
pub enum Ecosystem {
    Npm,
    Pypi,
    Cargo,
    Go,
    Rubygems,
    Maven,
    Packagist,
    Nuget,
    Hex,
    Pub,
    Swiftpm,
    Cocoapods,
    Actions,
}

/// The id given was not one of [`Ecosystem::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ecosystem `{0}` (expected one of: {ids})", ids = Ecosystem::ids().join(", "))]
pub struct UnknownEcosystem(pub String);

impl Ecosystem {
    /// Every ecosystem, in a stable order (the order of the database check constraint).
    pub const ALL: [Ecosystem; 13] = [
        Ecosystem::Npm,
        Ecosystem::Pypi,
        Ecosystem::Cargo,
        Ecosystem::Go,
        Ecosystem::Rubygems,
        Ecosystem::Maven,
        Ecosystem::Packagist,
        Ecosystem::Nuget,
        Ecosystem::Hex,
        Ecosystem::Pub,
        Ecosystem::Swiftpm,
        Ecosystem::Cocoapods,
        Ecosystem::Actions,
    ];

    /// The lower-case id used in URLs, the database and job payloads.
    pub const fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Npm => "npm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Go => "go",
            Ecosystem::Rubygems => "rubygems",
            Ecosystem::Maven => "maven",
            Ecosystem::Packagist => "packagist",
            Ecosystem::Nuget => "nuget",
            Ecosystem::Hex => "hex",
            Ecosystem::Pub => "pub",
            Ecosystem::Swiftpm => "swiftpm",
            Ecosystem::Cocoapods => "cocoapods",
            Ecosystem::Actions => "actions",
        }
    }

    /// The name people know the ecosystem by, for pages.
    pub const fn label(self) -> &'static str {
        match self {
            Ecosystem::Npm => "npm",
            Ecosystem::Pypi => "PyPI",
            Ecosystem::Cargo => "crates.io",
            Ecosystem::Go => "Go",
            Ecosystem::Rubygems => "RubyGems",
            Ecosystem::Maven => "Maven",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::Nuget => "NuGet",
            Ecosystem::Hex => "Hex",
            Ecosystem::Pub => "pub.dev",
            Ecosystem::Swiftpm => "Swift Package Manager",
            Ecosystem::Cocoapods => "CocoaPods",
            Ecosystem::Actions => "GitHub Actions",
        }
    }

    /// The ids of every ecosystem, for error messages and documentation.
    pub fn ids() -> Vec<&'static str> {
        Self::ALL.iter().map(|e| e.as_str()).collect()
    }

    /// The name under which the registry considers two spellings the same package.
    ///
    /// Registries differ: PyPI folds case and runs of `-`, `_`, `.` (PEP 503); npm, NuGet,
    /// Packagist and GitHub treat names case-insensitively; crates.io also treats `-` and
    /// `_` as the same crate; Go module paths, Maven coordinates, RubyGems, Hex and pub
    /// names are case-sensitive and kept as written (trimmed).
    pub fn normalize_name(self, name: &str) -> String {
        let name = name.trim();
        match self {
            Ecosystem::Pypi => pep503(name),
            Ecosystem::Cargo => name.to_ascii_lowercase().replace('_', "-"),
            Ecosystem::Npm | Ecosystem::Nuget | Ecosystem::Packagist | Ecosystem::Actions => {
                name.to_lowercase()
            }
            Ecosystem::Swiftpm => swift_identity(name),
            Ecosystem::Maven => name.split(':').map(str::trim).collect::<Vec<_>>().join(":"),
            Ecosystem::Go
            | Ecosystem::Rubygems
            | Ecosystem::Hex
            | Ecosystem::Pub
            | Ecosystem::Cocoapods => name.to_owned(),
        }
    }
}

/// PEP 503: lower-case, and every run of `-`, `_` or `.` becomes a single `-`.
fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                out.push('-');
            }
            in_separator_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator_run = false;
        }
    }
    out
}

/// SwiftPM identifies a package by its source URL: compare them without scheme, user,
/// `.git` suffix, trailing slash or case.
fn swift_identity(location: &str) -> String {
    let lower = location.to_lowercase();
    let without_scheme = lower
        .split_once("://")
        .map_or(lower.as_str(), |(_, rest)| rest);
    let without_user = without_scheme
        .split_once('@')
        .filter(|(user, _)| !user.contains('/'))
        .map_or(without_scheme, |(_, rest)| rest);
    // scp-like git URLs (`git@github.com:apple/swift-nio.git`) use `:` before the path.
    let host_path = without_user.replacen(':', "/", 1);
    let trimmed = host_path.trim_end_matches('/');
    trimmed.strip_suffix(".git").unwrap_or(trimmed).to_owned()
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Ecosystem {
    type Err = UnknownEcosystem;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownEcosystem(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_display_and_parse() {
        for ecosystem in Ecosystem::ALL {
            assert_eq!(ecosystem.to_string().parse::<Ecosystem>(), Ok(ecosystem));
            let json = serde_json::to_string(&ecosystem).unwrap();
            assert_eq!(json, format!("\"{ecosystem}\""));
        }
    }

    #[test]
    fn unknown_ids_are_rejected_with_the_list_of_known_ones() {
        let err = "NPM".parse::<Ecosystem>().unwrap_err();
        assert_eq!(err, UnknownEcosystem("NPM".into()));
        assert!(err.to_string().contains("npm, pypi, cargo"), "{err}");
    }

    #[test]
    fn pypi_names_follow_pep_503() {
        for name in [
            "Friendly-Bard",
            "friendly.bard",
            "FRIENDLY_BARD",
            "friendly--._bard",
        ] {
            assert_eq!(
                Ecosystem::Pypi.normalize_name(name),
                "friendly-bard",
                "{name}"
            );
        }
    }

    #[test]
    fn case_insensitive_registries_fold_case() {
        assert_eq!(Ecosystem::Npm.normalize_name("@Babel/Core"), "@babel/core");
        assert_eq!(
            Ecosystem::Nuget.normalize_name("Newtonsoft.Json"),
            "newtonsoft.json"
        );
        assert_eq!(
            Ecosystem::Packagist.normalize_name("Symfony/Console"),
            "symfony/console"
        );
        assert_eq!(
            Ecosystem::Actions.normalize_name("Actions/Checkout"),
            "actions/checkout"
        );
        assert_eq!(Ecosystem::Cargo.normalize_name("Serde_JSON"), "serde-json");
    }

    #[test]
    fn case_sensitive_registries_keep_names_as_written() {
        assert_eq!(
            Ecosystem::Go.normalize_name("github.com/BurntSushi/toml"),
            "github.com/BurntSushi/toml"
        );
        assert_eq!(
            Ecosystem::Maven.normalize_name("org.apache.commons : commons-lang3"),
            "org.apache.commons:commons-lang3"
        );
        assert_eq!(Ecosystem::Rubygems.normalize_name(" Rails "), "Rails");
    }

    #[test]
    fn swift_packages_are_identified_by_their_location() {
        for url in [
            "https://github.com/apple/swift-nio.git",
            "https://GitHub.com/apple/swift-nio/",
            "git@github.com:apple/swift-nio.git",
        ] {
            assert_eq!(
                Ecosystem::Swiftpm.normalize_name(url),
                "github.com/apple/swift-nio"
            );
        }
    }
}
