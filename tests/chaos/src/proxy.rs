//! The switchable TCP proxy (pass / cut / black-hole) lives with the other test support in
//! `wump_db`, where the crates' own outage tests use it too.

pub use wump_db::test_proxy::{Mode, Proxy};
