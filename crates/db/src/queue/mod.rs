//! The job queues as both services see them: one apalis-redis storage per (job type,
//! priority) on Valkey, enqueueing, depths, and the dead-letter list.
//!
//! The api enqueues on-demand work and reads depths and dead letters from here; the worker
//! adds the runner on top (`wump_worker::queue`). Why the queues look the way they do
//! (explicit names, one queue per priority, our own attempt counting and dead-letter list)
//! is told there, next to the code that works around apalis-redis.

mod dead_letter;
mod envelope;
mod refresh;
mod storage;

pub use dead_letter::{DeadJob, DeadLetters, Selection};
pub use envelope::{Envelope, FailedAttempt};
pub use refresh::Accepted;
pub use storage::{QueueDepth, Queues, QueuesSnapshot};

/// A queue operation failed (Valkey unreachable, a stored value unreadable).
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("valkey: {0}")]
    Valkey(#[from] redis::RedisError),
    #[error("pushing a job: {0}")]
    Push(String),
    #[error("invalid queue settings: {0}")]
    Settings(String),
    #[error("a stored job cannot be read: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("no dead job with id {0}")]
    NotFound(String),
}
