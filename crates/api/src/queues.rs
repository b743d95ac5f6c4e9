//! The job queues, connected on first use: the API starts and serves reads while Valkey is
//! away; only the endpoints that need the queues answer 503 until it is back.

use std::time::Duration;

use tokio::sync::OnceCell;
use wump_core::settings::{QueueSettings, ValkeySettings};
use wump_db::queue::Queues;

use crate::problem::{ApiError, UNAVAILABLE_RETRY_AFTER};

/// Longest wait for a first connection to the queues.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// [`Queues`] once they could be connected.
#[derive(Debug)]
pub struct LazyQueues {
    cell: OnceCell<Queues>,
    valkey: ValkeySettings,
    settings: QueueSettings,
    /// The API's key prefix, before the queues' own.
    prefix: String,
}

impl LazyQueues {
    /// Queues that will connect with these settings, their keys under `prefix` then
    /// `queues.key_prefix`.
    pub fn new(valkey: ValkeySettings, settings: QueueSettings, prefix: &str) -> Self {
        let prefix = format!("{prefix}{}", settings.key_prefix);
        Self {
            cell: OnceCell::new(),
            valkey,
            settings,
            prefix,
        }
    }

    /// The queues, connecting now if they never were; 503 while Valkey is unreachable.
    pub async fn get(&self) -> Result<&Queues, ApiError> {
        self.cell
            .get_or_try_init(|| async {
                let connect = Queues::connect(&self.valkey, self.settings.clone());
                match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
                    Ok(queues) => Ok(queues?.with_prefix(self.prefix.clone())),
                    Err(_) => {
                        tracing::warn!("job queues unavailable: connecting timed out");
                        Err(ApiError::Unavailable {
                            what: "the job queue",
                            retry_after: UNAVAILABLE_RETRY_AFTER,
                        })
                    }
                }
            })
            .await
    }
}
