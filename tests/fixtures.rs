//! Every rule fixture under `fixtures/rules/` marks each line that must be reported with
//! `# expect: CODE[, CODE…]`; every other line must produce nothing. A code may carry the
//! severity the finding must have: `# expect: NG103(info)`.

use nogil_lint::diagnostic::Severity;
use nogil_lint::pipeline;
use nogil_lint::settings::{FixMode, Settings};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn rule_fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("fixtures/rules")
        .expect("fixtures/rules exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "py"))
        .collect();
    files.sort();
    files
}

fn expected(source: &str) -> BTreeSet<(usize, String)> {
    expected_with_severity(source)
        .into_iter()
        .map(|(row, code, _)| (row, code))
        .collect()
}

/// The markers with the severity each requires, when it names one.
fn expected_with_severity(source: &str) -> BTreeSet<(usize, String, Option<String>)> {
    let mut expected = BTreeSet::new();
    for (index, line) in source.lines().enumerate() {
        if let Some((_, codes)) = line.split_once("# expect:") {
            for code in codes.split(',') {
                let code = code.trim();
                let (code, severity) = match code.split_once('(') {
                    Some((code, severity)) => (
                        code.trim(),
                        Some(severity.trim_end_matches(')').trim().to_string()),
                    ),
                    None => (code, None),
                };
                expected.insert((index + 1, code.to_string(), severity));
            }
        }
    }
    expected
}

/// The findings of the whole pipeline (module phase and project phase) for one file.
fn actual(path: &Path, source: &str) -> BTreeSet<(usize, String)> {
    actual_with_severity(path, source)
        .into_iter()
        .map(|(row, code, _)| (row, code))
        .collect()
}

/// As [`actual`], with each finding's severity; every severity is shown.
fn actual_with_severity(path: &Path, _source: &str) -> BTreeSet<(usize, String, String)> {
    let settings = Settings {
        collect_facts: true,
        min_severity: Severity::Info,
        ..Settings::default()
    };
    let (reports, errors) = pipeline::run(&[path.to_path_buf()], None, &settings, FixMode::Report);
    assert!(errors.is_empty());
    reports[0].messages.iter().map(row_code_severity).collect()
}

/// A finding as the fixture tests compare it: its line, code and severity.
fn row_code_severity(message: &nogil_lint::report::Message) -> (usize, String, String) {
    (
        message.start.row,
        message.diagnostic.rule.code().to_string(),
        message.diagnostic.severity.as_str().to_string(),
    )
}

#[test]
fn every_rule_has_a_fixture_with_positive_and_negative_cases() {
    let files = rule_fixtures();
    for rule in nogil_lint::registry::Rule::ALL {
        // NG001 has CLI tests; NG202 reads requirement files (fixtures/requirements) and NG203
        // C, Cython and Rust sources (fixtures/extensions); NG204 an environment
        // (fixtures/environment).
        if matches!(rule.code(), "NG001" | "NG202" | "NG203" | "NG204") {
            continue;
        }
        let path = PathBuf::from(format!("fixtures/rules/{}.py", rule.code()));
        assert!(files.contains(&path), "missing fixture {}", path.display());
        let source = std::fs::read_to_string(&path).unwrap();
        let marked = expected(&source);
        assert!(
            marked.iter().any(|(_, code)| code == rule.code()),
            "{} marks no {} finding",
            path.display(),
            rule.code()
        );
        assert!(
            source.lines().count() > marked.len() * 3,
            "{} needs negative cases too",
            path.display()
        );
    }
}

