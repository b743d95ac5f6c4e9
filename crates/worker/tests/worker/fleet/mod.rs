//! The providers' limits shared by the worker fleet through Valkey: the store on its own
//! ([`store`]), and real `wump-worker` processes against a strict GitHub stand-in
//! ([`processes`]).

mod processes;
mod store;
