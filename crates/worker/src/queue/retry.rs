//! The one retry policy: exponential backoff with jitter.

use std::time::Duration;

use wump_core::settings::QueueSettings;

/// How long to wait after failed attempt `failed` (from 1) before the next one:
/// `backoff_base_ms × 2^(failed-1)`, capped at `backoff_max_ms`, plus up to 25% jitter so
/// jobs that failed together do not retry together.
pub fn retry_delay(settings: &QueueSettings, failed: u32) -> Duration {
    let exponent = failed.saturating_sub(1).min(32);
    let base = settings
        .backoff_base_ms
        .saturating_mul(1u64 << exponent)
        .min(settings.backoff_max_ms);
    let jitter = rand::random_range(0.0..0.25);
    Duration::from_millis(base) + Duration::from_millis(base).mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_bounded_jitter_up_to_the_cap() {
        let settings = QueueSettings {
            backoff_base_ms: 1_000,
            backoff_max_ms: 5_000,
            ..QueueSettings::default()
        };
        for _ in 0..100 {
            let first = retry_delay(&settings, 1);
            let second = retry_delay(&settings, 2);
            assert!(first >= Duration::from_millis(1_000) && first < Duration::from_millis(1_250));
            assert!(
                second >= Duration::from_millis(2_000) && second < Duration::from_millis(2_500)
            );
            let late = retry_delay(&settings, 40);
            assert!(late >= Duration::from_millis(5_000) && late < Duration::from_millis(6_250));
        }
    }
}
