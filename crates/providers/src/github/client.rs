//! One request to GitHub, done politely: a token with quota (or a wait, or
//! `RateLimited`), at most `max_concurrency` in flight, `If-None-Match` from the cache,
//! bounded retries with jittered backoff on 5xx and network errors, and every answer
//! turned into a typed result. Nothing here knows what the endpoints mean.

use std::{sync::Arc, time::Duration};

use reqwest::{
    Method, StatusCode, Url,
    header::{ACCEPT, ETAG, HeaderMap, HeaderValue, IF_NONE_MATCH},
};
use secrecy::{ExposeSecret, SecretString};
use tokio::{sync::Semaphore, time::Instant};

use super::{
    GitHubConfig, PROVIDER,
    limits::{Fallback, Limits, RateHeaders, Reservation, Resource, Wait},
};
use crate::{
    HttpCache, ProviderError,
    backoff::Backoff,
    fleet::{self, FleetLimits, Outcome, ReserveRequest, Reserved, WaitKind},
    metrics::{ProviderMetrics, RequestOutcome},
};

/// GitHub's JSON media type.
pub(crate) const JSON: &str = "application/vnd.github+json";
/// File contents as raw bytes (files up to 100 MB).
pub(crate) const RAW: &str = "application/vnd.github.raw+json";
/// Only a commit's SHA, as text.
pub(crate) const SHA: &str = "application/vnd.github.sha";
const API_VERSION: &str = "2022-11-28";
/// Rate-limit answers one call goes through (rotating or waiting) before giving up.
const MAX_LIMIT_ROUNDS: u32 = 4;

/// What to send.
#[derive(Debug)]
pub(crate) struct ApiRequest {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) accept: &'static str,
    pub(crate) json: Option<serde_json::Value>,
    pub(crate) resource: Resource,
    /// Refuse bodies larger than this with [`ProviderError::TooLarge`] (reading no more).
    pub(crate) max_body: Option<u64>,
    /// What is asked for, for error messages (`repos/o/r`, `o/r:path`).
    pub(crate) what: String,
}

impl ApiRequest {
    pub(crate) fn get(url: Url, resource: Resource, what: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            url,
            accept: JSON,
            json: None,
            resource,
            max_body: None,
            what: what.into(),
        }
    }
}

/// A final answer: 2xx (a 304 already replaced by the cached body) or a 4xx the caller
/// interprets (404, 409, 422, …).
#[derive(Debug)]
pub(crate) struct ApiResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl ApiResponse {
    /// The body as `T`, or `Malformed`.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ProviderError> {
        serde_json::from_slice(&self.body).map_err(|e| ProviderError::Malformed {
            provider: PROVIDER.to_owned(),
            message: e.to_string(),
        })
    }

    /// GitHub's `message` field of an error body, or the status.
    pub(crate) fn message(&self) -> String {
        error_message(&self.body).unwrap_or_else(|| self.status.to_string())
    }
}

/// The shared HTTP machinery; a clone shares the tokens' limits, the permits and the cache.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    tokens: Arc<[SecretString]>,
    pub(crate) limits: Arc<Limits>,
    permits: Arc<Semaphore>,
    pub(crate) cache: Arc<dyn HttpCache>,
    backoff: Backoff,
    max_wait: Duration,
    pub(crate) metrics: ProviderMetrics,
    /// The limits shared with every worker process; `None`: this process's alone.
    pub(crate) fleet: Option<FleetLimits>,
    /// Each token's [`fleet::fingerprint`] (or [`fleet::ANONYMOUS`]), by index.
    fingerprints: Arc<[String]>,
    /// How long a fleet lease lives: a request's timeout.
    timeout: Duration,
}

/// What the fleet's store decided.
enum FleetAnswer {
    Granted(Reservation),
    Wait {
        wait: Duration,
        token: usize,
        kind: Option<WaitKind>,
    },
    /// The store is away: the local fallback limits decide.
    Fallback,
}

enum Body {
    Complete(Vec<u8>),
    TooLarge { size: u64 },
}

struct Raw {
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
}

/// What to do after one attempt.
enum Next {
    /// The final answer.
    Answer(ApiResponse),
    /// A final error.
    Fail(ProviderError),
    /// A 5xx or network failure: retried after a backoff while retries remain.
    Failed(ProviderError),
    /// A rate limit, recorded in the limits (the wait is for the message if we give up).
    Limited(Duration),
    /// The token was rejected and left the pool: try another.
    Rotate,
}

