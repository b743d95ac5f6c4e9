//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): the secret is
//! `whsec_` and the base64 of random bytes; a message is signed as
//! `v1,<base64 HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>`.

use aws_lc_rs::{hmac, rand::SecureRandom};
use base64::{Engine, engine::general_purpose::STANDARD};

/// The prefix of a secret as subscribers are shown it.
const PREFIX: &str = "whsec_";

/// Random bytes in a new secret: 24, as the specification's own libraries generate (it
/// asks for 24 to 64).
const SECRET_BYTES: usize = 24;

/// A subscription's signing key. `Debug` prints nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

/// A stored or given secret that is not `whsec_` followed by base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret is `whsec_` followed by base64")]
pub struct UnreadableSecret;

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(..)")
    }
}

impl SigningSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        let mut key = vec![0u8; SECRET_BYTES];
        aws_lc_rs::rand::SystemRandom::new()
            .fill(&mut key)
            .expect("the system's random source works");
        Self(key)
    }

    /// A secret from its raw key bytes (as decrypted from storage).
    pub fn from_bytes(key: Vec<u8>) -> Self {
        Self(key)
    }

    /// Reads `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Self, UnreadableSecret> {
        let encoded = text.strip_prefix(PREFIX).ok_or(UnreadableSecret)?;
        let key = STANDARD.decode(encoded).map_err(|_| UnreadableSecret)?;
        if key.is_empty() {
            return Err(UnreadableSecret);
        }
        Ok(Self(key))
    }

    /// The raw key bytes (what is encrypted for storage).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// `whsec_<base64>`: what the subscriber is shown once, and gives their verifier.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }
}

/// The `webhook-signature` value for one message: `v1,<base64 HMAC-SHA256>` over
/// `{id}.{timestamp}.{body}`.
pub fn signature(secret: &SigningSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(id.as_bytes());
    context.update(b".");
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
}

/// The three headers of a signed message, by name: `webhook-id`, `webhook-timestamp`
/// (Unix seconds) and `webhook-signature`.
pub fn signature_headers(
    secret: &SigningSecret,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> [(&'static str, String); 3] {
    [
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature(secret, id, timestamp, body)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_specifications_example() {
        // The example of the Standard Webhooks specification (spec/standard-webhooks.md).
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_random_whsec_base64_and_round_trip() {
        let a = SigningSecret::generate();
        let b = SigningSecret::generate();
        assert_ne!(a, b);
        let shown = a.reveal();
        assert!(shown.starts_with("whsec_"), "{shown}");
        assert_eq!(SigningSecret::parse(&shown).unwrap(), a);
        assert_eq!(a.as_bytes().len(), 24);
        assert!(!format!("{a:?}").contains(&shown[6..]));
        assert_eq!(SigningSecret::parse("MfKQ9r8G"), Err(UnreadableSecret));
        assert_eq!(SigningSecret::parse("whsec_!!"), Err(UnreadableSecret));
    }
}
