//! Rate limits per tier in Valkey, their headers, 429 + Retry-After, and the in-process
//! fallback while Valkey is unreachable.

use std::net::{IpAddr, Ipv4Addr};

use secrecy::SecretString;
use wump_api::{
    auth::{Caller, Tier},
    limits::{Backend, RateLimiter},
};
use wump_core::settings::{RateLimitSettings, TierLimit};
use wump_db::tables::job_executions::{self, FinishExecution, JobStatus, StartExecution};
use wump_db::test_support::TestValkey;

use crate::{
    TestApp,
    auth::{create_key, get_with_key, probe_path, small_limits},
};

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Spends `burst` requests, each allowed with the remaining count going down, then
/// asserts the next is a 429 problem with every header.
async fn assert_limited_after(app: &TestApp, key: Option<&str>, burst: u32) {
    let path = probe_path();
    for i in 1..=burst {
        let response = match key {
            Some(key) => get_with_key(app, &path, key).await,
            None => app.get(&path).await,
        };
        assert_eq!(response.status().as_u16(), 404, "request {i} of {burst}");
        for prefix in ["", "x-"] {
            assert_eq!(
                header(&response, &format!("{prefix}ratelimit-limit")),
                burst.to_string()
            );
            assert_eq!(
                header(&response, &format!("{prefix}ratelimit-remaining")),
                (burst - i).to_string()
            );
            assert!(
                header(&response, &format!("{prefix}ratelimit-reset"))
                    .parse::<u64>()
                    .unwrap()
                    > 0
            );
        }
    }
    let response = match key {
        Some(key) => get_with_key(app, &path, key).await,
        None => app.get(&path).await,
    };
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(
        header(&response, "content-type"),
        "application/problem+json"
    );
    let retry_after: u64 = header(&response, "retry-after").parse().unwrap();
    // One request per minute refills: the next one is about a minute away.
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(header(&response, "ratelimit-remaining"), "0");
    assert_eq!(header(&response, "x-ratelimit-remaining"), "0");
    assert_eq!(header(&response, "ratelimit-limit"), burst.to_string());
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["type"], "urn:wump:problem:rate-limited");
    assert_eq!(body["status"], 429);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_tier_is_limited_at_its_own_burst() {
    let app = TestApp::spawn_with(small_limits).await;
    assert_limited_after(&app, None, 2).await;
    for (tier, burst) in [(Tier::Free, 3), (Tier::Standard, 4), (Tier::Premium, 5)] {
        let key = create_key(&app, tier, None).await;
        assert_limited_after(&app, Some(&key), burst).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_limited_separately_and_a_key_limit_overrides_its_tier() {
    let app = TestApp::spawn_with(|s| {
        small_limits(s);
        s.api.rate_limits.free.per_minute = 6;
        s.api.rate_limits.free.burst = 6;
    })
    .await;
    let spent = create_key(&app, Tier::Free, None).await;
    assert_limited_after(&app, Some(&spent), 6).await;
    // Another key of the same tier has its own budget; 2/min scales the burst to 2.
    let slow = create_key(&app, Tier::Free, Some(2)).await;
    assert_limited_after(&app, Some(&slow), 2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_keys_are_unlimited_by_default() {
    let admin_key = "bootstrap-admin-key-0123456789abcdef";
    let app = TestApp::spawn_with(|s| {
        small_limits(s);
        s.api.admin_key = Some(SecretString::from(admin_key));
    })
    .await;
    let stored_admin = create_key(&app, Tier::Admin, None).await;
    for _ in 0..10 {
        assert_eq!(
            get_with_key(&app, &probe_path(), admin_key)
                .await
                .status()
                .as_u16(),
            404
        );
        assert_eq!(
            get_with_key(&app, &probe_path(), &stored_admin)
                .await
                .status()
                .as_u16(),
            404
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_share_the_count_in_valkey() {
    let app = TestApp::spawn_with(small_limits).await;
    // A second instance over the same database and key prefix.
    let mut settings = crate::test_settings(&app.db, &app.valkey);
    small_limits(&mut settings);
    let other = crate::start(settings, &app.valkey);
    crate::connected_to_valkey(app.address).await;
    crate::connected_to_valkey(other).await;
    let client = reqwest::Client::new();
    assert_eq!(app.get(&probe_path()).await.status().as_u16(), 404);
    let second = client
        .get(format!("http://{other}{}", probe_path()))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status().as_u16(), 404);
    assert_eq!(app.get(&probe_path()).await.status().as_u16(), 429);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_valkey_unreachable_the_local_limiter_still_limits_and_requests_succeed() {
    let app = TestApp::spawn_with(|s| {
        small_limits(s);
        // Nothing listens on port 1.
        s.valkey.url = SecretString::from("redis://127.0.0.1:1");
        s.valkey.command_timeout_ms = 200;
    })
    .await;
    // A job the database knows answers without Valkey.
    let job_id = uuid::Uuid::now_v7().to_string();
    let mut conn = app.db.connection().await;
    let run = job_executions::start(
        &mut conn,
        &StartExecution {
            job_id: &job_id,
            job_type: wump_core::jobs::JobType::Discover,
            queue: "{wump:discover:high}",
            attempt: 1,
            metadata: serde_json::json!({}),
        },
    )
    .await
    .unwrap();
    job_executions::finish(
        &mut conn,
        run,
        &FinishExecution {
            status: JobStatus::Completed,
            records_processed: 1,
            error: None,
            metadata: serde_json::json!({}),
        },
    )
    .await
    .unwrap();

    let path = format!("/api/v1/jobs/{job_id}");
    for remaining in ["1", "0"] {
        let response = app.get(&path).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(header(&response, "ratelimit-remaining"), remaining);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "completed");
    }
    let response = app.get(&path).await;
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
}

/// Limits with a burst of 64 and a refill too slow to matter during a test.
fn leasing_limits() -> RateLimitSettings {
    RateLimitSettings {
        anonymous: TierLimit {
            per_minute: 1,
            burst: 64,
        },
        lease_max: 64,
        // Long enough that no lease expires while the test runs.
        lease_ms: 600_000,
        // These tests count which requests ask Valkey: a first script load slower than
        // the production 250 ms on a loaded CI machine must not send them to the
        // in-process fallback (the fallback has tests of its own).
        valkey_timeout_ms: 10_000,
        ..RateLimitSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_callers_requests_are_decided_from_leases_and_remaining_still_counts_down() {
    let valkey = TestValkey::new().await;
    let limiter = RateLimiter::new(valkey.pool().clone(), valkey.prefix(), leasing_limits());
    let caller = Caller::anonymous(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    let mut backends = Vec::new();
    for i in 1..=64 {
        let verdict = limiter.check(&caller).await.unwrap();
        assert!(verdict.decision.allowed, "request {i}");
        assert_eq!(verdict.decision.remaining, 64 - i, "request {i}");
        backends.push(verdict.backend);
    }
    let asked: Vec<usize> = (0..backends.len())
        .filter(|&i| backends[i] == Backend::Valkey)
        .collect();
    // Leases of 1, 2, 4, then 8 (an eighth of the burst): 1 + 2 + 4 + 8 × 7 = 63, then 1.
    assert_eq!(
        asked,
        [0, 1, 3, 7, 15, 23, 31, 39, 47, 55, 63],
        "{backends:?}"
    );
    let refused = limiter.check(&caller).await.unwrap();
    assert!(!refused.decision.allowed);
    assert_eq!(refused.backend, Backend::Valkey);
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_holding_leases_never_allow_more_than_the_burst_together() {
    let valkey = TestValkey::new().await;
    let instances: Vec<RateLimiter> = (0..3)
        .map(|_| RateLimiter::new(valkey.pool().clone(), valkey.prefix(), leasing_limits()))
        .collect();
    let caller = Caller::anonymous(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)));
    // The caller's requests spread over the instances, many at once on each.
    let mut tasks = tokio::task::JoinSet::new();
    let instances = std::sync::Arc::new(instances);
    for request in 0..120 {
        let instances = instances.clone();
        let caller = caller.clone();
        tasks.spawn(async move {
            instances[request % 3]
                .check(&caller)
                .await
                .unwrap()
                .decision
                .allowed
        });
    }
    let allowed = tasks.join_all().await.into_iter().filter(|a| *a).count();
    assert!(allowed <= 64, "{allowed} allowed against a burst of 64");
    // Each instance spends what it still holds before asking Valkey again: every unit
    // granted is spent once each instance has been asked until it refuses.
    let mut more = 0;
    for instance in instances.iter() {
        while instance.check(&caller).await.unwrap().decision.allowed {
            more += 1;
        }
    }
    assert_eq!(allowed + more, 64, "{allowed} at once, {more} after");
}
