//! Waiting for every queue to run dry, for `wump-worker run --until-idle`.

use std::time::{Duration, Instant};

use super::{InFlight, Queues};

/// Resolves once every queue of `queues` has been empty (nothing pending, scheduled or held
/// by any worker) and this process has handled no job for `settle` without a break, polling
/// every `poll`. Jobs the drained jobs enqueue keep it waiting; dead-lettered jobs do not.
/// A Valkey error counts as "not idle" (it is logged and polled again).
pub async fn wait_until_idle(
    queues: &Queues,
    in_flight: &InFlight,
    settle: Duration,
    poll: Duration,
) {
    let mut idle_since: Option<Instant> = None;
    loop {
        let busy = match queues.depths().await {
            Ok(depths) => {
                in_flight.count() > 0 || depths.iter().any(|(_, depth)| depth.total() > 0)
            }
            Err(error) => {
                tracing::warn!(%error, "reading queue depths");
                true
            }
        };
        if busy {
            idle_since = None;
        } else {
            let since = *idle_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= settle {
                tracing::info!("every queue is empty");
                return;
            }
        }
        tokio::time::sleep(poll).await;
    }
}
