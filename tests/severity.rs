//! `--min-severity` and `min-severity`: what is shown, counted, and fixed.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

use nogil_lint::diagnostic::{Diagnostic, FixApplicability, Severity};
use nogil_lint::linter::{self, Origin};
use nogil_lint::registry::Rule;
use nogil_lint::settings::{FixMode, Settings};

fn nogil_lint() -> Command {
    let mut command = Command::cargo_bin("nogil-lint").unwrap();
    command.env_remove("NOGIL_LINT_OUTPUT_FORMAT");
    command
}

/// A check-then-act (NG103, with a safe fix) that stores a new list per call, in a private
/// function nothing runs on a thread: a warning.
const WARNING_ONLY: &str =
    "cache = {}\n\n\ndef _remember(key):\n    if key not in cache:\n        cache[key] = []\n";

/// A check-then-act that stores a new list per call (a hazard: the losing thread's appends
/// vanish), run on a thread: an error.
const WITH_THREAD: &str = "import threading\n\ncache = {}\n\n\ndef remember(key):\n    if key not in cache:\n        cache[key] = []\n\n\ndef start():\n    threading.Thread(target=remember, args=(1,)).start()\n";

/// A warning (`_bump`, a tally, private and never on a thread), an error (`worker`, started
/// on a thread, which hands out the new total) and an info (`json_module`, a lazy import both threads would store equally).
const MIXED: &str = "import importlib\nimport threading\n\nhits = 0\ntotal = 0\n_json = None\n\n\ndef _bump():\n    global hits\n    hits += 1\n\n\ndef worker():\n    global total\n    total += 1\n    return total\n\n\ndef start():\n    threading.Thread(target=worker).start()\n\n\ndef json_module():\n    global _json\n    if _json is None:\n        _json = importlib.import_module(\"json\")\n    return _json\n";

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn the_default_shows_warnings_and_errors() {
    let dir = project(&[("app.py", MIXED)]);
    nogil_lint()
        .current_dir(dir.path())
        .args([
            "check",
            "--isolated",
            "--output-format",
            "concise",
            "app.py",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("app.py:11:5: NG101"))
        .stdout(predicate::str::contains("app.py:16:5: NG101"))
        .stdout(predicate::str::contains("Found 2 findings in 1 file."));
}

#[test]
fn min_severity_error_hides_warnings_from_output_statistics_and_exit_status() {
    let dir = project(&[("app.py", MIXED)]);
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "--output-format", "concise"])
        .args(["--min-severity", "error", "app.py"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("app.py:16:5: NG101"))
        .stdout(predicate::str::contains("app.py:11:5").not())
        .stdout(predicate::str::contains("Found 1 finding in 1 file."));
    let output = nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "--output-format", "json"])
        .args(["--min-severity", "error", "app.py"])
        .output()
        .unwrap();
    let entries: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let severities: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["severity"].as_str().unwrap())
        .collect();
    assert_eq!(severities, ["error"]);
    nogil_lint()
        .current_dir(dir.path())
        .args([
            "check",
            "--isolated",
            "--statistics",
            "--output-format",
            "json",
        ])
        .args(["--min-severity", "error", "app.py"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"count\": 1"));

    // Only warnings: nothing is shown and the run is clean.
    let dir = project(&[("app.py", WARNING_ONLY)]);
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "app.py"])
        .assert()
        .code(1);
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "--min-severity", "error", "app.py"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("All checks passed."));
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "--min-severity", "error"])
        .args(["--output-format", "github", "app.py"])
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
}

#[test]
fn min_severity_info_shows_everything() {
    let dir = project(&[("app.py", MIXED)]);
    let default = nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "--output-format", "json", "app.py"])
        .output()
        .unwrap();
    let info = nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "--output-format", "json"])
        .args(["--min-severity", "info", "app.py"])
        .output()
        .unwrap();
    assert_eq!(info.status.code(), Some(1));
    let severities = |output: &std::process::Output| {
        let entries: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut severities: Vec<String> = entries
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["severity"].as_str().unwrap().to_string())
            .collect();
        severities.sort();
        severities
    };
    assert_eq!(severities(&default), ["error", "warning"]);
    assert_eq!(severities(&info), ["error", "info", "warning"]);
}

