//! The `wump-worker` binary, run as a user runs it.

mod parse;
mod queue;
