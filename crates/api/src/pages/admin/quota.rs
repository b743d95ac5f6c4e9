//! The providers' quota per token, as every worker shares it in Valkey
//! (`wump_worker::fleet_limits`, the `wump_providers::fleet` store): one hash per provider
//! and token fingerprint, `{wump:limits}:<provider>:<fingerprint>`, with per resource
//! `r:<resource>` (remaining), `l:<resource>` (limit) and `t:<resource>` (reset, ms since
//! the epoch by Valkey's clock), and `nb` (no request before, ms) after a secondary limit.
//!
//! The API holds no provider token, so it finds the hashes by `SCAN`ning (through its own
//! fred pool) for the key pattern, at most [`MAX_SCAN_CALLS`] pages of [`SCAN_COUNT`] keys: a keyspace larger than
//! that (a big response cache) is shown as partial rather than scanned for seconds.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use fred::{
    interfaces::{HashesInterface, KeysInterface},
    types::scan::ScanType,
};
use wump_db::{Keys, ValkeyPool};

/// Keys Valkey looks at per `SCAN` call.
const SCAN_COUNT: u32 = 1_000;
/// Most `SCAN` calls per page view (so at most 200 000 keys looked at).
const MAX_SCAN_CALLS: usize = 200;
/// Most token hashes read.
const MAX_TOKENS: usize = 200;
/// Characters of a fingerprint shown, as in metrics and logs (`wump_providers::fleet::label`).
const LABEL_LEN: usize = 8;

/// One bucket of one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TokenQuota {
    pub provider: String,
    /// The first characters of the token's fingerprint (never the token).
    pub label: String,
    pub resource: String,
    pub remaining: Option<u64>,
    pub limit: Option<u64>,
    pub reset: Option<DateTime<Utc>>,
    /// No request before this (a secondary limit's wait), when still ahead.
    pub waiting_until: Option<DateTime<Utc>>,
}

/// What the scan found.
#[derive(Debug, Default)]
pub(super) struct Quotas {
    pub tokens: Vec<TokenQuota>,
    /// The scan stopped before the whole keyspace was looked at.
    pub partial: bool,
}

/// Escapes the glob characters of a key prefix for `SCAN MATCH`.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `(provider, fingerprint)` of a token's hash key under `base` (`…{wump:limits}:`); `None`
/// for its leases and points keys and for a registry's `host` hash.
fn token_of<'a>(key: &'a str, base: &str) -> Option<(&'a str, &'a str)> {
    let (provider, token) = key.strip_prefix(base)?.split_once(':')?;
    (!provider.is_empty() && !token.is_empty() && !token.contains(':') && token != "host")
        .then_some((provider, token))
}

fn instant(ms: Option<&String>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms?.parse().ok()?)
}

