//! The async connection pool (diesel-async over deadpool).

use std::time::Duration;

use diesel::{ConnectionError, sql_types::Text};
use diesel_async::{
    AsyncConnection, AsyncPgConnection, RunQueryDsl,
    pooled_connection::{
        AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
        deadpool::{Object, Pool},
    },
};
use secrecy::ExposeSecret;
use wump_core::settings::DatabaseSettings;

use crate::DbError;

/// A pool of PostgreSQL connections.
pub type DbPool = Pool<AsyncPgConnection>;

/// A connection checked out of a [`DbPool`].
pub type PooledConnection = Object<AsyncPgConnection>;

/// Builds a pool from settings. Connections are opened lazily, so this succeeds even when
/// the database is down; the first checkout then fails with [`DbError::Unavailable`].
pub fn connect(settings: &DatabaseSettings) -> Result<DbPool, DbError> {
    let connect_timeout = settings.connect_timeout();
    let statement_timeout = format!("{}ms", settings.statement_timeout_ms);
    let mut config = ManagerConfig::default();
    // `Verified` would run a query on every checkout; a broken connection shows itself on
    // first use and is then dropped by deadpool.
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        let statement_timeout = statement_timeout.clone();
        Box::pin(async move { establish(&url, connect_timeout, &statement_timeout).await })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        settings.url.expose_secret(),
        config,
    );
    Pool::builder(manager)
        .max_size(settings.pool_max_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(settings.pool_wait_timeout()))
        .create_timeout(Some(connect_timeout))
        .recycle_timeout(Some(connect_timeout))
        .build()
        .map_err(|e| DbError::Unavailable(format!("cannot build the connection pool: {e}")))
}

/// Opens one connection with a bounded connect time and the server-side statement timeout.
async fn establish(
    url: &str,
    connect_timeout: Duration,
    statement_timeout: &str,
) -> Result<AsyncPgConnection, ConnectionError> {
    let mut conn = tokio::time::timeout(connect_timeout, AsyncPgConnection::establish(url))
        .await
        .map_err(|_| {
            ConnectionError::BadConnection("timed out connecting to PostgreSQL".into())
        })??;
    diesel::sql_query("SELECT set_config('statement_timeout', $1, false)")
        .bind::<Text, _>(statement_timeout)
        .execute(&mut conn)
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// Checks a connection out of the pool, mapping every failure to [`DbError::Unavailable`].
pub async fn checkout(pool: &DbPool) -> Result<PooledConnection, DbError> {
    Ok(pool.get().await?)
}

/// Opens a single connection outside any pool (migrations, tests, administration).
pub async fn connect_once(settings: &DatabaseSettings) -> Result<AsyncPgConnection, DbError> {
    let statement_timeout = format!("{}ms", settings.statement_timeout_ms);
    establish(
        settings.url.expose_secret(),
        settings.connect_timeout(),
        &statement_timeout,
    )
    .await
    .map_err(|e| DbError::Unavailable(e.to_string()))
}

/// Checks out a connection and runs `SELECT 1` (health checks).
pub async fn ping(pool: &DbPool) -> Result<(), DbError> {
    let mut conn = checkout(pool).await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(())
}
