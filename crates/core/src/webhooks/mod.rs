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
pub use payload::{DeliveryPayload, EventData, OrganizationRef, PackageData, RepositoryData};
pub use policy::{AddressPolicy, Forbidden, MAX_URL_LEN, TargetError, WebhookTarget};
pub use signing::{SigningSecret, UnreadableSecret, signature, signature_headers};

/// What the webhook routes answer (503) and deliveries fail with while no key is set.
pub const NOT_CONFIGURED: &str = "webhooks are not configured on this server: the operator \
     must set webhooks.secret_key (environment variable WUMP__WEBHOOKS__SECRET_KEY) to the \
     base64 of 32 random bytes, e.g. `openssl rand -base64 32`";
