//! Inputs the fuzzers (`fuzz/`) found crashing, minimized, run the way the fuzz target ran
//! them. Each must now be handled without a panic, and its fixes must still be sound.

use std::path::Path;
use std::sync::Arc;

use nogil_lint::diagnostic::FixApplicability;
use nogil_lint::linter::check_extension_source;
use nogil_lint::settings::{FixMode, Settings};

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

/// The `requirements` target: a `requirements.txt` that includes a special file. `-r /dev/zero`
/// was read until memory ran out; a FIFO (here, so the test cannot exhaust memory) blocked the
/// run forever. Special files are now skipped and the rest of the file is still checked.
#[cfg(unix)]
#[test]
fn requirement_include_of_a_special_file() {
    use nogil_lint::data::TargetVersion;

    let directory = tempfile::tempdir().expect("a temporary directory");
    let fifo = directory.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    std::fs::write(
        directory.path().join("requirements.txt"),
        "-r pipe\n-r /dev/zero\npandas==2.1.*\n",
    )
    .expect("writing requirements.txt");
    let roots = vec![directory.path().to_path_buf()];
    let imported = ["pandas".to_string()].into_iter().collect();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let reports =
            nogil_lint::requirements::check(&roots, &roots[0], &imported, TargetVersion::Py313t);
        let _ = sender.send(reports.len());
    });
    let reports = receiver
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("checking the requirement files finishes");
    assert_eq!(reports, 1, "pandas==2.1.* is still reported");
}

/// The `requirements` and `project` targets: a requirement whose name ends in `.` and is
/// followed by more text (`32. "requests"`, `versioncls.(`). The PEP 508 parser panicked on it
/// instead of returning an error; it is now skipped like any other invalid line.
#[test]
fn requirement_name_ending_in_a_dot() {
    use nogil_lint::data::TargetVersion;

    let directory = tempfile::tempdir().expect("a temporary directory");
    let mut text = String::from_utf8(fixture("requirement_name_ends_in_dot.txt")).expect("UTF-8");
    text.push_str("pandas==2.1.*\n");
    std::fs::write(directory.path().join("requirements.txt"), text).expect("writing");
    let roots = vec![directory.path().to_path_buf()];
    let imported = ["pandas".to_string(), "requests".to_string()]
        .into_iter()
        .collect();
    let reports =
        nogil_lint::requirements::check(&roots, &roots[0], &imported, TargetVersion::Py313t);
    assert_eq!(reports.len(), 1, "pandas==2.1.* is still reported");
}

/// The `pipeline` target: an unused `# noqa: NG104` followed by more comment text. Removing
/// the directive took the `#` with it, so the rest of the comment became code and the NG100
/// fix was refused as a syntax error. The rest now stays a comment.
#[test]
fn unused_noqa_followed_by_comment_text() {
    use nogil_lint::linter::{Origin, check_and_fix};

    let settings = Settings {
        unsafe_fixes: true,
        ..Settings::default()
    };
    let name = "fuzz.py";
    let report = check_and_fix(
        Arc::from(name),
        Path::new(name),
        Origin::Stdin,
        fixture("unused_noqa_with_trailing_text.py"),
        &settings,
        FixMode::ApplyToOutput(FixApplicability::Unsafe),
    );
    assert!(report.fix_errors.is_empty(), "{:?}", report.fix_errors);
    assert_eq!(
        report.fixed_source.as_deref(),
        Some("def stale(hits):\n    return hits  # reviewed by the team\n")
    );
}