#[test]
fn fixtures_report_exactly_the_marked_lines() {
    let mut failures = Vec::new();
    for path in rule_fixtures() {
        let source = std::fs::read_to_string(&path).unwrap();
        let expected = expected(&source);
        let actual = actual(&path, &source);
        let missing: Vec<_> = expected.difference(&actual).collect();
        let unexpected: Vec<_> = actual.difference(&expected).collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            failures.push(format!(
                "{}:\n  missing: {missing:?}\n  unexpected: {unexpected:?}",
                path.display()
            ));
        }
        // Markers that name a severity: the finding has exactly that one.
        let with_severity = actual_with_severity(&path, &source);
        for (row, code, severity) in expected_with_severity(&source) {
            let Some(severity) = severity else { continue };
            let found = with_severity
                .iter()
                .find(|(actual_row, actual_code, _)| *actual_row == row && *actual_code == code);
            if let Some((_, _, actual)) = found
                && *actual != severity
            {
                failures.push(format!(
                    "{}:{row}: {code} is {actual}, expected {severity}",
                    path.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A stack of "current" entries is reported once: by NG111 at the push when it is selected
/// (the fixtures above), and otherwise by the inventory rules as compound use, an error.
#[test]
fn stacks_are_inventory_compound_use_when_ng111_is_not_selected() {
    let ignore: Vec<nogil_lint::registry::RuleSelector> = vec!["NG111".parse().unwrap()];
    let settings = Settings {
        collect_facts: true,
        min_severity: Severity::Info,
        rules: nogil_lint::registry::RuleSet::from_selectors(None, &[], &ignore),
        ..Settings::default()
    };
    for (path, needle, code) in [
        ("fixtures/rules/NG105.py", "_context_stack = []", "NG105"),
        ("fixtures/rules/NG106.py", "    current = []", "NG106"),
    ] {
        let source = std::fs::read_to_string(path).unwrap();
        let row = source
            .lines()
            .position(|line| line.starts_with(needle))
            .expect("the stack in the fixture")
            + 1;
        let (reports, _) = pipeline::run(&[PathBuf::from(path)], None, &settings, FixMode::Report);
        let finding = reports[0]
            .messages
            .iter()
            .find(|message| message.start.row == row && message.diagnostic.rule.code() == code)
            .unwrap_or_else(|| panic!("{path}:{row}: {code} reported"));
        assert_eq!(finding.diagnostic.severity, Severity::Error, "{path}:{row}");
        assert!(
            finding.diagnostic.message.contains("used as a stack"),
            "{}",
            finding.diagnostic.message
        );
        assert!(
            reports[0]
                .messages
                .iter()
                .all(|message| message.diagnostic.rule.code() != "NG111")
        );
    }
}

#[test]
fn severity_markers_are_read() {
    let markers = expected_with_severity("x = 1  # expect: NG103(info), NG105\n");
    assert!(markers.contains(&(1, "NG103".to_string(), Some("info".to_string()))));
    assert!(markers.contains(&(1, "NG105".to_string(), None)));
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let run = |threads: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_nogil-lint"))
            .args([
                "check",
                "--output-format",
                "json",
                "--threads",
                threads,
                "fixtures/rules",
            ])
            .output()
            .expect("runs");
        output.stdout
    };
    let one = run("1");
    assert!(!one.is_empty());
    assert_eq!(one, run("4"));
}

/// The multi-module project under `fixtures/project`: markers in every file, findings from the
/// whole-project run (threads started in one module, work done in others).
#[test]
fn project_fixture_reports_exactly_the_marked_lines_across_modules() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_nogil-lint"))
        .args(["check", "--output-format", "json", "fixtures/project"])
        .output()
        .expect("runs");
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).expect("JSON");
    let mut actual: BTreeSet<(String, usize, String)> = BTreeSet::new();
    for entry in &entries {
        actual.insert((
            entry["filename"].as_str().unwrap().to_string(),
            entry["location"]["row"].as_u64().unwrap() as usize,
            entry["code"].as_str().unwrap().to_string(),
        ));
        let message = entry["message"].as_str().unwrap();
        if entry["code"] == "NG302" && !message.contains("reached from") {
            // Library code no thread reaches: its callers may run it on theirs.
            assert_eq!(entry["severity"], "warning", "library code: {entry}");
        } else if entry["code"] != "NG301" {
            assert_eq!(
                entry["severity"], "error",
                "reached across modules: {entry}"
            );
            assert!(
                message.contains("main.py:"),
                "names the module that starts the thread: {entry}"
            );
        }
    }
    let mut expected_all: BTreeSet<(String, usize, String)> = BTreeSet::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir("fixtures/project/src/app")
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        for (row, code) in expected(&source) {
            expected_all.insert((path.to_string_lossy().into_owned(), row, code));
        }
    }
    assert!(expected_all.len() >= 2);
    assert_eq!(actual, expected_all);
}

/// Runs the command line on `args` and checks that it reports exactly the lines marked
/// `expect: CODE` (in any comment syntax) in the files under `directory`.
fn assert_directory_fixture(args: &[&str], directory: &str, at_least: usize) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_nogil-lint"))
        .args(["check", "--output-format", "json"])
        .args(args)
        .output()
        .expect("runs");
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).expect("JSON");
    let actual: BTreeSet<(String, usize, String)> = entries
        .iter()
        .map(|entry| {
            (
                entry["filename"].as_str().unwrap().to_string(),
                entry["location"]["row"].as_u64().unwrap() as usize,
                entry["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut expected_all = BTreeSet::new();
    let mut stack = vec![PathBuf::from(directory)];
    while let Some(directory) = stack.pop() {
        for entry in std::fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for (index, line) in source.lines().enumerate() {
                if let Some((_, codes)) = line.split_once("expect: ") {
                    for code in codes.split(',') {
                        expected_all.insert((
                            path.to_string_lossy().into_owned(),
                            index + 1,
                            code.trim().to_string(),
                        ));
                    }
                }
            }
        }
    }
    assert!(expected_all.len() >= at_least, "{expected_all:?}");
    assert_eq!(actual, expected_all);
}

/// Programs in a directory of examples (`fixtures/programs/examples/`): one that runs alone
/// (a `__main__` block, imported by no module, starting no thread) keeps its findings as
/// information; one that starts threads, one the library imports and a plugin without a
/// `__main__` block are reported as usual.
#[test]
fn stand_alone_programs_report_only_what_their_own_threads_race_on() {
    assert_directory_fixture(&["fixtures/programs"], "fixtures/programs", 3);
}

/// The extension sources under `fixtures/extensions` (C, C++, Cython, Rust, CMake).
#[test]
fn extension_fixtures_report_exactly_the_marked_lines() {
    assert_directory_fixture(
        &["fixtures/extensions", "fixtures/extensions/rust"],
        "fixtures/extensions",
        7,
    );
}

/// Requirement files (pyproject, requirements with includes) against the project's imports.
#[test]
fn requirement_fixtures_report_exactly_the_marked_lines() {
    assert_directory_fixture(
        &["--target-version", "3.13t", "fixtures/requirements"],
        "fixtures/requirements",
        4,
    );
}

/// NG202 on 3.14t per PEP 440 case: exact (`==`, `===`) pins above and below the first release
/// with free-threaded wheels, `~=`, ranges, exclusions, wildcards, pre-releases, and a pin of a
/// release without the wheels (the table's facts of 3.14t).
#[test]
fn requirement_fixtures_for_3_14t_report_exactly_the_marked_lines() {
    assert_directory_fixture(
        &["--target-version", "3.14t", "fixtures/requirements-314t"],
        "fixtures/requirements-314t",
        12,
    );
}

/// Installed packages (a stand-in interpreter whose site-packages hold dist-info directories
/// with GIL-ABI and free-threaded extension modules).
#[cfg(unix)]
#[test]
fn environment_fixture_reports_exactly_the_marked_lines() {
    assert_directory_fixture(
        &[
            "--python",
            "fixtures/environment/python",
            "fixtures/environment/src",
        ],
        "fixtures/environment/src",
        3,
    );
}

/// The same code in a library module and in a test module (`fixtures/roles/`): the library's
/// public functions may run on its users' threads; a test's code runs on the test runner's one
/// thread unless the test starts a thread; a module only Python 2 can import reports nothing.
#[test]
fn test_modules_report_only_what_their_threads_reach() {
    let settings = Settings {
        collect_facts: true,
        min_severity: Severity::Info,
        ..Settings::default()
    };
    let (reports, errors) = pipeline::run(
        &[PathBuf::from("fixtures/roles")],
        None,
        &settings,
        FixMode::Report,
    );
    assert!(errors.is_empty());
    let found: BTreeSet<(String, usize, String)> = reports
        .iter()
        .flat_map(|report| &report.messages)
        .map(|message| {
            (
                message.filename.to_string(),
                message.start.row,
                message.diagnostic.rule.code().to_string(),
            )
        })
        .collect();
    // `py2_profiler.py` imports `hotshot`, which only Python 2 has: none of its code runs where
    // free threading exists. `compat_queue.py` tries Python 2's name first and runs anywhere.
    let expected: BTreeSet<(String, usize, String)> = [
        ("fixtures/roles/pkg/compat_queue.py", 12, "NG101"),
        ("fixtures/roles/pkg/registry.py", 5, "NG105"),
        ("fixtures/roles/pkg/registry.py", 9, "NG102"),
        ("fixtures/roles/pkg/registry.py", 13, "NG106"),
        ("fixtures/roles/tests/test_registry.py", 6, "NG105"),
        ("fixtures/roles/tests/test_registry.py", 22, "NG102"),
    ]
    .into_iter()
    .map(|(file, row, code)| (file.to_string(), row, code.to_string()))
    .collect();
    assert_eq!(found, expected);
}

/// A copy of another project inside a package (`app/_vendor/…`) is that project's to fix: its
/// findings are information, while the same code in the package itself is reported.
#[test]
fn vendored_copies_report_information_only() {
    let dir = tempfile::tempdir().unwrap();
    let source = "import threading\n\nhits = 0\n\n\ndef record():\n    global hits\n    \
                  hits += 1\n\n\ndef start():\n    threading.Thread(target=record).start()\n";
    for package in ["app", "app/_vendor", "app/_vendor/counter"] {
        let directory = dir.path().join(package);
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::write(directory.join("__init__.py"), "").unwrap();
    }
    std::fs::write(dir.path().join("app/counter.py"), source).unwrap();
    std::fs::write(dir.path().join("app/_vendor/counter/core.py"), source).unwrap();
    let settings = Settings {
        collect_facts: true,
        min_severity: Severity::Info,
        ..Settings::default()
    };
    let (reports, errors) =
        pipeline::run(&[dir.path().join("app")], None, &settings, FixMode::Report);
    assert!(errors.is_empty());
    let severities = |suffix: &str| -> Vec<(String, String)> {
        reports
            .iter()
            .filter(|report| {
                report
                    .path
                    .as_deref()
                    .is_some_and(|path| path.ends_with(suffix))
            })
            .flat_map(|report| &report.messages)
            .map(|message| {
                (
                    message.diagnostic.rule.code().to_string(),
                    message.diagnostic.severity.as_str().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        severities("app/counter.py"),
        [("NG101".to_string(), "warning".to_string())]
    );
    assert_eq!(
        severities("_vendor/counter/core.py"),
        [("NG101".to_string(), "info".to_string())]
    );
}

/// One-time set-up across modules: a helper of another module that only `init()` calls runs
/// once, at start-up, as `init()` does; the same helper shape called on every `capture()` is
/// reported.
#[test]
fn helpers_only_one_time_set_up_calls_are_set_up_across_modules() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("agent");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(
        package.join("__init__.py"),
        "from agent.instruments import ensure_installed, ensure_patched\n\n\n\
         def init():\n    ensure_installed()\n\n\n\
         def capture(event):\n    ensure_patched()\n    return event\n",
    )
    .unwrap();
    let helper = "\n\n\ndef NAME():\n    global _FLAG\n    if not _FLAG:\n        \
                  _FLAG = object()\n";
    std::fs::write(
        package.join("instruments.py"),
        format!(
            "_installed = None\n_patched = None{}{}",
            helper
                .replace("NAME", "ensure_installed")
                .replace("_FLAG", "_installed"),
            helper
                .replace("NAME", "ensure_patched")
                .replace("_FLAG", "_patched"),
        ),
    )
    .unwrap();
    let reports = check_project(&package);
    let found = codes_and_rows(&reports);
    assert_eq!(found, [("NG104".to_string(), 14)]);
}

/// A registry filled by another module's top-level code (`RED = Colors.register("red")`) is
/// filled while the package is imported: its class-level counter is not raced. A registry
/// that a public function also fills, one that only a test module or a `__main__` block
/// fills, stays reported.
#[test]
fn what_only_other_modules_call_at_import_runs_at_import() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("palette");
    std::fs::create_dir_all(package.join("tests")).unwrap();
    let registry = "\n\nclass NAME:\n    count = 0\n\n    @classmethod\n    \
                    def register(cls, name):\n        cls.count += 1\n        return name\n";
    let base: String = ["Colors", "Shapes", "Tools", "Brushes"]
        .iter()
        .map(|name| registry.replace("NAME", name))
        .collect();
    std::fs::write(package.join("base.py"), base).unwrap();
    std::fs::write(package.join("__init__.py"), "").unwrap();
    std::fs::write(package.join("tests").join("__init__.py"), "").unwrap();
    std::fs::write(
        package.join("colors.py"),
        "from palette.base import Colors\n\nRED = Colors.register(\"red\")\n",
    )
    .unwrap();
    std::fs::write(
        package.join("shapes.py"),
        "from .base import Shapes\n\nSQUARE = Shapes.register(\"square\")\n\n\n\
         def add_shape(name):\n    return Shapes.register(name)\n",
    )
    .unwrap();
    std::fs::write(
        package.join("tests").join("test_tools.py"),
        "from palette.base import Tools\n\nHAMMER = Tools.register(\"hammer\")\n",
    )
    .unwrap();
    std::fs::write(
        package.join("demo.py"),
        "from palette.base import Brushes\n\nif __name__ == \"__main__\":\n    \
         Brushes.register(\"round\")\n",
    )
    .unwrap();
    let reports = check_project(&package);
    let found = codes_and_rows(&reports);
    // Shapes (line 17), Tools (26) and Brushes (35); not Colors (8).
    assert_eq!(
        found,
        [
            ("NG102".to_string(), 17),
            ("NG102".to_string(), 26),
            ("NG102".to_string(), 35)
        ]
    );
}

/// A `threading.local` subclass whose base another module binds (`from threading import local
/// as localbase`, re-exported with `import *`) has per-thread attributes: the module that
/// derives from it is checked again knowing that. A class derived from another module's plain
/// class stays shared.
#[test]
fn thread_local_bases_from_other_modules_are_per_thread() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("orm");
    std::fs::create_dir_all(package.join("utils")).unwrap();
    std::fs::write(package.join("__init__.py"), "").unwrap();
    std::fs::write(
        package.join("utils").join("__init__.py"),
        "from .compat import *\n",
    )
    .unwrap();
    std::fs::write(
        package.join("utils").join("compat.py"),
        "import os\n\nif os.environ.get(\"NO_THREADS\"):\n    localbase = object\nelse:\n    \
         from threading import local as localbase\n\n\nclass Plain:\n    pass\n",
    )
    .unwrap();
    std::fs::write(
        package.join("session.py"),
        "from orm.utils import Plain, localbase\n\n\nclass Local(localbase):\n    \
         depth = 0\n\n\nclass Shared(Plain):\n    depth = 0\n\n\n\
         local = Local()\nshared = Shared()\n\n\n\
         def enter():\n    local.depth += 1\n    shared.depth += 1\n",
    )
    .unwrap();
    let reports = check_project(&package);
    let found = codes_and_rows(&reports);
    // `shared.depth += 1` only.
    assert_eq!(found, [("NG102".to_string(), 18)]);
}

/// The asynchronous twin of a library (`client/aio/`) runs on an event loop: its plain
/// helpers' check-then-store is not raced by its coroutines. The synchronous twin's is.
#[test]
fn an_async_twin_package_runs_on_the_event_loop() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("client");
    std::fs::create_dir_all(package.join("aio")).unwrap();
    std::fs::write(package.join("__init__.py"), "").unwrap();
    std::fs::write(package.join("aio").join("__init__.py"), "").unwrap();
    let helper = "import tempfile\n\n_files = {}\n\n\n\
                  def file_for(content):\n    if content not in _files:\n        \
                  _files[content] = tempfile.mkstemp()[1]\n    return _files[content]\n";
    std::fs::write(package.join("config.py"), helper).unwrap();
    std::fs::write(package.join("aio").join("config.py"), helper).unwrap();
    let reports = check_project(&package);
    let found: Vec<(String, String)> = reports
        .iter()
        .flat_map(|report| {
            report.messages.iter().map(|message| {
                (
                    report
                        .filename
                        .replace('\\', "/")
                        .rsplit("client/")
                        .next()
                        .unwrap()
                        .to_string(),
                    message.diagnostic.rule.code().to_string(),
                )
            })
        })
        .filter(|(_, code)| code == "NG103")
        .collect();
    assert_eq!(found, [("config.py".to_string(), "NG103".to_string())]);
}

/// `local` imported from a module that binds it with `try: from threading import local`,
/// `except ImportError: class local(object): ...` is `threading.local`: the fallback class of
/// the same name does not hide the import.
#[test]
fn a_thread_local_import_with_a_fallback_class_is_per_thread() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("store");
    std::fs::create_dir_all(package.join("util")).unwrap();
    std::fs::write(package.join("__init__.py"), "").unwrap();
    std::fs::write(package.join("util").join("__init__.py"), "").unwrap();
    std::fs::write(
        package.join("util").join("threadinglocal.py"),
        "try:\n    from threading import local\nexcept ImportError:\n    \
         class local(object):\n        pass\n",
    )
    .unwrap();
    std::fs::write(
        package.join("rows.py"),
        "from .util.threadinglocal import local\n\n_postponed = local()\n\n\n\
         def postpone(call):\n    if not hasattr(_postponed, \"calls\"):\n        \
         _postponed.calls = []\n    _postponed.depth = getattr(_postponed, \"depth\", 0)\n    \
         _postponed.depth += 1\n    _postponed.calls.append(call)\n",
    )
    .unwrap();
    let reports = check_project(&package);
    assert_eq!(codes_and_rows(&reports), []);
}

