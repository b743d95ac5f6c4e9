//! Tiers live in core (`api_keys.tier` stores one, so wump-db reads and writes them too).

pub use wump_core::tier::{Tier, UnknownTier};
