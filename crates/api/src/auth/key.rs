//! What an API key looks like: `wump_<prefix>_<secret>`, where the prefix is 8 characters
//! kept in clear (to find and list keys) and the secret is 32 random bytes from the
//! operating system, base64url without padding. Only the SHA-256 of the whole key is
//! stored; the key itself is shown once and lives in a [`SecretString`] so that `Debug`
//! never prints it.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::{TryRng, rngs::SysRng};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What every key starts with, so leaked keys are easy to recognise (secret scanners).
pub const KEY_START: &str = "wump_";
/// Length of the visible prefix.
pub const PREFIX_LEN: usize = 8;
/// Random bytes in the secret part.
pub const SECRET_BYTES: usize = 32;
/// The prefix alphabet: lower-case letters and digits without look-alikes; 32 symbols,
/// so one random byte masked to 5 bits picks one without bias.
const PREFIX_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
/// Characters of the base64url encoding of [`SECRET_BYTES`].
const SECRET_LEN: usize = (SECRET_BYTES * 4).div_ceil(3);
/// Length of a whole key.
pub const KEY_LEN: usize = KEY_START.len() + PREFIX_LEN + 1 + SECRET_LEN;

/// SHA-256 of a whole key: what the database stores and the in-process cache is keyed by.
pub type KeyHash = [u8; 32];

/// A freshly generated key: the key (shown once), its prefix and its hash.
#[derive(Debug)]
pub struct GeneratedKey {
    pub key: SecretString,
    pub prefix: String,
    pub hash: KeyHash,
}

/// The operating system could not provide randomness.
#[derive(Debug, thiserror::Error)]
#[error("no randomness from the operating system: {0}")]
pub struct NoRandomness(String);

/// Generates a new key from the operating system's random number generator.
pub fn generate() -> Result<GeneratedKey, NoRandomness> {
    let mut prefix_bytes = [0u8; PREFIX_LEN];
    let mut secret = [0u8; SECRET_BYTES];
    SysRng
        .try_fill_bytes(&mut prefix_bytes)
        .and_then(|()| SysRng.try_fill_bytes(&mut secret))
        .map_err(|e| NoRandomness(e.to_string()))?;
    let prefix: String = prefix_bytes
        .iter()
        .map(|b| PREFIX_ALPHABET[usize::from(b & 31)] as char)
        .collect();
    let key = format!("{KEY_START}{prefix}_{}", URL_SAFE_NO_PAD.encode(secret));
    let hash = hash(&key);
    Ok(GeneratedKey {
        key: SecretString::from(key),
        prefix,
        hash,
    })
}

/// SHA-256 of `key`.
pub fn hash(key: &str) -> KeyHash {
    Sha256::digest(key.as_bytes()).into()
}

/// Whether two hashes are equal, in time independent of where they differ.
pub fn hashes_equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A key as presented in `X-API-Key`, checked for shape only.
pub struct PresentedKey {
    key: SecretString,
    prefix_end: usize,
}

impl std::fmt::Debug for PresentedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedKey")
            .field("prefix", &self.prefix())
            .finish_non_exhaustive()
    }
}

impl PresentedKey {
    /// Checks the shape of `raw`; `None` when it cannot be a key we issued.
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(KEY_START)?;
        if raw.len() != KEY_LEN {
            return None;
        }
        let (prefix, secret) = rest.split_at(PREFIX_LEN);
        let secret = secret.strip_prefix('_')?;
        let prefix_ok = prefix.bytes().all(|b| PREFIX_ALPHABET.contains(&b));
        let secret_ok = URL_SAFE_NO_PAD
            .decode(secret)
            .is_ok_and(|bytes| bytes.len() == SECRET_BYTES);
        (prefix_ok && secret_ok).then(|| Self {
            key: SecretString::from(raw),
            prefix_end: KEY_START.len() + PREFIX_LEN,
        })
    }

    /// The visible prefix.
    pub fn prefix(&self) -> &str {
        &self.key.expose_secret()[KEY_START.len()..self.prefix_end]
    }

    /// SHA-256 of the whole key.
    pub fn hash(&self) -> KeyHash {
        hash(self.key.expose_secret())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back_with_their_prefix_and_hash() {
        let generated = generate().unwrap();
        let key = generated.key.expose_secret();
        assert_eq!(key.len(), KEY_LEN);
        assert!(key.starts_with(&format!("wump_{}_", generated.prefix)));
        let parsed = PresentedKey::parse(key).expect("a generated key parses");
        assert_eq!(parsed.prefix(), generated.prefix);
        assert_eq!(parsed.hash(), generated.hash);
    }

    #[test]
    fn two_keys_differ() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        assert_ne!(a.key.expose_secret(), b.key.expose_secret());
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn malformed_keys_are_refused() {
        let good = generate().unwrap().key.expose_secret().to_owned();
        let cases = [
            String::new(),
            "wump_".into(),
            good.replacen("wump_", "wimp_", 1),
            good[..good.len() - 1].into(),
            format!("{good}A"),
            good.replacen('_', "-", 2),
            // An upper-case prefix is not ours.
            format!("wump_ABCDEFGH{}", &good[13..]),
        ];
        for case in cases {
            assert!(PresentedKey::parse(&case).is_none(), "{case:?} parsed");
        }
    }

    #[test]
    fn debug_never_prints_the_key() {
        let generated = generate().unwrap();
        let secret = generated.key.expose_secret().to_owned();
        let printed = format!("{generated:?}");
        assert!(!printed.contains(&secret[14..]), "{printed}");
        let parsed = PresentedKey::parse(&secret).unwrap();
        let printed = format!("{parsed:?}");
        assert!(!printed.contains(&secret[14..]), "{printed}");
        assert!(printed.contains(&generated.prefix));
    }

    #[test]
    fn hash_comparison_is_exact() {
        let a = hash("wump_a");
        assert!(hashes_equal(&a, &hash("wump_a")));
        assert!(!hashes_equal(&a, &hash("wump_b")));
        assert!(!hashes_equal(&a, &a[..31]));
    }
}
