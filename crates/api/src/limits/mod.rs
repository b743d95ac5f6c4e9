//! Rate limits per caller (a key's id, or an anonymous caller's address), per tier from
//! `[api.rate_limits]`, enforced in Valkey by one atomic script ([`gcra::SCRIPT`]) so every
//! instance shares the count. The script goes by its SHA-1 ([`Script`]): `EVALSHA` with a
//! few dozen bytes per request, not the whole script. A busy caller's requests are mostly
//! decided in memory, from units of its budget the script granted this instance ahead of
//! use ([`lease`]); a caller making a request now and then costs one round trip each.
//!
//! When Valkey fails (an error or no answer within `valkey_timeout_ms`) the in-process
//! [`LocalLimiter`] answers with the same limits, per instance, for `valkey_retry_ms`;
//! then the next request tries Valkey again. Requests never wait on a dead Valkey for
//! longer than one timeout per retry interval, are never refused because Valkey is down,
//! and are never let through without a count. The switch is logged once each way.
//!
//! Every decision is counted in `wump.api.rate_limit.decisions` {tier, decision, backend}.

pub mod gcra;
mod lease;
mod local;

use std::{
    sync::{
        LazyLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use actix_web::http::header::{HeaderName, HeaderValue};
use fred::{interfaces::ClientLike, types::config::Options};
use opentelemetry::{KeyValue, metrics::Counter};
use wump_core::settings::RateLimitSettings;
use wump_db::{Keys, ValkeyPool, valkey::Script};

use self::gcra::{Decision, Quota};
use self::lease::Leases;
pub use self::local::LocalLimiter;
use crate::auth::Caller;

/// The limiter's script and its SHA-1, hashed once.
static GCRA: LazyLock<Script> = LazyLock::new(|| Script::new(gcra::SCRIPT));
/// The script that charges a costly request's extra units.
static CHARGE: LazyLock<Script> = LazyLock::new(|| Script::new(gcra::CHARGE_SCRIPT));

/// Which limiter decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The script in Valkey, this request.
    Valkey,
    /// A unit the script granted this instance earlier ([`lease`]).
    Lease,
    /// The in-process fallback while Valkey is unreachable.
    Local,
}

impl Backend {
    /// The metric attribute value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Backend::Valkey => "valkey",
            Backend::Lease => "lease",
            Backend::Local => "local",
        }
    }
}

/// A decision with what the response headers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub decision: Decision,
    pub quota: Quota,
    pub backend: Backend,
}

impl Verdict {
    /// How long to wait before retrying (at least a second: `Retry-After` counts seconds).
    pub fn retry_after(&self) -> Duration {
        Duration::from_secs(self.decision.retry_after_us.div_ceil(1_000_000).max(1))
    }

    /// `RateLimit-Limit/Remaining/Reset` (IETF draft) and their `X-RateLimit-*` twins:
    /// the limit is the burst, the reset the seconds until the whole burst is back.
    pub fn headers(&self) -> [(HeaderName, HeaderValue); 7] {
        let limit = HeaderValue::from(self.quota.burst);
        let remaining = HeaderValue::from(self.decision.remaining);
        let reset = HeaderValue::from(self.decision.reset_us.div_ceil(1_000_000));
        let window = (self.quota.emission_us * u64::from(self.quota.burst)).div_ceil(1_000_000);
        let policy = HeaderValue::from_str(&format!("{};w={window}", self.quota.burst))
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        [
            (HeaderName::from_static("ratelimit-limit"), limit.clone()),
            (
                HeaderName::from_static("ratelimit-remaining"),
                remaining.clone(),
            ),
            (HeaderName::from_static("ratelimit-reset"), reset.clone()),
            (HeaderName::from_static("ratelimit-policy"), policy),
            (HeaderName::from_static("x-ratelimit-limit"), limit),
            (HeaderName::from_static("x-ratelimit-remaining"), remaining),
            (HeaderName::from_static("x-ratelimit-reset"), reset),
        ]
    }
}

/// The API's rate limiter.
pub struct RateLimiter {
    valkey: ValkeyPool,
    keys: Keys,
    settings: RateLimitSettings,
    leases: Leases,
    local: LocalLimiter,
    /// Valkey failed; the local limiter answers until `retry_at_us`.
    valkey_down: AtomicBool,
    retry_at_us: AtomicU64,
    decisions: Counter<u64>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("settings", &self.settings)
            .field("valkey_down", &self.valkey_down)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter over `valkey`, its keys spelled by `keys`. Create after telemetry is
    /// initialised (the decision counter comes from the global meter provider).
    pub fn new(valkey: ValkeyPool, keys: impl Into<Keys>, settings: RateLimitSettings) -> Self {
        let decisions = opentelemetry::global::meter("wump-api")
            .u64_counter("wump.api.rate_limit.decisions")
            .with_description("Rate limiter decisions by tier, decision and backend")
            .build();
        Self {
            leases: Leases::new(
                settings.lease_max,
                settings.lease_ms,
                settings.local_capacity,
            ),
            local: LocalLimiter::new(settings.local_capacity),
            valkey,
            keys: keys.into(),
            settings,
            valkey_down: AtomicBool::new(false),
            retry_at_us: AtomicU64::new(0),
            decisions,
        }
    }

