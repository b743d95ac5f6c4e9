//! The cache versions this instance has read, remembered in memory and forgotten the moment
//! the worker bumps one, so a HIT costs one Valkey round trip (the entry) instead of two.
//!
//! Valkey says when a version changes: one RESP3 connection asks for `CLIENT TRACKING ON
//! BCAST PREFIX <the version keys' prefix>` and receives an invalidation message for every
//! write to a key under it, from any client (server-assisted client-side caching). BCAST
//! needs no per-key table on the server, whatever the number of packages.
//!
//! What keeps it right:
//! - A version read from Valkey is remembered only if no invalidation of its key arrived
//!   while it was being read: the read holds a ticket in the key's slot, an invalidation
//!   empties the slot, and the answer is kept only if its ticket is still there.
//! - Nothing is trusted while the tracking connection is down or being set up, because a
//!   dropped connection loses invalidations: on every (re)connect the memory is emptied and
//!   tracking turned on again before anything is remembered. A lagging invalidation stream
//!   (messages dropped) empties it too. A server that refuses tracking leaves it off: every
//!   lookup then reads Valkey, as without this module.
//! - Memory is bounded: past `capacity` keys it starts over.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use fred::{
    clients::Client,
    interfaces::{ClientLike, EventInterface, TrackingInterface},
};
use tokio::sync::broadcast::error::RecvError;

/// Remembered versions, kept right by Valkey's invalidation messages (cheap to clone).
#[derive(Clone)]
pub(crate) struct Versions {
    shared: Arc<Shared>,
}

struct Shared {
    slots: Mutex<HashMap<String, Slot>>,
    capacity: usize,
    /// Tracking is on and the connection has not dropped since it was turned on.
    live: AtomicBool,
    tickets: AtomicU64,
    /// Called with each bumped key (cache warming); not for a "forget everything".
    on_bump: Box<dyn Fn(&str) + Send + Sync>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Being read from Valkey by the holder of this ticket.
    Reading(u64),
    Known(u64),
}

/// A read of a version from Valkey, to hand back to [`Versions::read`].
#[derive(Debug)]
pub(crate) struct Ticket(u64);

impl Versions {
    /// Starts tracking the keys under `prefix` on `client` (a RESP3 connection of its own),
    /// remembering at most `capacity` versions; `on_bump` hears of every bumped key.
    pub(crate) fn start(
        client: Client,
        prefix: String,
        capacity: usize,
        on_bump: impl Fn(&str) + Send + Sync + 'static,
    ) -> Self {
        let versions = Self {
            shared: Arc::new(Shared {
                slots: Mutex::new(HashMap::new()),
                capacity: capacity.max(1),
                live: AtomicBool::new(false),
                tickets: AtomicU64::new(0),
                on_bump: Box::new(on_bump),
            }),
        };
        tokio::spawn(track(client, prefix, versions.shared.clone()));
        versions
    }

    /// The remembered version of `key`, if it can be trusted.
    pub(crate) fn known(&self, key: &str) -> Option<u64> {
        if !self.shared.live.load(Ordering::Acquire) {
            return None;
        }
        match self.shared.slots().get(key) {
            Some(Slot::Known(version)) => Some(*version),
            _ => None,
        }
    }

    /// Starts a read of `key` from Valkey; `None` when its answer must not be remembered
    /// (tracking is not live).
    pub(crate) fn reading(&self, key: &str) -> Option<Ticket> {
        if !self.shared.live.load(Ordering::Acquire) {
            return None;
        }
        let ticket = self.shared.tickets.fetch_add(1, Ordering::Relaxed);
        let mut slots = self.shared.slots();
        if slots.len() >= self.shared.capacity && !slots.contains_key(key) {
            slots.clear();
        }
        slots.insert(key.to_owned(), Slot::Reading(ticket));
        Some(Ticket(ticket))
    }

    /// What the read of `ticket` found: remembered unless `key` was invalidated meanwhile.
    pub(crate) fn read(&self, key: &str, ticket: Ticket, version: u64) {
        let mut slots = self.shared.slots();
        if let Some(slot) = slots.get_mut(key)
            && *slot == Slot::Reading(ticket.0)
        {
            *slot = Slot::Known(version);
        }
    }

    /// Whether invalidations are arriving and versions are being remembered.
    pub(crate) fn is_live(&self) -> bool {
        self.shared.live.load(Ordering::Acquire)
    }
}

impl Shared {
    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        // A panic while holding the lock leaves a map that is still a valid map.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops trusting and forgets everything (invalidations may have been lost).
    fn distrust(&self) {
        self.live.store(false, Ordering::Release);
        self.slots().clear();
    }

    fn invalidate(&self, keys: &[String]) {
        let mut slots = self.slots();
        for key in keys {
            slots.remove(key);
        }
        drop(slots);
        for key in keys {
            (self.on_bump)(key);
        }
    }
}

/// Turns tracking on at every (re)connect and applies invalidations until the client is
/// dropped.
async fn track(client: Client, prefix: String, shared: Arc<Shared>) {
    // Subscribed before looking at the connection, so no event falls in between.
    let mut reconnects = client.reconnect_rx();
    let mut errors = client.error_rx();
    let mut invalidations = client.invalidation_rx();
    let mut refused_logged = false;
    loop {
        shared.distrust();
        if client.is_connected() {
            // Off first: turning BCAST on twice for one prefix is refused.
            let _ = client.stop_tracking().await;
            match client
                .start_tracking(prefix.as_str(), true, false, false, false)
                .await
            {
                Ok(()) => {
                    // Emptied again: an invalidation sent before tracking was on never came.
                    shared.slots().clear();
                    shared.live.store(true, Ordering::Release);
                    tracing::debug!("tracking cache versions in memory");
                }
                Err(err) if !refused_logged => {
                    refused_logged = true;
                    tracing::warn!(
                        error = %err,
                        "valkey refused CLIENT TRACKING: every cached read asks it for the version"
                    );
                }
                Err(_) => {}
            }
        }
        // Until the connection changes: apply invalidations.
        loop {
            tokio::select! {
                reconnected = reconnects.recv() => match reconnected {
                    Ok(_) | Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return,
                },
                // A failed connection comes back with a reconnect; anything else is set
                // up again at once.
                failed = errors.recv() => match failed {
                    Ok(_) | Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return,
                },
                message = invalidations.recv() => match message {
                    Ok(invalidation) => {
                        let keys: Vec<String> = invalidation
                            .keys
                            .iter()
                            .filter_map(|k| k.as_str().map(str::to_owned))
                            .collect();
                        if keys.is_empty() {
                            // A FLUSHALL/FLUSHDB: every key changed.
                            shared.slots().clear();
                        } else {
                            shared.invalidate(&keys);
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "invalidations dropped: forgetting every version");
                        shared.slots().clear();
                    }
                    Err(RecvError::Closed) => return,
                },
            }
        }
    }
}
