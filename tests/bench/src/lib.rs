//! Benchmarks at scale (issue 13): datasets of millions of edges generated straight into
//! PostgreSQL, and the measurements `just bench…` recipes write into `docs/benchmarks.md`.
//! Nothing here runs in `just test` except its own unit tests and a tiny dataset.

pub mod data;
pub mod history;
pub mod pipeline;
pub mod queue;
pub mod reads;
pub mod report;
pub mod workers;
