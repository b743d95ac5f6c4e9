//! The API server in-process against a real PostgreSQL database: one test binary.

mod health;
