//! wump's HTTP API: who uses a package, served from PostgreSQL through a Valkey cache.
//!
//! `main.rs` parses the command line; [`server`] builds and runs the actix-web app over an
//! [`AppState`]; every error leaves through [`problem::ApiError`].

pub mod auth;
mod badges;
#[cfg(feature = "bench")]
pub mod bench;
mod body;
pub mod breaker;
pub mod cache;
pub mod cli;
mod exports;
pub mod guard;
pub mod http;
pub mod limits;
mod listing;
pub mod metrics;
pub mod openapi;
pub(crate) mod pages;
pub mod pagination;
pub mod params;
pub mod problem;
pub mod queues;
pub mod refresh;
mod routes;
pub mod server;
pub mod state;
pub mod views;
pub mod webhooks;

pub use state::AppState;