/// NG107 rates an unlocked write no thread in view reaches as information; a thread started in
/// another module on it restores the judged severity: a tally's lost update (uncertain harm)
/// becomes a warning, a hazard an error.
#[test]
fn a_thread_in_another_module_raises_inconsistent_locking() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("svc");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(package.join("__init__.py"), "").unwrap();
    let stats = "import threading\n\n_lock = threading.Lock()\nserved = 0\nqueue = []\n\n\n\
                 def served_one():\n    global served\n    with _lock:\n        served += 1\n\n\n\
                 def served_unlocked():\n    global served\n    served -= 1\n\n\n\
                 def add(item):\n    with _lock:\n        queue.append(item)\n\n\n\
                 def drain():\n    global queue\n    queue = []\n";
    std::fs::write(package.join("stats.py"), stats).unwrap();
    let severities = |reports: &[nogil_lint::report::FileReport]| -> Vec<(usize, Severity)> {
        reports
            .iter()
            .flat_map(|report| &report.messages)
            .filter(|message| message.diagnostic.rule.code() == "NG107")
            .map(|message| (message.start.row, message.diagnostic.severity))
            .collect()
    };
    // No thread in view: hidden (information).
    assert_eq!(severities(&check_project(&package)), []);
    std::fs::write(
        package.join("main.py"),
        "import threading\n\nfrom svc.stats import drain, served_unlocked\n\n\n\
         def start():\n    threading.Thread(target=served_unlocked).start()\n    \
         threading.Thread(target=drain).start()\n",
    )
    .unwrap();
    assert_eq!(
        severities(&check_project(&package)),
        [(16, Severity::Warning), (26, Severity::Error)]
    );
}

