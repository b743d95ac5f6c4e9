//! The one error of a job run, and what the queue does about it.

use std::time::Duration;

use wump_db::{DbError, ValkeyError};
use wump_providers::ProviderError;

/// Why a run failed; [`JobError::retry`] says what the queue does next.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The payload cannot be run (unreadable, unknown provider, invalid name): permanent.
    #[error("malformed payload: {0}")]
    Payload(String),
    /// What the job is about does not exist: permanent.
    #[error("not found: {0}")]
    NotFound(String),
    /// No configured provider can do this: permanent.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A provider failed; permanent or not as the provider says, waiting as long as it asks.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The database failed or could not be reached: retryable, and waited for without
    /// spending attempts when it was unavailable.
    #[error(transparent)]
    Database(#[from] DbError),
    /// Valkey could not be reached: retryable.
    #[error(transparent)]
    Valkey(#[from] ValkeyError),
    /// The run panicked: retryable.
    #[error("the job panicked")]
    Panicked,
    /// The run was cancelled before it finished: retryable.
    #[error("the job was cancelled: {0}")]
    Cancelled(String),
    /// A webhook receiver did not answer with success: retryable with backoff.
    #[error("webhook delivery failed: {0}")]
    Delivery(String),
    /// A webhook delivery that retrying cannot help (a refused address, 410 Gone, no
    /// key configured): permanent.
    #[error("webhook delivery refused: {0}")]
    DeliveryRefused(String),
}

impl From<diesel::result::Error> for JobError {
    fn from(err: diesel::result::Error) -> Self {
        JobError::Database(DbError::from(err))
    }
}

impl From<fred::error::Error> for JobError {
    fn from(err: fred::error::Error) -> Self {
        JobError::Valkey(ValkeyError::from(err))
    }
}

/// What the queue does with a failed run (`crate::queue` has the limits and the waits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Retrying cannot help: straight to the dead-letter list.
    Never,
    /// A provider asked us to come back after this wait: run again then, without spending
    /// an attempt (up to `queues.max_rate_limit_waits` waits per attempt).
    AfterWait(Duration),
    /// The database was unavailable (down, not answering, no connection free): run again
    /// after a growing wait, without spending an attempt (up to `queues.max_database_waits`
    /// waits per attempt).
    WhenTheDatabaseReturns,
    /// It may succeed later: retry with backoff until the attempts are spent.
    WithBackoff,
}

impl JobError {
    /// Whether retrying cannot help: the queue should not try again.
    pub fn is_permanent(&self) -> bool {
        match self {
            JobError::Payload(_)
            | JobError::NotFound(_)
            | JobError::Unsupported(_)
            | JobError::DeliveryRefused(_) => true,
            JobError::Provider(e) => e.is_permanent(),
            JobError::Database(_)
            | JobError::Valkey(_)
            | JobError::Panicked
            | JobError::Cancelled(_)
            | JobError::Delivery(_) => false,
        }
    }

    /// How long a provider asked us to wait before retrying, when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            JobError::Provider(e) => e.retry_after(),
            _ => None,
        }
    }

    /// What the queue does next, in this order: a permanent failure is never retried, a
    /// provider's wait is honoured, an unavailable database is waited for, anything else
    /// is retried with backoff.
    pub fn retry(&self) -> Retry {
        if self.is_permanent() {
            Retry::Never
        } else if let Some(wait) = self.retry_after() {
            Retry::AfterWait(wait)
        } else if matches!(self, JobError::Database(db) if db.is_unavailable()) {
            Retry::WhenTheDatabaseReturns
        } else {
            Retry::WithBackoff
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_honours_permanence_then_a_providers_wait_then_an_unavailable_database() {
        let limited = JobError::Provider(ProviderError::RateLimited {
            provider: "github".into(),
            retry_after: Duration::from_secs(30),
        });
        assert_eq!(limited.retry(), Retry::AfterWait(Duration::from_secs(30)));
        let gone = JobError::Provider(ProviderError::NotFound {
            provider: "github".into(),
            what: "acme/web".into(),
        });
        assert_eq!(gone.retry(), Retry::Never);
        assert_eq!(JobError::Payload("x".into()).retry(), Retry::Never);
        let down = JobError::Database(DbError::Unavailable("refused".into()));
        assert_eq!(down.retry(), Retry::WhenTheDatabaseReturns);
        let broken = JobError::Database(DbError::Config("bad url".into()));
        assert_eq!(broken.retry(), Retry::WithBackoff);
        assert_eq!(JobError::Panicked.retry(), Retry::WithBackoff);
        assert_eq!(
            JobError::Valkey(ValkeyError::Unavailable("reset".into())).retry(),
            Retry::WithBackoff
        );
    }
}
