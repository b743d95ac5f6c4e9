//! The in-process fallback limiter: the same GCRA over a bounded map, used only while
//! Valkey cannot be reached. Each instance counts on its own, so during an outage a caller
//! spread over N instances gets up to N times its limit — bounded, never unlimited.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{SystemTime, UNIX_EPOCH},
};

use super::gcra::{self, Decision, Quota};

/// Callers' TATs, at most `capacity` of them.
#[derive(Debug)]
pub struct LocalLimiter {
    tats: Mutex<HashMap<String, u64>>,
    capacity: usize,
}

impl LocalLimiter {
    /// A limiter that tracks at most `capacity` callers.
    pub fn new(capacity: usize) -> Self {
        Self {
            tats: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// Decides one request of `subject` now.
    pub fn check(&self, subject: &str, quota: Quota) -> Decision {
        self.check_at(subject, quota, now_us())
    }

    /// Decides one request of `subject` at `now_us`.
    pub fn check_at(&self, subject: &str, quota: Quota, now_us: u64) -> Decision {
        let mut tats = self.tats.lock().unwrap_or_else(|p| p.into_inner());
        let (decision, new_tat) = gcra::decide(tats.get(subject).copied(), now_us, quota);
        if let Some(tat) = new_tat {
            if !tats.contains_key(subject) && tats.len() >= self.capacity {
                make_room(&mut tats, now_us, self.capacity);
            }
            tats.insert(subject.to_owned(), tat);
        }
        decision
    }

    /// Takes `units` more of `subject`'s budget at `now_us` ([`gcra::charge`]).
    pub fn charge_at(&self, subject: &str, quota: Quota, units: u32, now_us: u64) {
        let mut tats = self.tats.lock().unwrap_or_else(|p| p.into_inner());
        let tat = gcra::charge(tats.get(subject).copied(), now_us, quota, units);
        if !tats.contains_key(subject) && tats.len() >= self.capacity {
            make_room(&mut tats, now_us, self.capacity);
        }
        tats.insert(subject.to_owned(), tat);
    }

    /// How many callers are tracked.
    pub fn len(&self) -> usize {
        self.tats.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no caller is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Forgets callers whose TAT has passed (their state equals a fresh caller's); if that
/// frees nothing, the tenth of callers closest to it, so the scan is paid once per many
/// new callers. Dropping live state lets those callers start over: the lesser evil next to
/// refusing every new caller or growing without bound.
fn make_room(tats: &mut HashMap<String, u64>, now_us: u64, capacity: usize) {
    tats.retain(|_, tat| *tat > now_us);
    if tats.len() < capacity {
        return;
    }
    let mut by_tat: Vec<u64> = tats.values().copied().collect();
    let cut = (capacity / 10).max(1).min(by_tat.len() - 1);
    let (_, threshold, _) = by_tat.select_nth_unstable(cut);
    let threshold = *threshold;
    tats.retain(|_, tat| *tat > threshold);
    if tats.len() >= capacity {
        // Every TAT was equal: drop one arbitrary caller.
        if let Some(any) = tats.keys().next().cloned() {
            tats.remove(&any);
        }
    }
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUOTA: Quota = Quota {
        emission_us: 1_000_000,
        burst: 2,
    };

    #[test]
    fn callers_are_limited_separately() {
        let limiter = LocalLimiter::new(10);
        assert!(limiter.check_at("a", QUOTA, 0).allowed);
        assert!(limiter.check_at("a", QUOTA, 0).allowed);
        assert!(!limiter.check_at("a", QUOTA, 0).allowed);
        assert!(limiter.check_at("b", QUOTA, 0).allowed);
    }

    #[test]
    fn the_map_never_grows_past_its_capacity() {
        let limiter = LocalLimiter::new(3);
        for i in 0..100 {
            limiter.check_at(&format!("caller-{i}"), QUOTA, 0);
        }
        assert!(limiter.len() <= 3, "{}", limiter.len());
    }

    #[test]
    fn idle_callers_are_forgotten_first_and_busy_ones_keep_their_state() {
        let limiter = LocalLimiter::new(2);
        limiter.check_at("idle", QUOTA, 0);
        limiter.check_at("busy", QUOTA, 5_000_000);
        limiter.check_at("busy", QUOTA, 5_000_000);
        // "idle"'s TAT (1 s) has passed at 5 s: it goes, "busy" stays limited.
        limiter.check_at("new", QUOTA, 5_000_000);
        assert!(!limiter.check_at("busy", QUOTA, 5_000_000).allowed);
    }
}
