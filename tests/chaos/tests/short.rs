//! The short versions of the fault scenarios (seconds, not minutes) against the debug
//! binaries, inside `just test`. The full versions run with `just chaos`.
//!
//! They run one at a time (each starts its own servers and five processes; two at once
//! would measure the 2-core machine, not wump). `just test` builds the binaries first;
//! without them each test fails saying so.

use wump_chaos::{
    processes::Bins,
    scenarios::{self, RunConfig},
};

/// One scenario at a time in this test binary.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn short(number: u8) {
    let _one_at_a_time = SERIAL.lock().await;
    let bins = Bins::next_to_test_executable().unwrap_or_else(|e| panic!("{e}"));
    let result = scenarios::run(number, &RunConfig::new(bins, true))
        .await
        .unwrap_or_else(|e| panic!("scenario {number} could not run: {e}"));
    assert!(
        result.passed(),
        "scenario {number} ({}): criteria that did not hold (logs: {}):\n{}\nnumbers: {:#?}",
        result.title,
        result.run_dir.display(),
        result.failures(),
        result.numbers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_cached_pages_answer_uncached_fail_fast_and_service_returns() {
    short(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valkey_killed_reads_fall_back_and_every_job_is_accounted_for() {
    short(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_black_holed_requests_fail_fast_and_pools_recover() {
    short(5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_sigkilled_mid_job_lose_no_jobs_and_leave_the_rows_of_a_clean_run() {
    short(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_misbehaving_gets_no_request_into_an_announced_wait_and_the_backlog_drains() {
    short(4).await;
}
