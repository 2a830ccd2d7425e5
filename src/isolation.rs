//! Keeps one file's internal error from ending the run: a panic while checking a file is caught,
//! described, and reported as an internal error for that file, and every other file's findings
//! are still printed.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    /// Whether a panic on this thread will be caught by [`isolated`]; the hook then records it
    /// instead of printing it.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// The description of the last caught panic on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the panic hook that describes caught panics (message, source location and, with
/// `RUST_BACKTRACE=1`, a backtrace) and leaves every other panic to the default hook.
pub fn install_panic_hook() {
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !CATCHING.with(Cell::get) {
            default_hook(info);
            return;
        }
        let mut description = payload_text(info.payload());
        if let Some(location) = info.location() {
            description.push_str(&format!(
                " (at {}:{}:{})",
                location.file(),
                location.line(),
                location.column()
            ));
        }
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            description.push_str(&format!("\n{backtrace}"));
        }
        LAST_PANIC.with(|last| *last.borrow_mut() = Some(description));
    }));
}

/// Runs `work`, turning a panic into an error that describes it.
pub fn isolated<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    let was_catching = CATCHING.with(|catching| catching.replace(true));
    // The state `work` touches is its own file's (or is discarded with the error), so nothing
    // half-updated is observed after a panic.
    let result = panic::catch_unwind(AssertUnwindSafe(work));
    CATCHING.with(|catching| catching.set(was_catching));
    result.map_err(|payload| {
        LAST_PANIC
            .with(|last| last.borrow_mut().take())
            .unwrap_or_else(|| payload_text(payload.as_ref()))
    })
}

/// The message a panic was raised with.
fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}

/// For tests of the isolation itself: a debug build panics while checking a file whose name is
/// `NOGIL_LINT_TEST_PANIC_ON`, as a bug in a rule would. Release builds never do.
pub fn injected_panic(path: &std::path::Path) {
    if cfg!(debug_assertions)
        && let Some(trigger) = std::env::var_os("NOGIL_LINT_TEST_PANIC_ON")
        && path.file_name() == Some(trigger.as_os_str())
    {
        panic!("injected panic for testing internal-error isolation");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_with_its_message() {
        install_panic_hook();
        let error = isolated(|| -> u8 { panic!("rule failed on {}", "x.py") }).unwrap_err();
        assert!(error.starts_with("rule failed on x.py"), "{error}");
        assert!(error.contains("isolation.rs"), "{error}");
        assert_eq!(isolated(|| 7), Ok(7));
        // Catching is restored: the flag is off again after the call.
        assert!(!CATCHING.with(Cell::get));
    }
}
