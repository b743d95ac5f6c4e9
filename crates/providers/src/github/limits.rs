//! GitHub's rate limits, as documented in "Rate limits for the REST API":
//!
//! - **Primary**: every response carries `x-ratelimit-limit`, `-remaining`, `-reset` (UTC
//!   epoch seconds) and `-resource` (`core`, `search`, `graphql`, …); each resource is its
//!   own bucket per token. A 403/429 with `remaining: 0` means "not before `reset`".
//! - **Secondary**: a 403/429 with `retry-after` means "not before that many seconds"; with
//!   neither header, "wait at least a minute", longer each time it repeats. Of the documented
//!   secondary limits, the points per minute (900 for REST, 2,000 for GraphQL; every request
//!   wump sends costs 1) are also kept proactively; the 100 concurrent requests are the
//!   client's semaphore.
//!
//! [`Limits`] keeps one state per token (or one anonymous state), hands out reservations
//! (the token to use, one unit of its bucket taken) and never hands one out before the wait
//! GitHub asked for. Instants are tokio's, so a paused test clock controls every wait.
//! Reset times are converted with the response's own `Date` header, so a skewed local
//! clock does not shorten the wait.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime},
};

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use tokio::{sync::watch, time::Instant};

use crate::RateLimitStatus;

/// The bucket a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Resource {
    Core,
    Search,
    Graphql,
}

impl Resource {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Resource::Core => "core",
            Resource::Search => "search",
            Resource::Graphql => "graphql",
        }
    }

    /// GitHub's documented quota and window, before any response told us better.
    pub(crate) fn documented(self, authenticated: bool) -> (u32, Duration) {
        match (self, authenticated) {
            (Resource::Core, true) => (5_000, HOUR),
            (Resource::Core, false) => (60, HOUR),
            (Resource::Search, true) => (30, MINUTE),
            (Resource::Search, false) => (10, MINUTE),
            (Resource::Graphql, true) => (5_000, HOUR),
            // GraphQL needs a token: GitHub answers 401, which costs nothing.
            (Resource::Graphql, false) => (60, HOUR),
        }
    }
}

impl Resource {
    /// The secondary points-per-minute budget this resource's API shares, and its name.
    pub(crate) fn points_budget(self) -> (&'static str, u32) {
        match self {
            Resource::Graphql => ("graphql", GRAPHQL_POINTS_PER_MINUTE as u32),
            Resource::Core | Resource::Search => ("rest", REST_POINTS_PER_MINUTE as u32),
        }
    }
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3_600);
/// "Wait for at least one minute" for a secondary limit without headers, doubling while
/// it repeats, up to this.
const SECONDARY_MAX: Duration = Duration::from_secs(16 * 60);
/// Secondary limit: points per minute per token (GET and GraphQL queries cost 1 each).
const REST_POINTS_PER_MINUTE: usize = 900;
const GRAPHQL_POINTS_PER_MINUTE: usize = 2_000;
/// No header can make us wait longer than this (GitHub's windows are an hour; a bigger
/// number is a broken header, and would overflow an `Instant`).
const LONGEST_WAIT: Duration = Duration::from_secs(24 * 3_600);

/// The rate-limit headers of one response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RateHeaders {
    pub(crate) limit: Option<u32>,
    pub(crate) remaining: Option<u32>,
    /// Window reset, UTC epoch seconds.
    pub(crate) reset: Option<i64>,
    pub(crate) resource: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    /// The server's clock (`Date`), epoch seconds.
    pub(crate) date: Option<i64>,
}

impl RateHeaders {
    /// The quota these headers describe: the one `x-ratelimit-resource` names, or `asked`
    /// when it names none we track (`code_search`, …) or is missing.
    pub(crate) fn bucket(&self, asked: Resource) -> Resource {
        self.resource
            .as_deref()
            .and_then(resource_named)
            .unwrap_or(asked)
    }

