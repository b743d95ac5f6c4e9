//! Sequential requests against the API and their latency percentiles.

use std::time::{Duration, Instant};

use anyhow::Context as _;

/// Latencies of one case, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub samples: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    /// Nearest-rank percentiles of `latencies` (not empty).
    pub fn of(latencies: &mut [Duration]) -> Summary {
        latencies.sort_unstable();
        let rank = |p: f64| {
            let at = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
            latencies[at - 1].as_secs_f64() * 1e3
        };
        Summary {
            samples: latencies.len(),
            p50: rank(0.50),
            p99: rank(0.99),
            max: rank(1.0),
        }
    }
}

/// Fewest samples of a case cut short by [`BUDGET`].
pub const MIN_SAMPLES: usize = 50;
/// How long one case may sample once it has [`MIN_SAMPLES`]: a case far over its goal
/// (a second per request) would otherwise hold the run for many minutes.
pub const BUDGET: Duration = Duration::from_secs(30);

/// GETs `url` `warmup` times unmeasured, then `samples` times one after the other (fewer,
/// at least [`MIN_SAMPLES`], past [`BUDGET`]); every answer must be 200 with a whole body.
pub async fn sample(
    client: &reqwest::Client,
    url: &str,
    warmup: usize,
    samples: usize,
) -> anyhow::Result<Summary> {
    for _ in 0..warmup {
        get(client, url).await?;
    }
    let mut latencies = Vec::with_capacity(samples);
    let began = Instant::now();
    for _ in 0..samples {
        let started = Instant::now();
        get(client, url).await?;
        latencies.push(started.elapsed());
        if latencies.len() >= MIN_SAMPLES && began.elapsed() > BUDGET {
            break;
        }
    }
    Ok(Summary::of(&mut latencies))
}

/// One GET: the body, read whole, of a 200.
pub async fn get(client: &reqwest::Client, url: &str) -> anyhow::Result<bytes::Bytes> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body = response.bytes().await?;
    anyhow::ensure!(
        status == reqwest::StatusCode::OK,
        "{status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut latencies: Vec<_> = (1..=200).rev().map(Duration::from_millis).collect();
        let summary = Summary::of(&mut latencies);
        assert_eq!(summary.samples, 200);
        assert!((summary.p50 - 100.0).abs() < 1e-9, "{summary:?}");
        assert!((summary.p99 - 198.0).abs() < 1e-9, "{summary:?}");
        assert!((summary.max - 200.0).abs() < 1e-9, "{summary:?}");
    }
}
