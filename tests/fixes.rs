//! The fix engine on every fixture: fixes apply, the result parses and compiles, the fixed
//! findings are gone, a second run changes nothing; and files keep their encoding, byte order
//! mark, line endings, indentation and permissions.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use predicates::prelude::*;

use nogil_lint::diagnostic::{FixApplicability, Severity};
use nogil_lint::linter::{fix_source, lint_source};
use nogil_lint::pipeline;
use nogil_lint::settings::{FixMode, Settings};

fn nogil_lint() -> Command {
    let mut command = Command::cargo_bin("nogil-lint").unwrap();
    command.env_remove("NOGIL_LINT_OUTPUT_FORMAT");
    command
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["fixtures/rules", "fixtures/example"]
        .iter()
        .flat_map(|dir| fs::read_dir(dir).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "py"))
        .collect();
    files.sort();
    files
}

fn py_compile(path: &Path) {
    let output = Process::new("python3")
        .args(["-m", "py_compile"])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{} does not compile:\n{}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_fixture_fixes_compile_converge_and_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let mut total_fixed = 0;
    for fixture in fixtures() {
        let copy = dir.path().join(fixture.file_name().unwrap());
        fs::copy(&fixture, &copy).unwrap();
        let before = lint_source(
            &fs::read_to_string(&fixture).unwrap(),
            &fixture,
            &Settings::default(),
        );
        let fixable = before.iter().filter(|d| d.fix.is_some()).count();

        nogil_lint()
            .args([
                "check",
                "--fix",
                "--unsafe-fixes",
                "--min-severity",
                "info",
                "--exit-zero",
                "-q",
            ])
            .arg(&copy)
            .assert()
            .code(0);
        let fixed = fs::read_to_string(&copy).unwrap();
        py_compile(&copy);

        // No fixable finding is left, and nothing the fixes touched is reported again.
        let after = lint_source(&fixed, &copy, &Settings::default());
        assert!(
            after.iter().all(|d| d.fix.is_none()),
            "{}: fixable findings remain after --fix: {:?}",
            fixture.display(),
            after
                .iter()
                .filter(|d| d.fix.is_some())
                .map(|d| &d.message)
                .collect::<Vec<_>>()
        );
        if fixable > 0 {
            assert_ne!(
                fixed,
                fs::read_to_string(&fixture).unwrap(),
                "{}",
                fixture.display()
            );
            total_fixed += fixable;
        }

        // A second run changes nothing.
        nogil_lint()
            .args([
                "check",
                "--fix",
                "--unsafe-fixes",
                "--min-severity",
                "info",
                "--exit-zero",
                "-q",
            ])
            .arg(&copy)
            .assert()
            .code(0);
        assert_eq!(
            fixed,
            fs::read_to_string(&copy).unwrap(),
            "{} not idempotent",
            fixture.display()
        );
    }
    assert!(
        total_fixed >= 20,
        "the fixtures exercise the fixes ({total_fixed})"
    );
}

#[test]
fn fixed_sources_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    for fixture in fixtures() {
        // The whole pipeline, so that fixes decided by the project phase (NG301) are included.
        let copy = dir.path().join(fixture.file_name().unwrap());
        fs::copy(&fixture, &copy).unwrap();
        // Every severity, so that the fixes of benign races are exercised too.
        let settings = Settings {
            collect_facts: true,
            min_severity: Severity::Info,
            ..Settings::default()
        };
        let (reports, _) = pipeline::run(
            std::slice::from_ref(&copy),
            None,
            &settings,
            FixMode::Apply(FixApplicability::Unsafe),
        );
        assert!(
            reports[0].fix_errors.is_empty(),
            "{:?}",
            reports[0].fix_errors
        );
        let fixed = fs::read_to_string(&copy).unwrap();
        let name = format!(
            "fixed_{}",
            fixture
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .to_ascii_lowercase()
        );
        insta::assert_snapshot!(name, fixed);
    }
}

