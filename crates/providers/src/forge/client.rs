//! One request to a forge (Gitea/Forgejo, GitLab, Bitbucket Cloud), done politely: the provider's spacing
//! and any `Retry-After` hold for every worker process (through [`Politeness`] on the
//! fleet's store), a quota reported spent (`X-RateLimit-Remaining: 0`,
//! `RateLimit-Remaining: 0`) blocks the provider until its reset, tokens are used in turn
//! and sent only in a header marked sensitive (logs name their fingerprints), answers
//! with an ETag are kept in the shared [`HttpCache`] and revalidated with `If-None-Match`,
//! and 5xx and network failures are retried with jittered backoff.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use reqwest::{
    StatusCode, Url,
    header::{ETAG, HeaderMap, HeaderName, HeaderValue, IF_NONE_MATCH, RETRY_AFTER},
};
use secrecy::{ExposeSecret, SecretString};

use crate::{
    FleetLimits, HttpCache, ProviderError,
    backoff::Backoff,
    config::HttpSettings,
    fleet::{self, WaitKind},
    http::{DEFAULT_RATE_LIMIT_WAIT, POLITENESS_RESOURCE, Politeness, USER_AGENT},
    metrics::{ProviderMetrics, RequestOutcome},
};

/// How a forge wants its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `Authorization: token <t>` (Gitea, Forgejo).
    AuthorizationToken,
    /// `PRIVATE-TOKEN: <t>` (GitLab).
    PrivateToken,
    /// `Authorization: Bearer <t>` (Bitbucket's access tokens).
    Bearer,
}

/// A final answer: 2xx (a 304 already replaced by the cached body) or a 4xx other than
/// 401/403/429, which the caller interprets (404, 409, …).
#[derive(Debug)]
pub(crate) struct ForgeResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    /// The URL asked, for resolving relative `Link` targets.
    pub(crate) url: Url,
}

impl ForgeResponse {
    /// The body as `T`, or `Malformed`.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(
        &self,
        provider: &str,
    ) -> Result<T, ProviderError> {
        serde_json::from_slice(&self.body).map_err(|e| ProviderError::Malformed {
            provider: provider.to_owned(),
            message: format!("{}: {e}", self.url.path()),
        })
    }

    /// The `rel="next"` target of the `Link` header.
    pub(crate) fn next_link(&self) -> Option<Url> {
        next_link(&self.headers, &self.url)
    }

    /// A header as a number (`X-Total-Count`, `X-Next-Page`).
    pub(crate) fn header_number(&self, name: &str) -> Option<u64> {
        self.headers.get(name)?.to_str().ok()?.trim().parse().ok()
    }

    /// Not there for us: 404, 410 (deleted), 451 (blocked for legal reasons).
    pub(crate) fn gone(&self) -> bool {
        matches!(self.status.as_u16(), 404 | 410 | 451)
    }

    /// The error for an answer the caller did not expect.
    pub(crate) fn rejected(&self, provider: &str) -> ProviderError {
        ProviderError::Rejected {
            provider: provider.to_owned(),
            status: self.status.as_u16(),
            message: error_message(&self.body).unwrap_or_else(|| self.status.to_string()),
        }
    }
}

/// The shared HTTP machinery of one forge; a clone shares the spacing, the cache and the
/// token rotation.
#[derive(Debug, Clone)]
pub(crate) struct ForgeClient {
    provider: &'static str,
    http: reqwest::Client,
    auth: Auth,
    tokens: Arc<[SecretString]>,
    fingerprints: Arc<[String]>,
    next_token: Arc<AtomicUsize>,
    /// Tokens the forge refused with 401: left out from then on (while another remains).
    revoked: Arc<[AtomicBool]>,
    politeness: Arc<Politeness>,
    cache: Arc<dyn HttpCache>,
    backoff: Backoff,
    max_response_bytes: u64,
    /// How long a 429 or a spent quota holds the provider when the forge says nothing of
    /// when it resets.
    default_hold: Duration,
    pub(crate) metrics: ProviderMetrics,
}

enum Attempt {
    Answer(ForgeResponse),
    Retry(ProviderError),
    Fail(ProviderError),
    /// The token was refused and left the pool: try the next one.
    Rotate,
}

