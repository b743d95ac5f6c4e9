//! Webhook subscriptions as the API manages them: the settings, the key secrets are
//! encrypted under, and the checks a URL passes before it is stored (scheme, literal
//! address, and every address its host resolves to, against the same policy the worker
//! applies at delivery; docs/webhooks.md).

use std::{net::IpAddr, time::Duration};

use secrecy::ExposeSecret;
use wump_core::{
    settings::WebhookSettings,
    webhooks::{AddressPolicy, NOT_CONFIGURED, SecretCipher, TargetError, WebhookTarget},
};

use crate::problem::ApiError;

/// How long resolving a subscription's host may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The webhook side of the API's state.
#[derive(Debug)]
pub struct WebhookConfig {
    pub settings: WebhookSettings,
    /// The cipher, or why there is none (no key, or one that is not 32 bytes of base64).
    cipher: Result<SecretCipher, String>,
    policy: AddressPolicy,
}

impl WebhookConfig {
    /// From the settings. A malformed key or allowed range leaves webhooks unavailable
    /// (503 saying why); `wump-api` refuses to start with one (see [`Self::check`]).
    pub fn new(settings: &WebhookSettings) -> Self {
        let policy = AddressPolicy::new(&settings.allowed_networks);
        let cipher = match (&settings.secret_key, &policy) {
            (_, Err(e)) => Err(e.clone()),
            (None, _) => Err(NOT_CONFIGURED.to_owned()),
            (Some(key), _) => {
                SecretCipher::from_base64(key.expose_secret()).map_err(|e| e.to_string())
            }
        };
        Self {
            settings: settings.clone(),
            cipher,
            policy: policy.unwrap_or_default(),
        }
    }

    /// Fails on settings that are present but malformed (a missing key is fine: webhooks
    /// are then off).
    pub fn check(settings: &WebhookSettings) -> Result<(), String> {
        AddressPolicy::new(&settings.allowed_networks)?;
        if let Some(key) = &settings.secret_key {
            SecretCipher::from_base64(key.expose_secret()).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The cipher, or the 503 saying how to configure one.
    pub fn cipher(&self) -> Result<&SecretCipher, ApiError> {
        self.cipher
            .as_ref()
            .map_err(|reason| ApiError::NotConfigured(reason.clone()))
    }

    /// Checks `url` as a delivery target: https (or http where allowed), no credentials,
    /// and no address the policy refuses — the literal one, or every one its host
    /// resolves to now. A 422 naming `url` says which rule it broke.
    pub async fn check_url(&self, url: &str) -> Result<String, ApiError> {
        let refused = |e: TargetError| ApiError::Unprocessable {
            field: "url".into(),
            reason: e.to_string(),
        };
        let target =
            WebhookTarget::parse(url, self.settings.allow_http, &self.policy).map_err(refused)?;
        if target.literal_ip().is_none() {
            let host = target.host();
            let lookup = tokio::net::lookup_host((host.as_str(), target.port()));
            let addresses: Vec<IpAddr> = match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                Ok(Ok(addresses)) => addresses.map(|a| a.ip()).collect(),
                Ok(Err(e)) => return Err(refused(TargetError::Unresolvable(e.to_string()))),
                Err(_) => {
                    return Err(refused(TargetError::Unresolvable(format!(
                        "no answer within {} s",
                        RESOLVE_TIMEOUT.as_secs()
                    ))));
                }
            };
            if addresses.is_empty() {
                return Err(refused(TargetError::Unresolvable("no addresses".into())));
            }
            for address in addresses {
                self.policy.check(address).map_err(|e| refused(e.into()))?;
            }
        }
        Ok(target.url().to_string())
    }
}
