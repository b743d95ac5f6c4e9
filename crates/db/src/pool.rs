//! The async connection pool (diesel-async over deadpool), over TLS when the URL's
//! `sslmode` asks for it.

use std::{
    future::Future,
    ops::{Deref, DerefMut},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

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

/// A pool of PostgreSQL connections (derefs to deadpool's pool), with the client-side
/// bound on one operation ([`bounded`]).
#[derive(Clone)]
pub struct DbPool {
    pool: Pool<AsyncPgConnection>,
    query_timeout: Duration,
}

impl DbPool {
    /// `database.query_timeout_ms`: how long one operation may take.
    pub fn query_timeout(&self) -> Duration {
        self.query_timeout
    }
}

impl Deref for DbPool {
    type Target = Pool<AsyncPgConnection>;

    fn deref(&self) -> &Self::Target {
        &self.pool
    }
}

impl std::fmt::Debug for DbPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbPool")
            .field("status", &self.pool.status())
            .field("query_timeout", &self.query_timeout)
            .finish()
    }
}

/// A connection checked out of a [`DbPool`] (derefs to the connection). Checked out or
/// queried inside a [`bounded`] operation that ran out of time (or was given up), it is
/// closed when dropped instead of going back to the pool: a query may still be waiting for
/// an answer on it, and the next user would wait behind that query.
pub struct PooledConnection {
    conn: Option<Object<AsyncPgConnection>>,
    cut: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for PooledConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledConnection")
            .field("bounded", &self.cut.is_some())
            .finish_non_exhaustive()
    }
}

impl Deref for PooledConnection {
    type Target = AsyncPgConnection;

    fn deref(&self) -> &Self::Target {
        self.conn.as_ref().expect("present until dropped")
    }
}

impl DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut Self::Target {
        // Every query borrows the connection mutably: one run inside a [`bounded`]
        // operation ties the connection to that operation's fate, wherever it was checked
        // out.
        if let Ok(cut) = CUT.try_with(Arc::clone) {
            self.cut = Some(cut);
        }
        self.conn.as_mut().expect("present until dropped")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if self
            .cut
            .as_ref()
            .is_some_and(|cut| AtomicBool::load(cut, Ordering::Acquire))
        {
            // Out of the pool (its slot frees) and closed: dropping the connection stops
            // its background task, which closes the socket.
            drop(Object::take(conn));
            tracing::debug!("database connection closed: its operation ran out of time");
        }
    }
}

tokio::task_local! {
    /// Set when the enclosing [`bounded`] operation ran out of time or was cancelled.
    static CUT: Arc<AtomicBool>;
}

/// Runs `op` (which checks connections out and queries them) within `pool`'s
/// `database.query_timeout_ms`. Out of time, it fails with [`DbError::Unavailable`] and the
/// connections `op` held are closed, not returned to the pool; the same happens when the
/// caller drops this future before it finishes.
pub async fn bounded<T, E, Fut>(pool: &DbPool, op: Fut) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
    E: From<DbError>,
{
    bounded_by(pool.query_timeout, op).await
}

/// [`bounded`] with an explicit limit.
pub async fn bounded_by<T, E, Fut>(limit: Duration, op: Fut) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
    E: From<DbError>,
{
    let cut = Arc::new(AtomicBool::new(false));
    let mut op = Box::pin(CUT.scope(cut.clone(), op));
    // Declared after `op`, so dropped before it: a caller that gives up marks the
    // connections cut before they are dropped.
    let mut sentinel = CutUnlessDone {
        cut: cut.clone(),
        done: false,
    };
    let outcome = tokio::time::timeout(limit, &mut op).await;
    sentinel.done = outcome.is_ok();
    match outcome {
        Ok(result) => result,
        Err(_) => {
            cut.store(true, Ordering::Release);
            drop(op);
            Err(E::from(DbError::Unavailable(format!(
                "no answer from PostgreSQL within {} ms",
                limit.as_millis()
            ))))
        }
    }
}

struct CutUnlessDone {
    cut: Arc<AtomicBool>,
    done: bool,
}

impl Drop for CutUnlessDone {
    fn drop(&mut self) {
        if !self.done {
            self.cut.store(true, Ordering::Release);
        }
    }
}

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
    let pool = Pool::builder(manager)
        .max_size(settings.pool_max_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(settings.pool_wait_timeout()))
        .create_timeout(Some(settings.connect_timeout()))
        .recycle_timeout(Some(settings.connect_timeout()))
        .build()
        .map_err(|e| DbError::Unavailable(format!("cannot build the connection pool: {e}")))?;
    Ok(DbPool {
        pool,
        query_timeout: settings.query_timeout(),
    })
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
        // A route that starts dropping packets: the kernel gives up on unacknowledged data
        // after the query timeout instead of ~15 minutes of retransmissions, and idle
        // connections are probed, so a dead socket errors and leaves the pool. (A peer
        // that acknowledges and never answers is caught by `bounded` instead.)
        let dead_after = settings.query_timeout().max(Duration::from_secs(1));
        config
            .keepalives(true)
            .keepalives_idle(dead_after)
            .keepalives_interval(Duration::from_secs(1))
            .keepalives_retries(3)
            .tcp_user_timeout(dead_after);
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
        // Custom plans always: a listing's best plan depends on its package (three
        // dependents or 180,000), and the generic plan PostgreSQL switches a prepared
        // statement to after five runs is planned for an average package; for the most
        // used ones it read a whole edge set per page (docs/benchmarks.md, bench-reads).
        diesel::sql_query(
            "SELECT set_config('statement_timeout', $1, false),
                    set_config('plan_cache_mode', 'force_custom_plan', false)",
        )
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
/// Inside [`bounded`], a connection still held when the operation runs out of time is
/// closed rather than reused.
pub async fn checkout(pool: &DbPool) -> Result<PooledConnection, DbError> {
    let conn = pool.pool.get().await?;
    Ok(PooledConnection {
        conn: Some(conn),
        cut: CUT.try_with(Arc::clone).ok(),
    })
}

/// Opens a single connection outside any pool (migrations, tests, administration).
pub async fn connect_once(settings: &DatabaseSettings) -> Result<AsyncPgConnection, DbError> {
    Target::new(settings)?
        .establish()
        .await
        .map_err(|e| DbError::Unavailable(e.to_string()))
}

/// Checks out a connection and runs `SELECT 1` (health checks), within the query timeout.
pub async fn ping(pool: &DbPool) -> Result<(), DbError> {
    bounded(pool, async {
        let mut conn = checkout(pool).await?;
        diesel::sql_query("SELECT 1").execute(&mut *conn).await?;
        Ok(())
    })
    .await
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
