//! The last known validity of API keys, for when PostgreSQL cannot be asked.
//!
//! Every time PostgreSQL confirms a key (a lookup, a revocation, a rotation) its state is
//! remembered here with the moment of confirmation: in-process, and in Valkey so that a
//! freshly started or second instance knows it too. While PostgreSQL is unavailable the
//! [`Authenticator`](super::Authenticator) accepts a key whose last confirmation lies
//! within `[api.auth] outage_grace_secs`, with its last known tier and limit.
//!
//! Valkey holds two entries per key, both named after a SHA-256 of the key's hash (so the
//! stored hash itself never leaves PostgreSQL):
//! - `…:known`: the key's state as last confirmed, kept for the grace;
//! - `…:revoked`: when it is (or will be) revoked, written by every revocation and every
//!   confirmation of a revoked key, kept until the grace after that moment has passed. A
//!   separate entry so that an instance confirming the key just before the revocation can
//!   never overwrite it with "valid".
//!
//! A revocation from either place wins over any "valid"; otherwise the newest
//! confirmation counts. Valkey failing is never an error here: the in-process memory
//! answers alone (keys this instance has seen).

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use chrono::{DateTime, Utc};
use fred::{
    clients::{Client, WithOptions},
    interfaces::{ClientLike, KeysInterface},
    types::{Expiration, config::Options},
};
use moka::future::Cache;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use wump_core::settings::AuthSettings;
use wump_db::{Keys, ValkeyPool, tables::api_keys::ApiKey};

use super::{KeyHash, Tier};

/// A key's state as PostgreSQL last confirmed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownKey {
    pub id: Uuid,
    pub prefix: String,
    pub tier: Tier,
    pub rate_limit: Option<u32>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When PostgreSQL said so.
    pub confirmed_at: DateTime<Utc>,
}

impl KnownKey {
    /// The state of a stored key as read at `now`.
    pub fn confirmed(stored: &ApiKey, now: DateTime<Utc>) -> Self {
        Self {
            id: stored.id,
            prefix: stored.prefix.clone(),
            tier: stored.tier,
            rate_limit: stored.rate_limit.and_then(|l| u32::try_from(l).ok()),
            expires_at: stored.expires_at,
            revoked_at: stored.revoked_at,
            confirmed_at: now,
        }
    }

    /// Whether it is revoked at `now`.
    pub fn is_revoked_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_some_and(|at| at <= now)
    }

    /// Whether it has expired at `now`.
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// The earlier of two optional moments (`None` is "never").
fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Last known validity of keys, in-process and in Valkey.
pub struct LastKnown {
    grace: Duration,
    local: Cache<KeyHash, KnownKey>,
    valkey: ValkeyPool,
    keys: Keys,
    timeout: Duration,
    /// The last write to Valkey failed (logged once per switch, not once per key).
    writes_failing: AtomicBool,
}

