//! Every format wump reads: the first byte picks one from `Format::ALL`, the rest is the
//! file. Mutations cross formats, so a lockfile's bytes reach every other parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wump_fuzz::fuzz_any(data));
