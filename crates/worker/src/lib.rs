//! wump's background worker. The job runners arrive with the worker issue; for now the
//! process serves its health endpoint and waits for work, and [`inspect`] backs the local
//! `wump-worker parse` command.

pub mod health;
pub mod inspect;
pub mod queue;
