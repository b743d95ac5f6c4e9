//! What the webhook jobs need at run time: the settings, the key the secrets are
//! encrypted under, the address policy and the HTTP client that enforces it
//! ([`client`]).

mod client;

use std::sync::Arc;

use wump_core::{
    settings::WebhookSettings,
    webhooks::{AddressPolicy, NOT_CONFIGURED, SecretCipher},
};

pub use client::{SendError, Sent, WebhookClient};

/// Shared by the dispatch and deliver runs; cheap to clone.
#[derive(Debug, Clone)]
pub struct Webhooks {
    pub settings: WebhookSettings,
    /// `None` while `webhooks.secret_key` is unset: deliveries fail, saying so.
    cipher: Option<Arc<SecretCipher>>,
    pub client: WebhookClient,
    /// Where packages are linked from payloads (`api.public_url`).
    pub public_url: String,
}

impl Webhooks {
    /// From the settings; fails on a malformed key or allowed range (an operator's
    /// mistake, better found at start than at the first delivery).
    pub fn new(settings: &WebhookSettings, public_url: &str) -> anyhow::Result<Self> {
        let cipher = match &settings.secret_key {
            Some(key) => {
                use secrecy::ExposeSecret;
                Some(Arc::new(SecretCipher::from_base64(key.expose_secret())?))
            }
            None => None,
        };
        let policy = AddressPolicy::new(&settings.allowed_networks).map_err(anyhow::Error::msg)?;
        Ok(Self {
            settings: settings.clone(),
            cipher,
            client: WebhookClient::new(settings, policy)?,
            public_url: public_url.trim_end_matches('/').to_owned(),
        })
    }

    /// The cipher, or why there is none.
    pub fn cipher(&self) -> Result<&SecretCipher, &'static str> {
        self.cipher.as_deref().ok_or(NOT_CONFIGURED)
    }
}

impl Default for Webhooks {
    fn default() -> Self {
        Self::new(&WebhookSettings::default(), "http://127.0.0.1:8080")
            .expect("the default webhook settings are valid")
    }
}
