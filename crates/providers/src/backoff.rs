//! How long to wait before retrying a failed request: exponential, capped, with full
//! jitter so a fleet of workers retrying the same outage does not retry in lock step.

use std::time::Duration;

/// Retry schedule for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry (before jitter).
    pub base: Duration,
    /// No single delay exceeds this.
    pub max: Duration,
    /// Retries after the first attempt; 2 means at most 3 attempts.
    pub retries: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
            retries: 2,
        }
    }
}

impl Backoff {
    /// The delay before retry number `retry` (1-based), with `jitter` in `[0, 1)` choosing a
    /// point in `[0, capped exponential]` ("full jitter"). `None` once retries are spent.
    pub fn delay(&self, retry: u32, jitter: f64) -> Option<Duration> {
        if retry == 0 || retry > self.retries {
            return None;
        }
        let exponential = self.base.saturating_mul(1u32 << (retry - 1).min(16));
        let capped = exponential.min(self.max);
        Some(capped.mul_f64(jitter.clamp(0.0, 1.0)))
    }

    /// [`Self::delay`] with a random jitter.
    pub fn delay_with_random_jitter(&self, retry: u32) -> Option<Duration> {
        self.delay(retry, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_up_to_the_cap_and_stop_after_the_retries() {
        let backoff = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(5),
            retries: 4,
        };
        let full: Vec<_> = (1..=5).map(|r| backoff.delay(r, 1.0)).collect();
        assert_eq!(
            full,
            [Some(1), Some(2), Some(4), Some(5), None].map(|s| s.map(Duration::from_secs))
        );
        assert_eq!(backoff.delay(3, 0.5), Some(Duration::from_secs(2)));
        assert_eq!(backoff.delay(0, 0.5), None);
    }

    #[test]
    fn random_jitter_stays_within_the_capped_delay() {
        let backoff = Backoff::default();
        for _ in 0..100 {
            let d = backoff.delay_with_random_jitter(2).unwrap();
            assert!(d <= Duration::from_secs(1), "{d:?}");
        }
    }
}
