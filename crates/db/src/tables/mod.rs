//! One module per table, each owning the table's row types and every query that reads or
//! writes that table alone (as crates.io's `crates_io_database::models` does): to find how
//! `organizations` is read or written, open `organizations.rs`.
//!
//! Queries that join tables for a reader are in [`crate::views`]. The edge writers, whose
//! single transaction spans `dependencies`, `package_organizations`, `packages` and
//! `repositories` to keep the stored counts exact, are in [`crate::edges`]; the pieces of
//! them that touch one table are here, crate-private, so nothing outside can change edges
//! or counts without the other half.
//!
//! Columns holding wump's enums are read and written as those enums (`wump_core`'s `sql`
//! impls, [`job_executions::JobStatus`] here): a stored value the enum does not know fails
//! the query instead of being skipped.

pub mod api_keys;
pub mod dependencies;
pub mod dependency_events;
pub mod job_executions;
pub mod organizations;
pub mod package_organizations;
pub mod packages;
pub mod repositories;
pub mod webhook_deliveries;
pub mod webhook_subscriptions;
