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

/// How long a job waits for an unavailable database after `waits` such waits (from 0) at
/// its attempt: 1 s doubling up to `database_wait_max_ms`, plus up to 25% jitter so the
/// jobs of one outage do not all come back together.
pub fn database_wait(settings: &QueueSettings, waits: u32) -> Duration {
    let base = 1_000u64
        .saturating_mul(1u64 << waits.min(32))
        .min(settings.database_wait_max_ms.max(1_000));
    let jitter = rand::random_range(0.0..0.25);
    Duration::from_millis(base) + Duration::from_millis(base).mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_waits_double_from_a_second_up_to_the_cap() {
        let settings = QueueSettings {
            database_wait_max_ms: 30_000,
            ..QueueSettings::default()
        };
        for _ in 0..100 {
            let first = database_wait(&settings, 0);
            assert!(first >= Duration::from_secs(1) && first < Duration::from_millis(1_250));
            let third = database_wait(&settings, 2);
            assert!(third >= Duration::from_secs(4) && third < Duration::from_secs(5));
            let late = database_wait(&settings, 40);
            assert!(late >= Duration::from_secs(30) && late < Duration::from_millis(37_500));
        }
    }

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
