//! Request handlers, one module per resource.

pub(crate) mod health;
