//! Inputs the fuzzers (`fuzz/`) found crashing, minimized, run the way the fuzz target ran
//! them. Each must now be handled without a panic, and its fixes must still be sound.

use std::path::Path;
use std::sync::Arc;

use nogil_lint::diagnostic::FixApplicability;
use nogil_lint::linter::{FixMode, Settings, check_extension_source};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/fuzz")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The `extension_source` target: report, then compute every fix as a diff (nothing written).
fn check_extension(name: &str, bytes: &[u8]) -> String {
    let settings = Settings {
        unsafe_fixes: true,
        ..Settings::default()
    };
    let path = Path::new(name);
    let report = check_extension_source(
        Arc::from(name),
        path,
        bytes.to_vec(),
        &settings,
        FixMode::Report,
    );
    assert!(report.io_error.is_none());
    let diffed = check_extension_source(
        Arc::from(name),
        path,
        bytes.to_vec(),
        &settings,
        FixMode::Diff(FixApplicability::Unsafe),
    );
    diffed.diff.unwrap_or_default()
}

/// A `# cython:` header line after a `\r\n` line: the fix's insertion point was counted with
/// one byte per line break, so it fell inside the `é` and resolving its position panicked.
#[test]
fn cython_header_after_crlf_lines() {
    let diff = check_extension("ext.pyx", &fixture("cython_crlf_header.pyx"));
    assert!(
        diff.contains("+# cython: é, freethreading_compatible=True\r\n"),
        "{diff}"
    );
}
