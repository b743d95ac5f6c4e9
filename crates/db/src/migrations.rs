//! Migrations embedded in the binaries, so `wump-api migrate` needs no files at run time.

use diesel::sql_types::BigInt;
use diesel_async::{AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::DbError;

/// Every migration in the repository's `migrations/` folder.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// Applies every pending migration and returns the versions applied.
///
/// Needs Tokio's multi-threaded runtime (diesel's harness is synchronous and runs in
/// `block_in_place`).
pub async fn run_pending(conn: AsyncPgConnection) -> Result<Vec<String>, DbError> {
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = harness
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Reverts every applied migration, newest first (used by tests and by operators rolling
/// back a development database).
pub async fn revert_all(conn: AsyncPgConnection) -> Result<Vec<String>, DbError> {
    let mut harness = AsyncMigrationHarness::new(conn);
    let reverted = harness
        .revert_all_migrations(MIGRATIONS)
        .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(reverted.iter().map(ToString::to_string).collect())
}

/// Connects with `settings` and applies pending migrations (the binaries' `migrate` command
/// and `database.migrate_on_start`).
///
/// Every replica of both services may do this at once on start: an advisory lock lets one
/// migrate while the others wait and then find nothing left to do.
pub async fn migrate(
    settings: &wump_core::settings::DatabaseSettings,
) -> Result<Vec<String>, DbError> {
    let mut conn = crate::pool::connect_once(settings).await?;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK)
        .execute(&mut conn)
        .await?;
    // The session lock goes with the connection when `run_pending` drops it.
    run_pending(conn).await
}

/// Advisory lock key serializing migrations ("wump" + 1).
const MIGRATION_LOCK: i64 = 0x7775_6d70_0001;
