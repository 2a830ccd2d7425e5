//! The command line: exit codes, bad input, discovery and stdin.

use std::fs;

use assert_cmd::Command;
use predicates::prelude::*;

fn nogil_lint() -> Command {
    let mut command = Command::cargo_bin("nogil-lint").unwrap();
    command.env_remove("NOGIL_LINT_OUTPUT_FORMAT");
    command
}

const RACY: &str = "counter = 0\n\ndef bump():\n    global counter\n    counter += 1\n";

#[test]
fn findings_exit_1_and_exit_zero_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("app.py"), RACY).unwrap();
    nogil_lint()
        .args(["check", "--output-format", "concise"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("app.py:5:5: NG101"))
        .stdout(predicate::str::contains("Found 1 finding in 1 file."));
    nogil_lint()
        .args(["check", "--exit-zero", "--output-format", "concise"])
        .arg(dir.path())
        .assert()
        .code(0);
}

#[test]
fn clean_code_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("ok.py"),
        "def f(x):\n    y = x + 1\n    return y\n",
    )
    .unwrap();
    nogil_lint()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("All checks passed."));
}

#[test]
fn empty_file_and_directory_without_python_files() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("empty.py"), "").unwrap();
    nogil_lint()
        .arg("check")
        .arg(dir.path().join("empty.py"))
        .assert()
        .code(0);
    let empty = tempfile::tempdir().unwrap();
    fs::write(empty.path().join("notes.txt"), "not python").unwrap();
    nogil_lint()
        .arg("check")
        .arg(empty.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("All checks passed."));
}

#[test]
fn missing_path_is_an_error_and_other_paths_are_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("app.py"), RACY).unwrap();
    nogil_lint()
        .args(["check", "--output-format", "concise", "does/not/exist.py"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "does/not/exist.py: no such file or directory",
        ))
        .stdout(predicate::str::contains("NG101"));
}

#[test]
fn syntax_error_is_ng001_and_other_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("broken.py"), "def f(:\n").unwrap();
    fs::write(dir.path().join("app.py"), RACY).unwrap();
    nogil_lint()
        .args(["check", "--output-format", "concise"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("broken.py:1:7: NG001 SyntaxError"))
        .stdout(predicate::str::contains("app.py:5:5: NG101"));
}

#[test]
fn non_utf8_file_is_reported_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("latin.py"), b"x = 1\ns = '\xe9t\xe9'\n").unwrap();
    nogil_lint()
        .args(["check", "--output-format", "concise"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "latin.py:2:6: NG001 file is not valid UTF-8 (invalid byte at line 2, column 6)",
        ));
    // A PEP 263 declaration makes the same bytes valid.
    fs::write(
        dir.path().join("latin.py"),
        b"# -*- coding: latin-1 -*-\ns = '\xe9t\xe9'\n",
    )
    .unwrap();
    nogil_lint().arg("check").arg(dir.path()).assert().code(0);
}

#[test]
fn unknown_code_suggests_the_closest_one() {
    nogil_lint()
        .args(["check", "--select", "NG119", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown rule code or prefix `NG119`",
        ))
        .stderr(predicate::str::contains("did you mean"));
    nogil_lint()
        .args(["check", "--ignore", "XY12", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("in --ignore"));
}

#[test]
fn bad_flag_value_is_a_usage_error() {
    nogil_lint()
        .args(["check", "--output-format", "xml", "."])
        .assert()
        .code(2);
    nogil_lint()
        .args(["check", "--threads", "0", "."])
        .assert()
        .code(2);
}

#[test]
fn select_and_ignore_filter_rules() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("app.py"), RACY).unwrap();
    nogil_lint()
        .args(["check", "--select", "NG10", "--ignore", "NG101"])
        .arg(dir.path())
        .assert()
        .code(0);
    nogil_lint()
        .args([
            "check",
            "--select",
            "NG001",
            "--extend-select",
            "ng101",
            "--output-format",
            "concise",
        ])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("NG101"));
}

#[test]
fn stdin_with_stdin_filename() {
    nogil_lint()
        .args([
            "check",
            "--output-format",
            "concise",
            "--stdin-filename",
            "src/app.py",
            "-",
        ])
        .write_stdin(RACY)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("src/app.py:5:5: NG101"));
}