/// Directories above the project do not make it a test suite: a checkout under `~/test/` is
/// checked like any other.
#[test]
fn a_project_under_a_directory_named_test_is_not_a_test_suite() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("test").join("service");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("app.py"),
        "hits = 0\n\n\ndef record():\n    global hits\n    hits += 1\n",
    )
    .unwrap();
    let reports = check_project(&project);
    let codes: Vec<&str> = reports
        .iter()
        .flat_map(|report| &report.messages)
        .map(|message| message.diagnostic.rule.code())
        .collect();
    assert_eq!(codes, ["NG101"]);
}

/// A process's driver class installs signal handlers, so its methods are main-thread set-up;
/// the helpers of other modules that only it calls are too, and their process-wide changes are
/// not library findings. A helper nothing in the project calls stays library API.
#[test]
fn helpers_only_main_thread_set_up_calls_are_set_up_across_modules() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("server");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(package.join("__init__.py"), "").unwrap();
    std::fs::write(
        package.join("arbiter.py"),
        "import signal\n\nfrom server import systemd\n\n\nclass Arbiter:\n    def start(self):\n        signal.signal(signal.SIGHUP, self.reload)\n        return systemd.listen_fds()\n\n    def reload(self, *args):\n        pass\n",
    )
    .unwrap();
    std::fs::write(
        package.join("systemd.py"),
        "import os\n\n\ndef listen_fds():\n    os.environ.pop(\"LISTEN_FDS\", None)\n    return 0\n\n\ndef notify(state):\n    os.environ[\"NOTIFY_STATE\"] = state\n",
    )
    .unwrap();
    let reports = check_project(&package);
    let found: Vec<(String, usize, &str)> = reports
        .iter()
        .flat_map(|report| {
            report.messages.iter().map(|message| {
                (
                    report.filename.rsplit('/').next().unwrap_or("").to_string(),
                    message.start.row,
                    message.diagnostic.rule.code(),
                )
            })
        })
        .collect();
    assert_eq!(found, [("systemd.py".to_string(), 10, "NG302")]);
}

