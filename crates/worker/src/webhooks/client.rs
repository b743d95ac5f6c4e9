//! The HTTP client deliveries go through. Every connection goes to an address the
//! [`AddressPolicy`] allows: names are resolved by [`PolicyResolver`], which refuses a
//! name if any of its addresses is refused (so a name cannot be re-pointed at a private
//! address between the subscription's check and the delivery: the connection only ever
//! uses the addresses checked here), literal addresses are checked before sending, and
//! redirects are not followed unless `webhooks.max_redirects` allows them, each hop then
//! checked again. No proxy from the environment is used: it would connect for us to
//! addresses we never saw.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use reqwest::{
    StatusCode,
    dns::{Addrs, Name, Resolve, Resolving},
    redirect,
};
use wump_core::{
    settings::WebhookSettings,
    webhooks::{
        AddressPolicy, Forbidden, SigningSecret, TargetError, WebhookTarget, signature_headers,
    },
};

/// Resolves names with the system resolver and refuses those with a forbidden address.
#[derive(Debug, Clone)]
struct PolicyResolver {
    policy: AddressPolicy,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for address in &addresses {
                policy.check(address.ip())?;
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// Sends signed deliveries.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    client: reqwest::Client,
    policy: AddressPolicy,
    allow_http: bool,
    max_payload_bytes: usize,
    timeout: Duration,
}

/// A receiver's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub status: StatusCode,
    pub latency: Duration,
}

/// Why a delivery did not get an answer, or got one that is not success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Retrying cannot help: a refused address, a bad URL, a body too large.
    #[error("{0}")]
    Refused(String),
    /// The receiver answered, but not with success.
    #[error("HTTP {status} from {url}")]
    Status {
        status: StatusCode,
        url: String,
        latency: Duration,
    },
    /// No answer: connection refused or reset, TLS, timeout.
    #[error("{message}")]
    NoAnswer { message: String, latency: Duration },
}

impl SendError {
    /// How long the attempt took, when it got as far as sending.
    pub fn latency(&self) -> Option<Duration> {
        match self {
            SendError::Refused(_) => None,
            SendError::Status { latency, .. } | SendError::NoAnswer { latency, .. } => {
                Some(*latency)
            }
        }
    }
}

impl WebhookClient {
    /// A client applying `policy` and the limits in `settings`.
    pub fn new(settings: &WebhookSettings, policy: AddressPolicy) -> anyhow::Result<Self> {
        let redirects = if settings.max_redirects == 0 {
            redirect::Policy::none()
        } else {
            let max = settings.max_redirects as usize;
            let hop_policy = policy.clone();
            let allow_http = settings.allow_http;
            redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > max {
                    return attempt.error(format!("more than {max} redirects"));
                }
                // Names are checked when resolved; scheme and literal addresses here.
                match WebhookTarget::parse(attempt.url().as_str(), allow_http, &hop_policy) {
                    Ok(_) => attempt.follow(),
                    Err(e) => {
                        let message = format!("redirect to {} refused: {e}", attempt.url());
                        attempt.error(message)
                    }
                }
            })
        };
        let client = reqwest::Client::builder()
            .dns_resolver(PolicyResolver {
                policy: policy.clone(),
            })
            .no_proxy()
            .redirect(redirects)
            .timeout(settings.timeout())
            .connect_timeout(settings.timeout())
            .user_agent(concat!("wump-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            policy,
            allow_http: settings.allow_http,
            max_payload_bytes: settings.max_payload_bytes,
            timeout: settings.timeout(),
        })
    }

    /// POSTs `body` to `url`, signed with `secret` as message `id`; success is a 2xx
    /// answer.
    pub async fn send(
        &self,
        url: &str,
        id: &str,
        body: Vec<u8>,
        secret: &SigningSecret,
    ) -> Result<Sent, SendError> {
        if body.len() > self.max_payload_bytes {
            return Err(SendError::Refused(format!(
                "the payload is {} bytes, more than webhooks.max_payload_bytes ({})",
                body.len(),
                self.max_payload_bytes
            )));
        }
        let target = WebhookTarget::parse(url, self.allow_http, &self.policy)
            .map_err(|e| SendError::Refused(format!("{url} refused: {e}")))?;
        let timestamp = chrono::Utc::now().timestamp();
        let mut request = self
            .client
            .post(target.url().clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in signature_headers(secret, id, timestamp, &body) {
            request = request.header(name, value);
        }
        let started = Instant::now();
        let result = request.body(body).send().await;
        let latency = started.elapsed();
        let response = match result {
            Ok(response) => response,
            Err(error) => return Err(self.describe(url, error, latency)),
        };
        let status = response.status();
        // The body is not read: only the status counts, and a receiver cannot make us
        // download anything.
        drop(response);
        if status.is_success() {
            Ok(Sent { status, latency })
        } else {
            Err(SendError::Status {
                status,
                url: url.to_owned(),
                latency,
            })
        }
    }

    fn describe(&self, url: &str, error: reqwest::Error, latency: Duration) -> SendError {
        // A refused address anywhere in the chain (the resolver's, or a redirect's).
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(cause) = source {
            if let Some(forbidden) = cause.downcast_ref::<Forbidden>() {
                return SendError::Refused(format!("{url} refused: {forbidden}"));
            }
            if let Some(target) = cause.downcast_ref::<TargetError>() {
                return SendError::Refused(format!("{url} refused: {target}"));
            }
            source = cause.source();
        }
        if error.is_redirect() {
            return SendError::Refused(format!("{url}: {}", chain(&error)));
        }
        let message = if error.is_timeout() {
            format!(
                "no answer from {url} within {} ms (webhooks.timeout_ms)",
                self.timeout.as_millis()
            )
        } else {
            format!("cannot reach {url}: {}", chain(&error))
        };
        SendError::NoAnswer { message, latency }
    }
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
