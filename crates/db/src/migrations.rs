//! Migrations embedded in the binaries, so `wump-api migrate` needs no files at run time.

use diesel_async::{AsyncMigrationHarness, AsyncPgConnection};
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
