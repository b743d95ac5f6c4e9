//! wump's data layer: the PostgreSQL schema, the queries both services need, the
//! connection pool and the embedded migrations, and the Valkey connection both services
//! share.
//!
//! Storage is organised by table: [`tables`] has one module per table with its row types
//! and every single-table query; [`views`] the read models that join tables; [`edges`]
//! the writers whose one transaction keeps edges and the counts derived from them exact;
//! [`explain`] the plan of any of those statements, for benchmarks.
//!
//! Query functions take `&mut AsyncPgConnection` and leave transactions to the caller,
//! except the edge writers, whose consistency guarantees need their own transaction
//! (they say so). Every listing is keyset-paginated; nothing here uses OFFSET.

pub mod edges;
mod error;
pub mod explain;
pub mod funding;
pub mod history;
pub mod keys;
pub mod migrations;
pub mod outbox;
pub mod pool;
pub mod queue;
pub mod schema;
pub mod tables;
#[cfg(feature = "test-support")]
pub mod test_proxy;
#[cfg(feature = "test-support")]
pub mod test_support;
mod tls;
pub mod valkey;
pub mod views;

pub use diesel_async::AsyncPgConnection;
pub use error::DbError;
pub use keys::Keys;
pub use pool::{DbPool, connect};
pub use valkey::{ValkeyError, ValkeyPool, connect_valkey};