    pub(crate) fn parse(headers: &HeaderMap) -> Self {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let number = |name: &str| text(name).and_then(|v| v.trim().parse::<i64>().ok());
        Self {
            limit: number("x-ratelimit-limit").and_then(|n| u32::try_from(n).ok()),
            remaining: number("x-ratelimit-remaining").and_then(|n| u32::try_from(n).ok()),
            reset: number("x-ratelimit-reset"),
            resource: text("x-ratelimit-resource").map(str::to_owned),
            retry_after: number("retry-after")
                .and_then(|n| u64::try_from(n).ok())
                .map(Duration::from_secs),
            date: text("date")
                .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
                .map(|d| d.timestamp()),
        }
    }

    /// How long until the window resets, by the server's clock (`reset - Date`).
    pub(crate) fn reset_in(&self) -> Option<Duration> {
        let reset = self.reset?;
        let server_now = self.date.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
        Some(
            Duration::from_secs(u64::try_from(reset.saturating_sub(server_now)).unwrap_or(0))
                .min(LONGEST_WAIT),
        )
    }

    /// When the window resets, on our clock: `reset - Date` from `now`.
    fn reset_instant(&self, now: Instant) -> Option<(Instant, DateTime<Utc>)> {
        let reset = self.reset?;
        let server_now = self.date.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
        let wait =
            Duration::from_secs(u64::try_from(reset.saturating_sub(server_now)).unwrap_or(0))
                .min(LONGEST_WAIT);
        Some((now + wait, DateTime::from_timestamp(reset, 0)?))
    }
}

/// One resource's quota for one token.
#[derive(Debug, Clone)]
struct Bucket {
    limit: u32,
    /// What we may still send: GitHub's count minus what we sent since it told us.
    remaining: u32,
    reset: Option<Instant>,
    reset_at: Option<DateTime<Utc>>,
    window: Duration,
    in_flight: u32,
    /// What this process sent in the current window (the fallback's own share).
    sent: u32,
}

impl Bucket {
    fn documented(resource: Resource, authenticated: bool) -> Self {
        let (limit, window) = resource.documented(authenticated);
        Self {
            limit,
            remaining: limit,
            reset: None,
            reset_at: None,
            window,
            in_flight: 0,
            sent: 0,
        }
    }

    /// A window whose reset has passed starts full again.
    fn roll(&mut self, now: Instant) {
        if self.reset.is_some_and(|reset| now >= reset) {
            self.remaining = self.limit;
            self.reset = None;
            self.reset_at = None;
            self.sent = 0;
        }
    }

    /// The fallback: from when this process's own share of the window allows one more.
    fn share_available_at(&mut self, share: f64, now: Instant) -> Instant {
        let budget = ((f64::from(self.limit) * share) as u32).max(1);
        if self.sent < budget {
            return now;
        }
        *self.reset.get_or_insert(now + self.window)
    }

    /// From when this bucket can take one more request; `None`: only once a response
    /// in flight tells us the window.
    fn available_at(&mut self, now: Instant) -> Option<Instant> {
        self.roll(now);
        if self.remaining > 0 {
            return Some(now);
        }
        match self.reset {
            Some(reset) => Some(reset),
            None if self.in_flight > 0 => None,
            None => {
                // Spent, nothing in flight to tell us when it resets: assume a whole window.
                let reset = now + self.window;
                self.reset = Some(reset);
                Some(reset)
            }
        }
    }

    /// Takes GitHub's numbers, knowing `others` of our requests on this bucket are still in
    /// flight (and may or may not be counted in them).
    fn observe(&mut self, headers: &RateHeaders, others: u32, now: Instant) {
        let (Some(limit), Some(remaining)) = (headers.limit, headers.remaining) else {
            return;
        };
        let reset = headers.reset_instant(now);
        let new_window = match (reset, self.reset) {
            (Some((new, _)), Some(known)) => new > known,
            (Some(_), None) => true,
            (None, _) => false,
        };
        self.limit = limit;
        if new_window {
            // Our other requests still in flight may yet count in this window.
            self.remaining = remaining.saturating_sub(others);
            self.sent = others;
        } else {
            self.remaining = self.remaining.min(remaining);
        }
        if let Some((instant, at)) = reset {
            self.reset = Some(instant);
            self.reset_at = Some(at);
        }
    }
}