#[test]
fn diff_prints_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.py");
    fs::copy("fixtures/example/app.py", &path).unwrap();
    let before = fs::read(&path).unwrap();
    let output = nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--diff", "--unsafe-fixes", "app.py"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(fs::read(&path).unwrap(), before, "--diff must not write");
    let diff = String::from_utf8(output.stdout).unwrap();
    insta::assert_snapshot!("diff_example", diff);
    assert!(String::from_utf8_lossy(&output.stderr).contains("Would fix 5 findings."));

    // Nothing to fix: exit 0 and no output.
    let clean = dir.path().join("clean.py");
    fs::write(&clean, "x = 1\n").unwrap();
    nogil_lint()
        .args(["check", "--diff"])
        .arg(&clean)
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn safe_fix_alone_applies_only_safe_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.py");
    let source = "_cache = {}\n\n\ndef remember(key):\n    if key not in _cache:\n        _cache[key] = []\n    return _cache[key]\n\n\nhits = 0\n\n\ndef hit():\n    global hits\n    hits += 1\n";
    fs::write(&path, source).unwrap();
    nogil_lint()
        .args(["check", "--fix", "--output-format", "concise"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("NG101"))
        .stdout(predicate::str::contains("(1 fixed, 1 remaining)"))
        .stdout(predicate::str::contains(
            "1 more with `--fix --unsafe-fixes`",
        ));
    let fixed = fs::read_to_string(&path).unwrap();
    assert!(
        fixed.contains("    _cache.setdefault(key, [])\n"),
        "{fixed}"
    );
    assert!(
        fixed.contains("    hits += 1\n"),
        "unsafe fix not applied without --unsafe-fixes"
    );
    py_compile(&path);
}

#[test]
fn fix_only_reports_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.py");
    fs::copy("fixtures/example/app.py", &path).unwrap();
    nogil_lint()
        .args(["check", "--fix-only", "--unsafe-fixes"])
        .arg(&path)
        .assert()
        .code(0)
        .stdout("Fixed 5 findings.\n");
}

#[test]
fn stdin_fix_prints_the_fixed_source() {
    nogil_lint()
        .args(["check", "--fix", "--stdin-filename", "c.py", "-"])
        .write_stdin("_c = {}\n\n\ndef f(k):\n    if k not in _c:\n        _c[k] = []\n")
        .assert()
        .stdout("_c = {}\n\n\ndef f(k):\n    _c.setdefault(k, [])\n");
}

const RACY: &str =
    "import threading\n\ncounter = 0\n\n\ndef bump():\n    global counter\n    counter += 1\n";

#[test]
fn crlf_bom_tabs_and_latin1_round_trip() {
    let dir = tempfile::tempdir().unwrap();

    let crlf = dir.path().join("crlf.py");
    fs::write(&crlf, RACY.replace('\n', "\r\n")).unwrap();
    let bom = dir.path().join("bom.py");
    fs::write(&bom, format!("\u{feff}{RACY}")).unwrap();
    let tabs = dir.path().join("tabs.py");
    fs::write(&tabs, RACY.replace("    ", "\t")).unwrap();
    let latin = dir.path().join("latin.py");
    let mut latin_bytes = b"# -*- coding: latin-1 -*-\nname = '\xe9t\xe9'\n".to_vec();
    latin_bytes.extend_from_slice(RACY.as_bytes());
    fs::write(&latin, &latin_bytes).unwrap();

    nogil_lint()
        .args(["check", "--fix", "--unsafe-fixes", "--exit-zero", "-q"])
        .arg(dir.path())
        .assert()
        .code(0);

    let text = fs::read_to_string(&crlf).unwrap();
    assert!(
        text.contains("with _counter_lock:\r\n        counter += 1"),
        "{text:?}"
    );
    assert_eq!(
        text.matches('\n').count(),
        text.matches("\r\n").count(),
        "a CRLF file stays CRLF"
    );

    let text = fs::read_to_string(&bom).unwrap();
    assert!(text.starts_with('\u{feff}'), "the BOM is kept");
    assert!(text.contains("_counter_lock = threading.Lock()"));

    let text = fs::read_to_string(&tabs).unwrap();
    assert!(
        text.contains("\twith _counter_lock:\n\t\tcounter += 1"),
        "{text:?}"
    );

    let bytes = fs::read(&latin).unwrap();
    assert!(
        bytes.windows(5).any(|w| w == b"'\xe9t\xe9'"),
        "Latin-1 stays Latin-1"
    );
    assert!(String::from_utf8_lossy(&bytes).contains("with _counter_lock:"));

    for path in [&crlf, &bom, &tabs, &latin] {
        py_compile(path);
    }
}