/// What a 403/429 means.
enum LimitHit {
    Primary,
    Secondary(Option<Duration>),
}

impl Client {
    pub(crate) fn new(
        config: &GitHubConfig,
        cache: Arc<dyn HttpCache>,
    ) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| config_error(format!("HTTP client: {e}")))?;
        let max_concurrency = config.max_concurrency.clamp(1, super::MAX_CONCURRENCY);
        let fingerprints: Arc<[String]> = if config.tokens.is_empty() {
            vec![fleet::ANONYMOUS.to_owned()].into()
        } else {
            config
                .tokens
                .iter()
                .map(|t| fleet::fingerprint(t.expose_secret()))
                .collect()
        };
        Ok(Self {
            http,
            tokens: config.tokens.clone().into(),
            limits: Limits::new(config.tokens.len()),
            permits: Arc::new(Semaphore::new(max_concurrency)),
            cache,
            backoff: config.backoff,
            max_wait: config.max_wait,
            metrics: ProviderMetrics::default(),
            fleet: None,
            fingerprints,
            timeout: config.timeout,
        })
    }

    /// The fingerprint of the token `reservation` uses.
    fn fingerprint(&self, reservation: &Reservation) -> &str {
        self.fingerprints
            .get(reservation.index())
            .map_or(fleet::ANONYMOUS, String::as_str)
    }

    pub(crate) fn authenticated(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// Sends `request` until it has a final answer; see the module docs.
    pub(crate) async fn execute(&self, request: ApiRequest) -> Result<ApiResponse, ProviderError> {
        let cache_key =
            (request.method == Method::GET).then(|| format!("{} {}", request.accept, request.url));
        let cached = match &cache_key {
            Some(key) => self.cache.get(key).await,
            None => None,
        };
        let mut failures = 0u32;
        let mut limit_rounds = 0u32;
        loop {
            let (permit, reservation) = self.acquire(request.resource).await?;
            let sent = self
                .send_once(&request, &reservation, cached.as_ref())
                .await;
            drop(permit);
            let mut report = Outcome::Nothing;
            let next = match sent {
                Ok(raw) => {
                    self.judge(
                        &request,
                        &reservation,
                        cached.as_ref(),
                        cache_key.as_deref(),
                        raw,
                        &mut report,
                    )
                    .await
                }
                Err(error) => Next::Failed(ProviderError::Network {
                    provider: PROVIDER.to_owned(),
                    message: describe(&error),
                }),
            };
            self.finish(&reservation, &report).await;
            drop(reservation);
            match next {
                Next::Answer(response) => return Ok(response),
                Next::Fail(error) => return Err(error),
                Next::Failed(error) => {
                    failures += 1;
                    tracing::warn!(
                        url = %request.url, attempt = failures, %error, "GitHub request failed"
                    );
                    if self.pause_before_retry(failures).await.is_none() {
                        return Err(error);
                    }
                }
                Next::Limited(wait) => {
                    limit_rounds += 1;
                    if limit_rounds >= MAX_LIMIT_ROUNDS {
                        self.metrics.rate_limit_wait(PROVIDER, wait);
                        return Err(rate_limited(wait));
                    }
                }
                Next::Rotate => {}
            }
        }
    }

    /// What one response means, with the limits updated from it.
    async fn judge(
        &self,
        request: &ApiRequest,
        reservation: &Reservation,
        cached: Option<&crate::CachedResponse>,
        cache_key: Option<&str>,
        raw: Raw,
        report: &mut Outcome,
    ) -> Next {
        let now = Instant::now();
        let rate = RateHeaders::parse(&raw.headers);
        let status = raw.status;
        let token = self.fingerprint(reservation);
        if let (Some(remaining), Some(limit)) = (rate.remaining, rate.limit) {
            let bucket = rate.bucket(request.resource);
            self.metrics
                .rate_limit_remaining(PROVIDER, bucket.name(), remaining, limit);
            self.metrics
                .quota_remaining(PROVIDER, token, bucket.name(), remaining);
            *report = Outcome::Observed {
                resource: bucket.name().to_owned(),
                limit,
                remaining,
                reset_in: rate.reset_in(),
                free: status == StatusCode::NOT_MODIFIED
                    || request.url.path().ends_with("/rate_limit"),
            };
        }
        let body = match raw.body {
            Body::Complete(body) => body,
            Body::TooLarge { size } => {
                self.metrics
                    .request(PROVIDER, RequestOutcome::of_status(status.as_u16()));
                self.limits.observe(reservation, &rate, false, now);
                return Next::Fail(ProviderError::TooLarge {
                    path: request.what.clone(),
                    size,
                    limit: request.max_body.unwrap_or(0),
                });
            }
        };
        let hit = limit_hit(status, &rate, &body, request.resource);
        // A 403 that is a rate limit is counted as one, not as a refused token.
        let outcome = match hit {
            Some(_) => RequestOutcome::RateLimited,
            None => RequestOutcome::of_status(status.as_u16()),
        };
        self.metrics.request(PROVIDER, outcome);
        if status == StatusCode::NOT_MODIFIED
            && let Some(cached) = cached
        {
            self.limits.observe(reservation, &rate, true, now);
            tracing::debug!(url = %request.url, "served from cache (304)");
            return Next::Answer(ApiResponse {
                status: StatusCode::OK,
                headers: raw.headers,
                body: cached.body.clone(),
            });
        }
        if let Some(hit) = hit {
            let resource = reservation.resource.name();
            let wait = match hit {
                LimitHit::Primary => {
                    self.metrics
                        .limit_wait(PROVIDER, token, resource, WaitKind::Primary);
                    *report = Outcome::Exhausted {
                        resource: resource.to_owned(),
                        limit: rate.limit,
                        reset_in: rate.reset_in(),
                    };
                    self.limits
                        .exhausted(reservation, &rate, now)
                        .saturating_duration_since(now)
                }
                LimitHit::Secondary(retry_after) => {
                    self.metrics
                        .limit_wait(PROVIDER, token, resource, WaitKind::Secondary);
                    *report = Outcome::Secondary { retry_after };
                    self.limits.secondary(reservation, retry_after, now)
                }
            };
            tracing::warn!(
                url = %request.url, status = status.as_u16(), wait_s = wait.as_secs(),
                token = fleet::label(token), "GitHub rate limit"
            );
            return Next::Limited(wait);
        }
        // `GET /rate_limit` costs no primary quota, and tells every bucket of this token.
        let rate_limit_endpoint = request.url.path().ends_with("/rate_limit");
        self.limits
            .observe(reservation, &rate, rate_limit_endpoint, now);
        if rate_limit_endpoint && status.is_success() {
            self.limits.observe_all(reservation, &body, &rate, now);
        }
        if status.is_server_error() {
            return Next::Failed(ProviderError::Upstream {
                provider: PROVIDER.to_owned(),
                status: status.as_u16(),
                message: error_message(&body).unwrap_or_else(|| status.to_string()),
            });
        }
        if status == StatusCode::UNAUTHORIZED && self.limits.revoke(reservation) {
            // Another token may still be good; with none left `acquire` says so.
            return Next::Rotate;
        }
        if matches!(status.as_u16(), 401 | 403) {
            return Next::Fail(ProviderError::Unauthorized {
                provider: PROVIDER.to_owned(),
                status: status.as_u16(),
            });
        }
        if status.is_success()
            && let Some(key) = cache_key
            && let Some(etag) = raw.headers.get(ETAG).and_then(|v| v.to_str().ok())
        {
            self.cache.put(key, etag, &body).await;
        }
        Next::Answer(ApiResponse {
            status,
            headers: raw.headers,
            body,
        })
    }

    /// A concurrency permit and a token with quota, waiting as GitHub asked when the wait
    /// is at most `max_wait`, else `RateLimited`. The permit is taken first and the quota
    /// checked while holding it, so no request leaves before its "not before" instant.
    /// A wait is recorded once, when it ends: other responses wake the loop early and
    /// would otherwise count the rest of the same wait again.
    async fn acquire(
        &self,
        resource: Resource,
    ) -> Result<(tokio::sync::OwnedSemaphorePermit, Reservation), ProviderError> {
        let mut waiting_since: Option<Instant> = None;
        let mut refused = false;
        loop {
            let mut changed = self.limits.subscribe();
            let permit = Arc::clone(&self.permits)
                .acquire_owned()
                .await
                .map_err(|_| config_error("the request semaphore was closed".to_owned()))?;
            let now = Instant::now();
            let waited = waiting_since.map(|since| now.saturating_duration_since(since));
            if let Some(fleet) = &self.fleet {
                match self.reserve_in_fleet(fleet, resource).await? {
                    FleetAnswer::Granted(reservation) => {
                        if let Some(waited) = waited {
                            self.metrics.rate_limit_wait(PROVIDER, waited);
                        }
                        return Ok((permit, reservation));
                    }
                    FleetAnswer::Wait { wait, token, kind } => {
                        drop(permit);
                        if kind.is_some() && !refused {
                            refused = true;
                            self.metrics.limit_refused(
                                PROVIDER,
                                &self.fingerprints[token],
                                resource.name(),
                            );
                        }
                        if wait > self.max_wait {
                            let asked = waited.unwrap_or_default() + wait;
                            self.metrics.rate_limit_wait(PROVIDER, asked);
                            return Err(rate_limited(wait));
                        }
                        if kind.is_some() {
                            waiting_since.get_or_insert(now);
                        }
                        let nap = wait.min(fleet.policy().max_sleep);
                        tracing::debug!(
                            wait_ms = wait.as_millis() as u64,
                            "waiting for the fleet's GitHub quota"
                        );
                        tokio::select! {
                            () = tokio::time::sleep(nap) => {}
                            _ = changed.changed() => {}
                        }
                        continue;
                    }
                    FleetAnswer::Fallback => {}
                }
            }
            let fallback = self.fleet.as_ref().map(|f| Fallback {
                share: f.policy().fallback_share,
            });
            let wait = match self.limits.reserve_with(resource, now, fallback) {
                Ok(reservation) => {
                    if let Some(waited) = waited {
                        self.metrics.rate_limit_wait(PROVIDER, waited);
                    }
                    return Ok((permit, reservation));
                }
                Err(wait) => wait,
            };
            drop(permit);
            if matches!(wait, Wait::Until(at) if at > now) && !refused {
                refused = true;
                let token = self.limits.usable().first().copied().unwrap_or(0);
                self.metrics.limit_refused(
                    PROVIDER,
                    self.fingerprints
                        .get(token)
                        .map_or(fleet::ANONYMOUS, String::as_str),
                    resource.name(),
                );
            }
            match wait {
                Wait::Until(at) => {
                    let wait = at.saturating_duration_since(now);
                    if wait > self.max_wait {
                        let asked = waited.unwrap_or_default() + wait;
                        self.metrics.rate_limit_wait(PROVIDER, asked);
                        return Err(rate_limited(wait));
                    }
                    if !wait.is_zero() {
                        waiting_since.get_or_insert(now);
                    }
                    tracing::debug!(
                        wait_ms = wait.as_millis() as u64,
                        "waiting for GitHub quota"
                    );
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        _ = changed.changed() => {}
                    }
                }
                Wait::ForResponses => {
                    let _ = changed.changed().await;
                }
                Wait::NoValidToken => {
                    return Err(ProviderError::Unauthorized {
                        provider: PROVIDER.to_owned(),
                        status: 401,
                    });
                }
            }
        }
    }

    /// Asks the fleet's store for a token: granted (recorded in the local limits too, so
    /// a fallback later knows what this process sent), a wait, or the fallback.
    async fn reserve_in_fleet(
        &self,
        fleet: &FleetLimits,
        resource: Resource,
    ) -> Result<FleetAnswer, ProviderError> {
        let usable = self.limits.usable();
        if usable.is_empty() {
            return Err(ProviderError::Unauthorized {
                provider: PROVIDER.to_owned(),
                status: 401,
            });
        }
        let tokens: Vec<String> = usable
            .iter()
            .map(|&i| self.fingerprints[i].clone())
            .collect();
        let (default_limit, window) = resource.documented(self.authenticated());
        let (points_api, points_per_minute) = resource.points_budget();
        let policy = fleet.policy();
        let request = ReserveRequest {
            provider: PROVIDER,
            tokens: &tokens,
            resource: resource.name(),
            default_limit,
            window,
            points_api,
            points_per_minute,
            max_in_flight: policy.max_in_flight,
            lease_ttl: self.timeout + policy.lease_margin,
        };
        Ok(match fleet.reserve(&request).await {
            Some(Reserved::Granted { token, lease }) => {
                let index = usable[token.min(usable.len() - 1)];
                let mut reservation = self.limits.take(index, resource, Instant::now());
                reservation.lease = Some(lease);
                FleetAnswer::Granted(reservation)
            }
            Some(Reserved::Wait { wait, token, kind }) => FleetAnswer::Wait {
                wait,
                token: usable[token.min(usable.len() - 1)],
                kind,
            },
            None => FleetAnswer::Fallback,
        })
    }

    /// Gives the fleet's lease back with what the response told.
    async fn finish(&self, reservation: &Reservation, outcome: &Outcome) {
        if let (Some(fleet), Some(lease)) = (&self.fleet, &reservation.lease) {
            fleet
                .finish(PROVIDER, self.fingerprint(reservation), lease, outcome)
                .await;
        }
    }

    /// Sleeps the backoff before retry `failures`; `None` once the retries are spent.
    async fn pause_before_retry(&self, failures: u32) -> Option<()> {
        let delay = self.backoff.delay_with_random_jitter(failures)?;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Some(())
    }

    async fn send_once(
        &self,
        request: &ApiRequest,
        reservation: &Reservation,
        cached: Option<&crate::CachedResponse>,
    ) -> Result<Raw, reqwest::Error> {
        let mut builder = self
            .http
            .request(request.method.clone(), request.url.clone())
            .header(ACCEPT, request.accept)
            .header("x-github-api-version", API_VERSION);
        if let Some(token) = reservation.token.and_then(|i| self.tokens.get(i)) {
            // Marked sensitive so it never shows in debug output.
            if let Ok(mut value) =
                HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            {
                value.set_sensitive(true);
                builder = builder.header(reqwest::header::AUTHORIZATION, value);
            }
        }
        if let Some(cached) = cached
            && let Ok(etag) = HeaderValue::from_str(&cached.etag)
        {
            builder = builder.header(IF_NONE_MATCH, etag);
        }
        if let Some(json) = &request.json {
            builder = builder.json(json);
        }
        let mut response = builder
            .send()
            .await
            .inspect_err(|_| self.metrics.request(PROVIDER, RequestOutcome::NetworkError))?;
        let status = response.status();
        let headers = response.headers().clone();
        if let (Some(limit), Some(size)) = (request.max_body, response.content_length())
            && status.is_success()
            && size > limit
        {
            return Ok(Raw {
                status,
                headers,
                body: Body::TooLarge { size },
            });
        }
        let mut body = Vec::new();
        // A body cut off is still a request answered with `status` (`judge` counts the rest).
        while let Some(chunk) = response.chunk().await.inspect_err(|_| {
            self.metrics
                .request(PROVIDER, RequestOutcome::of_status(status.as_u16()));
        })? {
            body.extend_from_slice(&chunk);
            if let Some(limit) = request.max_body
                && status.is_success()
                && body.len() as u64 > limit
            {
                return Ok(Raw {
                    status,
                    headers,
                    body: Body::TooLarge {
                        size: body.len() as u64,
                    },
                });
            }
        }
        Ok(Raw {
            status,
            headers,
            body: Body::Complete(body),
        })
    }
}