/// The rows of one token's hash, one per resource, at `now`.
fn rows(
    provider: &str,
    fingerprint: &str,
    fields: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Vec<TokenQuota> {
    let waiting_until = instant(fields.get("nb")).filter(|at| *at > now);
    let number = |name: String| fields.get(&name).and_then(|v| v.parse::<i64>().ok());
    fields
        .keys()
        .filter_map(|field| {
            field
                .strip_prefix("r:")
                .or_else(|| field.strip_prefix("l:"))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|resource| {
            let limit = number(format!("l:{resource}")).map(|l| l.max(0).unsigned_abs());
            let reset = instant(fields.get(&format!("t:{resource}")));
            let mut remaining = number(format!("r:{resource}")).map(|r| r.max(0).unsigned_abs());
            // Past its reset a bucket is full again; the workers write that on next use.
            if reset.is_some_and(|at| at <= now) && limit.is_some() {
                remaining = limit;
            }
            TokenQuota {
                provider: provider.to_owned(),
                label: fingerprint.chars().take(LABEL_LEN).collect(),
                resource: resource.to_owned(),
                remaining,
                limit,
                reset: reset.filter(|at| *at > now),
                waiting_until,
            }
        })
        .collect()
}

/// Every token's quota the workers keep under `prefix` (the API's key prefix, then
/// `queues.key_prefix`, as the workers' store is keyed).
pub(super) async fn read(valkey: &ValkeyPool, prefix: &str) -> Result<Quotas, fred::error::Error> {
    let base = Keys::new(prefix).fleet_limits("", "");
    // `fleet_limits("", "")` ends in `::`; the provider follows the first of them.
    let base = base.trim_end_matches(':').to_owned() + ":";
    // The pattern carries the keys' `{wump:limits}` hash tag: in a cluster, one node has them all.
    let pattern = format!("{}*", glob_escape(&base));
    let client = valkey.next();
    let mut found = Vec::new();
    let mut cursor = "0".to_owned();
    let mut partial = true;
    for _ in 0..MAX_SCAN_CALLS {
        let (next, keys): (String, Vec<String>) = client
            .scan_page(
                cursor,
                pattern.clone(),
                Some(SCAN_COUNT),
                Some(ScanType::Hash),
            )
            .await?;
        found.extend(keys.into_iter().filter(|k| token_of(k, &base).is_some()));
        cursor = next;
        if cursor == "0" {
            partial = false;
            break;
        }
        if found.len() >= MAX_TOKENS {
            break;
        }
    }
    found.sort();
    found.dedup();
    found.truncate(MAX_TOKENS);
    let hashes: Vec<BTreeMap<String, String>> = if found.is_empty() {
        Vec::new()
    } else {
        let pipeline = client.pipeline();
        for key in &found {
            let () = pipeline.hgetall(key.as_str()).await?;
        }
        pipeline.all().await?
    };
    let now = Utc::now();
    let mut tokens = Vec::new();
    for (key, fields) in found.iter().zip(&hashes) {
        if let Some((provider, fingerprint)) = token_of(key, &base) {
            tokens.extend(rows(provider, fingerprint, fields, now));
        }
    }
    Ok(Quotas { tokens, partial })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_token_hashes_are_read() {
        let base = "p:{wump:limits}:";
        assert_eq!(
            token_of("p:{wump:limits}:github:0123456789abcdef", base),
            Some(("github", "0123456789abcdef"))
        );
        for other in [
            "p:{wump:limits}:github:0123456789abcdef:leases",
            "p:{wump:limits}:github:0123456789abcdef:points:rest",
            "p:{wump:limits}:npm:host",
            "q:{wump:limits}:github:0123456789abcdef",
        ] {
            assert_eq!(token_of(other, base), None, "{other}");
        }
        assert_eq!(glob_escape("t[1]*?\\"), "t\\[1\\]\\*\\?\\\\");
    }

    #[test]
    fn a_bucket_past_its_reset_is_full_and_a_past_wait_is_over() {
        let now = Utc::now();
        let ms = |at: DateTime<Utc>| at.timestamp_millis().to_string();
        let fields: BTreeMap<String, String> = [
            ("r:core", "12".to_owned()),
            ("l:core", "5000".to_owned()),
            ("t:core", ms(now + chrono::Duration::minutes(5))),
            ("r:search", "0".to_owned()),
            ("l:search", "30".to_owned()),
            ("t:search", ms(now - chrono::Duration::minutes(1))),
            ("nb", ms(now - chrono::Duration::seconds(1))),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let rows = rows("github", "0123456789abcdef", &fields, now);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].resource, "core");
        assert_eq!(rows[0].label, "01234567");
        assert_eq!((rows[0].remaining, rows[0].limit), (Some(12), Some(5000)));
        assert!(rows[0].reset.is_some());
        assert_eq!(rows[1].resource, "search");
        assert_eq!((rows[1].remaining, rows[1].limit), (Some(30), Some(30)));
        assert_eq!(rows[1].reset, None);
        assert_eq!(rows[0].waiting_until, None);
    }
}
