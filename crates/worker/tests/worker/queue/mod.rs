//! The job queues against a real Valkey (`WUMP__VALKEY__URL`, `just services-up`): retries
//! and the dead-letter list, priorities, orphan recovery, graceful shutdown. Each test has
//! its own key prefix, so its queues are its own.

mod bulk;
mod dead_letters;
mod metrics;
mod orphans;
mod priorities;
mod processes;
mod retries;
pub(crate) mod scheduler;
mod shutdown;
pub(crate) mod support;