#[cfg(unix)]
#[test]
fn permissions_are_kept_and_no_temporary_file_is_left() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.py");
    fs::write(&path, RACY).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    nogil_lint()
        .args(["check", "--fix", "--unsafe-fixes", "-q"])
        .arg(&path)
        .assert()
        .code(0);
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["app.py".to_string()]);
}

#[test]
fn a_file_with_a_syntax_error_is_never_touched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.py");
    let source = "counter = 0\n\ndef bump(:\n    global counter\n    counter += 1\n";
    fs::write(&path, source).unwrap();
    nogil_lint()
        .args(["check", "--fix", "--unsafe-fixes"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("NG001"));
    assert_eq!(fs::read_to_string(&path).unwrap(), source);
}

#[test]
fn json_carries_fix_edits() {
    let output = nogil_lint()
        .args([
            "check",
            "--output-format",
            "json",
            "--stdin-filename",
            "c.py",
            "-",
        ])
        .write_stdin("_c = {}\n\n\ndef f(k):\n    if k not in _c:\n        _c[k] = []\n")
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let entries = value.as_array().unwrap();
    let check_then_act = entries
        .iter()
        .find(|entry| entry["code"] == "NG103")
        .unwrap();
    let fix = &check_then_act["fix"];
    assert_eq!(fix["applicability"], "safe");
    assert_eq!(fix["message"], "Replace with `_c.setdefault(k, [])`");
    assert_eq!(
        fix["edits"][0]["location"],
        serde_json::json!({"row": 5, "column": 5})
    );
    assert_eq!(
        fix["edits"][0]["end_location"],
        serde_json::json!({"row": 6, "column": 19})
    );
    assert_eq!(fix["edits"][0]["content"], "_c.setdefault(k, [])");
}

fn fixed(source: &str) -> String {
    let path = Path::new("module.py");
    let outcome = fix_source(source, path, &Settings::default(), FixApplicability::Unsafe);
    assert!(outcome.converged);
    outcome.source
}

#[test]
fn new_locks_go_after_docstring_future_imports_and_encoding_lines() {
    let source = "\"\"\"Counters.\"\"\"\nfrom __future__ import annotations\n\nimport os\n\nhits = 0\n\n\ndef hit():\n    global hits\n    hits += 1\n";
    assert_eq!(
        fixed(source),
        "\"\"\"Counters.\"\"\"\nfrom __future__ import annotations\n\nimport os\nimport threading\n_hits_lock = threading.Lock()\n\nhits = 0\n\n\ndef hit():\n    global hits\n    with _hits_lock:\n        hits += 1\n"
    );
    let source = "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nhits = 0\n\n\ndef hit():\n    global hits\n    hits += 1\n";
    assert!(fixed(source).starts_with(
        "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nimport threading\n_hits_lock = threading.Lock()\nhits = 0\n"
    ));
}

#[test]
fn fixes_respect_threading_aliases_and_share_one_lock() {
    let source = "import threading as th\n\nhits = 0\n\n\ndef a():\n    global hits\n    hits += 1\n\n\ndef b():\n    global hits\n    hits -= 1\n";
    let out = fixed(source);
    assert_eq!(out.matches("_hits_lock = th.Lock()").count(), 1, "{out}");
    assert_eq!(out.matches("with _hits_lock:").count(), 2, "{out}");
    assert!(!out.contains("import threading\n"));

    let source = "from threading import Lock as L\n\nhits = 0\n\n\ndef a():\n    global hits\n    hits += 1\n";
    assert!(fixed(source).contains("_hits_lock = L()\n"));
}

