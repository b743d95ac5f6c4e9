//! wump's data layer: the PostgreSQL schema, models, the queries both services need, the
//! connection pool and the embedded migrations, and the Valkey connection both services
//! share.
//!
//! Query functions take `&mut AsyncPgConnection` and leave transactions to the caller,
//! except the edge writers, whose consistency guarantees need their own transaction
//! (they say so). Every listing is keyset-paginated; nothing here uses OFFSET.

pub mod api_keys;
pub mod edges;
pub mod enrichment;
mod error;
pub mod job_health;
pub mod job_status;
pub mod jobs;
pub mod keys;
pub mod listings;
pub mod lookups;
pub mod migrations;
pub mod models;
pub mod pool;
pub mod queue;
pub mod repositories;
pub mod schema;
#[cfg(feature = "test-support")]
pub mod test_proxy;
#[cfg(feature = "test-support")]
pub mod test_support;
mod tls;
pub mod upserts;
pub mod valkey;

pub use diesel_async::AsyncPgConnection;
pub use error::DbError;
pub use keys::Keys;
pub use pool::{DbPool, connect};
pub use valkey::{ValkeyError, ValkeyPool, connect_valkey};
