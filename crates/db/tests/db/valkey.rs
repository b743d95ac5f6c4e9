//! The shared Valkey connection and the per-test key prefix.

use std::time::{Duration, Instant};

use fred::prelude::*;
use secrecy::SecretString;
use wump_core::settings::ValkeySettings;
use wump_db::{ValkeyError, connect_valkey, test_support::TestValkey, valkey};

#[tokio::test]
async fn each_test_gets_its_own_prefix_and_its_keys_go_with_it() {
    let first = TestValkey::new().await;
    let second = TestValkey::new().await;
    assert_ne!(first.prefix(), second.prefix());

    let _: () = first
        .pool()
        .set(first.key("counter"), 1, None, None, false)
        .await
        .unwrap();
    let _: () = second
        .pool()
        .set(second.key("counter"), 2, None, None, false)
        .await
        .unwrap();
    let seen: i64 = second.pool().get(second.key("counter")).await.unwrap();
    assert_eq!(seen, 2, "a test never sees another test's keys");

    let first_key = first.key("counter");
    drop(first);
    let left: i64 = second.pool().exists(first_key).await.unwrap();
    assert_eq!(left, 0, "dropping a TestValkey deletes its keys");
    assert_eq!(second.clear().await, 1);
}

#[tokio::test]
async fn an_unreachable_server_fails_commands_quickly_instead_of_hanging() {
    let settings = ValkeySettings {
        url: SecretString::from("redis://127.0.0.1:1"),
        command_timeout_ms: 300,
        ..ValkeySettings::default()
    };
    let pool = connect_valkey(&settings).expect("connecting happens in the background");
    let started = Instant::now();
    let err = valkey::ping(&pool).await.unwrap_err();
    assert!(matches!(err, ValkeyError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_bad_url_is_an_error_that_does_not_repeat_the_password() {
    let settings = ValkeySettings {
        url: SecretString::from("http://admin:hunter2@cache:6379"),
        ..ValkeySettings::default()
    };
    let err = connect_valkey(&settings).unwrap_err();
    assert!(matches!(err, ValkeyError::InvalidUrl(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn a_script_the_server_does_not_know_yet_is_sent_once_then_called_by_its_sha() {
    let valkey = TestValkey::new().await;
    // A body no server has seen: the first call meets NOSCRIPT.
    let lua: &'static str = Box::leak(
        format!(
            "-- {}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])",
            valkey.prefix()
        )
        .into_boxed_str(),
    );
    let script = valkey::Script::new(lua);
    // The server files a loaded script under the SHA-1 it computes itself, so `known`
    // turning true below also shows ours is the same.
    let sha = script.sha1().to_owned();
    let client = valkey.pool().next();
    let known: Vec<bool> = client.script_exists(&sha).await.unwrap();
    assert_eq!(known, [false]);

    let key = valkey.key("counter");
    let first: i64 = script.call(client, &[&key], &["2"]).await.unwrap();
    let known: Vec<bool> = client.script_exists(&sha).await.unwrap();
    assert_eq!(known, [true], "the fallback EVAL loaded the script");
    let second: i64 = script.call(client, &[&key], &["3"]).await.unwrap();
    assert_eq!((first, second), (2, 5), "each call ran exactly once");
}