    /// Decides one request of `caller`; `None` when its tier is unlimited.
    pub async fn check(&self, caller: &Caller) -> Option<Verdict> {
        let quota = Quota::new(caller.tier.limit(&self.settings), caller.limit)?;
        let subject = caller.limit_subject();
        let verdict = self.decide(&subject, quota).await;
        let decision = if verdict.decision.allowed {
            "allowed"
        } else {
            "limited"
        };
        self.decisions.add(
            1,
            &[
                KeyValue::new("tier", caller.tier.as_str()),
                KeyValue::new("decision", decision),
                KeyValue::new("backend", verdict.backend.as_str()),
            ],
        );
        Some(verdict)
    }

    /// Takes `units` more of `caller`'s budget for a request that cost more than one (an
    /// export), past its burst if need be, so its next requests wait; nothing for an
    /// unlimited tier. In Valkey unless it failed recently, else in the local limiter.
    pub async fn charge(&self, caller: &Caller, units: u32) {
        let Some(quota) = Quota::new(caller.tier.limit(&self.settings), caller.limit) else {
            return;
        };
        if units == 0 {
            return;
        }
        let subject = caller.limit_subject();
        let down = self.valkey_down.load(Ordering::Relaxed)
            && now_us() < self.retry_at_us.load(Ordering::Relaxed);
        let client = self.valkey.next();
        if !down && client.is_connected() {
            let timeout = Duration::from_millis(self.settings.valkey_timeout_ms.max(1));
            let options = Options {
                timeout: Some(timeout),
                max_attempts: Some(1),
                fail_fast: true,
                ..Options::default()
            };
            let client = client.with_options(&options);
            let keys = [self.keys.rate_limit(&subject)];
            let args = [quota.emission_us.to_string(), units.to_string()];
            let call = CHARGE.call(&client, &keys, &args);
            match tokio::time::timeout(timeout, call).await {
                Ok(Ok::<i64, _>(_)) => return,
                Ok(Err(error)) => tracing::warn!(%error, "charging a costly request locally"),
                Err(_) => tracing::warn!("charging a costly request locally: valkey timed out"),
            }
        }
        self.local.charge_at(&subject, quota, units, now_us());
    }

    /// Spends a leased unit if this instance holds one, else asks Valkey (for a new lease
    /// when the caller is busy), else the local limiter.
    async fn decide(&self, subject: &str, quota: Quota) -> Verdict {
        let verdict = |decision, backend| Verdict {
            decision,
            quota,
            backend,
        };
        let now = now_us();
        if let Some(decision) = self.leases.spend(subject, quota, now) {
            return verdict(decision, Backend::Lease);
        }
        let want = self.leases.want(subject, quota, now);
        match self.check_valkey(subject, quota, want).await {
            Some((granted, reset)) => {
                let units = u32::try_from(granted).unwrap_or(0);
                let reset_us = reset.unsigned_abs();
                self.leases
                    .keep(subject, quota, want, units, reset_us, now_us());
                verdict(
                    Decision::from_script(granted, reset, quota),
                    Backend::Valkey,
                )
            }
            None => verdict(self.local.check(subject, quota), Backend::Local),
        }
    }

    /// Asks Valkey for `want` units unless it failed recently: the script's `[granted,
    /// reset]`, or `None` when the local limiter must answer.
    async fn check_valkey(&self, subject: &str, quota: Quota, want: u32) -> Option<(i64, i64)> {
        if self.valkey_down.load(Ordering::Relaxed)
            && now_us() < self.retry_at_us.load(Ordering::Relaxed)
        {
            return None;
        }
        let client = self.valkey.next();
        // A client that is not connected would queue the command until it reconnects.
        let result: Result<Vec<i64>, String> = if client.is_connected() {
            let timeout = Duration::from_millis(self.settings.valkey_timeout_ms.max(1));
            let options = Options {
                timeout: Some(timeout),
                max_attempts: Some(1),
                fail_fast: true,
                ..Options::default()
            };
            let client = client.with_options(&options);
            let keys = [self.keys.rate_limit(subject)];
            let args = [
                quota.emission_us.to_string(),
                quota.burst.to_string(),
                want.to_string(),
            ];
            let call = async {
                // `just bench-api` measures what sending the script by its SHA buys.
                #[cfg(feature = "bench")]
                if std::env::var_os("WUMP_BENCH_LIMITER_EVAL").is_some() {
                    return GCRA.eval(&client, &keys, &args).await;
                }
                GCRA.call(&client, &keys, &args).await
            };
            // fred's own timeout does not cover every wait: bound the call here too.
            match tokio::time::timeout(timeout, call).await {
                Ok(answer) => answer.map_err(|e| e.to_string()),
                Err(_) => Err(format!("no answer within {timeout:?}")),
            }
        } else {
            Err("not connected".to_owned())
        };
        let result = result.and_then(|reply| match reply[..] {
            [granted, reset] => Ok((granted, reset)),
            _ => Err(format!("unexpected limiter reply {reply:?}")),
        });
        match result {
            Ok(reply) => {
                if self.valkey_down.swap(false, Ordering::Relaxed) {
                    tracing::info!("rate limiter back on valkey");
                }
                Some(reply)
            }
            Err(error) => {
                let retry_at = now_us() + self.settings.valkey_retry_ms.max(1) * 1_000;
                self.retry_at_us.store(retry_at, Ordering::Relaxed);
                if !self.valkey_down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        error,
                        "rate limiter falling back to per-instance limits: valkey unavailable"
                    );
                }
                None
            }
        }
    }
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}
