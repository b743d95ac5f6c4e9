//! The Valkey connection both services use for cache, rate limits and cache versions (the
//! job queues have their own client inside apalis).
//!
//! The pool connects in the background and keeps reconnecting with exponential backoff, so
//! a service starts and keeps serving while Valkey is away; each command fails after the
//! configured timeout instead of hanging.

use std::time::Duration;

use fred::prelude::*;
use secrecy::ExposeSecret;
use wump_core::settings::ValkeySettings;

/// A pool of Valkey connections.
pub type ValkeyPool = Pool;

/// A failed Valkey operation.
#[derive(Debug, thiserror::Error)]
pub enum ValkeyError {
    /// `valkey.url` cannot be used. The URL itself is not repeated: it may hold a password.
    #[error("invalid valkey.url: {0}")]
    InvalidUrl(String),
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
    let url = settings.url.expose_secret();
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    if !scheme.is_some_and(|s| SCHEMES.contains(&s)) {
        return Err(ValkeyError::InvalidUrl(format!(
            "the scheme must be one of {}",
            SCHEMES.join(", ")
        )));
    }
    let config =
        Config::from_url(url).map_err(|e| ValkeyError::InvalidUrl(e.kind().to_str().to_owned()))?;
    let timeout = Duration::from_millis(settings.command_timeout_ms);
    let pool = Builder::from_config(config)
        .with_connection_config(|c| {
            c.connection_timeout = timeout;
            c.internal_command_timeout = timeout;
            c.max_command_attempts = 2;
        })
        .with_performance_config(|p| p.default_command_timeout = timeout)
        // 0: never stop trying; 100 ms doubling up to 5 s between attempts.
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
        .build_pool(settings.pool_size.max(1))
        .map_err(|e| ValkeyError::InvalidUrl(e.to_string()))?;
    pool.connect();
    Ok(pool)
}

/// Round-trips a `PING` (health checks).
pub async fn ping(pool: &ValkeyPool) -> Result<(), ValkeyError> {
    let _: String = pool.ping(None).await?;
    Ok(())
}
