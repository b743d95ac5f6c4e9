//! wump's HTTP API: who uses a package, served from PostgreSQL through a Valkey cache.
//!
//! `main.rs` parses the command line; [`server`] builds and runs the actix-web app over an
//! [`AppState`]; every error leaves through [`problem::ApiError`].

pub mod auth;
mod body;
pub mod cache;
pub mod cli;
pub mod guard;
pub mod limits;
pub mod problem;
pub mod queues;
pub mod refresh;
mod routes;

pub use routes::access_openapi::AccessApi;
pub mod server;
pub mod state;

pub use state::AppState;
