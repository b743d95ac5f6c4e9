//! Every swiftpm format: the first byte picks one, the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wump_core::Ecosystem;

fuzz_target!(|data: &[u8]| wump_fuzz::fuzz_ecosystem(Some(Ecosystem::Swiftpm), data));
