//! HTTP plumbing for the simple JSON APIs (registries and aggregators): one client with
//! timeouts and an identifying User-Agent, bounded retries with [`Backoff`] jitter on 5xx
//! and network failures, typed errors for 404, 429 and unreadable bodies, a response size
//! cap, and a per-provider [`Politeness`] limiter.
//!
//! Secrets (an API key sent as a query parameter) are added to the URL only when the
//! request is built: logs and errors name the URL without them.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use reqwest::{StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;

use crate::{
    FleetLimits, ProviderError,
    backoff::Backoff,
    config::HttpSettings,
    fleet::{Slot, WaitKind},
    metrics::{ProviderMetrics, RequestOutcome},
};

/// How wump introduces itself (crates.io's crawler policy asks for a way to reach us).
pub const USER_AGENT: &str = concat!(
    "wump/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/wump-dev/wump)"
);

/// The `resource` label of a registry's or aggregator's limits (they have one).
pub const POLITENESS_RESOURCE: &str = "requests";

/// How long to stay away after a 429 that did not say (`Retry-After` missing).
pub const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Keeps one provider's requests at least `min_interval` apart, and refuses to send
/// anything while the provider has asked us to wait (a 429's `Retry-After`). With
/// [`FleetLimits`], both hold for every worker process at once; while the fleet's store is
/// away, this process keeps `min_interval ÷ share` between its own requests.
#[derive(Debug)]
pub struct Politeness {
    min_interval: Duration,
    state: Mutex<PolitenessState>,
    fleet: Option<FleetLimits>,
}

#[derive(Debug, Default)]
struct PolitenessState {
    /// The earliest moment the next request may go out.
    next_slot: Option<Instant>,
    /// The provider asked us not to come back before this.
    blocked_until: Option<Instant>,
}

impl Politeness {
    /// A limiter allowing one request every `min_interval` (zero: no spacing).
    pub fn new(min_interval: Duration) -> Self {
        Self {
            min_interval,
            state: Mutex::default(),
            fleet: None,
        }
    }

    /// The same spacing, kept by every process sharing `fleet`.
    pub fn shared(min_interval: Duration, fleet: FleetLimits) -> Self {
        Self {
            fleet: Some(fleet),
            ..Self::new(min_interval)
        }
    }

    /// The configured spacing.
    pub fn min_interval(&self) -> Duration {
        self.min_interval
    }

    /// Waits for this request's slot. Fails at once with [`ProviderError::RateLimited`]
    /// while a `Retry-After` is running, so no request is sent that the provider would
    /// refuse.
    pub async fn acquire(&self, provider: &str) -> Result<(), ProviderError> {
        let blocked = |retry_after| ProviderError::RateLimited {
            provider: provider.to_owned(),
            retry_after,
        };
        // A wait this process was told about holds whatever the store says.
        let mut interval = self.min_interval;
        {
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if let Some(until) = state.blocked_until.filter(|until| *until > now) {
                return Err(blocked(until - now));
            }
        }
        if let Some(fleet) = &self.fleet {
            match fleet.slot(provider, self.min_interval).await {
                Some(Slot::After(delay)) => {
                    tokio::time::sleep(delay).await;
                    return Ok(());
                }
                Some(Slot::Blocked(wait)) => return Err(blocked(wait)),
                None => {
                    interval = self.min_interval.div_f64(fleet.policy().fallback_share);
                }
            }
        }
        let slot = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = state.next_slot.map_or(now, |next| next.max(now));
            state.next_slot = Some(slot + interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
        Ok(())
    }

    /// Sends nothing for `wait` from now (no process of the fleet does, when shared).
    pub async fn block_for(&self, provider: &str, wait: Duration) {
        {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let until = Instant::now() + wait;
            state.blocked_until = Some(state.blocked_until.map_or(until, |b| b.max(until)));
        }
        if let Some(fleet) = &self.fleet {
            fleet.block(provider, wait).await;
        }
    }
}

/// A decoded JSON body and the next page its `Link` header points to.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPage<T> {
    pub value: T,
    /// `Link: <…>; rel="next"`, resolved against the request URL.
    pub next: Option<Url>,
}

/// A JSON-over-HTTP client for one provider.
#[derive(Debug, Clone)]
pub struct HttpClient {
    provider: Arc<str>,
    client: reqwest::Client,
    backoff: Backoff,
    max_response_bytes: u64,
    politeness: Arc<Politeness>,
    metrics: ProviderMetrics,
}

