//! `wump-api keys …` as operators run it: the real binary against the test database.

use std::process::{Command, Output};

use secrecy::ExposeSecret;

use crate::{
    TestApp,
    auth::{get_with_key, probe_path},
};

/// Runs `wump-api keys <args>` against `app`'s database and Valkey.
fn keys(app: &TestApp, args: &[&str]) -> Output {
    keys_with_valkey(app, app.valkey.settings().url.expose_secret(), args)
}

/// Runs `wump-api keys <args>` against `app`'s database and the Valkey at `valkey_url`.
/// Revocations it writes there (without a test prefix: the CLI writes where production
/// instances read) live a minute.
pub(crate) fn keys_with_valkey(app: &TestApp, valkey_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wump-api"))
        .arg("keys")
        .args(args)
        .env("WUMP__DATABASE__URL", app.db.settings().url.expose_secret())
        .env("WUMP__DATABASE__MIGRATE_ON_START", "false")
        .env("WUMP__VALKEY__URL", valkey_url)
        .env("WUMP__VALKEY__COMMAND_TIMEOUT_MS", "1000")
        .env("WUMP__API__AUTH__OUTAGE_GRACE_SECS", "60")
        // No config/ directory under the test's working directory: defaults only.
        .current_dir(std::env::temp_dir())
        .output()
        .expect("running wump-api")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Creates a key through the CLI; returns it.
fn create(app: &TestApp, args: &[&str]) -> String {
    let output = keys(app, &[&["create"], args].concat());
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "only the key goes to stdout: {out:?}");
    lines[0].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_prints_the_key_once_with_a_warning_and_the_key_works() {
    let app = TestApp::spawn().await;
    let output = keys(
        &app,
        &[
            "create",
            "--name",
            "ci",
            "--tier",
            "admin",
            "--expires",
            "30",
            "--limit",
            "600",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let key = stdout(&output).trim().to_owned();
    assert!(key.starts_with("wump_"), "{key}");
    assert!(
        stderr(&output).contains("cannot be shown again"),
        "{}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains(&key[14..]),
        "the key only on stdout"
    );

    let response = get_with_key(&app, "/api/v1/admin/keys", &key).await;
    assert_eq!(response.status().as_u16(), 200);
    let listed: serde_json::Value = response.json().await.unwrap();
    assert_eq!(listed[0]["name"], "ci");
    assert_eq!(listed[0]["rate_limit"], 600);
}

#[tokio::test(flavor = "multi_thread")]
async fn list_shows_every_key_but_never_a_key_or_hash() {
    let app = TestApp::spawn().await;
    let first = create(&app, &["--name", "first", "--tier", "free"]);
    let second = create(
        &app,
        &["--name", "second", "--tier", "premium", "--expires", "7"],
    );
    let output = keys(&app, &["list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for column in [
        "PREFIX",
        "NAME",
        "TIER",
        "CREATED",
        "EXPIRES",
        "LAST USED",
        "REVOKED",
    ] {
        assert!(lines[0].contains(column), "{}", lines[0]);
    }
    // Newest first.
    assert!(
        lines[1].starts_with(&second[5..13]) && lines[1].contains("premium"),
        "{out}"
    );
    assert!(
        lines[2].starts_with(&first[5..13]) && lines[2].contains("never"),
        "{out}"
    );
    for key in [&first, &second] {
        assert!(!out.contains(&key[14..]), "a key leaked into the listing");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn revoke_refuses_the_key_and_an_unknown_prefix_exits_1() {
    let app = TestApp::spawn().await;
    let key = create(&app, &["--name", "gone", "--tier", "standard"]);
    let output = keys(&app, &["revoke", &key[5..13]]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        get_with_key(&app, &probe_path(), &key)
            .await
            .status()
            .as_u16(),
        401
    );
    assert!(
        !stdout(&keys(&app, &["list"]))
            .lines()
            .nth(1)
            .unwrap()
            .ends_with('-')
    );

    assert!(!stderr(&output).contains("Warning"), "{}", stderr(&output));

    let output = keys(&app, &["revoke", "zzzzzzzz"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no API key with prefix `zzzzzzzz`"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rotate_prints_a_new_key_and_revokes_the_old_one() {
    let app = TestApp::spawn().await;
    let old = create(&app, &["--name", "deploy", "--tier", "premium"]);
    let output = keys(&app, &["rotate", &old[5..13]]);
    assert!(output.status.success(), "{}", stderr(&output));
    let new = stdout(&output).trim().to_owned();
    assert_ne!(new, old);
    assert_eq!(
        get_with_key(&app, &probe_path(), &old)
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        get_with_key(&app, &probe_path(), &new)
            .await
            .status()
            .as_u16(),
        404
    );
    let listing = stdout(&keys(&app, &["list"]));
    assert_eq!(listing.matches("deploy").count(), 2, "{listing}");

    // A revoked key cannot be rotated again.
    let output = keys(&app, &["rotate", &old[5..13]]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("revoked"), "{}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_values_are_clear_errors() {
    let app = TestApp::spawn().await;
    let output = keys(&app, &["create", "--name", "x", "--tier", "anonymous"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    assert!(
        stderr(&output).contains("unknown tier"),
        "{}",
        stderr(&output)
    );

    let output = keys(
        &app,
        &["create", "--name", "x", "--tier", "free", "--expires", "0"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("expires_in_days"),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn revoke_with_valkey_unreachable_still_revokes_and_says_who_may_not_know() {
    let app = TestApp::spawn().await;
    let key = create(&app, &["--name", "stolen", "--tier", "standard"]);
    // Nothing listens on a port just released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let output = keys_with_valkey(&app, &format!("redis://{closed}"), &["revoke", &key[5..13]]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Warning: valkey could not be reached"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        get_with_key(&app, &probe_path(), &key)
            .await
            .status()
            .as_u16(),
        401
    );
}