impl ForgeClient {
    pub(crate) fn new(
        provider: &'static str,
        auth: Auth,
        tokens: Vec<SecretString>,
        settings: &HttpSettings,
        min_interval: Duration,
        cache: Arc<dyn HttpCache>,
    ) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(settings.timeout())
            .connect_timeout(settings.connect_timeout())
            .build()
            .map_err(|e| ProviderError::Config {
                provider: provider.to_owned(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        let fingerprints = tokens
            .iter()
            .map(|t| fleet::fingerprint(t.expose_secret()))
            .collect();
        let revoked = tokens.iter().map(|_| AtomicBool::new(false)).collect();
        Ok(Self {
            provider,
            http,
            auth,
            revoked,
            tokens: tokens.into(),
            fingerprints,
            next_token: Arc::default(),
            politeness: Arc::new(Politeness::new(min_interval)),
            cache,
            backoff: settings.backoff(),
            max_response_bytes: settings.max_response_bytes,
            default_hold: DEFAULT_RATE_LIMIT_WAIT,
            metrics: ProviderMetrics::default(),
        })
    }

    /// Holds for `hold` after a 429 or a spent quota that names no reset (a forge whose
    /// limits are hourly wants a longer pause than the default minute).
    pub(crate) fn with_default_hold(mut self, hold: Duration) -> Self {
        self.default_hold = hold;
        self
    }

    /// The same spacing and holds, kept by every process sharing `fleet`.
    pub(crate) fn share(&mut self, fleet: FleetLimits) {
        self.politeness = Arc::new(Politeness::shared(self.politeness.min_interval(), fleet));
    }

    /// GETs `url` until it has a final answer; `max_body` refuses larger bodies with
    /// [`ProviderError::TooLarge`] (default: the shared response cap).
    pub(crate) async fn get(
        &self,
        url: Url,
        what: &str,
        max_body: Option<u64>,
    ) -> Result<ForgeResponse, ProviderError> {
        let key = format!("{} {url}", self.provider);
        let cached = self.cache.get(&key).await;
        let mut failures = 0;
        loop {
            self.politeness
                .acquire(self.provider)
                .await
                .inspect_err(|_| {
                    self.metrics.limit_refused(
                        self.provider,
                        self.token_label(),
                        POLITENESS_RESOURCE,
                    );
                })?;
            let error = match self.attempt(&url, what, max_body, cached.as_ref()).await {
                Attempt::Answer(response) => {
                    if response.status.is_success()
                        && let Some(etag) = response.headers.get(ETAG).and_then(|v| v.to_str().ok())
                    {
                        self.cache.put(&key, etag, &response.body).await;
                    }
                    return Ok(response);
                }
                Attempt::Fail(error) => return Err(error),
                // Each rotation revokes a token, so this ends.
                Attempt::Rotate => continue,
                Attempt::Retry(error) => error,
            };
            failures += 1;
            let Some(delay) = self.backoff.delay_with_random_jitter(failures) else {
                return Err(error);
            };
            tracing::warn!(provider = self.provider, %url, attempt = failures, %error, "forge request failed, retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// The fingerprint label of the token the next request uses.
    fn token_label(&self) -> &str {
        if self.tokens.is_empty() {
            return fleet::ANONYMOUS;
        }
        let index = self.next_token.load(Ordering::Relaxed) % self.tokens.len();
        fleet::label(&self.fingerprints[index])
    }

    /// The next token in turn that the forge has not refused; `None` when every one was.
    fn pick_token(&self) -> Option<usize> {
        (0..self.tokens.len()).find_map(|_| {
            let index = self.next_token.fetch_add(1, Ordering::Relaxed) % self.tokens.len();
            (!self.revoked[index].load(Ordering::Relaxed)).then_some(index)
        })
    }

    async fn attempt(
        &self,
        url: &Url,
        what: &str,
        max_body: Option<u64>,
        cached: Option<&crate::CachedResponse>,
    ) -> Attempt {
        let provider = self.provider.to_owned();
        let mut builder = self
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        let mut token_label = fleet::ANONYMOUS.to_owned();
        let mut token = None;
        if !self.tokens.is_empty() {
            let Some(index) = self.pick_token() else {
                return Attempt::Fail(ProviderError::Unauthorized {
                    provider,
                    status: 401,
                });
            };
            token = Some(index);
            token_label = fleet::label(&self.fingerprints[index]).to_owned();
            let secret = self.tokens[index].expose_secret();
            let (name, value) = match self.auth {
                Auth::AuthorizationToken => {
                    (reqwest::header::AUTHORIZATION, format!("token {secret}"))
                }
                Auth::PrivateToken => (HeaderName::from_static("private-token"), secret.to_owned()),
                Auth::Bearer => (reqwest::header::AUTHORIZATION, format!("Bearer {secret}")),
            };
            if let Ok(mut value) = HeaderValue::from_str(&value) {
                // Marked sensitive so it never shows in debug output.
                value.set_sensitive(true);
                builder = builder.header(name, value);
            }
        }
        if let Some(cached) = cached
            && let Ok(etag) = HeaderValue::from_str(&cached.etag)
        {
            builder = builder.header(IF_NONE_MATCH, etag);
        }
        let mut response = match builder.send().await {
            Ok(response) => response,
            Err(error) => {
                self.metrics
                    .request(self.provider, RequestOutcome::NetworkError);
                return Attempt::Retry(network(&provider, &error));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let rate = RateHeaders::parse(&headers);
        if let (Some(remaining), Some(limit)) = (rate.remaining, rate.limit) {
            self.metrics
                .rate_limit_remaining(self.provider, POLITENESS_RESOURCE, remaining, limit);
            self.metrics.quota_remaining(
                self.provider,
                &token_label,
                POLITENESS_RESOURCE,
                remaining,
            );
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.metrics
                .request(self.provider, RequestOutcome::RateLimited);
            let wait = rate
                .retry_after
                .or(rate.reset_in)
                .unwrap_or(self.default_hold);
            self.politeness.block_for(self.provider, wait).await;
            self.metrics.rate_limit_wait(self.provider, wait);
            self.metrics.limit_wait(
                self.provider,
                &token_label,
                POLITENESS_RESOURCE,
                WaitKind::Secondary,
            );
            tracing::warn!(provider = self.provider, %url, wait_s = wait.as_secs(), token = %token_label, "forge rate limit");
            return Attempt::Fail(ProviderError::RateLimited {
                provider,
                retry_after: wait,
            });
        }
        self.metrics
            .request(self.provider, RequestOutcome::of_status(status.as_u16()));
        if rate.remaining == Some(0) {
            // The quota is spent: nobody in the fleet asks again before it resets.
            let wait = rate.reset_in.unwrap_or(self.default_hold);
            self.politeness.block_for(self.provider, wait).await;
            self.metrics.limit_wait(
                self.provider,
                &token_label,
                POLITENESS_RESOURCE,
                WaitKind::Primary,
            );
        }
        if status == StatusCode::NOT_MODIFIED
            && let Some(cached) = cached
        {
            tracing::debug!(provider = self.provider, %url, "served from cache (304)");
            return Attempt::Answer(ForgeResponse {
                status: StatusCode::OK,
                headers,
                body: cached.body.clone(),
                url: url.clone(),
            });
        }
        if status == StatusCode::UNAUTHORIZED
            && let Some(index) = token
            && self.tokens.len() > 1
        {
            self.revoked[index].store(true, Ordering::Relaxed);
            if self.revoked.iter().any(|r| !r.load(Ordering::Relaxed)) {
                tracing::warn!(provider = self.provider, token = %token_label, "forge refused a token: using the others");
                return Attempt::Rotate;
            }
        }
        if matches!(status.as_u16(), 401 | 403) {
            tracing::warn!(provider = self.provider, %url, status = status.as_u16(), token = %token_label, "forge refused the request");
            return Attempt::Fail(ProviderError::Unauthorized {
                provider,
                status: status.as_u16(),
            });
        }
        let limit = max_body.unwrap_or(self.max_response_bytes);
        let too_large = |size| {
            Attempt::Fail(ProviderError::TooLarge {
                path: what.to_owned(),
                size,
                limit,
            })
        };
        if status.is_success()
            && let Some(size) = response.content_length().filter(|s| *s > limit)
        {
            return too_large(size);
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if status.is_success() && body.len() as u64 > limit {
                        return too_large(body.len() as u64);
                    }
                }
                Ok(None) => break,
                Err(error) => return Attempt::Retry(network(&provider, &error)),
            }
        }
        if status.is_server_error() {
            return Attempt::Retry(ProviderError::Upstream {
                provider,
                status: status.as_u16(),
                message: error_message(&body).unwrap_or_else(|| status.to_string()),
            });
        }
        Attempt::Answer(ForgeResponse {
            status,
            headers,
            body,
            url: url.clone(),
        })
    }
}

/// What a forge says about its limits: Gitea's optional `X-RateLimit-*`, GitLab's
/// `RateLimit-*` (reset as a Unix time), and `Retry-After` (seconds or an HTTP date).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RateHeaders {
    pub(crate) limit: Option<u32>,
    pub(crate) remaining: Option<u32>,
    pub(crate) reset_in: Option<Duration>,
    pub(crate) retry_after: Option<Duration>,
}

impl RateHeaders {
    pub(crate) fn parse(headers: &HeaderMap) -> Self {
        let text = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()))
                .map(|v| v.trim().to_owned())
        };
        let number = |names: &[&str]| text(names).and_then(|v| v.parse::<u64>().ok());
        let now = Utc::now().timestamp();
        let reset_in = number(&["ratelimit-reset", "x-ratelimit-reset"]).map(|reset| {
            // A Unix time (GitLab, GitHub-alikes) or, when small, seconds from now.
            let reset = i64::try_from(reset).unwrap_or(i64::MAX);
            let seconds = if reset > 1_000_000_000 {
                reset - now
            } else {
                reset
            };
            Duration::from_secs(u64::try_from(seconds.max(0)).unwrap_or(0))
        });
        let retry_after = text(&[RETRY_AFTER.as_str()]).and_then(|value| {
            if let Ok(seconds) = value.parse::<u64>() {
                return Some(Duration::from_secs(seconds));
            }
            let date = DateTime::parse_from_rfc2822(&value)
                .ok()?
                .with_timezone(&Utc);
            Some((date - Utc::now()).to_std().unwrap_or(Duration::ZERO))
        });
        let small = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        Self {
            limit: number(&["ratelimit-limit", "x-ratelimit-limit"]).map(small),
            remaining: number(&["ratelimit-remaining", "x-ratelimit-remaining"]).map(small),
            reset_in,
            retry_after,
        }
    }
}

fn network(provider: &str, error: &reqwest::Error) -> ProviderError {
    use std::error::Error as _;
    let mut message = if error.is_timeout() {
        "timed out".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ProviderError::Network {
        provider: provider.to_owned(),
        message,
    }
}

/// The `message` (Gitea, GitLab), `error` (GitLab) or `error.message` (Bitbucket's
/// `{"type": "error", "error": {"message": …}}`) field of an error body.
fn error_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let field = value.get("message").or_else(|| {
        let error = value.get("error")?;
        Some(error.get("message").unwrap_or(error))
    })?;
    Some(match field.as_str() {
        Some(text) => text.to_owned(),
        None => field.to_string(),
    })
}

/// The `rel="next"` target of an RFC 8288 `Link` header, resolved against `base`.
pub(crate) fn next_link(headers: &HeaderMap, base: &Url) -> Option<Url> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|link| {
            let (target, params) = link.trim().strip_prefix('<')?.split_once('>')?;
            let is_next = params.split(';').any(|param| {
                param.split_once('=').is_some_and(|(key, value)| {
                    key.trim().eq_ignore_ascii_case("rel")
                        && value
                            .trim()
                            .trim_matches('"')
                            .split_whitespace()
                            .any(|rel| rel.eq_ignore_ascii_case("next"))
                })
            });
            is_next.then(|| base.join(target.trim()).ok()).flatten()
        })
}

