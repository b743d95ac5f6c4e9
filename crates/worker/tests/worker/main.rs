//! wump-worker's integration tests, in one test binary so the crate links one instead of
//! three: add modules under these rather than new files next to `tests/worker`.
//!
//! - [`cli`]: the `wump-worker` binary run as a user runs it;
//! - [`fleet`]: provider limits shared by worker processes through Valkey;
//! - [`jobs`]: the jobs end to end against real PostgreSQL and Valkey;
//! - [`queue`]: the queues against a real Valkey, including worker processes;
//! - [`webhooks`]: dispatch and delivery to a real HTTP receiver that verifies signatures
//!   with the Standard Webhooks library.

mod cli;
mod fleet;
mod jobs;
mod queue;
mod webhooks;
