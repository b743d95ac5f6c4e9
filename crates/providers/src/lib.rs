//! Data providers: the sources workers learn about repositories, files, organizations and
//! packages from. Providers never touch the database.
//!
//! The provider trait and its implementations arrive with their own issue; the crate exists
//! now so the dependency direction (providers → core, never → db) holds from the start.