#[test]
fn json_output_is_an_array_and_env_selects_the_format() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("app.py"), RACY).unwrap();
    let output = nogil_lint()
        .arg("check")
        .arg(dir.path())
        .env("NOGIL_LINT_OUTPUT_FORMAT", "json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value[0]["code"], "NG101");
    assert_eq!(value[0]["location"]["row"], 5);
    assert_eq!(value[0]["fix"]["applicability"], "unsafe");
}

#[test]
fn discovery_respects_gitignore_and_skips_virtualenvs() {
    let dir = tempfile::tempdir().unwrap();
    for sub in [".venv/lib", "build", "generated", "src"] {
        fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    fs::write(dir.path().join(".gitignore"), "generated/\n").unwrap();
    fs::write(dir.path().join(".venv/lib/dep.py"), RACY).unwrap();
    fs::write(dir.path().join("build/out.py"), RACY).unwrap();
    fs::write(dir.path().join("generated/gen.py"), RACY).unwrap();
    fs::write(dir.path().join("src/app.py"), RACY).unwrap();
    fs::write(dir.path().join("src/stub.pyi"), "x: int\n").unwrap();
    let assert = nogil_lint()
        .args(["check", "--output-format", "concise"])
        .arg(dir.path())
        .assert()
        .code(1);
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("src/app.py"), "{stdout}");
    assert!(!stdout.contains("dep.py") && !stdout.contains("out.py") && !stdout.contains("gen.py"));
    // A file named explicitly is always checked.
    nogil_lint()
        .args(["check", "--output-format", "concise"])
        .arg(dir.path().join("generated/gen.py"))
        .assert()
        .code(1);
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_fifos_do_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("pkg")).unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("pkg/loop")).unwrap();
    fs::write(dir.path().join("pkg/app.py"), RACY).unwrap();
    let fifo = dir.path().join("pipe.py");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    // Walked: the FIFO is not a regular file and is skipped.
    nogil_lint()
        .args(["check", "--output-format", "concise"])
        .arg(dir.path())
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("NG101"));
    // Named: reported as unreadable, never opened.
    nogil_lint()
        .arg("check")
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a regular file"));
}

#[test]
fn version_and_help() {
    nogil_lint()
        .arg("--version")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
    nogil_lint()
        .args(["check", "--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Examples:"));
}

#[test]
fn rule_documentation() {
    nogil_lint()
        .args(["rule", "NG101"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("# NG101: unlocked-global-rmw"));
    nogil_lint().args(["rule", "NG999"]).assert().code(2);
    let output = nogil_lint()
        .args(["rule", "--all", "--output-format", "json"])
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        value.as_array().map(Vec::len),
        Some(nogil_lint::registry::Rule::ALL.len())
    );
}

#[test]
fn python_errors_are_clean_and_a_gil_interpreter_is_named() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("app.py"), "import os\n").unwrap();
    nogil_lint()
        .args(["check", "--python", "/nonexistent/python3.14t"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot run /nonexistent/python3.14t",
        ));
    // The machines' python3 has a GIL: NG204 says what it can still check.
    nogil_lint()
        .args(["check", "--python", "python3", "--import-check"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stderr(predicate::str::contains("is not a free-threaded build"));
}

#[test]
fn extensions_command_prints_the_table() {
    nogil_lint()
        .args(["extensions", "PyYAML"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("pyyaml (supported)"))
        .stdout(predicate::str::contains("alternative: pyyaml-ft"));
    nogil_lint()
        .args(["extensions", "yaml", "--output-format", "json"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"name\": \"pyyaml\""));
    nogil_lint()
        .args(["extensions", "numpyy"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean"))
        .stderr(predicate::str::contains("`numpy`?"));
}

#[test]
fn configuration_from_pyproject_with_errors_located() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("src")).unwrap();
    fs::create_dir_all(dir.path().join("generated")).unwrap();
    fs::write(dir.path().join("src/app.py"), RACY).unwrap();
    fs::write(dir.path().join("generated/gen.py"), RACY).unwrap();

    // An unknown key: the file, the line, a code frame and a suggestion; exit 2.
    fs::write(
        dir.path().join("pyproject.toml"),
        "[project]\nname = \"x\"\n\n[tool.nogil-lint]\nselct = [\"NG1\"]\n",
    )
    .unwrap();
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown field `selct`"))
        .stderr(predicate::str::contains("pyproject.toml:5:1"))
        .stderr(predicate::str::contains("did you mean `select`?"));

    // An unknown code and a wrong type.
    fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.nogil-lint]\nignore = [\"NG999\"]\n",
    )
    .unwrap();
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown rule code or prefix `NG999`",
        ));
    fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.nogil-lint]\nfix = \"yes\"\n",
    )
    .unwrap();
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pyproject.toml:2:7"));

    // exclude, per-file-ignores, and the command line overriding select.
    fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.nogil-lint]\nextend-exclude = [\"generated\"]\nper-file-ignores = { \"src/*.py\" = [\"NG101\"] }\n",
    )
    .unwrap();
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--output-format", "concise", "."])
        .assert()
        .code(0);
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--isolated", "--output-format", "concise", "."])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("generated/gen.py"));
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--show-files", "."])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("src/app.py"))
        .stdout(predicate::str::contains("gen.py").not());
    // A file named explicitly is checked even when excluded, unless --force-exclude.
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--output-format", "concise", "generated/gen.py"])
        .assert()
        .code(1);
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--force-exclude", "generated/gen.py"])
        .assert()
        .code(0);

    // nogil-lint.toml, and --show-settings.
    fs::remove_file(dir.path().join("pyproject.toml")).unwrap();
    fs::write(
        dir.path().join("nogil-lint.toml"),
        "target-version = \"3.13t\"\nselect = [\"NG10\"]\n",
    )
    .unwrap();
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--show-settings", "."])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("target-version: 3.13t"))
        .stdout(predicate::str::contains("nogil-lint.toml"));
}

