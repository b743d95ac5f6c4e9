//! Subscription secrets at rest: AES-256-GCM with a random nonce per secret, under the
//! operator's key (`webhooks.secret_key`, 32 bytes in base64). A row alone never reveals a
//! secret; the key lives in configuration, not in the database.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::{Engine, engine::general_purpose::STANDARD};

use super::SigningSecret;

/// What binds a ciphertext to its purpose: a ciphertext from elsewhere under the same key
/// does not open as a webhook secret.
const AAD: &[u8] = b"wump webhook secret v1";

/// Encrypts and decrypts subscription secrets. `Debug` prints nothing of the key.
pub struct SecretCipher(RandomizedNonceKey);

/// Why a key or a ciphertext was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// `webhooks.secret_key` is not the base64 of 32 bytes.
    #[error(
        "webhooks.secret_key must be the base64 of 32 random bytes (e.g. `openssl rand -base64 32`)"
    )]
    BadKey,
    /// A stored secret does not open under this key (another key, or damaged).
    #[error("the stored webhook secret does not decrypt under webhooks.secret_key")]
    Undecryptable,
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretCipher(..)")
    }
}

impl SecretCipher {
    /// A cipher under `key`, the base64 of 32 bytes.
    pub fn from_base64(key: &str) -> Result<Self, CipherError> {
        let bytes = STANDARD
            .decode(key.trim())
            .map_err(|_| CipherError::BadKey)?;
        if bytes.len() != 32 {
            return Err(CipherError::BadKey);
        }
        RandomizedNonceKey::new(&AES_256_GCM, &bytes)
            .map(Self)
            .map_err(|_| CipherError::BadKey)
    }

    /// `nonce ‖ ciphertext ‖ tag` of `secret` (what `secret_ciphertext` holds).
    pub fn encrypt(&self, secret: &SigningSecret) -> Vec<u8> {
        let mut sealed = secret.as_bytes().to_vec();
        let nonce = self
            .0
            .seal_in_place_append_tag(Aad::from(AAD), &mut sealed)
            .expect("AES-GCM seals any secret of a sane size");
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// The secret in `stored`.
    pub fn decrypt(&self, stored: &[u8]) -> Result<SigningSecret, CipherError> {
        if stored.len() < NONCE_LEN {
            return Err(CipherError::Undecryptable);
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| CipherError::Undecryptable)?;
        let mut in_out = sealed.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(AAD), &mut in_out)
            .map_err(|_| CipherError::Undecryptable)?;
        Ok(SigningSecret::from_bytes(plain.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn secrets_round_trip_and_never_appear_in_the_ciphertext() {
        let cipher = SecretCipher::from_base64(KEY).unwrap();
        let secret = SigningSecret::generate();
        let stored = cipher.encrypt(&secret);
        let again = cipher.encrypt(&secret);
        assert_ne!(stored, again, "a fresh nonce each time");
        assert!(
            !stored
                .windows(secret.as_bytes().len())
                .any(|w| w == secret.as_bytes())
        );
        assert_eq!(cipher.decrypt(&stored).unwrap(), secret);
    }

    #[test]
    fn another_key_or_a_damaged_row_does_not_decrypt() {
        let cipher = SecretCipher::from_base64(KEY).unwrap();
        let other =
            SecretCipher::from_base64("HxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo=").unwrap();
        let mut stored = cipher.encrypt(&SigningSecret::generate());
        assert_eq!(other.decrypt(&stored), Err(CipherError::Undecryptable));
        *stored.last_mut().unwrap() ^= 1;
        assert_eq!(cipher.decrypt(&stored), Err(CipherError::Undecryptable));
        assert_eq!(cipher.decrypt(&[1, 2]), Err(CipherError::Undecryptable));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert_eq!(
            SecretCipher::from_base64("c2hvcnQ=").unwrap_err(),
            CipherError::BadKey
        );
        assert_eq!(
            SecretCipher::from_base64("not base64!").unwrap_err(),
            CipherError::BadKey
        );
        assert!(!format!("{:?}", SecretCipher::from_base64(KEY).unwrap()).contains(KEY));
    }
}
