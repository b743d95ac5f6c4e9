//! TLS to PostgreSQL and Valkey, against the servers `scripts/services.sh` starts: PostgreSQL
//! with `ssl = on`, and a TLS-only Valkey with a password on 127.0.0.1:63800, both with a
//! certificate from the private CA in `.data/tls/ca.pem` (`WUMP_TEST_TLS_CA` and
//! `WUMP_TEST_VALKEY_TLS_URL` point elsewhere).

use std::path::PathBuf;

use diesel::{QueryableByName, sql_types::Bool};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fred::interfaces::ClientInterface;
use secrecy::{ExposeSecret, SecretString};
use wump_core::{
    jobs::{CleanupJob, JobType, Priority},
    settings::{DatabaseSettings, QueueSettings, ValkeySettings},
};
use wump_db::{
    DbError, ValkeyError, connect_valkey, pool, queue::Queues, test_support::TestDatabase, valkey,
};

/// The CA that signed the test servers' certificates.
fn ca_file() -> PathBuf {
    std::env::var_os("WUMP_TEST_TLS_CA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.data/tls/ca.pem"),
        PathBuf::from,
    )
}

/// The TLS-only test Valkey, trusting the test CA.
fn valkey_tls() -> ValkeySettings {
    let url = std::env::var("WUMP_TEST_VALKEY_TLS_URL")
        .unwrap_or_else(|_| "rediss://:wump@127.0.0.1:63800".into());
    ValkeySettings {
        url: SecretString::from(url),
        ca_file: Some(ca_file()),
        pool_size: 1,
        command_timeout_ms: 2_000,
    }
}

/// `settings` with `sslmode=mode` on the URL and `ca_file`.
fn with_sslmode(
    settings: &DatabaseSettings,
    mode: &str,
    ca_file: Option<PathBuf>,
) -> DatabaseSettings {
    let url = settings.url.expose_secret();
    let separator = if url.contains('?') { '&' } else { '?' };
    DatabaseSettings {
        url: SecretString::from(format!("{url}{separator}sslmode={mode}")),
        ca_file,
        pool_wait_timeout_ms: 3_000,
        connect_timeout_ms: 3_000,
        ..settings.clone()
    }
}

