//! How a repository depends on a package.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// The role a dependency plays in the project that declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::AsExpression, diesel::FromSqlRow),
    diesel(sql_type = diesel::sql_types::Text)
)]
pub enum DependencyKind {
    /// Needed when the project runs (the default section of most manifests).
    Runtime,
    /// Needed only to develop the project (dev-dependencies, dev groups).
    Development,
    /// Needed to build it (build-dependencies, build-system requires).
    Build,
    /// Needed only by its tests (test scopes and groups).
    Test,
    /// Declared optional (extras, optionalDependencies, `<optional>`).
    Optional,
    /// Expected to be provided by the consumer (npm peerDependencies, Maven `provided`).
    Peer,
}

/// The id given was not a dependency kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown dependency kind `{0}` (expected runtime, development, build, test, optional or peer)"
)]
pub struct UnknownDependencyKind(pub String);

impl DependencyKind {
    /// Every kind, in the order of the database check constraint.
    pub const ALL: [DependencyKind; 6] = [
        DependencyKind::Runtime,
        DependencyKind::Development,
        DependencyKind::Build,
        DependencyKind::Test,
        DependencyKind::Optional,
        DependencyKind::Peer,
    ];

    /// The lower-case id used in the API and the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            DependencyKind::Runtime => "runtime",
            DependencyKind::Development => "development",
            DependencyKind::Build => "build",
            DependencyKind::Test => "test",
            DependencyKind::Optional => "optional",
            DependencyKind::Peer => "peer",
        }
    }
}

impl fmt::Display for DependencyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DependencyKind {
    type Err = UnknownDependencyKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownDependencyKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in DependencyKind::ALL {
            assert_eq!(kind.as_str().parse::<DependencyKind>(), Ok(kind));
        }
        assert!("dev".parse::<DependencyKind>().is_err());
    }
}