/// The reports of a whole directory, checked as a project with the default settings.
/// Each finding of a project's reports as (code, row), in report order.
fn codes_and_rows(reports: &[nogil_lint::report::FileReport]) -> Vec<(String, usize)> {
    reports
        .iter()
        .flat_map(|report| {
            report.messages.iter().map(|message| {
                (
                    message.diagnostic.rule.code().to_string(),
                    message.start.row,
                )
            })
        })
        .collect()
}

fn check_project(directory: &Path) -> Vec<nogil_lint::report::FileReport> {
    let (reports, errors) = pipeline::run(
        &[directory.to_path_buf()],
        None,
        &Settings {
            collect_facts: true,
            ..Settings::default()
        },
        FixMode::Report,
    );
    assert!(errors.is_empty());
    reports
}

/// The findings (row, code, severity) of a file written into a fresh directory under `name`.
fn findings_in(name: &str, source: &str, settings: &Settings) -> Vec<(usize, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, source).unwrap();
    let (reports, errors) = pipeline::run(&[path], None, settings, FixMode::Report);
    assert!(errors.is_empty());
    reports
        .iter()
        .flat_map(|report| &report.messages)
        .map(row_code_severity)
        .collect()
}

/// `warnings.catch_warnings` swaps the process-wide filter list below 3.14: on 3.13t the `with`
/// is a scoped override (NG110), and the filter set inside it is part of it (no NG302); on
/// 3.14t free-threaded builds make it context-local and nothing is reported.
#[test]
fn catch_warnings_is_a_scoped_override_only_below_3_14() {
    let source = "import warnings\n\n\ndef quiet(work):\n    with warnings.catch_warnings():\n        warnings.simplefilter(\"ignore\")\n        return work()\n";
    let mut settings = Settings {
        collect_facts: true,
        min_severity: Severity::Info,
        ..Settings::default()
    };
    settings.model.target_version = nogil_lint::data::TargetVersion::Py313t;
    assert_eq!(
        findings_in("quiet.py", source, &settings),
        [(5, "NG110".to_string(), "error".to_string())]
    );
    // Without NG110, NG302 reports the filter changes themselves.
    settings.rules = nogil_lint::registry::RuleSet::from_selectors(
        None,
        &[],
        &["NG110"
            .parse::<nogil_lint::registry::RuleSelector>()
            .unwrap()],
    );
    let codes: Vec<String> = findings_in("quiet.py", source, &settings)
        .into_iter()
        .map(|(row, code, _)| format!("{row}:{code}"))
        .collect();
    assert_eq!(codes, ["5:NG302", "6:NG302"]);
    settings.model.target_version = nogil_lint::data::TargetVersion::Py314t;
    settings.rules = nogil_lint::registry::RuleSet::all();
    assert!(findings_in("quiet.py", source, &settings).is_empty());
}

