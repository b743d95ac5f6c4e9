//! Every key wump itself writes to Valkey, and the cache-version bump, in one place.
//!
//! Both services reach the same keys (the worker bumps the versions the api reads, the api
//! deduplicates refreshes the worker runs), so their spelling lives here and nowhere else.
//! Keys are part of the stored data: changing a spelling orphans what is in Valkey, so
//! every one is pinned by a test below. Each starts with a [`Keys`] prefix, empty in
//! production and one per test so tests sharing a server stay apart.
//!
//! The queues' own keys (`{q}:active`, `{q}:data`, ...) belong to apalis-redis under the
//! queue names of `wump_core::jobs::queue_name` (`{wump:parse:high}`), which the worker's
//! runner and the api's enqueueing must agree on without a database between them.
//!
//! | key | writer | what |
//! |---|---|---|
//! | `wump:cache-version:package:<ecosystem>:<name>` | worker | version of a package's cached answers |
//! | `wump:cache-version:organization:<host>:<login>` | worker | version of an organization's cached answers |
//! | `wump:cache:v1:<scope>:<version>:<class>:<sha256>` | api | one cached answer |
//! | `wump:ratelimit:<subject>` | api | a caller's rate-limit bucket |
//! | `wump:auth:{<sha256>}:known` / `:revoked` | api | last known validity of an API key |
//! | `wump:refresh:<ecosystem>:<name>` | api | the pending refresh of a package |
//! | `wump:refresh-job:<id>` | api | a refresh job known before it runs |
//! | `wump:admin-session:<sha256>` | api | an operator's dashboard sign-in (the token's hash) |
//! | `{wump:dead}` | both | the dead-letter list |
//! | `wump:schedule:<name>:<tick>` | worker | one replica's claim of a schedule tick |
//! | `wump:http:<request>` | worker | conditional-request cache of provider answers |
//! | `{wump:limits}:<provider>:<token>` (+ `:leases`, `:points:<api>`) | worker | fleet-wide provider limits |

use chrono::{DateTime, Utc};
use fred::prelude::*;
use uuid::Uuid;
use wump_core::Ecosystem;

use crate::{ValkeyError, ValkeyPool};

/// Most version bumps sent in one pipeline (one round trip each): an organization's
/// profile change can touch thousands of packages.
const BUMP_CHUNK: usize = 1_000;