#[test]
fn a_bad_flag_value_is_a_usage_error() {
    nogil_lint()
        .args(["check", "--min-severity", "note", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'note'"))
        .stderr(predicate::str::contains("info, warning, error"));
}

#[test]
fn the_configuration_key_sets_it_and_the_flag_wins() {
    let dir = project(&[
        ("app.py", MIXED),
        ("nogil-lint.toml", "min-severity = \"error\"\n"),
    ]);
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--output-format", "concise", "app.py"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("app.py:16:5: NG101"))
        .stdout(predicate::str::contains("app.py:11:5").not());
    nogil_lint()
        .current_dir(dir.path())
        .args([
            "check",
            "--output-format",
            "concise",
            "--min-severity",
            "warning",
        ])
        .arg("app.py")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("app.py:11:5: NG101"))
        .stdout(predicate::str::contains("app.py:16:5: NG101"));
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--show-settings", "."])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("min-severity: error"));
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--show-settings", "--min-severity", "info", "."])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("min-severity: info"));
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "--show-settings", "."])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("min-severity: warning"));

    // In pyproject.toml too.
    let dir = project(&[
        ("app.py", WARNING_ONLY),
        (
            "pyproject.toml",
            "[project]\nname = \"app\"\n\n[tool.nogil-lint]\nmin-severity = \"error\"\n",
        ),
    ]);
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "app.py"])
        .assert()
        .code(0);
}

#[test]
fn a_bad_configuration_value_points_at_its_line() {
    let dir = project(&[
        ("app.py", MIXED),
        (
            "pyproject.toml",
            "[project]\nname = \"app\"\n\n[tool.nogil-lint]\nselect = [\"NG1\"]\nmin-severity = \"warn\"\n",
        ),
    ]);
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "app.py"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown min-severity `warn`"))
        .stderr(predicate::str::contains("pyproject.toml:6:"))
        .stderr(predicate::str::contains(
            r#"use "info", "warning" or "error""#,
        ));
    // A wrong type is located too.
    fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.nogil-lint]\nmin-severity = 2\n",
    )
    .unwrap();
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "app.py"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pyproject.toml:2:"));
    // The flag does not excuse a broken configuration.
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--min-severity", "error", "app.py"])
        .assert()
        .code(2);
    // A misspelt key suggests this one.
    fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.nogil-lint]\nmin-severty = \"error\"\n",
    )
    .unwrap();
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "app.py"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `min-severity`?"));
}

#[test]
fn fixes_of_hidden_findings_are_not_applied() {
    // A fixable warning under --min-severity error: neither fixed nor reported.
    let dir = project(&[("app.py", WARNING_ONLY)]);
    nogil_lint()
        .current_dir(dir.path())
        .args([
            "check",
            "--isolated",
            "--fix",
            "--min-severity",
            "error",
            "app.py",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("All checks passed."));
    assert_eq!(
        fs::read_to_string(dir.path().join("app.py")).unwrap(),
        WARNING_ONLY
    );
    nogil_lint()
        .current_dir(dir.path())
        .args([
            "check",
            "--isolated",
            "--diff",
            "--min-severity",
            "error",
            "app.py",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
    // At the default level the same warning is fixed.
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "--fix", "app.py"])
        .assert()
        .stdout(predicate::str::contains("1 fixed"));
    assert!(
        fs::read_to_string(dir.path().join("app.py"))
            .unwrap()
            .contains("cache.setdefault(key, [])")
    );

    // An error is fixed under --min-severity error.
    let dir = project(&[("app.py", WITH_THREAD)]);
    nogil_lint()
        .current_dir(dir.path())
        .args([
            "check",
            "--isolated",
            "--fix",
            "--min-severity",
            "error",
            "app.py",
        ])
        .assert()
        .stdout(predicate::str::contains("1 fixed"));
    assert!(
        fs::read_to_string(dir.path().join("app.py"))
            .unwrap()
            .contains("cache.setdefault(key, [])")
    );
}

/// A process pool (NG301, fixed by the project phase) and a Cython module (NG203, fixed with the
/// extension sources): both warnings, so not fixed under --min-severity error.
#[test]
fn project_and_extension_fixes_of_hidden_findings_are_not_applied() {
    let pool = "from concurrent.futures import ProcessPoolExecutor\n\n\ndef square(x):\n    return x * x\n\n\ndef run():\n    with ProcessPoolExecutor() as pool:\n        return list(pool.map(square, range(10)))\n";
    let cython = "def add(int a, int b):\n    return a + b\n";
    let dir = project(&[("pool.py", pool), ("speedups.pyx", cython)]);
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "--diff", "--unsafe-fixes", "."])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "+    with ThreadPoolExecutor() as pool:",
        ))
        .stdout(predicate::str::contains(
            "+# cython: freethreading_compatible=True",
        ));
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "--diff", "--unsafe-fixes"])
        .args(["--min-severity", "error", "."])
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "--fix", "--unsafe-fixes"])
        .args(["--min-severity", "error", "."])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("All checks passed."));
    assert_eq!(
        fs::read_to_string(dir.path().join("pool.py")).unwrap(),
        pool
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("speedups.pyx")).unwrap(),
        cython
    );
}

