//! What changed in a package's set of dependents: the events of its history, its feeds and
//! its webhooks.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A change in a package's counted dependents (`dependency_events.event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::AsExpression, diesel::FromSqlRow),
    diesel(sql_type = diesel::sql_types::Text)
)]
pub enum EventKind {
    /// A repository started depending on the package (or came back: unarchived, a parse
    /// found the dependency again).
    #[serde(rename = "dependent.added")]
    DependentAdded,
    /// A repository stopped depending on it: the manifests no longer name it, or the
    /// repository was archived, became a fork, or is gone.
    #[serde(rename = "dependent.removed")]
    DependentRemoved,
    /// The first counted repository of an organization started depending on it.
    #[serde(rename = "organization.added")]
    OrganizationAdded,
    /// The last counted repository of an organization stopped depending on it.
    #[serde(rename = "organization.removed")]
    OrganizationRemoved,
}

/// The id given was not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown event `{0}` (expected dependent.added, dependent.removed, organization.added or \
     organization.removed)"
)]
pub struct UnknownEventKind(pub String);

impl EventKind {
    /// Every event, in the order of the database check constraint.
    pub const ALL: [EventKind; 4] = [
        EventKind::DependentAdded,
        EventKind::DependentRemoved,
        EventKind::OrganizationAdded,
        EventKind::OrganizationRemoved,
    ];

    /// The id stored in `dependency_events.event` and sent as a webhook's `type`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::DependentAdded => "dependent.added",
            EventKind::DependentRemoved => "dependent.removed",
            EventKind::OrganizationAdded => "organization.added",
            EventKind::OrganizationRemoved => "organization.removed",
        }
    }

    /// Whether the event names a repository (not only an organization).
    pub const fn is_dependent(self) -> bool {
        matches!(
            self,
            EventKind::DependentAdded | EventKind::DependentRemoved
        )
    }

    /// Whether something was gained (as opposed to lost).
    pub const fn is_addition(self) -> bool {
        matches!(
            self,
            EventKind::DependentAdded | EventKind::OrganizationAdded
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_their_ids_and_json() {
        for event in EventKind::ALL {
            assert_eq!(event.as_str().parse::<EventKind>(), Ok(event));
            assert_eq!(
                serde_json::to_value(event).unwrap(),
                serde_json::Value::from(event.as_str())
            );
        }
        assert!("dependent".parse::<EventKind>().is_err());
    }
}
