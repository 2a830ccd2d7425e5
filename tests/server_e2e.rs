//! The server with a real, independent LSP client: pytest-lsp (pygls) runs
//! tests/e2e/test_server.py against the built binary, with VS Code's and Neovim's client
//! capabilities. The Python that has pytest-lsp is named by `NOGIL_LINT_E2E_PYTHON` (.ci/run
//! installs it); without it the test is skipped with a message, except in CI, where it fails.

use std::io::Write;
use std::path::Path;
use std::process::Command;

#[test]
fn pytest_lsp_opens_a_module_and_applies_a_code_action() {
    let Some(python) = std::env::var_os("NOGIL_LINT_E2E_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "NOGIL_LINT_E2E_PYTHON is not set: CI must install pytest-lsp (see .ci/run)"
        );
        // Written to the process's standard error, past the test harness's capture, so that
        // the skip shows in a passing run.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED pytest_lsp_opens_a_module_and_applies_a_code_action: set \
             NOGIL_LINT_E2E_PYTHON to a Python with pytest-lsp installed (see .ci/run)"
        );
        return;
    };
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let output = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(&tests)
        .current_dir(&tests)
        .env("NOGIL_LINT_BIN", env!("CARGO_BIN_EXE_nogil-lint"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("the Python in NOGIL_LINT_E2E_PYTHON runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "pytest-lsp failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("2 passed"), "{stdout}");
}
