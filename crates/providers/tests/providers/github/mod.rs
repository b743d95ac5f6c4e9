//! The GitHub provider against a mock server answering GitHub's documented payloads and
//! headers; see `support` for the clock.

mod discovery;
mod enforcement;
mod files;
mod limits;
mod metrics;
mod owners;
mod support;