#[test]
fn configured_lock_factories_and_thread_entry_decorators() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("nogil-lint.toml"),
        "lock-factories = [\"app.locks.make_lock\"]\nthread-entry-decorators = [\"app.background\"]\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("app.py"),
        "from app.locks import make_lock\nfrom app import background\n\n_lock = make_lock()\ncount = 0\n\n\ndef locked():\n    global count\n    with _lock:\n        count += 1\n\n\n@background\ndef worker():\n    global count\n    count -= 1\n",
    )
    .unwrap();
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--output-format", "concise", "app.py"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("NG107"))
        .stdout(predicate::str::contains(
            "reached from the thread-entry decorator at line 14",
        ));
}

#[test]
fn add_noqa_silences_every_current_finding() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.py");
    fs::write(
        &path,
        "hits = 0\n\n\ndef f():\n    global hits\n    hits += 1  # type: ignore\n    text = \"\"\"\n    hits += 1\n    \"\"\"\n    return text\n",
    )
    .unwrap();
    nogil_lint()
        .args(["check", "--add-noqa"])
        .arg(&path)
        .assert()
        .code(0)
        .stdout("Added 1 noqa directive.\n");
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("    hits += 1  # type: ignore  # noqa: NG101\n"),
        "{text}"
    );
    assert!(
        text.contains("    hits += 1\n    \"\"\""),
        "strings are untouched: {text}"
    );
    nogil_lint().arg("check").arg(&path).assert().code(0);
}

#[test]
fn stdin_uses_the_settings_of_its_file_name() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("tests")).unwrap();
    fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.nogil-lint]\nper-file-ignores = { \"tests/*.py\" = [\"NG101\"] }\n",
    )
    .unwrap();
    nogil_lint()
        .current_dir(dir.path())
        .args(["check", "--stdin-filename", "tests/test_app.py", "-"])
        .write_stdin(RACY)
        .assert()
        .code(0);
    nogil_lint()
        .current_dir(dir.path())
        .args([
            "check",
            "--output-format",
            "concise",
            "--stdin-filename",
            "src/app.py",
            "-",
        ])
        .write_stdin(RACY)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("src/app.py:5:5: NG101"));
}

#[test]
fn one_extension_package_is_one_finding_naming_its_other_imports() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.py", "b.py", "c.py"] {
        fs::write(dir.path().join(name), "import uamqp\n").unwrap();
    }
    // A type stub never runs: its import loads nothing.
    fs::write(dir.path().join("d.pyi"), "import uamqp\n").unwrap();
    let output = nogil_lint()
        .args(["check", "--output-format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let findings: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let findings = findings.as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let message = findings[0]["message"].as_str().unwrap();
    assert!(findings[0]["filename"].as_str().unwrap().ends_with("a.py"));
    assert!(
        message.contains("also imported in 2 other places:")
            && message.contains("b.py:1")
            && message.contains("c.py:1")
            && !message.contains("d.pyi"),
        "{message}"
    );
}
