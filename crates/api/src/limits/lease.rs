//! Leases: units of a busy caller's budget that Valkey grants this instance ahead of use, so
//! that most of its requests are decided in memory instead of by a round trip each.
//!
//! The fleet stays exact: a unit is taken from the caller's budget in Valkey when it is
//! leased, so all instances together never allow more than the limit. What a lease costs is
//! the other way round: units held by one instance cannot be spent on another, and units
//! still held when the lease expires are lost (the caller gets them back at its sustained
//! rate). Both are bounded by the lease size: at most `lease_max` units, and never more than
//! an eighth of the caller's burst, so a caller spread over eight instances still gets its
//! whole burst.
//!
//! A caller starts with leases of one unit (exactly one round trip per request, as without
//! leases); each time it runs through a lease before the lease expires, the next is twice
//! as large. A caller that slows down drops back to one.

use std::{collections::HashMap, sync::Mutex};

use super::gcra::{Decision, Quota};

/// An instance may hold at most this fraction of a caller's burst.
const BURST_SHARE: u32 = 8;

/// The leases this instance holds, for at most `capacity` callers.
#[derive(Debug)]
pub(super) struct Leases {
    held: Mutex<HashMap<String, Lease>>,
    max: u32,
    ttl_us: u64,
    capacity: usize,
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    /// The quota the units were granted under: a key whose limit changed starts over.
    quota: Quota,
    /// Units granted and not spent yet.
    left: u32,
    /// When (this instance's clock) the caller's TAT in Valkey is reached.
    tat_us: u64,
    /// Units may be spent until then.
    expires_us: u64,
    /// How many units were asked for last.
    size: u32,
}

impl Leases {
    /// Leases of at most `max` units (0 or 1: none, every request asks Valkey), each
    /// spendable for `ttl_ms`, for at most `capacity` callers.
    pub(super) fn new(max: u32, ttl_ms: u64, capacity: usize) -> Self {
        Self {
            held: Mutex::new(HashMap::new()),
            max,
            ttl_us: ttl_ms.saturating_mul(1_000),
            capacity: capacity.max(1),
        }
    }

