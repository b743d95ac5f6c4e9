//! Value types for the things wump stores: repositories, organizations, packages, funding.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::Ecosystem;

/// The longest owner or repository name GitHub allows is 100 characters; leave headroom
/// for other hosts without letting arbitrary input through.
const MAX_SEGMENT_LEN: usize = 200;

/// A repository's `owner/name`, as the host spells it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoFullName {
    owner: String,
    name: String,
}

/// Why a string is not an `owner/name` pair.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a repository name of the form owner/name: {reason}")]
pub struct InvalidRepoFullName {
    input: String,
    reason: &'static str,
}

impl RepoFullName {
    /// Builds a name from its two parts, validating both.
    pub fn new(owner: &str, name: &str) -> Result<Self, InvalidRepoFullName> {
        format!("{owner}/{name}").parse()
    }

    /// The owning user or organization.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The repository's own name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FromStr for RepoFullName {
    type Err = InvalidRepoFullName;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason| InvalidRepoFullName {
            input: input.to_owned(),
            reason,
        };
        let (owner, name) = input.split_once('/').ok_or_else(|| fail("missing `/`"))?;
        for segment in [owner, name] {
            if segment.is_empty() {
                return Err(fail("empty owner or name"));
            }
            if segment.len() > MAX_SEGMENT_LEN {
                return Err(fail("owner or name too long"));
            }
            if segment == "." || segment == ".." {
                return Err(fail("`.` and `..` are not names"));
            }
            if !segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(fail(
                    "only ASCII letters, digits, `-`, `_` and `.` are allowed",
                ));
            }
        }
        Ok(Self {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }
}

impl TryFrom<String> for RepoFullName {
    type Error = InvalidRepoFullName;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<RepoFullName> for String {
    fn from(value: RepoFullName) -> Self {
        value.to_string()
    }
}

impl fmt::Display for RepoFullName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// Whether a repository owner is an organization or a personal account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::AsExpression, diesel::FromSqlRow),
    diesel(sql_type = diesel::sql_types::Text)
)]
pub enum OrganizationKind {
    #[default]
    Organization,
    User,
}

/// The id given was not an organization kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown organization kind `{0}` (expected organization or user)")]
pub struct UnknownOrganizationKind(pub String);

impl OrganizationKind {
    /// Every kind.
    pub const ALL: [OrganizationKind; 2] = [OrganizationKind::Organization, OrganizationKind::User];

    /// The lower-case id stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrganizationKind::Organization => "organization",
            OrganizationKind::User => "user",
        }
    }
}

impl fmt::Display for OrganizationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrganizationKind {
    type Err = UnknownOrganizationKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownOrganizationKind(s.to_owned()))
    }
}

/// A package named in its ecosystem, e.g. `npm` `@babel/core`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PackageRef {
    pub ecosystem: Ecosystem,
    /// The name as a manifest or registry writes it.
    pub name: String,
}

impl PackageRef {
    /// Creates a reference to `name` in `ecosystem`.
    pub fn new(ecosystem: Ecosystem, name: impl Into<String>) -> Self {
        Self {
            ecosystem,
            name: name.into(),
        }
    }

    /// The registry's canonical spelling of the name (see [`Ecosystem::normalize_name`]).
    pub fn normalized_name(&self) -> String {
        self.ecosystem.normalize_name(&self.name)
    }
}

impl fmt::Display for PackageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.ecosystem, self.name)
    }
}

/// One way to fund someone: a platform (`github`, `open_collective`, `custom`, …) and a URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FundingLink {
    pub platform: String,
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_kinds_round_trip_through_their_ids() {
        for kind in OrganizationKind::ALL {
            assert_eq!(kind.to_string().parse::<OrganizationKind>(), Ok(kind));
        }
        assert!("team".parse::<OrganizationKind>().is_err());
    }

    #[test]
    fn full_names_parse_and_display() {
        let name: RepoFullName = "rust-lang/crates.io".parse().unwrap();
        assert_eq!((name.owner(), name.name()), ("rust-lang", "crates.io"));
        assert_eq!(name.to_string(), "rust-lang/crates.io");
        assert_eq!(
            serde_json::to_string(&name).unwrap(),
            "\"rust-lang/crates.io\""
        );
    }

    #[test]
    fn malformed_full_names_are_rejected_with_a_reason() {
        for bad in [
            "",
            "owner",
            "/repo",
            "owner/",
            "a/b/c",
            "../etc",
            "own er/repo",
        ] {
            let err = bad.parse::<RepoFullName>().unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
        assert!(serde_json::from_str::<RepoFullName>("\"no-slash\"").is_err());
        assert!(RepoFullName::new(&"x".repeat(300), "repo").is_err());
    }
}
