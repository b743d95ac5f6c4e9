//! A few files of one repository: the first byte of each NUL-separated file picks its path
//! (a version catalog, a build script, an MSBuild shared file, a project), the rest is its
//! content. The shared files are learned first, then every file is parsed with them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wump_fuzz::fuzz_repository(data));