    /// Spends one unit of `subject`'s lease at `now_us`: the decision for the request, or
    /// `None` when this instance holds nothing to spend.
    pub(super) fn spend(&self, subject: &str, quota: Quota, now_us: u64) -> Option<Decision> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let lease = held.get_mut(subject)?;
        if lease.quota != quota || lease.left == 0 || now_us >= lease.expires_us {
            return None;
        }
        lease.left -= 1;
        let reset_us = lease.tat_us.saturating_sub(now_us);
        Some(Decision {
            allowed: true,
            remaining: Decision::room(quota, reset_us).saturating_add(lease.left),
            reset_us,
            retry_after_us: 0,
        })
    }

    /// How many units to ask Valkey for on `subject`'s next request at `now_us`.
    pub(super) fn want(&self, subject: &str, quota: Quota, now_us: u64) -> u32 {
        let cap = self.cap(quota);
        if cap <= 1 {
            return 1;
        }
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        match held.get(subject) {
            // Only asked when nothing is left: the last lease was spent in time.
            Some(lease) if lease.quota == quota && now_us < lease.expires_us => {
                lease.size.saturating_mul(2).min(cap)
            }
            _ => 1,
        }
    }

    /// Keeps what Valkey granted for a request that asked for `want` units: `granted` of
    /// them (one is the request's own), the caller's TAT `reset_us` from `now_us`.
    pub(super) fn keep(
        &self,
        subject: &str,
        quota: Quota,
        want: u32,
        granted: u32,
        reset_us: u64,
        now_us: u64,
    ) {
        if self.cap(quota) <= 1 || granted == 0 {
            return;
        }
        let tat_us = now_us.saturating_add(reset_us);
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(lease) = held.get_mut(subject)
            && lease.quota == quota
            && now_us < lease.expires_us
        {
            // Another request of the same caller was granted units meanwhile: both count.
            lease.left = lease.left.saturating_add(granted - 1);
            lease.size = lease.size.max(want);
            lease.tat_us = lease.tat_us.max(tat_us);
            lease.expires_us = now_us.saturating_add(self.ttl_us);
            return;
        }
        if !held.contains_key(subject) && held.len() >= self.capacity {
            held.retain(|_, lease| now_us < lease.expires_us);
            if held.len() >= self.capacity {
                // Full of live leases: this caller asks Valkey per request until room frees.
                return;
            }
        }
        held.insert(
            subject.to_owned(),
            Lease {
                quota,
                left: granted - 1,
                tat_us,
                expires_us: now_us.saturating_add(self.ttl_us),
                size: want,
            },
        );
    }

    /// The most units one lease of a caller with `quota` may hold.
    fn cap(&self, quota: Quota) -> u32 {
        self.max.min(quota.burst / BURST_SHARE).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minute per unit and a burst of 64: nothing refills during a test.
    const QUOTA: Quota = Quota {
        emission_us: 60_000_000,
        burst: 64,
    };

    /// Asks as the limiter does: spend, else take what `room` units of budget allow.
    fn request(leases: &Leases, room: &mut u32, now: u64) -> (Decision, bool) {
        if let Some(decision) = leases.spend("caller", QUOTA, now) {
            return (decision, true);
        }
        let want = leases.want("caller", QUOTA, now);
        let granted = want.min(*room);
        *room -= granted;
        let reset = u64::from(QUOTA.burst - *room) * QUOTA.emission_us;
        leases.keep("caller", QUOTA, want, granted, reset, now);
        let decision = Decision::from_script(i64::from(granted), reset as i64, QUOTA);
        (decision, false)
    }

    #[test]
    fn a_busy_caller_asks_for_twice_as_much_each_time_up_to_an_eighth_of_its_burst() {
        let leases = Leases::new(64, 1_000, 10);
        let mut room = QUOTA.burst;
        let mut asked = Vec::new();
        for _ in 0..39 {
            let before = room;
            let (decision, from_lease) = request(&leases, &mut room, 0);
            assert!(decision.allowed);
            if !from_lease {
                asked.push(before - room);
            }
        }
        assert_eq!(
            asked,
            [1, 2, 4, 8, 8, 8, 8],
            "burst 64 / 8 caps a lease at 8"
        );
    }

    #[test]
    fn remaining_counts_down_by_one_as_if_every_request_had_asked_valkey() {
        let leases = Leases::new(64, 1_000, 10);
        let mut room = QUOTA.burst;
        for i in 1..=QUOTA.burst {
            let (decision, _) = request(&leases, &mut room, u64::from(i));
            assert!(decision.allowed, "request {i}");
            assert_eq!(decision.remaining, QUOTA.burst - i, "request {i}");
        }
        let (refused, _) = request(&leases, &mut room, 100);
        assert!(!refused.allowed);
    }

    #[test]
    fn an_expired_lease_is_not_spent_and_the_next_starts_small_again() {
        let leases = Leases::new(64, 1_000, 10);
        let mut room = QUOTA.burst;
        request(&leases, &mut room, 0);
        request(&leases, &mut room, 0); // asks for 2, keeps 1
        assert!(
            leases.spend("caller", QUOTA, 1_000_000).is_none(),
            "expired"
        );
        assert_eq!(leases.want("caller", QUOTA, 1_000_000), 1);
    }

    #[test]
    fn small_bursts_and_a_zero_maximum_never_lease() {
        let small = Quota {
            emission_us: 1_000_000,
            burst: 15,
        };
        let leases = Leases::new(64, 1_000, 10);
        leases.keep("caller", small, 1, 1, 1_000_000, 0);
        assert_eq!(leases.want("caller", small, 0), 1);
        let off = Leases::new(0, 1_000, 10);
        off.keep("caller", QUOTA, 4, 4, 4 * QUOTA.emission_us, 0);
        assert!(off.spend("caller", QUOTA, 0).is_none());
        assert_eq!(off.want("caller", QUOTA, 0), 1);
    }

    #[test]
    fn a_changed_limit_discards_the_lease() {
        let leases = Leases::new(64, 1_000, 10);
        leases.keep("caller", QUOTA, 4, 4, 4 * QUOTA.emission_us, 0);
        let other = Quota {
            burst: 128,
            ..QUOTA
        };
        assert!(leases.spend("caller", other, 0).is_none());
        assert!(leases.spend("caller", QUOTA, 0).is_some());
    }

    #[test]
    fn the_map_never_holds_more_than_its_capacity() {
        let leases = Leases::new(64, 1_000, 2);
        for i in 0..10 {
            leases.keep(&format!("caller-{i}"), QUOTA, 2, 2, 0, 0);
        }
        assert_eq!(leases.held.lock().unwrap().len(), 2);
        // Once those expire, new callers get room.
        leases.keep("late", QUOTA, 2, 2, 0, 2_000_000);
        assert!(leases.spend("late", QUOTA, 2_000_000).is_some());
    }
}
