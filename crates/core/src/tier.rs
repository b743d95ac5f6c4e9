//! Tiers: what a caller of the API may do and how fast. Ordered: a tier includes what the
//! tiers below it may do. Here rather than in wump-api because `api_keys.tier` stores one.

use std::{fmt, str::FromStr};

use crate::settings::{RateLimitSettings, TierLimit};
use serde::{Deserialize, Serialize};

/// A caller's tier. Anonymous callers have no key; every key has one of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::AsExpression, diesel::FromSqlRow),
    diesel(sql_type = diesel::sql_types::Text)
)]
pub enum Tier {
    Anonymous,
    Free,
    Standard,
    Premium,
    Admin,
}

/// The text is not a tier a key can have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tier `{0}` (expected one of: free, standard, premium, admin)")]
pub struct UnknownTier(pub String);

impl Tier {
    /// The tiers a key can have.
    pub const KEYED: [Tier; 4] = [Tier::Free, Tier::Standard, Tier::Premium, Tier::Admin];

    /// The lower-case id used in the database, configuration and responses.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tier::Anonymous => "anonymous",
            Tier::Free => "free",
            Tier::Standard => "standard",
            Tier::Premium => "premium",
            Tier::Admin => "admin",
        }
    }

    /// This tier's limit in `settings`.
    pub fn limit(self, settings: &RateLimitSettings) -> TierLimit {
        match self {
            Tier::Anonymous => settings.anonymous,
            Tier::Free => settings.free,
            Tier::Standard => settings.standard,
            Tier::Premium => settings.premium,
            Tier::Admin => settings.admin,
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = UnknownTier;

    /// Parses the tier of a key (`anonymous` is not one).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tier::KEYED
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTier(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_are_ordered_from_anonymous_to_admin() {
        assert!(Tier::Anonymous < Tier::Free);
        assert!(Tier::Free < Tier::Standard);
        assert!(Tier::Standard < Tier::Premium);
        assert!(Tier::Premium < Tier::Admin);
    }

    #[test]
    fn keys_cannot_be_anonymous() {
        assert_eq!("premium".parse::<Tier>(), Ok(Tier::Premium));
        assert!("anonymous".parse::<Tier>().is_err());
        assert!("Admin".parse::<Tier>().is_err());
    }
}
