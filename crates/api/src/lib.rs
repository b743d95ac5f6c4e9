//! wump's HTTP API: who uses a package, served from PostgreSQL.
//!
//! `main.rs` parses the command line; [`server`] builds and runs the actix-web app.

mod routes;
pub mod server;