/// How one attempt ended when it did not succeed.
enum Failure {
    /// Worth another attempt (5xx, network, timeout).
    Retry(ProviderError),
    /// Final (404, 429, unreadable body, …).
    Stop(ProviderError),
}

impl HttpClient {
    /// A client for `provider` with the shared settings and its own spacing between
    /// requests.
    pub fn new(
        provider: &str,
        settings: &HttpSettings,
        min_interval: Duration,
    ) -> Result<Self, ProviderError> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(settings.timeout())
            .connect_timeout(settings.connect_timeout())
            .build()
            .map_err(|e| ProviderError::Config {
                provider: provider.to_owned(),
                message: format!("cannot build the HTTP client: {}", error_chain(&e)),
            })?;
        Ok(Self {
            provider: provider.into(),
            client,
            backoff: settings.backoff(),
            max_response_bytes: settings.max_response_bytes,
            politeness: Arc::new(Politeness::new(min_interval)),
            metrics: ProviderMetrics::default(),
        })
    }

    /// Keeps this client's spacing and `Retry-After` holds for every process sharing
    /// `fleet`.
    #[must_use]
    pub fn with_fleet(mut self, fleet: FleetLimits) -> Self {
        self.politeness = Arc::new(Politeness::shared(self.politeness.min_interval(), fleet));
        self
    }

    /// Records requests and waits on `metrics` instead of the global meter's (tests).
    #[must_use]
    pub fn with_metrics(mut self, metrics: ProviderMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The provider this client speaks for.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The limiter that spaces this client's requests.
    pub fn politeness(&self) -> &Politeness {
        &self.politeness
    }

    /// GETs `url` and decodes its JSON body; `what` names the thing asked for in errors.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &Url,
        what: &str,
    ) -> Result<T, ProviderError> {
        Ok(self.get_json_page(url, what, None).await?.value)
    }

    /// [`Self::get_json`], also returning the `Link` header's next page, with an optional
    /// secret query parameter (`api_key`) that never appears in logs or errors.
    pub async fn get_json_page<T: DeserializeOwned>(
        &self,
        url: &Url,
        what: &str,
        secret_query: Option<(&str, &SecretString)>,
    ) -> Result<JsonPage<T>, ProviderError> {
        let mut retry = 0;
        loop {
            self.politeness
                .acquire(&self.provider)
                .await
                .inspect_err(|_| {
                    self.metrics.limit_refused(
                        &self.provider,
                        crate::fleet::ANONYMOUS,
                        POLITENESS_RESOURCE,
                    );
                })?;
            let err = match self.attempt(url, what, secret_query).await {
                Ok(page) => return Ok(page),
                Err(Failure::Stop(err)) => return Err(err),
                Err(Failure::Retry(err)) => err,
            };
            retry += 1;
            let Some(delay) = self.backoff.delay_with_random_jitter(retry) else {
                return Err(err);
            };
            tracing::warn!(
                provider = %self.provider,
                url = %url,
                retry,
                delay_ms = delay.as_millis() as u64,
                error = %err,
                "request failed, retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Whether the provider answers at all: any status below 500 counts. No retries.
    pub async fn probe(&self, url: &Url) -> Result<(), ProviderError> {
        self.politeness.acquire(&self.provider).await?;
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| self.unanswered(e))?;
        let status = response.status();
        self.metrics
            .request(&self.provider, RequestOutcome::of_status(status.as_u16()));
        if status.is_server_error() {
            return Err(ProviderError::Upstream {
                provider: self.provider.to_string(),
                status: status.as_u16(),
                message: reason(status),
            });
        }
        Ok(())
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        url: &Url,
        what: &str,
        secret_query: Option<(&str, &SecretString)>,
    ) -> Result<JsonPage<T>, Failure> {
        let mut request_url = url.clone();
        if let Some((key, secret)) = secret_query {
            request_url
                .query_pairs_mut()
                .append_pair(key, secret.expose_secret());
        }
        let response = self
            .client
            .get(request_url)
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| Failure::Retry(self.unanswered(e)))?;
        let status = response.status();
        self.metrics
            .request(&self.provider, RequestOutcome::of_status(status.as_u16()));
        let provider = self.provider.to_string();
        match status.as_u16() {
            200..=299 => {}
            404 | 410 => {
                return Err(Failure::Stop(ProviderError::NotFound {
                    provider,
                    what: what.to_owned(),
                }));
            }
            429 => {
                let retry_after =
                    retry_after(response.headers()).unwrap_or(DEFAULT_RATE_LIMIT_WAIT);
                self.politeness.block_for(&self.provider, retry_after).await;
                self.metrics.rate_limit_wait(&self.provider, retry_after);
                self.metrics.limit_wait(
                    &self.provider,
                    crate::fleet::ANONYMOUS,
                    POLITENESS_RESOURCE,
                    WaitKind::Politeness,
                );
                return Err(Failure::Stop(ProviderError::RateLimited {
                    provider,
                    retry_after,
                }));
            }
            401 | 403 => {
                return Err(Failure::Stop(ProviderError::Unauthorized {
                    provider,
                    status: status.as_u16(),
                }));
            }
            500..=599 => {
                return Err(Failure::Retry(ProviderError::Upstream {
                    provider,
                    status: status.as_u16(),
                    message: reason(status),
                }));
            }
            _ => {
                return Err(Failure::Stop(ProviderError::Upstream {
                    provider,
                    status: status.as_u16(),
                    message: reason(status),
                }));
            }
        }
        let next = next_link(response.headers(), url);
        let body = self.read_capped(response, url).await?;
        let value = serde_json::from_slice(&body).map_err(|e| {
            Failure::Stop(ProviderError::Malformed {
                provider: self.provider.to_string(),
                message: format!("{what}: {e}"),
            })
        })?;
        Ok(JsonPage { value, next })
    }

    /// Reads the body, refusing more than the configured number of bytes.
    async fn read_capped(
        &self,
        mut response: reqwest::Response,
        url: &Url,
    ) -> Result<Vec<u8>, Failure> {
        let limit = self.max_response_bytes;
        let too_large = |size: u64| {
            Failure::Stop(ProviderError::TooLarge {
                path: url.to_string(),
                size,
                limit,
            })
        };
        if let Some(size) = response.content_length().filter(|size| *size > limit) {
            return Err(too_large(size));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| Failure::Retry(self.network(e)))?
        {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > limit {
                return Err(too_large(body.len() as u64));
            }
        }
        Ok(body)
    }

    /// A request that got no response: counted, then [`Self::network`].
    fn unanswered(&self, err: reqwest::Error) -> ProviderError {
        self.metrics
            .request(&self.provider, RequestOutcome::NetworkError);
        self.network(err)
    }

    fn network(&self, err: reqwest::Error) -> ProviderError {
        let message = if err.is_timeout() {
            "timed out".to_owned()
        } else {
            error_chain(&err.without_url())
        };
        ProviderError::Network {
            provider: self.provider.to_string(),
            message,
        }
    }
}