#[derive(Debug)]
struct TokenState {
    label: String,
    authenticated: bool,
    buckets: HashMap<Resource, Bucket>,
    /// Secondary limit: nothing is sent with this token before this instant.
    not_before: Option<Instant>,
    secondary_strikes: u32,
    /// GitHub rejected the token (401): it is not used again.
    revoked: bool,
    /// When the requests of the last minute were sent, REST and GraphQL apart.
    rest_sent: VecDeque<Instant>,
    graphql_sent: VecDeque<Instant>,
}

impl TokenState {
    fn bucket(&mut self, resource: Resource) -> &mut Bucket {
        let authenticated = self.authenticated;
        self.buckets
            .entry(resource)
            .or_insert_with(|| Bucket::documented(resource, authenticated))
    }

    /// From when this token can send a request for `resource` (`None`: once a response
    /// arrives). On the `fallback`, one request in flight per token and a share of every
    /// quota.
    fn available_at(
        &mut self,
        resource: Resource,
        now: Instant,
        fallback: Option<Fallback>,
    ) -> Option<Instant> {
        if fallback.is_some() && self.buckets.values().any(|b| b.in_flight > 0) {
            return None;
        }
        let mut bucket = self.bucket(resource).available_at(now)?;
        if let Some(Fallback { share }) = fallback {
            bucket = bucket.max(self.bucket(resource).share_available_at(share, now));
        }
        let (sent, budget) = self.points(resource);
        let budget = match fallback {
            Some(Fallback { share }) => ((budget as f64 * share) as usize).max(1),
            None => budget,
        };
        while sent.front().is_some_and(|&at| at + MINUTE <= now) {
            sent.pop_front();
        }
        let points = match sent.front() {
            Some(&oldest) if sent.len() >= budget => oldest + MINUTE,
            _ => now,
        };
        Some(
            [Some(bucket), Some(points), self.not_before]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(now),
        )
    }

    /// The requests sent in the last minute on `resource`'s API, and its points budget.
    fn points(&mut self, resource: Resource) -> (&mut VecDeque<Instant>, usize) {
        match resource {
            Resource::Graphql => (&mut self.graphql_sent, GRAPHQL_POINTS_PER_MINUTE),
            Resource::Core | Resource::Search => (&mut self.rest_sent, REST_POINTS_PER_MINUTE),
        }
    }
}

/// The conservative limits a process keeps alone while the fleet's store is unreachable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fallback {
    /// The share of every quota (and of the points per minute) this process may use.
    pub(crate) share: f64,
}

/// Why no token can be used right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Not before this instant.
    Until(Instant),
    /// Every usable bucket is spent and its reset is unknown until a response in flight
    /// arrives.
    ForResponses,
    /// GitHub rejected every configured token.
    NoValidToken,
}

/// Every token's limits. Cheap to share (`Arc`).
#[derive(Debug)]
pub(crate) struct Limits {
    tokens: Mutex<Vec<TokenState>>,
    changed: watch::Sender<u64>,
}

/// One unit of one token's bucket, taken for one request; gives the in-flight count back
/// when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    limits: Arc<Limits>,
    /// Index into the configured tokens; `None` when unauthenticated.
    pub(crate) token: Option<usize>,
    pub(crate) resource: Resource,
    /// The fleet's in-flight lease, when the fleet's store granted this request.
    pub(crate) lease: Option<String>,
}

