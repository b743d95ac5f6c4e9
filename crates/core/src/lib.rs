//! wump's domain: ecosystems and package names, dependency kinds, the value types the
//! services exchange, job payloads and settings. The manifest parsers are wump-manifests
//! (`crates/manifests`), which only the worker and the providers need.
//!
//! Nothing here touches the network or the database; both services and the providers
//! build on these types so that a package, a queue name or a cache key means the same
//! thing everywhere.

pub mod dependency;
pub mod ecosystem;
pub mod event;
pub mod hex;
pub mod jobs;
pub mod model;
pub mod settings;
#[cfg(feature = "diesel")]
mod sql;
#[cfg(feature = "telemetry")]
pub mod telemetry;
pub mod tier;
pub mod webhooks;

pub use dependency::DependencyKind;
pub use ecosystem::{Ecosystem, UnknownEcosystem};
pub use event::{EventKind, UnknownEventKind};
pub use model::{FundingLink, OrganizationKind, PackageRef, RepoFullName, UnknownOrganizationKind};
pub use settings::Settings;
pub use tier::{Tier, UnknownTier};
