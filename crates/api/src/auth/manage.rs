//! Creating, listing, revoking and rotating keys: the operations behind `wump-api keys …`
//! and the admin endpoints, so both validate the same way.
//!
//! Rotation issues a new key with the old one's name, tier, limit and expiry, and revokes
//! the old key — at once by default, or after a grace period during which both work (so a
//! deployment can switch keys without a gap). A revoked or expired key cannot be rotated:
//! create a new one.

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::SecretString;
use uuid::Uuid;
use wump_db::{
    DbError,
    tables::api_keys::{self, ApiKey, NewApiKey},
};

use super::{Tier, key};

/// Longest key name (the database's limit).
pub const MAX_NAME_LEN: usize = 200;
/// Longest expiry, in days.
pub const MAX_EXPIRY_DAYS: u32 = 3_650;
/// Highest per-key limit, in requests per minute.
pub const MAX_RATE_LIMIT: u32 = 1_000_000;
/// Longest rotation grace period, in minutes (a week).
pub const MAX_GRACE_MINUTES: u32 = 7 * 24 * 60;

/// What a new key should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    pub name: String,
    pub tier: Tier,
    /// Days until it expires; `None`: never.
    pub expires_in_days: Option<u32>,
    /// Requests per minute instead of the tier's.
    pub rate_limit: Option<u32>,
}

/// A key just created: the key itself (shown once) and what was stored.
#[derive(Debug)]
pub struct CreatedKey {
    pub key: SecretString,
    pub stored: ApiKey,
}

/// A key operation that cannot be done.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A field of the request is invalid.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// No key has this prefix.
    #[error("no API key with prefix `{0}`")]
    UnknownPrefix(String),
    /// The key is revoked or expired.
    #[error("the key `{prefix}` is {state}; create a new key instead")]
    Inactive { prefix: String, state: &'static str },
    #[error(transparent)]
    Randomness(#[from] key::NoRandomness),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for KeyError {
    fn from(err: diesel::result::Error) -> Self {
        KeyError::Db(err.into())
    }
}

impl KeySpec {
    /// Checks the spec before anything is stored.
    pub fn validate(&self) -> Result<(), KeyError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
            return Err(invalid(
                "name",
                format!("must be 1 to {MAX_NAME_LEN} characters"),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid("name", "must not contain control characters"));
        }
        if self.tier == Tier::Anonymous {
            return Err(invalid(
                "tier",
                "must be one of free, standard, premium, admin",
            ));
        }
        if self
            .expires_in_days
            .is_some_and(|d| d == 0 || d > MAX_EXPIRY_DAYS)
        {
            return Err(invalid(
                "expires_in_days",
                format!("must be 1 to {MAX_EXPIRY_DAYS}"),
            ));
        }
        if self
            .rate_limit
            .is_some_and(|l| l == 0 || l > MAX_RATE_LIMIT)
        {
            return Err(invalid(
                "rate_limit",
                format!("must be 1 to {MAX_RATE_LIMIT} requests per minute"),
            ));
        }
        Ok(())
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> KeyError {
    KeyError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// Creates a key; the returned key is the only copy there will ever be.
pub async fn create(conn: &mut AsyncPgConnection, spec: &KeySpec) -> Result<CreatedKey, KeyError> {
    spec.validate()?;
    let expires_at = spec
        .expires_in_days
        .map(|days| Utc::now() + Duration::days(i64::from(days)));
    insert(
        conn,
        spec.name.trim(),
        spec.tier,
        spec.rate_limit.map(|l| l as i32),
        expires_at,
    )
    .await
}

async fn insert(
    conn: &mut AsyncPgConnection,
    name: &str,
    tier: Tier,
    rate_limit: Option<i32>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<CreatedKey, KeyError> {
    let generated = key::generate()?;
    let stored = api_keys::insert(
        conn,
        &NewApiKey {
            id: Uuid::now_v7(),
            name,
            key_hash: &generated.hash,
            prefix: &generated.prefix,
            tier,
            rate_limit,
            expires_at,
        },
    )
    .await?;
    Ok(CreatedKey {
        key: generated.key,
        stored,
    })
}

/// Every key, newest first.
pub async fn list(conn: &mut AsyncPgConnection) -> Result<Vec<ApiKey>, KeyError> {
    Ok(api_keys::list(conn).await?)
}

/// Revokes the key with `prefix` now; revoking twice keeps the first time.
pub async fn revoke(conn: &mut AsyncPgConnection, prefix: &str) -> Result<ApiKey, KeyError> {
    api_keys::revoke(conn, prefix, Utc::now())
        .await?
        .ok_or_else(|| KeyError::UnknownPrefix(prefix.to_owned()))
}

/// Issues a replacement for the key with `prefix` and revokes the old key after
/// `grace_minutes` (0: now), in one transaction. Returns the new key and the old one.
pub async fn rotate(
    conn: &mut AsyncPgConnection,
    prefix: &str,
    grace_minutes: u32,
) -> Result<(CreatedKey, ApiKey), KeyError> {
    if grace_minutes > MAX_GRACE_MINUTES {
        return Err(invalid(
            "grace_minutes",
            format!("must be at most {MAX_GRACE_MINUTES}"),
        ));
    }
    let prefix = prefix.to_owned();
    conn.transaction(async |conn| {
        let now = Utc::now();
        let old = api_keys::find_by_prefix(conn, &prefix)
            .await?
            .ok_or_else(|| KeyError::UnknownPrefix(prefix.clone()))?;
        let inactive = if old.is_revoked_at(now) {
            Some("revoked")
        } else if old.is_expired_at(now) {
            Some("expired")
        } else {
            None
        };
        if let Some(state) = inactive {
            return Err(KeyError::Inactive {
                prefix: prefix.clone(),
                state,
            });
        }
        let created = insert(conn, &old.name, old.tier, old.rate_limit, old.expires_at).await?;
        let revoke_at = now + Duration::minutes(i64::from(grace_minutes));
        let old = api_keys::revoke(conn, &prefix, revoke_at)
            .await?
            .ok_or_else(|| KeyError::UnknownPrefix(prefix.clone()))?;
        Ok((created, old))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> KeySpec {
        KeySpec {
            name: "ci".into(),
            tier: Tier::Free,
            expires_in_days: None,
            rate_limit: None,
        }
    }

    #[test]
    fn specs_are_validated_field_by_field() {
        assert!(spec().validate().is_ok());
        let field = |s: KeySpec| match s.validate() {
            Err(KeyError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(KeySpec {
                name: " ".into(),
                ..spec()
            }),
            "name"
        );
        assert_eq!(
            field(KeySpec {
                name: "a\nb".into(),
                ..spec()
            }),
            "name"
        );
        assert_eq!(
            field(KeySpec {
                name: "x".repeat(201),
                ..spec()
            }),
            "name"
        );
        assert_eq!(
            field(KeySpec {
                tier: Tier::Anonymous,
                ..spec()
            }),
            "tier"
        );
        assert_eq!(
            field(KeySpec {
                expires_in_days: Some(0),
                ..spec()
            }),
            "expires_in_days"
        );
        assert_eq!(
            field(KeySpec {
                rate_limit: Some(0),
                ..spec()
            }),
            "rate_limit"
        );
    }
}