impl std::fmt::Debug for LastKnown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LastKnown")
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl LastKnown {
    /// Last known validity from `[api.auth]`, its Valkey keys spelled by `keys`.
    pub fn new(settings: &AuthSettings, valkey: ValkeyPool, keys: impl Into<Keys>) -> Self {
        let grace = Duration::from_secs(settings.outage_grace_secs);
        let local = Cache::builder()
            .max_capacity(settings.key_cache_capacity.max(1))
            .time_to_live(grace.max(Duration::from_millis(1)))
            .build();
        Self {
            grace,
            local,
            valkey,
            keys: keys.into(),
            timeout: Duration::from_millis(settings.valkey_timeout_ms.max(1)),
            writes_failing: AtomicBool::new(false),
        }
    }

    /// Whether keys may be accepted on their last known validity at all.
    pub fn enabled(&self) -> bool {
        !self.grace.is_zero()
    }

    /// How long a confirmation counts while PostgreSQL cannot be asked.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// Remembers a key just read from PostgreSQL (created, revoked, rotated); whether
    /// Valkey has it (`true` too when the grace is off and there is nothing to store).
    pub async fn remember_stored(&self, stored: &ApiKey) -> bool {
        let Ok(hash) = KeyHash::try_from(stored.key_hash.as_slice()) else {
            return true;
        };
        self.remember(hash, &KnownKey::confirmed(stored, Utc::now()))
            .await
    }

    /// Remembers what PostgreSQL just said about the key with hash `hash`: in-process and
    /// in Valkey (a failing Valkey is logged and skipped); whether Valkey has it.
    pub async fn remember(&self, hash: KeyHash, known: &KnownKey) -> bool {
        if !self.enabled() {
            return true;
        }
        let mut local = known.clone();
        if let Some(previous) = self.local.get(&hash).await {
            local.revoked_at = earliest(local.revoked_at, previous.revoked_at);
        }
        self.local.insert(hash, local).await;
        let Ok(value) = serde_json::to_string(known) else {
            return false;
        };
        let grace_secs = i64::try_from(self.grace.as_secs()).unwrap_or(i64::MAX);
        let (known_key, revoked_key) = self.valkey_keys(&hash);
        let mut writes = vec![(known_key, value, grace_secs)];
        if let Some(revoked_at) = known.revoked_at {
            // Kept until every confirmation of "valid" made before it is past its grace.
            let until_revoked = (revoked_at - known.confirmed_at).num_seconds().max(0);
            writes.push((
                revoked_key,
                revoked_at.to_rfc3339(),
                until_revoked.saturating_add(grace_secs),
            ));
        }
        for (key, value, secs) in writes {
            let result = self
                .valkey_call(|client| async move {
                    client
                        .set::<(), _, _>(key, value, Some(Expiration::EX(secs)), None, false)
                        .await
                })
                .await;
            if let Err(error) = result {
                if !self.writes_failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        key.prefix = known.prefix,
                        error,
                        "valkey unavailable: API keys' last known validity kept in-process only"
                    );
                }
                return false;
            }
        }
        if self.writes_failing.swap(false, Ordering::Relaxed) {
            tracing::info!("valkey back: API keys' last known validity shared again");
        }
        true
    }

    /// What is last known about the key with hash `hash`: Valkey's and this process's
    /// knowledge merged (any revocation wins, else the newest confirmation); `None` when
    /// neither knows it.
    pub async fn recall(&self, hash: &KeyHash) -> Option<KnownKey> {
        if !self.enabled() {
            return None;
        }
        let local = self.local.get(hash).await;
        let (known_key, revoked_key) = self.valkey_keys(hash);
        let remote = self
            .valkey_call(|client| async move {
                client
                    .mget::<Vec<Option<String>>, _>(vec![known_key, revoked_key])
                    .await
            })
            .await;
        let (remote_known, remote_revoked) = match remote {
            Ok(values) if values.len() == 2 => {
                let known = values[0]
                    .as_deref()
                    .and_then(|v| serde_json::from_str::<KnownKey>(v).ok());
                let revoked = values[1]
                    .as_deref()
                    .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
                    .map(|at| at.with_timezone(&Utc));
                (known, revoked)
            }
            Ok(_) => (None, None),
            Err(error) => {
                tracing::debug!(
                    error,
                    "valkey unavailable: last known key state in-process only"
                );
                (None, None)
            }
        };
        let revoked_at = [
            local.as_ref().and_then(|k| k.revoked_at),
            remote_known.as_ref().and_then(|k| k.revoked_at),
            remote_revoked,
        ]
        .into_iter()
        .fold(None, earliest);
        let mut newest = match (local, remote_known) {
            (Some(a), Some(b)) => Some(if a.confirmed_at >= b.confirmed_at {
                a
            } else {
                b
            }),
            (a, b) => a.or(b),
        }?;
        newest.revoked_at = revoked_at;
        Some(newest)
    }

    /// Whether a confirmation made at `confirmed_at` still counts at `now`.
    pub fn within_grace(&self, confirmed_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let grace = chrono::Duration::from_std(self.grace).unwrap_or(chrono::Duration::MAX);
        now.signed_duration_since(confirmed_at) < grace
    }

    /// The Valkey keys of `hash`'s state and revocation; the hash tag keeps both in one
    /// cluster slot so one `MGET` reads them.
    fn valkey_keys(&self, hash: &KeyHash) -> (String, String) {
        self.keys
            .auth(&wump_core::hex::encode(&Sha256::digest(hash)))
    }

    /// Runs one command with this store's timeout on a connected client, at once failing
    /// when none is (a client would queue the command until it reconnects; so an instance
    /// knows only its own keys until its first Valkey connection, milliseconds after start).
    async fn valkey_call<T, F, Fut>(&self, command: F) -> Result<T, String>
    where
        F: FnOnce(WithOptions<Client>) -> Fut,
        Fut: std::future::Future<Output = Result<T, fred::error::Error>>,
    {
        let client = self.valkey.next_connected();
        if !client.is_connected() {
            return Err("not connected".to_owned());
        }
        let options = Options {
            timeout: Some(self.timeout),
            max_attempts: Some(1),
            fail_fast: true,
            ..Options::default()
        };
        let client = client.with_options(&options);
        // fred's own timeout does not cover every wait: bound the call here too.
        match tokio::time::timeout(self.timeout, command(client)).await {
            Ok(answer) => answer.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_revocation_wins_and_none_is_never() {
        let t = |s: i64| DateTime::from_timestamp(s, 0);
        assert_eq!(earliest(t(5), t(3)), t(3));
        assert_eq!(earliest(None, t(3)), t(3));
        assert_eq!(earliest(t(5), None), t(5));
        assert_eq!(earliest(None, None), None);
    }
}
