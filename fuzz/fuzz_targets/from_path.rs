//! `Format::from_path` on any path: it must not panic, and a leading `./` changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wump_manifests::Format;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let format = Format::from_path(path);
    assert_eq!(Format::from_path(&format!("./{path}")), format, "{path:?}");
    if let Some(format) = format {
        assert!(!format.id().is_empty());
    }
});
