//! The funding files (FUNDING.yml, funding.json): the first byte picks one, the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wump_fuzz::fuzz_ecosystem(None, data));
