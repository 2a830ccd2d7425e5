//! What every target shares: running the code under test with the stack the CLI gives it.

use std::path::{Path, PathBuf};

use nogil_lint::diagnostic::FixApplicability;
use nogil_lint::linter::{Origin, check_and_fix};
use nogil_lint::report::FileReport;
use nogil_lint::settings::{FixMode, Settings};

/// The CLI checks files on threads with 256 MB stacks because deeply nested code recurses
/// deeply in the parser and the model; libFuzzer's own thread has 8 MB. The same stack here
/// means a stack overflow the fuzzer finds is one a user can hit. A panic is re-raised on the
/// fuzzer's thread so that it is reported as a crash.
#[allow(dead_code)]
pub fn with_big_stack<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024 * 1024)
            .spawn_scoped(scope, work)
            .expect("cannot start the checking thread");
        match handle.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Every rule, facts for the project phase, and unsafe fixes: the most the CLI can be asked to do.
#[allow(dead_code)]
pub fn all_rules() -> Settings {
    Settings {
        collect_facts: true,
        fix: true,
        unsafe_fixes: true,
        ..Settings::default()
    }
}

/// One file through the per-file pipeline, reading from standard input as the CLI does for `-`.
#[allow(dead_code)]
pub fn check(name: &str, bytes: Vec<u8>, settings: &Settings, mode: FixMode) -> FileReport {
    check_and_fix(
        std::sync::Arc::from(name),
        Path::new(name),
        Origin::Stdin,
        bytes,
        settings,
        mode,
    )
}

#[allow(dead_code)]
pub const APPLY_ALL: FixMode = FixMode::ApplyToOutput(FixApplicability::Unsafe);

/// The report as the project phase sees it for a file of that name (standard input has no path
/// and would be skipped by the linker).
#[allow(dead_code)]
pub fn with_path(mut report: FileReport, name: &str) -> FileReport {
    report.path = Some(PathBuf::from(name));
    report
}