#[test]
fn statements_sharing_a_line_are_left_alone() {
    let source = "hits = 0\n\n\ndef a():\n    global hits\n    x = 1; hits += 1\n";
    let diagnostics = lint_source(source, Path::new("m.py"), &Settings::default());
    assert!(diagnostics.iter().any(|d| d.rule.code() == "NG101"));
    assert!(diagnostics.iter().all(|d| d.fix.is_none()));
    assert_eq!(fixed(source), source);
}

/// A lock the fix creates for a private class's state must not start with two underscores:
/// inside the class body Python would mangle the name and the fixed method would fail.
#[test]
fn locks_for_private_classes_survive_name_mangling() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tracker.py");
    fs::write(
        &path,
        "class _Tracker:\n    calls = 0\n\n    def record(self):\n        type(self).calls += 1\n        return type(self).calls\n\n\nprint(_Tracker().record())\n",
    )
    .unwrap();
    nogil_lint()
        .args(["check", "--fix", "--unsafe-fixes", "--exit-zero", "-q"])
        .arg(&path)
        .assert()
        .code(0);
    let fixed = fs::read_to_string(&path).unwrap();
    assert!(fixed.contains("with _tracker_calls_lock:"), "{fixed}");
    let output = std::process::Command::new("python3")
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "the fixed module runs: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `--fix` applies fixes with the whole project known: an instance of a `threading.local`
/// subclass whose base another module binds gets no lock, a shared object does.
#[test]
fn fixes_know_thread_local_bases_from_other_modules() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("orm");
    fs::create_dir_all(&package).unwrap();
    fs::write(package.join("__init__.py"), "").unwrap();
    fs::write(
        package.join("compat.py"),
        "from threading import local as localbase\n",
    )
    .unwrap();
    let session = package.join("session.py");
    fs::write(
        &session,
        "from orm.compat import localbase\n\n\nclass Local(localbase):\n    depth = 0\n\n\n\
         class Shared:\n    depth = 0\n\n\nlocal = Local()\nshared = Shared()\n\n\n\
         def enter():\n    local.depth += 1\n    shared.depth += 1\n",
    )
    .unwrap();
    let settings = Settings {
        collect_facts: true,
        ..Settings::default()
    };
    let (reports, _) = pipeline::run(
        std::slice::from_ref(&package),
        None,
        &settings,
        FixMode::Apply(FixApplicability::Unsafe),
    );
    assert!(reports.iter().all(|report| report.fix_errors.is_empty()));
    let fixed = fs::read_to_string(&session).unwrap();
    assert!(
        fixed.contains("def enter():\n    local.depth += 1\n"),
        "{fixed}"
    );
    assert!(fixed.contains("        shared.depth += 1\n"), "{fixed}");
}

/// A fix that locks one write of a state makes its other writes NG107 findings, which are
/// information where no thread is in view: `--fix` at the default severity locks them too, so
/// the file ends with one lock discipline.
#[test]
fn fixes_lock_every_write_of_the_state_they_lock() {
    let source = "hits = 0\n\n\ndef record():\n    global hits\n    hits += 1\n    return hits\n\n\n\
                  def reset():\n    global hits\n    hits = 0\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.py");
    fs::write(&path, source).unwrap();
    let (reports, _) = pipeline::run(
        std::slice::from_ref(&path),
        None,
        &Settings {
            collect_facts: true,
            ..Settings::default()
        },
        FixMode::Apply(FixApplicability::Unsafe),
    );
    assert!(reports.iter().all(|report| report.fix_errors.is_empty()));
    let fixed = fs::read_to_string(&path).unwrap();
    assert!(
        fixed.contains("    with _hits_lock:\n        hits += 1\n"),
        "{fixed}"
    );
    assert!(
        fixed.contains("    with _hits_lock:\n        hits = 0\n"),
        "{fixed}"
    );
}