#[derive(QueryableByName)]
struct Ssl {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

/// What the server says of this connection: encrypted or not.
async fn server_sees_tls(conn: &mut AsyncPgConnection) -> bool {
    diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<Ssl>(conn)
        .await
        .expect("reading pg_stat_ssl")
        .ssl
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_full_with_the_ca_file_encrypts_pooled_and_single_connections() {
    let db = TestDatabase::new().await;
    let settings = with_sslmode(db.settings(), "verify-full", Some(ca_file()));

    let pool = wump_db::connect(&settings).unwrap();
    pool::ping(&pool).await.expect("SELECT 1 over verified TLS");
    let mut conn = pool::checkout(&pool).await.unwrap();
    assert!(
        server_sees_tls(&mut conn).await,
        "the pool's connection is not encrypted"
    );

    let mut single = pool::connect_once(&settings).await.unwrap();
    assert!(
        server_sees_tls(&mut single).await,
        "connect_once is not encrypted"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sslmode_disable_connects_in_plain_text() {
    let db = TestDatabase::new().await;
    let settings = with_sslmode(db.settings(), "disable", None);
    let mut conn = pool::connect_once(&settings).await.unwrap();
    assert!(!server_sees_tls(&mut conn).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn require_encrypts_without_checking_the_certificate() {
    let db = TestDatabase::new().await;
    // No CA file: the test CA is unknown, and `require` does not care.
    let settings = with_sslmode(db.settings(), "require", None);
    let pool = wump_db::connect(&settings).unwrap();
    let mut conn = pool::checkout(&pool).await.unwrap();
    assert!(server_sees_tls(&mut conn).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_ca_accepts_a_certificate_from_the_ca_file() {
    let db = TestDatabase::new().await;
    let settings = with_sslmode(db.settings(), "verify-ca", Some(ca_file()));
    let mut conn = pool::connect_once(&settings).await.unwrap();
    assert!(server_sees_tls(&mut conn).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_full_without_the_ca_file_fails_on_the_certificate() {
    let db = TestDatabase::new().await;
    // The system's authorities do not include the test CA.
    let settings = with_sslmode(db.settings(), "verify-full", None);

    let pool = wump_db::connect(&settings).unwrap();
    let err = pool::checkout(&pool)
        .await
        .expect_err("an untrusted server");
    assert!(err.is_unavailable(), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");

    let err = pool::connect_once(&settings)
        .await
        .err()
        .expect("an untrusted server");
    assert!(err.is_unavailable(), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[tokio::test]
async fn a_bad_sslmode_or_ca_file_is_a_settings_error_without_the_password() {
    let url = "postgres://wump:hunter2@127.0.0.1:1/wump";
    let settings = DatabaseSettings {
        url: SecretString::from(format!("{url}?sslmode=verify-everything")),
        ..DatabaseSettings::default()
    };
    let err = wump_db::connect(&settings).expect_err("a settings error");
    assert!(matches!(err, DbError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("sslmode"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");

    let settings = DatabaseSettings {
        url: SecretString::from(format!("{url}?sslmode=verify-full")),
        ca_file: Some("/nonexistent/global-bundle.pem".into()),
        ..DatabaseSettings::default()
    };
    let err = wump_db::connect(&settings).expect_err("a settings error");
    assert!(matches!(err, DbError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("global-bundle.pem"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

/// `CLIENT INFO` of a connection names the server port it came in on: the TLS port.
fn on_the_tls_port(client_info: &str) {
    let url = valkey_tls().url.expose_secret().to_owned();
    let port = url.rsplit(':').next().unwrap().trim_end_matches('/');
    assert!(
        client_info.contains(&format!("laddr=127.0.0.1:{port} ")),
        "not on the TLS port {port}: {client_info}"
    );
}

#[tokio::test]
async fn the_valkey_pool_talks_tls_with_a_password_trusting_the_ca_file() {
    let pool = connect_valkey(&valkey_tls()).unwrap();
    valkey::ping(&pool).await.expect("PING over TLS");
    let info: String = pool.next().client_info().await.unwrap();
    on_the_tls_port(&info);
}

#[tokio::test]
async fn the_valkey_pool_refuses_a_server_signed_by_an_unknown_ca() {
    let settings = ValkeySettings {
        ca_file: None,
        command_timeout_ms: 500,
        ..valkey_tls()
    };
    let pool = connect_valkey(&settings).unwrap();
    let err = valkey::ping(&pool).await.unwrap_err();
    assert!(matches!(err, ValkeyError::Unavailable(_)), "{err:?}");
}

/// Deletes every key under a prefix.
const DELETE_MATCHING: &str = r#"
local cursor = "0"
repeat
  local page = redis.call("SCAN", cursor, "MATCH", ARGV[1], "COUNT", 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do redis.call("DEL", key) end
until cursor == "0"
return 0
"#;

#[tokio::test]
async fn the_queues_enqueue_and_count_over_tls() {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let queues = Queues::connect(&valkey_tls(), QueueSettings::default())
        .await
        .expect("queues over TLS")
        .with_prefix(prefix.clone());

    queues
        .enqueue(&CleanupJob {}, Priority::Normal)
        .await
        .unwrap();
    let depth = queues
        .depth(JobType::Cleanup, Priority::Normal)
        .await
        .unwrap();
    assert_eq!(depth.total(), 1, "{depth:?}");

    let mut conn = queues.connection();
    let info: String = redis::cmd("CLIENT")
        .arg("INFO")
        .query_async(&mut conn)
        .await
        .unwrap();
    on_the_tls_port(&info);

    let _: i64 = redis::Script::new(DELETE_MATCHING)
        .arg(format!("{prefix}*"))
        .invoke_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_queues_refuse_a_server_signed_by_an_unknown_ca() {
    let settings = ValkeySettings {
        ca_file: None,
        ..valkey_tls()
    };
    let err = Queues::connect(&settings, QueueSettings::default())
        .await
        .expect_err("an untrusted server");
    assert!(err.to_string().contains("certificate"), "{err}");
}
