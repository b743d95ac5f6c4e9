//! Webhooks without the network or the database: what a subscriber's secret looks like and
//! how a payload is signed (the Standard Webhooks specification), how that secret is kept
//! encrypted at rest, which addresses a delivery may go to, and the payload itself.
//!
//! The api creates subscriptions with these pieces; the worker's `deliver` job signs and
//! sends with them. docs/webhooks.md describes what a subscriber sees.

mod cipher;
mod payload;
mod policy;
mod signing;

pub use cipher::{CipherError, SecretCipher};
pub use payload::{
    DeliveryPayload, EventData, OrganizationRef, PackageData, RepositoryData,
};
pub use policy::{AddressPolicy, Forbidden, TargetError, WebhookTarget};
pub use signing::{SigningSecret, UnreadableSecret, signature, signature_headers};