/// An error and its causes, `: `-separated (reqwest's own message is only the outermost).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn reason(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("unknown status")
        .to_owned()
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((date - Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

/// The `rel="next"` target of an RFC 8288 `Link` header.
fn next_link(headers: &header::HeaderMap, base: &Url) -> Option<Url> {
    headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|link| {
            let (target, params) = link.trim().strip_prefix('<')?.split_once('>')?;
            let is_next = params.split(';').any(|param| {
                let Some((key, value)) = param.split_once('=') else {
                    return false;
                };
                key.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            });
            is_next.then(|| base.join(target.trim()).ok()).flatten()
        })
}

/// `base` with `segments` appended as path segments, each percent-encoded (so npm's
/// `@scope/name` becomes one `@scope%2Fname` segment).
pub fn join_segments(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// Parses a configured base URL.
pub fn parse_base_url(provider: &str, url: &str) -> Result<Url, ProviderError> {
    let parsed = Url::parse(url).map_err(|e| ProviderError::Config {
        provider: provider.to_owned(),
        message: format!("`{url}` is not a URL: {e}"),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ProviderError::Config {
            provider: provider.to_owned(),
            message: format!("`{url}` is not an http(s) URL"),
        });
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_yield_the_next_page() {
        let base = Url::parse("https://repos.ecosyste.ms/api/v1/usage/npm/x/dependencies").unwrap();
        let mut headers = header::HeaderMap::new();
        headers.insert(
            header::LINK,
            "<https://repos.ecosyste.ms/api/v1/usage/npm/x/dependencies?page=1>; rel=\"first\", <https://repos.ecosyste.ms/api/v1/usage/npm/x/dependencies?page=3>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers, &base).unwrap().as_str(),
            "https://repos.ecosyste.ms/api/v1/usage/npm/x/dependencies?page=3"
        );
        headers.insert(header::LINK, "</p?page=2>; rel=next".parse().unwrap());
        assert_eq!(
            next_link(&headers, &base).unwrap().as_str(),
            "https://repos.ecosyste.ms/p?page=2"
        );
        headers.insert(header::LINK, "<x>; rel=\"prev\"".parse().unwrap());
        assert_eq!(next_link(&headers, &base), None);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = header::HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "120".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(120)));
        headers.insert(
            header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn segments_are_encoded_and_appended_after_the_base_path() {
        let base = Url::parse("http://127.0.0.1:9/registry/").unwrap();
        assert_eq!(
            join_segments(&base, &["@babel/core"]).as_str(),
            "http://127.0.0.1:9/registry/@babel%2Fcore"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn politeness_spaces_requests_and_honours_retry_after() {
        let politeness = Politeness::new(Duration::from_secs(1));
        let start = Instant::now();
        for _ in 0..3 {
            politeness.acquire("crates.io").await.unwrap();
        }
        assert_eq!(start.elapsed(), Duration::from_secs(2));

        politeness
            .block_for("crates.io", Duration::from_secs(30))
            .await;
        let err = politeness.acquire("crates.io").await.unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
        tokio::time::advance(Duration::from_secs(30)).await;
        politeness.acquire("crates.io").await.unwrap();
    }

    #[tokio::test]
    async fn requests_are_counted_by_outcome_and_rate_limit_waits_recorded() {
        use opentelemetry::metrics::MeterProvider as _;
        use opentelemetry_sdk::metrics::{
            InMemoryMetricExporter, PeriodicReader, SdkMeterProvider,
            data::{AggregatedMetrics, MetricData},
        };
        use wiremock::{
            Mock, MockServer, ResponseTemplate,
            matchers::{method, path},
        };

        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/ok"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/limited"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7"))
            .mount(&server)
            .await;
        let exporter = InMemoryMetricExporter::default();
        let meters = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        let client = HttpClient::new("registry", &HttpSettings::default(), Duration::ZERO)
            .unwrap()
            .with_metrics(ProviderMetrics::new(&meters.meter("wump-providers")));
        let base = Url::parse(&server.uri()).unwrap();
        for _ in 0..2 {
            let _: serde_json::Value = client
                .get_json(&base.join("ok").unwrap(), "ok")
                .await
                .unwrap();
        }
        let _ = client
            .get_json::<serde_json::Value>(&base.join("missing").unwrap(), "x")
            .await;
        let err = client
            .get_json::<serde_json::Value>(&base.join("limited").unwrap(), "x")
            .await
            .unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        meters.force_flush().unwrap();

        let exports = exporter.get_finished_metrics().unwrap();
        let metrics: Vec<_> = exports
            .last()
            .unwrap()
            .scope_metrics()
            .flat_map(|scope| scope.metrics())
            .collect();
        let requests = metrics
            .iter()
            .find(|m| m.name() == "wump.provider.requests")
            .unwrap();
        let AggregatedMetrics::U64(MetricData::Sum(sum)) = requests.data() else {
            panic!("{requests:?}")
        };
        let mut counted: Vec<(String, u64)> = sum
            .data_points()
            .map(|p| {
                let mut attributes: Vec<String> = p
                    .attributes()
                    .map(|kv| format!("{}={}", kv.key, kv.value))
                    .collect();
                attributes.sort();
                (attributes.join(","), p.value())
            })
            .collect();
        counted.sort();
        assert_eq!(
            counted,
            [
                ("outcome=not_found,provider=registry".to_owned(), 1),
                ("outcome=ok,provider=registry".to_owned(), 2),
                ("outcome=rate_limited,provider=registry".to_owned(), 1),
            ]
        );
        let waits = metrics
            .iter()
            .find(|m| m.name() == "wump.provider.rate_limit_wait")
            .unwrap();
        let AggregatedMetrics::F64(MetricData::Histogram(histogram)) = waits.data() else {
            panic!("{waits:?}")
        };
        let points: Vec<(u64, f64)> = histogram
            .data_points()
            .map(|p| (p.count(), p.sum()))
            .collect();
        assert_eq!(points, [(1, 7.0)]);
    }
}