/// The spelling of wump's Valkey keys under one prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys that start with `prefix` (empty in production).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The prefix every key starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// What every cache-version counter starts with (the API tracks them by this prefix).
    pub fn cache_versions(&self) -> String {
        format!("{}wump:cache-version:", self.prefix)
    }

    /// The version counter of everything cached about one package.
    pub fn package_version(&self, ecosystem: Ecosystem, normalized_name: &str) -> String {
        format!(
            "{}package:{ecosystem}:{normalized_name}",
            self.cache_versions()
        )
    }

    /// The version counter of everything cached about one organization.
    pub fn organization_version(&self, host: &str, login: &str) -> String {
        format!(
            "{}organization:{host}:{}",
            self.cache_versions(),
            login.to_lowercase()
        )
    }

    /// One cached answer: `scope` (e.g. `package:npm:left-pad`), the scope's version (`?`
    /// when Valkey could not say), the answer's class and the hex SHA-256 of its variant.
    pub fn cache_entry(
        &self,
        scope: &str,
        version: Option<u64>,
        class: &str,
        variant_sha256: &str,
    ) -> String {
        let version = version.map_or_else(|| "?".to_owned(), |v| v.to_string());
        format!(
            "{}wump:cache:v1:{scope}:{version}:{class}:{variant_sha256}",
            self.prefix
        )
    }

    /// A caller's rate-limit bucket (`subject` is `key:<id>` or `ip:<address>`).
    pub fn rate_limit(&self, subject: &str) -> String {
        format!("{}wump:ratelimit:{subject}", self.prefix)
    }

    /// The last known validity of an API key, by the hex SHA-256 of its lookup prefix:
    /// the `known` and `revoked` keys (one hash slot, so one script can touch both).
    pub fn auth(&self, prefix_sha256: &str) -> (String, String) {
        let base = format!("{}wump:auth:{{{prefix_sha256}}}", self.prefix);
        (format!("{base}:known"), format!("{base}:revoked"))
    }

    /// The pending on-demand refresh of a package: holds its job id.
    pub fn refresh_pending(&self, ecosystem: Ecosystem, name: &str) -> String {
        format!(
            "{}wump:refresh:{ecosystem}:{}",
            self.prefix,
            ecosystem.normalize_name(name)
        )
    }

    /// A refresh job the status endpoint knows before the worker has written any row.
    pub fn refresh_job(&self, id: Uuid) -> String {
        format!("{}wump:refresh-job:{id}", self.prefix)
    }

    /// An operator's sign-in to the dashboard, by the hex SHA-256 of its cookie's token
    /// (the token itself is never stored).
    pub fn admin_session(&self, token_sha256: &str) -> String {
        format!("{}wump:admin-session:{token_sha256}", self.prefix)
    }

    /// The dead-letter list of the queues.
    pub fn dead_letters(&self) -> String {
        format!("{}{{wump:dead}}", self.prefix)
    }

    /// The claim that lets one replica, and only one, enqueue schedule `name`'s `tick`.
    pub fn schedule_tick(&self, name: &str, tick: DateTime<Utc>) -> String {
        format!("{}wump:schedule:{name}:{}", self.prefix, tick.timestamp())
    }

    /// The prefix of the provider HTTP cache (the provider's own key follows).
    pub fn http_cache(&self) -> String {
        format!("{}wump:http:", self.prefix)
    }

    /// The fleet-wide limits hash of `provider`'s `token` (a fingerprint, or the host for a
    /// registry); its leases and points keys append `:leases` and `:points:<api>`.
    pub fn fleet_limits(&self, provider: &str, token: &str) -> String {
        format!("{}{{wump:limits}}:{provider}:{token}", self.prefix)
    }

    /// Invalidates every cached answer under these version counters (from
    /// [`Keys::package_version`] / [`Keys::organization_version`]) by incrementing them.
    pub async fn bump_versions(pool: &ValkeyPool, versions: &[String]) -> Result<(), ValkeyError> {
        for chunk in versions.chunks(BUMP_CHUNK) {
            let pipeline = pool.next().pipeline();
            for key in chunk {
                let () = pipeline.incr(key).await?;
            }
            let _: Vec<i64> = pipeline.all().await?;
        }
        Ok(())
    }
}

impl From<String> for Keys {
    fn from(prefix: String) -> Self {
        Self::new(prefix)
    }
}

impl From<&str> for Keys {
    fn from(prefix: &str) -> Self {
        Self::new(prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spellings of the data already in Valkey: these must never change.
    #[test]
    fn every_key_keeps_its_stored_spelling() {
        let keys = Keys::new("t1:");
        let id = Uuid::nil();
        let tick = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        for (key, expected) in [
            (
                keys.package_version(Ecosystem::Npm, "left-pad"),
                "t1:wump:cache-version:package:npm:left-pad",
            ),
            (
                keys.organization_version("github.com", "Rust-Lang"),
                "t1:wump:cache-version:organization:github.com:rust-lang",
            ),
            (
                keys.cache_entry("package:npm:x", Some(3), "dependents", "ab"),
                "t1:wump:cache:v1:package:npm:x:3:dependents:ab",
            ),
            (
                keys.cache_entry("global", None, "search", "ab"),
                "t1:wump:cache:v1:global:?:search:ab",
            ),
            (
                keys.rate_limit("ip:1.2.3.4"),
                "t1:wump:ratelimit:ip:1.2.3.4",
            ),
            (keys.auth("ab").0, "t1:wump:auth:{ab}:known"),
            (keys.auth("ab").1, "t1:wump:auth:{ab}:revoked"),
            (
                keys.refresh_pending(Ecosystem::Pypi, "Django_Rest"),
                "t1:wump:refresh:pypi:django-rest",
            ),
            (
                keys.refresh_job(id),
                "t1:wump:refresh-job:00000000-0000-0000-0000-000000000000",
            ),
            (keys.admin_session("ab"), "t1:wump:admin-session:ab"),
            (keys.dead_letters(), "t1:{wump:dead}"),
            (
                keys.schedule_tick("scrape", tick),
                "t1:wump:schedule:scrape:1700000000",
            ),
            (keys.http_cache(), "t1:wump:http:"),
            (
                keys.fleet_limits("github", "fp"),
                "t1:{wump:limits}:github:fp",
            ),
        ] {
            assert_eq!(key, expected);
        }
    }
}
