//! Rate-limiter decision latency: the Valkey script vs the in-process fallback.
//!
//! `cargo bench -p wump-api --bench limiter` with Valkey at `WUMP__VALKEY__URL` (default
//! `redis://127.0.0.1:63799`, `just services-up`). Prints p50/p99/max per backend.

use std::{
    net::{IpAddr, Ipv4Addr},
    time::{Duration, Instant},
};

use secrecy::SecretString;
use wump_api::{
    auth::Caller,
    limits::{Backend, RateLimiter},
};
use wump_core::settings::{RateLimitSettings, TierLimit, ValkeySettings};

const DECISIONS: usize = 5_000;

fn settings() -> RateLimitSettings {
    RateLimitSettings {
        anonymous: TierLimit {
            per_minute: 1_000_000,
            burst: 1_000_000,
        },
        // Stay on the local limiter once Valkey failed.
        valkey_retry_ms: 3_600_000,
        // Every decision a round trip: leases would answer most from memory.
        lease_max: 0,
        ..RateLimitSettings::default()
    }
}

async fn measure(limiter: &RateLimiter, expect: Backend) -> Vec<Duration> {
    let mut times = Vec::with_capacity(DECISIONS);
    for i in 0..DECISIONS {
        let caller = Caller::anonymous(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i % 64) as u32)));
        let start = Instant::now();
        let verdict = limiter.check(&caller).await.expect("limited tier");
        times.push(start.elapsed());
        assert_eq!(verdict.backend, expect);
    }
    times.sort();
    times
}

fn report(name: &str, times: &[Duration]) {
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "{name:>7}: {DECISIONS} decisions, p50 {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.99),
        times[times.len() - 1]
    );
}

#[tokio::main]
async fn main() {
    let mut valkey = ValkeySettings::default();
    if let Ok(url) = std::env::var("WUMP__VALKEY__URL") {
        valkey.url = SecretString::from(url);
    }
    let pool = wump_db::connect_valkey(&valkey).unwrap();
    wump_db::valkey::ping(&pool).await.expect("valkey running");
    let prefix = format!("bench:{}:", uuid::Uuid::new_v4().simple());
    let limiter = RateLimiter::new(pool, prefix, settings());
    // Warm up the connection and the script cache.
    measure(&limiter, Backend::Valkey).await;
    report("valkey", &measure(&limiter, Backend::Valkey).await);

    let dead = ValkeySettings {
        url: SecretString::from("redis://127.0.0.1:1"),
        ..ValkeySettings::default()
    };
    let limiter = RateLimiter::new(
        wump_db::connect_valkey(&dead).unwrap(),
        String::new(),
        settings(),
    );
    let caller = Caller::anonymous(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let first = Instant::now();
    let verdict = limiter.check(&caller).await.unwrap();
    println!(
        "  first decision with valkey down ({:?}): {:?}",
        verdict.backend,
        first.elapsed()
    );
    report("local", &measure(&limiter, Backend::Local).await);
}
