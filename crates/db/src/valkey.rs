//! The Valkey connection both services use for cache, rate limits and cache versions (the
//! job queues have their own client inside apalis).
//!
//! The pool connects in the background and keeps reconnecting with exponential backoff, so
//! a service starts and keeps serving while Valkey is away; each command fails after the
//! configured timeout instead of hanging. `rediss://` URLs connect over TLS, checking the
//! server against `valkey.ca_file` or the system's authorities.

use std::time::Duration;

use fred::{
    prelude::*,
    types::{RespVersion, config::TlsConnector},
};
use secrecy::ExposeSecret;
use wump_core::settings::ValkeySettings;

use crate::tls::Verification;

mod script;

pub use self::script::Script;

/// A pool of Valkey connections.
pub type ValkeyPool = Pool;

/// A failed Valkey operation.
#[derive(Debug, thiserror::Error)]
pub enum ValkeyError {
    /// `valkey.url` cannot be used. The URL itself is not repeated: it may hold a password.
    #[error("invalid valkey.url: {0}")]
    InvalidUrl(String),
    /// `valkey.ca_file` cannot be used.
    #[error("invalid valkey.ca_file: {0}")]
    InvalidCaFile(String),
    /// The server cannot be reached, or a command timed out.
    #[error("valkey unavailable: {0}")]
    Unavailable(String),
}

impl From<Error> for ValkeyError {
    fn from(err: Error) -> Self {
        ValkeyError::Unavailable(err.to_string())
    }
}

/// URL schemes fred understands for a Valkey or Redis server.
const SCHEMES: [&str; 8] = [
    "redis",
    "rediss",
    "valkey",
    "valkeys",
    "redis-cluster",
    "valkey-cluster",
    "redis-sentinel",
    "valkey-sentinel",
];

/// Builds a pool from settings and starts connecting in the background.
pub fn connect_valkey(settings: &ValkeySettings) -> Result<ValkeyPool, ValkeyError> {
    let pool = builder(settings, RespVersion::RESP2)?
        .build_pool(settings.pool_size.max(1))
        .map_err(|e| ValkeyError::InvalidUrl(e.to_string()))?;
    pool.connect();
    Ok(pool)
}

/// One RESP3 connection for server-assisted client-side caching (`CLIENT TRACKING`): its
/// invalidation messages arrive on the connection itself, which RESP2 cannot carry. Starts
/// connecting in the background, like the pool.
pub fn connect_tracking(settings: &ValkeySettings) -> Result<Client, ValkeyError> {
    let mut builder = builder(settings, RespVersion::RESP3)?;
    // Invalidations come in bursts (a worker bumps thousands of packages at once); a
    // receiver that falls further behind than this loses messages and must start over.
    builder.with_performance_config(|p| p.broadcast_channel_capacity = 8_192);
    let client = builder
        .build()
        .map_err(|e| ValkeyError::InvalidUrl(e.to_string()))?;
    client.connect();
    Ok(client)
}

/// The settings as fred's builder: URL, TLS, timeouts and a reconnect policy that never
/// gives up.
fn builder(settings: &ValkeySettings, protocol: RespVersion) -> Result<Builder, ValkeyError> {
    let url = settings.url.expose_secret();
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    if !scheme.is_some_and(|s| SCHEMES.contains(&s)) {
        return Err(ValkeyError::InvalidUrl(format!(
            "the scheme must be one of {}",
            SCHEMES.join(", ")
        )));
    }
    crate::tls::install_default_provider();
    let mut config =
        Config::from_url(url).map_err(|e| ValkeyError::InvalidUrl(e.kind().to_str().to_owned()))?;
    config.version = protocol;
    if let Some(tls) = config.tls.as_mut() {
        // fred's default trusts the system's authorities; ours trusts `ca_file` instead
        // when it is set (fred still checks the certificate against the URL's host).
        let client = crate::tls::client_config(Verification::Full, settings.ca_file.as_deref())
            .map_err(ValkeyError::InvalidCaFile)?;
        tls.connector = TlsConnector::from(client);
    }
    let timeout = Duration::from_millis(settings.command_timeout_ms);
    let mut builder = Builder::from_config(config);
    builder
        .with_connection_config(|c| {
            c.connection_timeout = timeout;
            c.internal_command_timeout = timeout;
            c.max_command_attempts = 2;
        })
        .with_performance_config(|p| p.default_command_timeout = timeout)
        // 0: never stop trying; 100 ms doubling up to 5 s between attempts.
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2));
    Ok(builder)
}

/// Round-trips a `PING` (health checks).
pub async fn ping(pool: &ValkeyPool) -> Result<(), ValkeyError> {
    let _: String = pool.ping(None).await?;
    Ok(())
}