/// Weak containers iterate over a copy of their data from Python 3.14: a loop over one that
/// another thread changes is NG109 on 3.13t only.
#[test]
fn weak_container_iteration_races_only_below_3_14() {
    let source = "import threading\nimport weakref\n\n_live = weakref.WeakSet()\n\n\ndef add(item):\n    _live.add(item)\n\n\ndef close_all():\n    for item in _live:\n        item.close()\n\n\nthreading.Thread(target=add, args=(object(),)).start()\n";
    let mut settings = Settings {
        collect_facts: true,
        min_severity: Severity::Info,
        rules: nogil_lint::registry::RuleSet::from_selectors(
            Some(&["NG109"
                .parse::<nogil_lint::registry::RuleSelector>()
                .unwrap()]),
            &[],
            &[],
        ),
        ..Settings::default()
    };
    settings.model.target_version = nogil_lint::data::TargetVersion::Py313t;
    let found = findings_in("live.py", source, &settings);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0, found[0].1.as_str()), (12, "NG109"));
    settings.model.target_version = nogil_lint::data::TargetVersion::Py314t;
    assert!(findings_in("live.py", source, &settings).is_empty());
}

/// A program's command line is not library API: process-wide changes in `__main__.py`,
/// `cli.py`, a module of a `bin/`, `cli/` or `scripts/` directory, or `main` of a module with
/// a `__main__` block are not NG302 findings there.
#[test]
fn command_line_code_is_not_library_api() {
    let settings = Settings {
        collect_facts: true,
        min_severity: Severity::Info,
        ..Settings::default()
    };
    let source = "import os\n\n\ndef run(directory):\n    os.chdir(directory)\n";
    assert_eq!(
        findings_in("tool.py", source, &settings),
        [(5, "NG302".to_string(), "warning".to_string())]
    );
    assert!(findings_in("cli.py", source, &settings).is_empty());
    assert!(findings_in("__main__.py", source, &settings).is_empty());
    // A package's directory of programs.
    for program in [
        "pkg/bin/tool.py",
        "pkg/cli/run.py",
        "pkg/scripts/shell.py",
        "pkg/management/commands/serve.py",
    ] {
        assert!(
            findings_in(program, source, &settings).is_empty(),
            "{program}"
        );
    }
    assert_eq!(
        findings_in("pkg/binary/tool.py", source, &settings).len(),
        1
    );
    let script = "import os\nimport sys\n\n\ndef main():\n    os.chdir(sys.argv[1])\n\n\nif __name__ == \"__main__\":\n    print(\"use the console script\")\n";
    assert!(findings_in("tool.py", script, &settings).is_empty());
}
