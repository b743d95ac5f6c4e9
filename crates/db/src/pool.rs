//! The async connection pool (diesel-async over deadpool), over TLS when the URL's
//! `sslmode` asks for it.

use std::{sync::Arc, time::Duration};

use diesel::{ConnectionError, sql_types::Text};
use diesel_async::{
    AsyncPgConnection, RunQueryDsl,
    pooled_connection::{
        AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
        deadpool::{Object, Pool},
    },
};
use secrecy::ExposeSecret;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls_improved::MakeRustlsConnect;
use wump_core::settings::DatabaseSettings;

use crate::{
    DbError,
    tls::{self, Verification},
};

/// A pool of PostgreSQL connections.
pub type DbPool = Pool<AsyncPgConnection>;

/// A connection checked out of a [`DbPool`].
pub type PooledConnection = Object<AsyncPgConnection>;

/// Builds a pool from settings. Connections are opened lazily, so this succeeds even when
/// the database is down; the first checkout then fails with [`DbError::Unavailable`].
///
/// A URL or `database.ca_file` that cannot be used is [`DbError::Config`].
pub fn connect(settings: &DatabaseSettings) -> Result<DbPool, DbError> {
    let target = Arc::new(Target::new(settings)?);
    let mut config = ManagerConfig::default();
    // `Verified` would run a query on every checkout; a broken connection shows itself on
    // first use and is then dropped by deadpool.
    config.recycling_method = RecyclingMethod::Fast;
    // The manager's own URL is ignored: `target` was parsed from it once, here.
    config.custom_setup = Box::new(move |_url| {
        let target = target.clone();
        Box::pin(async move { target.establish().await })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        settings.url.expose_secret(),
        config,
    );
    Pool::builder(manager)
        .max_size(settings.pool_max_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(settings.pool_wait_timeout()))
        .create_timeout(Some(settings.connect_timeout()))
        .recycle_timeout(Some(settings.connect_timeout()))
        .build()
        .map_err(|e| DbError::Unavailable(format!("cannot build the connection pool: {e}")))
}

/// What every new connection needs: tokio-postgres' settings from the URL, the TLS
/// connector its `sslmode` asks for, and the session setup.
struct Target {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    connect_timeout: Duration,
    statement_timeout: String,
}

impl Target {
    fn new(settings: &DatabaseSettings) -> Result<Self, DbError> {
        let (url, sslmode) = split_sslmode(settings.url.expose_secret());
        let (mode, verification) = match sslmode.as_deref() {
            // libpq's default: TLS when the server offers it, unverified.
            None | Some("prefer") => (SslMode::Prefer, Verification::None),
            Some("disable") => (SslMode::Disable, Verification::None),
            Some("require") => (SslMode::Require, Verification::None),
            Some("verify-ca") => (SslMode::Require, Verification::Chain),
            Some("verify-full") => (SslMode::Require, Verification::Full),
            Some(other) => {
                return Err(DbError::Config(format!(
                    "database.url: sslmode={other} is not one of disable, prefer, require, \
                     verify-ca, verify-full"
                )));
            }
        };
        // tokio-postgres' errors quote an option, never the URL (which holds the password).
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| DbError::Config(format!("database.url: {e}")))?;
        config.ssl_mode(mode);
        let ca_file = settings.ca_file.as_deref();
        let tls = tls::client_config(verification, ca_file)
            .map_err(|e| DbError::Config(format!("database.ca_file: {e}")))?;
        Ok(Self {
            config,
            tls: MakeRustlsConnect::new(tls),
            connect_timeout: settings.connect_timeout(),
            statement_timeout: format!("{}ms", settings.statement_timeout_ms),
        })
    }

    /// Opens one connection with a bounded connect time and the server-side statement
    /// timeout.
    async fn establish(&self) -> Result<AsyncPgConnection, ConnectionError> {
        let open = async {
            let (client, connection) = self
                .config
                .connect(self.tls.clone())
                .await
                .map_err(|e| ConnectionError::BadConnection(error_chain(&e)))?;
            AsyncPgConnection::try_from_client_and_connection(client, connection).await
        };
        let mut conn = tokio::time::timeout(self.connect_timeout, open)
            .await
            .map_err(|_| {
                ConnectionError::BadConnection("timed out connecting to PostgreSQL".into())
            })??;
        diesel::sql_query("SELECT set_config('statement_timeout', $1, false)")
            .bind::<Text, _>(&self.statement_timeout)
            .execute(&mut conn)
            .await
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
        Ok(conn)
    }
}

/// `url` without its `sslmode` parameter, and that parameter's value: tokio-postgres knows
/// only `disable`, `prefer` and `require`, so the verifying modes are handled here.
fn split_sslmode(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut sslmode = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("sslmode=") {
            Some(value) => {
                sslmode = Some(value.to_owned());
                false
            }
            None => !pair.is_empty(),
        })
        .collect();
    if rest.is_empty() {
        (base.to_owned(), sslmode)
    } else {
        (format!("{base}?{}", rest.join("&")), sslmode)
    }
}

/// `err` and its causes on one line, each said once.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = cause.source();
    }
    message
}

/// Checks a connection out of the pool, mapping every failure to [`DbError::Unavailable`].
pub async fn checkout(pool: &DbPool) -> Result<PooledConnection, DbError> {
    Ok(pool.get().await?)
}

/// Opens a single connection outside any pool (migrations, tests, administration).
pub async fn connect_once(settings: &DatabaseSettings) -> Result<AsyncPgConnection, DbError> {
    Target::new(settings)?
        .establish()
        .await
        .map_err(|e| DbError::Unavailable(e.to_string()))
}

/// Checks out a connection and runs `SELECT 1` (health checks).
pub async fn ping(pool: &DbPool) -> Result<(), DbError> {
    let mut conn = checkout(pool).await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::split_sslmode;

    #[test]
    fn sslmode_is_taken_out_and_the_other_parameters_stay() {
        assert_eq!(
            split_sslmode("postgres://u:p@h/db?application_name=w&sslmode=verify-full&x=1"),
            (
                "postgres://u:p@h/db?application_name=w&x=1".to_owned(),
                Some("verify-full".to_owned())
            )
        );
        assert_eq!(
            split_sslmode("postgres://u:p@h/db?sslmode=require"),
            ("postgres://u:p@h/db".to_owned(), Some("require".to_owned()))
        );
        assert_eq!(
            split_sslmode("postgres://u:p@h/db"),
            ("postgres://u:p@h/db".to_owned(), None)
        );
    }
}
