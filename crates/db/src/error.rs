//! The data layer's errors.
//!
//! Callers need to tell "the database is not there right now" (retry later, answer 503)
//! from "this query failed" (a bug or bad data): [`DbError::Unavailable`] is the former,
//! whichever way it surfaced (pool timeout, refused connection, a connection closed under us).

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::deadpool::PoolError;

/// A failed database operation.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached or no connection became free in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(DieselError),
    /// The settings cannot be used (a malformed URL, an unreadable `database.ca_file`).
    #[error("invalid database settings: {0}")]
    Config(String),
    /// Applying or reverting migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
}

impl DbError {
    /// Whether retrying later may succeed (the database was unreachable).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, DbError::Unavailable(_))
    }
}

impl From<DieselError> for DbError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::BrokenTransactionManager => DbError::Unavailable(err.to_string()),
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => DbError::Unavailable(err.to_string()),
            other => DbError::Query(other),
        }
    }
}

impl From<PoolError> for DbError {
    fn from(err: PoolError) -> Self {
        DbError::Unavailable(err.to_string())
    }
}