#[test]
fn the_fix_loop_skips_findings_below_the_threshold() {
    let path = Path::new("app.py");
    let at = |min_severity| {
        let settings = Settings {
            min_severity,
            ..Settings::default()
        };
        linter::fix_source(WARNING_ONLY, path, &settings, FixApplicability::Safe)
    };
    let hidden = at(Severity::Error);
    assert_eq!(hidden.source, WARNING_ONLY);
    assert!(hidden.applied.is_empty());
    for shown in [Severity::Warning, Severity::Info] {
        let fixed = at(shown);
        assert!(fixed.source.contains("cache.setdefault(key, [])"));
        assert_eq!(fixed.applied, [(Rule::CheckThenAct, 1)]);
    }
}

#[test]
fn noqa_is_applied_before_the_filter() {
    // Per file, `noqa` sees every finding whatever the threshold: a directive that silences a
    // finding the threshold hides is used, so no NG100 is made for it at any level.
    let silenced = "cache = {}\n\n\ndef remember(key, value):\n    if key not in cache:  # noqa: NG103\n        cache[key] = value\n";
    for min_severity in Severity::ALL {
        let settings = Settings {
            min_severity,
            ..Settings::default()
        };
        let report = linter::check_and_fix(
            "app.py".into(),
            Path::new("app.py"),
            Origin::Stdin,
            silenced.as_bytes().to_vec(),
            &settings,
            FixMode::Report,
        );
        let codes: Vec<&str> = report
            .messages
            .iter()
            .map(|message| message.diagnostic.rule.code())
            .collect();
        assert!(!codes.contains(&"NG100"), "{min_severity:?}: {codes:?}");
        assert!(!codes.contains(&"NG103"), "{min_severity:?}: {codes:?}");
    }
    // The silenced warning is hidden anyway at `error`: the directive is still used, and its
    // removal (NG100's fix) is not applied.
    let dir = project(&[("app.py", silenced)]);
    nogil_lint()
        .current_dir(dir.path())
        .args([
            "check",
            "--isolated",
            "--fix",
            "--min-severity",
            "error",
            "app.py",
        ])
        .assert()
        .code(0);
    assert_eq!(
        fs::read_to_string(dir.path().join("app.py")).unwrap(),
        silenced
    );

    // And an info finding counts as silenced by its directive.
    let source = "x = 1  # noqa: NG105\n";
    let parsed = ruff_python_parser::parse_module(source).unwrap();
    let suppressions = nogil_lint::noqa::Suppressions::from_tokens(source, parsed.tokens());
    let info = Diagnostic::new(
        Rule::SharedModuleState,
        "inventory",
        ruff_text_size::TextRange::new(0.into(), 1.into()),
    )
    .with_severity(Severity::Info);
    let kept = nogil_lint::noqa::apply(source, &suppressions, vec![info], |_| 1, true);
    assert!(kept.is_empty(), "{kept:?}");
}

/// A test suite's own races are information: the same error-level race in `tests/` (and in a
/// `test_*.py` file) is hidden by default and shown as info, while the library module keeps
/// its error.
#[test]
fn findings_in_test_modules_are_information() {
    let dir = project(&[("app.py", WITH_THREAD)]);
    fs::create_dir(dir.path().join("tests")).unwrap();
    fs::write(dir.path().join("tests/helpers.py"), WITH_THREAD).unwrap();
    fs::write(dir.path().join("test_app.py"), WITH_THREAD).unwrap();
    let output = nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "--output-format", "json"])
        .args(["--min-severity", "info", "."])
        .output()
        .unwrap();
    let entries: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut found: Vec<(String, String)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["filename"].as_str().unwrap().replace('\\', "/"),
                entry["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    found.dedup();
    assert_eq!(
        found,
        [
            ("app.py".to_string(), "error".to_string()),
            ("test_app.py".to_string(), "info".to_string()),
            ("tests/helpers.py".to_string(), "info".to_string()),
        ]
    );
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "--output-format", "concise", "."])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("app.py:").and(predicate::str::contains("test_app.py").not()),
        );
}
