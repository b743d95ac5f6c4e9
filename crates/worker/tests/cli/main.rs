//! The `wump-worker` binary, run as a user runs it. One test binary for the crate: add
//! modules here rather than files next to this one.

mod parse;
mod queue;