/// `base` with `segments` appended, each percent-encoded.
pub(crate) fn join(base: &Url, segments: &[&str]) -> Url {
    crate::http::join_segments(base, segments)
}

/// A full commit SHA (SHA-1 or SHA-256), which needs no resolving.
pub(crate) fn is_commit_sha(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Forges' timestamps (RFC 3339).
pub(crate) fn timestamp(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Empty or blank text is no text.
pub(crate) fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gitlab_and_gitea_limit_headers() {
        let mut headers = HeaderMap::new();
        let reset = Utc::now().timestamp() + 30;
        headers.insert("ratelimit-limit", HeaderValue::from_static("2000"));
        headers.insert("ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert(
            "ratelimit-reset",
            HeaderValue::from_str(&reset.to_string()).unwrap(),
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let rate = RateHeaders::parse(&headers);
        assert_eq!((rate.limit, rate.remaining), (Some(2000), Some(0)));
        assert!(rate.reset_in.unwrap() <= Duration::from_secs(30));
        assert!(rate.reset_in.unwrap() >= Duration::from_secs(28));
        assert_eq!(rate.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(
            RateHeaders::parse(&HeaderMap::new()),
            RateHeaders::default()
        );
    }

    #[test]
    fn follows_relative_and_absolute_next_links() {
        let base = Url::parse("https://codeberg.org/api/v1/repos/search?page=1").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            HeaderValue::from_static(
                "<https://codeberg.org/api/v1/repos/search?page=2>; rel=\"next\", <https://codeberg.org/api/v1/repos/search?page=9>; rel=\"last\"",
            ),
        );
        assert_eq!(
            next_link(&headers, &base).unwrap().as_str(),
            "https://codeberg.org/api/v1/repos/search?page=2"
        );
        assert_eq!(next_link(&HeaderMap::new(), &base), None);
    }
}