impl Limits {
    /// Limits for `tokens` tokens, or one anonymous state when there are none.
    pub(crate) fn new(tokens: usize) -> Arc<Self> {
        let states = if tokens == 0 {
            vec![TokenState::new("anonymous".to_owned(), false)]
        } else {
            (1..=tokens)
                .map(|n| TokenState::new(format!("token {n}"), true))
                .collect()
        };
        Arc::new(Self {
            tokens: Mutex::new(states),
            changed: watch::channel(0).0,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<TokenState>> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Subscribe before [`Self::reserve`] to be woken by the next change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn notify(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Takes one unit of the usable token with the most remaining quota for `resource`.
    #[cfg(test)]
    pub(crate) fn reserve(
        self: &Arc<Self>,
        resource: Resource,
        now: Instant,
    ) -> Result<Reservation, Wait> {
        self.reserve_with(resource, now, None)
    }

    /// The tokens GitHub has not rejected (index 0 alone when unauthenticated).
    pub(crate) fn usable(&self) -> Vec<usize> {
        self.lock()
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.revoked)
            .map(|(i, _)| i)
            .collect()
    }

    /// Records one request the fleet's store granted on token `index`, without checking
    /// (the store did).
    pub(crate) fn take(
        self: &Arc<Self>,
        index: usize,
        resource: Resource,
        now: Instant,
    ) -> Reservation {
        let mut tokens = self.lock();
        let token = &mut tokens[index];
        let authenticated = token.authenticated;
        token.points(resource).0.push_back(now);
        let bucket = token.bucket(resource);
        bucket.remaining = bucket.remaining.saturating_sub(1);
        bucket.in_flight += 1;
        bucket.sent = bucket.sent.saturating_add(1);
        Reservation {
            limits: Arc::clone(self),
            token: authenticated.then_some(index),
            resource,
            lease: None,
        }
    }

    /// [`Self::reserve`], on the conservative `fallback` limits when given.
    pub(crate) fn reserve_with(
        self: &Arc<Self>,
        resource: Resource,
        now: Instant,
        fallback: Option<Fallback>,
    ) -> Result<Reservation, Wait> {
        let mut tokens = self.lock();
        let mut best: Option<(usize, u32)> = None;
        let mut earliest: Option<Instant> = None;
        let mut any_valid = false;
        for (index, token) in tokens.iter_mut().enumerate() {
            if token.revoked {
                continue;
            }
            any_valid = true;
            match token.available_at(resource, now, fallback) {
                Some(at) if at <= now => {
                    let remaining = token.bucket(resource).remaining;
                    if best.is_none_or(|(_, r)| remaining > r) {
                        best = Some((index, remaining));
                    }
                }
                Some(at) => earliest = Some(earliest.map_or(at, |e| e.min(at))),
                None => {}
            }
        }
        if !any_valid {
            return Err(Wait::NoValidToken);
        }
        let Some((index, _)) = best else {
            return Err(earliest.map_or(Wait::ForResponses, Wait::Until));
        };
        let token = &mut tokens[index];
        let authenticated = token.authenticated;
        token.points(resource).0.push_back(now);
        let bucket = token.bucket(resource);
        bucket.remaining = bucket.remaining.saturating_sub(1);
        bucket.in_flight += 1;
        bucket.sent = bucket.sent.saturating_add(1);
        Ok(Reservation {
            limits: Arc::clone(self),
            token: authenticated.then_some(index),
            resource,
            lease: None,
        })
    }

    /// A response arrived: take GitHub's numbers. A 304 (`free`) gives its unit back.
    pub(crate) fn observe(
        &self,
        reservation: &Reservation,
        headers: &RateHeaders,
        free: bool,
        now: Instant,
    ) {
        let mut tokens = self.lock();
        let token = &mut tokens[reservation.index()];
        if !free {
            token.secondary_strikes = 0;
        }
        let resource = headers.bucket(reservation.resource);
        let bucket = token.bucket(resource);
        if free {
            bucket.remaining = bucket.remaining.saturating_add(1).min(bucket.limit);
        }
        let others = bucket.in_flight.saturating_sub(1);
        bucket.observe(headers, others, now);
        drop(tokens);
        self.notify();
    }

    /// The body of `GET /rate_limit` (`{"resources": {"core": {"limit", "remaining",
    /// "reset", "used"}, "search": …, "graphql": …}}`): every bucket of the token at once.
    pub(crate) fn observe_all(
        &self,
        reservation: &Reservation,
        body: &[u8],
        headers: &RateHeaders,
        now: Instant,
    ) {
        let Ok(status) = serde_json::from_slice::<serde_json::Value>(body) else {
            return;
        };
        let mut tokens = self.lock();
        let token = &mut tokens[reservation.index()];
        for resource in [Resource::Core, Resource::Search, Resource::Graphql] {
            let Some(numbers) = status["resources"].get(resource.name()) else {
                continue;
            };
            let number = |field: &str| numbers.get(field).and_then(serde_json::Value::as_i64);
            let seen = RateHeaders {
                limit: number("limit").and_then(|n| u32::try_from(n).ok()),
                remaining: number("remaining").and_then(|n| u32::try_from(n).ok()),
                reset: number("reset"),
                resource: None,
                retry_after: None,
                date: headers.date,
            };
            let bucket = token.bucket(resource);
            let others = bucket
                .in_flight
                .saturating_sub(u32::from(resource == reservation.resource));
            bucket.observe(&seen, others, now);
        }
        drop(tokens);
        self.notify();
    }

    /// A 403/429 with `x-ratelimit-remaining: 0`: the bucket is spent until its reset.
    /// Returns when it resets.
    pub(crate) fn exhausted(
        &self,
        reservation: &Reservation,
        headers: &RateHeaders,
        now: Instant,
    ) -> Instant {
        let mut tokens = self.lock();
        let token = &mut tokens[reservation.index()];
        let bucket = token.bucket(reservation.resource);
        let others = bucket.in_flight.saturating_sub(1);
        bucket.observe(headers, others, now);
        bucket.remaining = 0;
        let reset = match headers.reset_instant(now) {
            Some((instant, at)) => {
                bucket.reset_at = Some(at);
                instant
            }
            None => now + bucket.window,
        };
        bucket.reset = Some(reset);
        drop(tokens);
        self.notify();
        reset
    }

    /// A secondary limit: nothing with this token before `retry-after`, or at least a
    /// minute (doubling while it repeats) when GitHub gave no header. Returns the wait.
    pub(crate) fn secondary(
        &self,
        reservation: &Reservation,
        retry_after: Option<Duration>,
        now: Instant,
    ) -> Duration {
        let mut tokens = self.lock();
        let token = &mut tokens[reservation.index()];
        let wait = retry_after
            .unwrap_or_else(|| {
                MINUTE
                    .saturating_mul(1 << token.secondary_strikes.min(8))
                    .min(SECONDARY_MAX)
            })
            .min(LONGEST_WAIT);
        token.secondary_strikes = token.secondary_strikes.saturating_add(1);
        let until = now + wait;
        token.not_before = Some(token.not_before.map_or(until, |nb| nb.max(until)));
        drop(tokens);
        self.notify();
        wait
    }

    /// GitHub answered 401 to this token: the pool stops using it. Returns `false` for the
    /// anonymous state, which cannot be replaced.
    pub(crate) fn revoke(&self, reservation: &Reservation) -> bool {
        let Some(index) = reservation.token else {
            return false;
        };
        let mut tokens = self.lock();
        let token = &mut tokens[index];
        token.revoked = true;
        tracing::error!(token = %token.label, "GitHub rejected a token (401): no longer used");
        drop(tokens);
        self.notify();
        true
    }

    /// Every bucket, per token still in use.
    pub(crate) fn status(&self, now: Instant) -> Vec<RateLimitStatus> {
        let mut tokens = self.lock();
        let mut status = Vec::new();
        for token in tokens.iter_mut().filter(|t| !t.revoked) {
            let mut buckets: Vec<_> = token.buckets.iter_mut().collect();
            buckets.sort_by_key(|(resource, _)| resource.name());
            for (resource, bucket) in buckets {
                bucket.roll(now);
                status.push(RateLimitStatus {
                    bucket: format!("{} ({})", resource.name(), token.label),
                    remaining: bucket.remaining,
                    limit: bucket.limit,
                    reset_at: bucket.reset_at,
                });
            }
        }
        status
    }
}

impl TokenState {
    /// A token's state with every bucket it can use at its documented quota, so
    /// [`Limits::status`] shows them before the first response.
    fn new(label: String, authenticated: bool) -> Self {
        let resources: &[Resource] = if authenticated {
            &[Resource::Core, Resource::Search, Resource::Graphql]
        } else {
            // GraphQL needs a token.
            &[Resource::Core, Resource::Search]
        };
        Self {
            label,
            authenticated,
            buckets: resources
                .iter()
                .map(|&r| (r, Bucket::documented(r, authenticated)))
                .collect(),
            not_before: None,
            secondary_strikes: 0,
            revoked: false,
            rest_sent: VecDeque::new(),
            graphql_sent: VecDeque::new(),
        }
    }
}

impl Reservation {
    pub(crate) fn index(&self) -> usize {
        self.token.unwrap_or(0)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut tokens = self.limits.lock();
        let index = self.index();
        let bucket = tokens[index].bucket(self.resource);
        bucket.in_flight = bucket.in_flight.saturating_sub(1);
        drop(tokens);
        self.limits.notify();
    }
}

fn resource_named(name: &str) -> Option<Resource> {
    match name {
        "core" => Some(Resource::Core),
        "search" => Some(Resource::Search),
        "graphql" => Some(Resource::Graphql),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(limit: u32, remaining: u32, reset_in: i64) -> RateHeaders {
        RateHeaders {
            limit: Some(limit),
            remaining: Some(remaining),
            reset: Some(1_700_000_000 + reset_in),
            resource: None,
            retry_after: None,
            date: Some(1_700_000_000),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn picks_the_token_with_the_most_quota_and_rotates_when_one_is_spent() {
        let limits = Limits::new(2);
        let now = Instant::now();
        let first = limits.reserve(Resource::Core, now).unwrap();
        limits.observe(&first, &headers(5_000, 10, 600), false, now);
        drop(first);
        let second = limits.reserve(Resource::Core, now).unwrap();
        assert_eq!(
            second.token,
            Some(1),
            "token 2 has the documented 5,000 left"
        );
        let reset = limits.exhausted(&second, &headers(5_000, 0, 900), now);
        assert_eq!(reset, now + Duration::from_secs(900));
        drop(second);
        assert_eq!(limits.reserve(Resource::Core, now).unwrap().token, Some(0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_spent_bucket_waits_for_its_reset_then_starts_full() {
        let limits = Limits::new(1);
        let now = Instant::now();
        let r = limits.reserve(Resource::Search, now).unwrap();
        limits.exhausted(&r, &headers(30, 0, 42), now);
        drop(r);
        let at = now + Duration::from_secs(42);
        assert_eq!(
            limits.reserve(Resource::Search, now).unwrap_err(),
            Wait::Until(at)
        );
        assert!(
            limits.reserve(Resource::Core, now).is_ok(),
            "core is separate"
        );
        let r = limits.reserve(Resource::Search, at).unwrap();
        drop(r);
        let status = limits.status(at);
        let search = status.iter().find(|s| s.bucket == "search (token 1)");
        assert_eq!(search.map(|s| s.remaining), Some(29));
    }

    #[tokio::test(start_paused = true)]
    async fn never_hands_out_more_than_the_remaining_quota() {
        let limits = Limits::new(1);
        let now = Instant::now();
        let held: Vec<_> = (0..30)
            .map(|_| limits.reserve(Resource::Search, now).unwrap())
            .collect();
        assert_eq!(
            limits.reserve(Resource::Search, now).unwrap_err(),
            Wait::ForResponses
        );
        limits.observe(&held[0], &headers(30, 0, 60), false, now);
        assert_eq!(
            limits.reserve(Resource::Search, now).unwrap_err(),
            Wait::Until(now + Duration::from_secs(60))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn secondary_waits_retry_after_or_at_least_a_minute_doubling() {
        let limits = Limits::new(1);
        let now = Instant::now();
        let r = limits.reserve(Resource::Core, now).unwrap();
        assert_eq!(
            limits.secondary(&r, Some(Duration::from_secs(30)), now),
            Duration::from_secs(30)
        );
        assert_eq!(limits.secondary(&r, None, now), Duration::from_secs(120));
        drop(r);
        assert_eq!(
            limits.reserve(Resource::Core, now).unwrap_err(),
            Wait::Until(now + Duration::from_secs(120))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_900_rest_points_a_minute_per_token() {
        let limits = Limits::new(1);
        let start = Instant::now();
        for second in 0..90 {
            let now = start + Duration::from_secs(second) / 2;
            for _ in 0..10 {
                limits.reserve(Resource::Core, now).unwrap();
            }
        }
        let now = start + Duration::from_secs(45);
        assert_eq!(
            limits.reserve(Resource::Core, now).unwrap_err(),
            Wait::Until(start + MINUTE),
            "900 sent in the last minute: the next once the first is a minute old"
        );
        assert!(
            limits.reserve(Resource::Graphql, now).is_ok(),
            "GraphQL has its own 2,000"
        );
        assert!(limits.reserve(Resource::Search, start + MINUTE).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn the_fallback_sends_one_request_per_token_and_a_share_of_each_quota() {
        let limits = Limits::new(1);
        let now = Instant::now();
        let fallback = Some(Fallback { share: 0.25 });
        let first = limits
            .reserve_with(Resource::Search, now, fallback)
            .unwrap();
        assert_eq!(
            limits
                .reserve_with(Resource::Core, now, fallback)
                .unwrap_err(),
            Wait::ForResponses,
            "one request in flight per token, whatever the bucket"
        );
        drop(first);
        // Search allows 30 a minute before GitHub says otherwise: a quarter is 7.
        for _ in 1..7 {
            drop(
                limits
                    .reserve_with(Resource::Search, now, fallback)
                    .unwrap(),
            );
        }
        assert_eq!(
            limits
                .reserve_with(Resource::Search, now, fallback)
                .unwrap_err(),
            Wait::Until(now + MINUTE),
            "this process's share is spent until the window resets"
        );
        assert!(
            limits.reserve_with(Resource::Search, now, None).is_ok(),
            "the shared limits would allow 23 more"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn absurd_headers_cannot_overflow_a_wait() {
        let limits = Limits::new(1);
        let now = Instant::now();
        let r = limits.reserve(Resource::Core, now).unwrap();
        let far = headers(5_000, 0, 1_000_000_000_000);
        assert_eq!(limits.exhausted(&r, &far, now), now + LONGEST_WAIT);
        let unreadable = RateHeaders {
            reset: Some(i64::MAX),
            date: Some(-1),
            ..headers(5_000, 0, 0)
        };
        assert_eq!(
            limits.exhausted(&r, &unreadable, now),
            now + HOUR,
            "no representable reset: a whole window"
        );
        let wait = limits.secondary(&r, Some(Duration::from_secs(u64::MAX)), now);
        assert_eq!(wait, LONGEST_WAIT);
    }

    #[test]
    fn reads_the_documented_headers() {
        let mut map = HeaderMap::new();
        map.insert("x-ratelimit-limit", "5000".parse().unwrap());
        map.insert("x-ratelimit-remaining", "4987".parse().unwrap());
        map.insert("x-ratelimit-reset", "1700000600".parse().unwrap());
        map.insert("x-ratelimit-resource", "core".parse().unwrap());
        map.insert("retry-after", "30".parse().unwrap());
        map.insert("date", "Tue, 14 Nov 2023 22:13:20 GMT".parse().unwrap());
        let parsed = RateHeaders::parse(&map);
        assert_eq!(parsed.limit, Some(5000));
        assert_eq!(parsed.remaining, Some(4987));
        assert_eq!(parsed.reset, Some(1_700_000_600));
        assert_eq!(parsed.resource.as_deref(), Some("core"));
        assert_eq!(parsed.retry_after, Some(Duration::from_secs(30)));
        assert_eq!(parsed.date, Some(1_700_000_000));
    }
}
