//! wump's background worker. The job runners arrive with the worker issue; for now the
//! process serves its health endpoint and waits for work.

pub mod health;
pub mod inspect;
