//! Rebuild when a migration is added or edited: `embed_migrations!` reads `migrations/` at
//! compile time, and cargo does not otherwise notice new files there (diesel's docs ask for
//! this build script).

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
