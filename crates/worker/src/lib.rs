//! wump's background worker: the jobs ([`jobs`]), the queues they run on ([`queue`]),
//! the [`scheduler`] of recurring jobs, [`metrics`], the health endpoint, GitHub's
//! conditional-request cache in Valkey ([`http_cache`]), the `run` service wiring them
//! together ([`service`]), and [`inspect`] behind the local `wump-worker parse` command.

pub mod fleet_limits;
pub mod health;
pub mod http_cache;
pub mod inspect;
pub mod jobs;
pub mod metrics;
pub mod queue;
pub mod scheduler;
pub mod service;
pub mod webhooks;