/// Whether a response is a rate-limit answer, and which, in the order GitHub documents:
/// `retry-after` first, then `x-ratelimit-remaining: 0` (wait for the reset), then a
/// 429 or a 403 that says "rate limit" (wait at least a minute). A GraphQL
/// `RATE_LIMITED` error arrives with status 200.
fn limit_hit(
    status: StatusCode,
    rate: &RateHeaders,
    body: &[u8],
    resource: Resource,
) -> Option<LimitHit> {
    let graphql_limited = resource == Resource::Graphql
        && status.is_success()
        && serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("errors").cloned())
            .and_then(|e| e.as_array().cloned())
            .is_some_and(|errors| {
                errors
                    .iter()
                    .any(|e| e.get("type").and_then(|t| t.as_str()) == Some("RATE_LIMITED"))
            });
    if !(matches!(status.as_u16(), 403 | 429) || graphql_limited) {
        return None;
    }
    if rate.retry_after.is_some() {
        return Some(LimitHit::Secondary(rate.retry_after));
    }
    if rate.remaining == Some(0) {
        return Some(LimitHit::Primary);
    }
    let says_rate_limit =
        error_message(body).is_some_and(|m| m.to_ascii_lowercase().contains("rate limit"));
    (status.as_u16() == 429 || says_rate_limit || graphql_limited)
        .then_some(LimitHit::Secondary(None))
}

fn error_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("message")?.as_str().map(str::to_owned)
}

fn describe(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut message = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

pub(crate) fn rate_limited(retry_after: Duration) -> ProviderError {
    ProviderError::RateLimited {
        provider: PROVIDER.to_owned(),
        retry_after,
    }
}

pub(crate) fn config_error(message: String) -> ProviderError {
    ProviderError::Config {
        provider: PROVIDER.to_owned(),
        message,
    }
}
