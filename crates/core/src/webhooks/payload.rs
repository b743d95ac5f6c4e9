//! The JSON body of a delivery (docs/webhooks.md, "The payload"): the Standard Webhooks
//! envelope `{type, timestamp, data}` around one `dependency_events` row.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{DependencyKind, Ecosystem, EventKind};

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryPayload {
    /// The event (`dependent.added`, …).
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// When the delivery was created (the event's own time is `data.occurred_at`).
    pub timestamp: DateTime<Utc>,
    pub data: EventData,
}

/// The event itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventData {
    /// The event's id (`dependency_events.id`): increasing, the same in the events API.
    pub event_id: i64,
    /// When wump saw the change.
    pub occurred_at: DateTime<Utc>,
    pub package: PackageData,
    /// Dependent events: the repository that started or stopped using the package.
    pub repository: Option<RepositoryData>,
    /// The organization owning the repository (dependent events) or the organization that
    /// gained or lost its first or last repository using the package.
    pub organization: OrganizationRef,
    /// Dependent events: how the repository uses the package.
    pub kind: Option<DependencyKind>,
    /// The repository's stars, or the organization's star sum over its repositories using
    /// the package, when it happened.
    pub stars: i64,
}

/// The package the event is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageData {
    pub ecosystem: Ecosystem,
    pub name: String,
    /// The package in wump's API.
    pub url: String,
}

/// A repository, by host and full name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepositoryData {
    pub host: String,
    pub full_name: String,
    /// `https://{host}/{full_name}` for hosts with a domain name; none for local trees.
    pub url: Option<String>,
    pub stars: i64,
}

/// An organization, by host and login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationRef {
    pub host: String,
    pub login: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_has_the_documented_shape() {
        let payload = DeliveryPayload {
            kind: EventKind::DependentAdded,
            timestamp: "2026-12-06T12:00:01Z".parse().unwrap(),
            data: EventData {
                event_id: 42,
                occurred_at: "2026-12-06T12:00:00Z".parse().unwrap(),
                package: PackageData {
                    ecosystem: Ecosystem::Npm,
                    name: "left-pad".into(),
                    url: "https://wump.dev/api/v1/packages/npm/left-pad".into(),
                },
                repository: Some(RepositoryData {
                    host: "github.com".into(),
                    full_name: "acme/web".into(),
                    url: Some("https://github.com/acme/web".into()),
                    stars: 1200,
                }),
                organization: OrganizationRef {
                    host: "github.com".into(),
                    login: "acme".into(),
                },
                kind: Some(DependencyKind::Runtime),
                stars: 1200,
            },
        };
        let json = serde_json::to_value(&payload).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "dependent.added",
                "timestamp": "2026-12-06T12:00:01Z",
                "data": {
                    "event_id": 42,
                    "occurred_at": "2026-12-06T12:00:00Z",
                    "package": {"ecosystem": "npm", "name": "left-pad",
                                "url": "https://wump.dev/api/v1/packages/npm/left-pad"},
                    "repository": {"host": "github.com", "full_name": "acme/web",
                                   "url": "https://github.com/acme/web", "stars": 1200},
                    "organization": {"host": "github.com", "login": "acme"},
                    "kind": "runtime",
                    "stars": 1200
                }
            })
        );
        assert_eq!(
            serde_json::from_value::<DeliveryPayload>(json).unwrap(),
            payload
        );
    }
}
