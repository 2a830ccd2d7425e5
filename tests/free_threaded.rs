//! Tests on a real free-threaded interpreter (python3.14t), where a race that a GIL hides shows:
//! the parity workloads, the fix round-trip on them, and NG204's import check against real
//! installed packages.
//!
//! `.ci/run` builds (or reuses) the interpreter with `../shared/toolchains/build-python-ft.sh`,
//! prepares a virtual environment of it with one package whose extension keeps the GIL disabled
//! and one whose extension re-enables it, and hands both to the tests:
//! `NOGIL_LINT_FT_PYTHON` (the interpreter) and `NOGIL_LINT_FT_VENV` (the environment). In CI
//! (`CI` set) a missing one fails the test; elsewhere the test says it skips and passes.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::{Mutex, MutexGuard};

use assert_cmd::Command;

/// The tests here time threads against each other: one at a time, so that they do not
/// compete for the machine's cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn from_env(variable: &str, what: &str) -> Option<PathBuf> {
    match std::env::var_os(variable) {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI needs {variable} ({what}); .ci/run sets it")
        }
        _ => {
            eprintln!(
                "SKIPPED: {variable} is not set ({what}); run the tests through .ci/run, or see the README's Tests section"
            );
            None
        }
    }
}

fn free_threaded_python() -> Option<PathBuf> {
    let python = from_env("NOGIL_LINT_FT_PYTHON", "a free-threaded python3.14t")?;
    let probe = Process::new(&python)
        .args(["-c", "import sys; print(sys._is_gil_enabled())"])
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", python.display()));
    assert_eq!(
        String::from_utf8_lossy(&probe.stdout).trim(),
        "False",
        "{} must run with the GIL disabled",
        python.display()
    );
    Some(python)
}

/// The interpreter, and the machine to this test alone while the guard lives.
fn free_threaded_python_alone() -> Option<(PathBuf, MutexGuard<'static, ()>)> {
    let python = free_threaded_python()?;
    let guard = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    Some((python, guard))
}

fn nogil_lint() -> Command {
    Command::cargo_bin("nogil-lint").unwrap()
}

/// The race workloads whose racy program loses data (NG108 shows contention, NG301 a pool).
const RACES: &[&str] = &[
    "NG101", "NG102", "NG103", "NG104", "NG107", "NG109", "NG110", "NG112",
];

#[test]
fn every_race_shows_and_every_fix_is_exact_on_free_threaded_python() {
    let Some((python, _machine)) = free_threaded_python_alone() else {
        return;
    };
    // A generous budget: a race shows in its first tries on an idle machine, and the budget
    // only matters when the machine is busy.
    let output = nogil_lint()
        .args(["parity", "--output-format", "json", "--budget", "20"])
        .args(["--scale-seconds", "0.3", "--workers", "2", "--python"])
        .arg(&python)
        .timeout(std::time::Duration::from_secs(900))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["interpreter"]["gil_enabled"], false);
    for race in report["races"].as_array().unwrap() {
        let rule = race["rule"].as_str().unwrap();
        assert_eq!(race["parity"], true, "{race}");
        assert_eq!(race["fixed_outcome"], "exact", "{race}");
        assert!(race["fixed_crash"].is_null(), "{race}");
        assert!(race["fixed_tries"].as_u64().unwrap() >= 1, "{race}");
        if RACES.contains(&rule) {
            assert_ne!(
                race["racy_outcome"], "exact",
                "{rule}: the race did not show on a free-threaded interpreter: {race}"
            );
        }
    }
    let rows = report["scaling"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        8,
        "2 workloads x 1 and 2 workers x threads and processes"
    );
    for row in rows {
        assert_eq!(row["result"], row["serial_result"], "{row}");
        assert!(row["size"].as_u64().unwrap() > 0, "{row}");
        let threads_or_processes = row["peak_rss_kib"].as_u64().unwrap();
        let serial = row["serial_peak_rss_kib"].as_u64().unwrap();
        // A pool of processes holds an interpreter per worker besides the parent's.
        if row["executor"] == "processes" {
            assert!(threads_or_processes > serial, "{row}");
        }
    }
}

/// The fixes as a user applies them (`check --fix --unsafe-fixes` on files), re-parsed by the
/// free-threaded interpreter and run on its threads: each fixed program gives the serial
/// outcome, try after try.
#[test]
fn fixed_parity_programs_run_exact_on_free_threaded_threads() {
    let Some((python, _machine)) = free_threaded_python_alone() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(root.join("fixtures/parity")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        // NG110's fix is advice: its fixed program is written by hand beside it
        // (`ng110_fixed.py`), which runs here instead.
        if name == "ng110" {
            continue;
        }
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        modules.push(name);
    }
    modules.sort();
    let fix_all = || {
        let mut command = nogil_lint();
        command
            .args([
                "check",
                "--fix",
                "--unsafe-fixes",
                "--isolated",
                "--exit-zero",
                // Every fix: NG107 rates the workloads' unlocked writes as information, as no
                // thread in their files reaches them (the harness's threads do).
                "--min-severity",
                "info",
            ])
            .arg(dir.path());
        command
    };
    fix_all().assert().code(0);
    // No race-rule finding is left that a fix could remove, and the second run changes nothing.
    let again = fix_all()
        .args(["--output-format", "json"])
        .output()
        .unwrap();
    let findings: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    for finding in findings.as_array().unwrap() {
        assert!(
            finding["fix"].is_null(),
            "a fix is still offered: {finding}"
        );
    }
    let compiled = Process::new(&python)
        .args(["-m", "compileall", "-q"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(compiled.success(), "the fixed programs do not compile");
    let harness = root.join("src/parity/harness.py");
    for module in &modules {
        let output = Process::new(&python)
            .arg(&harness)
            .args(["race"])
            .arg(dir.path())
            .args([module.as_str(), "4", "20000", "0", "5"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{module}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let run: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(
            run["serial"], run["threaded"],
            "{module} after its fix: {run}"
        );
        assert_eq!(run["tries"], 5, "{module}: every try exact: {run}");
    }
    assert!(modules.len() >= 10, "{modules:?}");
}

/// NG204 with `--import-check` against a virtual environment of the free-threaded interpreter
/// holding real packages from the index: `hiredis`, whose extension re-enables the GIL when
/// imported, and `markupsafe`, whose extension declares that it runs without it.
#[test]
fn import_check_sees_which_installed_extension_re_enables_the_gil() {
    if free_threaded_python().is_none() {
        return;
    }
    let Some(venv) = from_env(
        "NOGIL_LINT_FT_VENV",
        "a virtual environment of python3.14t with hiredis and markupsafe",
    ) else {
        return;
    };
    let python = venv.join("bin/python");
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("app.py"),
        "import hiredis\nimport markupsafe\n\n\ndef render(text):\n    return markupsafe.escape(text)\n",
    )
    .unwrap();
    let output = nogil_lint()
        .args(["check", "--isolated", "--select", "NG204", "--import-check"])
        .args(["--output-format", "json", "--python"])
        .arg(&python)
        .arg(project.path())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let findings: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let findings = findings.as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    let message = findings[0]["message"].as_str().unwrap();
    assert_eq!(findings[0]["location"]["row"], 1, "{message}");
    assert!(
        message.contains("`hiredis`") && message.contains("re-enabled the GIL when imported"),
        "{message}"
    );
}
