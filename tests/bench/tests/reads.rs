//! `wump-bench reads` against the real server: a dataset that was never generated is
//! reported as missing, without starting the api.

use secrecy::SecretString;
use wump_bench::{
    data::Size,
    reads::{self, Options, SizeOutcome},
};

#[tokio::test(flavor = "multi_thread")]
async fn a_size_never_generated_is_reported_missing_not_failed() {
    let server = wump_db::test_support::server_settings().url;
    // No `wump_bench_tiny` is ever generated (the data test uses names of its own), and
    // the api path does not exist: starting it would fail the run.
    let options = Options {
        server_url: server,
        valkey_url: SecretString::from("redis://127.0.0.1:1"),
        api_binary: "/nonexistent/wump-api".into(),
        sizes: vec![Size::TINY],
        warmup: 0,
        samples: 1,
    };
    let outcomes = reads::run(&options)
        .await
        .expect("a missing size is no error");
    assert!(
        matches!(&outcomes[..], [SizeOutcome::Missing { database, .. }] if database == "wump_bench_tiny"),
        "{outcomes:?}"
    );
}
