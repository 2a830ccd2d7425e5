//! Whatever a repository contains, the run survives it: huge and deeply nested files, long
//! lines, odd bytes and encodings, every kind of line ending, special files, unreadable paths,
//! a bug in a rule, and a write that fails half-way. Each test checks that the other files'
//! results are still reported and that no file is damaged.

use std::fs;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn nogil_lint() -> Command {
    let mut command = Command::cargo_bin("nogil-lint").unwrap();
    command
        .env_remove("NOGIL_LINT_OUTPUT_FORMAT")
        .env_remove("NOGIL_LINT_TEST_PANIC_ON")
        .env_remove("NOGIL_LINT_TEST_FAIL_WRITE")
        .env_remove("RUST_BACKTRACE")
        .arg("check")
        .arg("--isolated");
    command
}

/// A module with one NG101 finding, at line 6, column 5.
const RACY: &str = "import threading\ncounter = 0\n\ndef work():\n    global counter\n    counter += 1\n\nthreading.Thread(target=work).start()\n";

/// `(file name, code, row, column)` of every finding of a JSON report (a file that could not
/// be read is an entry without a code, left out here).
fn findings(output: &Output) -> Vec<(String, String, u64, u64)> {
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not JSON ({error}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let mut found: Vec<_> = report
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| !finding["code"].is_null())
        .map(|finding| {
            let name = Path::new(finding["filename"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (
                name,
                finding["code"].as_str().unwrap().to_string(),
                finding["location"]["row"].as_u64().unwrap(),
                finding["location"]["column"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort();
    found
}

fn finding(file: &str, code: &str, row: u64, column: u64) -> (String, String, u64, u64) {
    (file.to_string(), code.to_string(), row, column)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn check_json(paths: &[&Path]) -> Output {
    nogil_lint()
        .args(["--output-format", "json"])
        .args(paths)
        .output()
        .unwrap()
}

#[test]
fn a_fifty_megabyte_file_is_checked_to_its_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let row = "value_{} = \"abcdefghijabcdefghijabcdefghijabcdefghij\"  # generated row\n";
    let mut text = String::from("import threading\ncounter = 0\n");
    let mut rows = 0;
    while text.len() < 50 * 1024 * 1024 {
        text.push_str(&row.replace("{}", &rows.to_string()));
        rows += 1;
    }
    let first = text.lines().count() as u64;
    text.push_str("def work():\n    global counter\n    counter += 1\n");
    text.push_str("threading.Thread(target=work).start()\n");
    let path = dir.path().join("big.py");
    fs::write(&path, &text).unwrap();

    let output = check_json(&[&path]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        findings(&output),
        [finding("big.py", "NG101", first + 3, 5)]
    );
    // The default format frames the finding without rendering the whole file.
    let output = nogil_lint().arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains(&format!("big.py:{}:5", first + 3)), "{text}");
    assert!(text.len() < 4096, "{}", text.len());
}

/// Shapes of nesting 10,000 levels deep (and chains 100,000 long) that recurse in a parser or
/// a tree walk.
fn deeply_nested_modules() -> Vec<(&'static str, String)> {
    const DEPTH: usize = 10_000;
    let blocks = |header: &dyn Fn(usize) -> String, body: &str| {
        let mut text = String::new();
        for depth in 0..DEPTH {
            text.push_str(&" ".repeat(depth));
            text.push_str(&header(depth));
            text.push('\n');
        }
        for line in body.lines() {
            text.push_str(&" ".repeat(DEPTH));
            text.push_str(line);
            text.push('\n');
        }
        text
    };
    vec![
        (
            "parentheses.py",
            format!("x = {}1{}\n", "(".repeat(DEPTH), ")".repeat(DEPTH)),
        ),
        (
            "lists.py",
            format!("x = {}{}\n", "[".repeat(DEPTH), "]".repeat(DEPTH)),
        ),
        (
            "dicts.py",
            format!("x = {}1{}\n", "{1: ".repeat(DEPTH), "}".repeat(DEPTH)),
        ),
        ("unary.py", format!("x = {}1\n", "-".repeat(DEPTH))),
        ("not.py", format!("x = {}y\n", "not ".repeat(DEPTH))),
        (
            "sums.py",
            format!("x = {}\n", vec!["1"; DEPTH * 10].join(" + ")),
        ),
        (
            "attributes.py",
            format!("x = a{}\n", ".b".repeat(DEPTH * 10)),
        ),
        ("calls.py", format!("x = f{}\n", "()".repeat(DEPTH))),
        ("subscripts.py", format!("x = a{}\n", "[0]".repeat(DEPTH))),
        (
            "lambdas.py",
            format!("f = {}counter\n", "lambda: ".repeat(DEPTH)),
        ),
        (
            "comprehensions.py",
            format!(
                "x = {}y{}\n",
                "[".repeat(DEPTH),
                " for y in z]".repeat(DEPTH)
            ),
        ),
        (
            "strings.py",
            format!("x = {}'s'{}\n", "f'{".repeat(100), "}'".repeat(100)),
        ),
        ("ifs.py", blocks(&|_| "if x:".to_string(), "counter += 1")),
        (
            "functions.py",
            blocks(
                &|depth| format!("def f{depth}():"),
                "global counter\ncounter += 1",
            ),
        ),
        (
            "classes.py",
            blocks(&|depth| format!("class C{depth}:"), "items = []"),
        ),
        (
            "withs.py",
            blocks(&|_| "with lock:".to_string(), "counter += 1"),
        ),
    ]
}

#[test]
fn nesting_ten_thousand_levels_deep_neither_overflows_nor_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in deeply_nested_modules() {
        fs::write(dir.path().join(name), text).unwrap();
    }
    fs::write(dir.path().join("racy.py"), RACY).unwrap();
    let output = check_json(&[dir.path()]);
    // Every deep file is parsed and checked (findings or a syntax error are both fine: the run
    // must end normally and report the ordinary file).
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{:?}: {}",
        output.status,
        stderr(&output)
    );
    assert!(findings(&output).contains(&finding("racy.py", "NG101", 6, 5)));
    assert!(
        findings(&output).contains(&finding("functions.py", "NG101", 10_002, 10_001)),
        "{:?}",
        findings(&output)
    );

    // Fixing re-parses each fixed file: the same depth must survive that, and the fixed file
    // must still hold its nesting.
    let output = nogil_lint()
        .args(["--fix", "--unsafe-fixes", "--output-format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{:?}: {}",
        output.status,
        stderr(&output)
    );
    let fixed = fs::read_to_string(dir.path().join("functions.py")).unwrap();
    assert!(
        fixed.contains("with _counter_lock:"),
        "the deep finding was not fixed"
    );
}

#[test]
fn deep_nesting_from_standard_input() {
    let text = format!("x = {}1{}\n{RACY}", "(".repeat(10_000), ")".repeat(10_000));
    let output = nogil_lint()
        .args([
            "--output-format",
            "json",
            "--stdin-filename",
            "deep.py",
            "-",
        ])
        .write_stdin(text)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(findings(&output), [finding("deep.py", "NG101", 7, 5)]);
}

#[test]
fn very_long_lines_keep_exact_columns_and_short_frames() {
    let dir = tempfile::tempdir().unwrap();
    // A million-character line of statements with the finding at its end, a 10 MB string
    // literal, and a 10 MB comment.
    let statements = "x = 1; ".repeat(150_000);
    let column = statements.len() as u64 + 5;
    let long = format!(
        "import threading\ncounter = 0\n\ndef work():\n    global counter\n    {statements}counter += 1\n\nthreading.Thread(target=work).start()\ns = '{}'\n# {}\n",
        "a".repeat(10 << 20),
        "c".repeat(10 << 20)
    );
    let path = dir.path().join("long.py");
    fs::write(&path, long).unwrap();
    let output = check_json(&[&path]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(findings(&output), [finding("long.py", "NG101", 6, column)]);

    // The same finding on a short line: what each format prints for it anyway (SARIF
    // describes every rule, so its floor is the catalogue's size, which grows with the docs).
    let short = dir.path().join("short.py");
    fs::write(
        &short,
        "import threading\ncounter = 0\n\ndef work():\n    global counter\n    counter += 1\n\nthreading.Thread(target=work).start()\n",
    )
    .unwrap();
    for format in ["full", "concise", "github", "grouped", "sarif", "junit"] {
        let run = |path: &std::path::Path| {
            nogil_lint()
                .args(["--output-format", format])
                .arg(path)
                .output()
                .unwrap()
        };
        let output = run(&path);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{format}: {}",
            stderr(&output)
        );
        let baseline = run(&short).stdout.len();
        // The report names the finding; it never reprints the line it is on.
        assert!(
            output.stdout.len() < baseline + 64 * 1024,
            "{format}: {} bytes (the short file: {baseline})",
            output.stdout.len()
        );
    }
}

#[test]
fn nul_bytes_and_invalid_utf8_are_reported_and_the_rest_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("nul.py"), b"x = 1\x00\ny = 2\n").unwrap();
    fs::write(
        dir.path().join("binary.py"),
        b"\x7fELF\x02\x01\x01\x00\x00\xff\xfe\x00",
    )
    .unwrap();
    fs::write(dir.path().join("latin.py"), b"# caf\xe9\nx = 1\n").unwrap();
    fs::write(dir.path().join("racy.py"), RACY).unwrap();
    let output = check_json(&[dir.path()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let found = findings(&output);
    assert!(
        found.contains(&finding("racy.py", "NG101", 6, 5)),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(file, code, row, _)| file == "nul.py" && code == "NG001" && *row == 1),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(file, code, ..)| file == "binary.py" && code == "NG001"),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(file, code, ..)| file == "latin.py" && code == "NG001"),
        "{found:?}"
    );
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut bytes = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        let pair = if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        };
        bytes.extend_from_slice(&pair);
    }
    bytes
}

#[test]
fn utf16_files_with_a_bom_are_checked_and_fixed_in_their_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let little = dir.path().join("little.py");
    let big = dir.path().join("big.py");
    let text = format!("# é ü\n{RACY}");
    fs::write(&little, utf16(&text, false)).unwrap();
    fs::write(&big, utf16(&text, true)).unwrap();
    let output = check_json(&[dir.path()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        findings(&output),
        [
            finding("big.py", "NG101", 7, 5),
            finding("little.py", "NG101", 7, 5)
        ]
    );
    let output = nogil_lint()
        .args(["--fix", "--unsafe-fixes"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for (path, big_endian) in [(&little, false), (&big, true)] {
        let bytes = fs::read(path).unwrap();
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|pair| {
                let pair = [pair[0], pair[1]];
                if big_endian {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            })
            .collect();
        assert_eq!(&bytes[..2], &utf16("", big_endian)[..]);
        let fixed = String::from_utf16(&units).unwrap();
        assert!(fixed.starts_with("# é ü\n"), "{fixed}");
        assert!(fixed.contains("with _counter_lock:"), "{fixed}");
    }
}

#[test]
fn every_kind_of_line_ending_gives_the_same_positions_and_is_kept_by_fixes() {
    let dir = tempfile::tempdir().unwrap();
    // Each kind twice; never a lone `\r` before an empty line, which Python would read as
    // `\r\n` with the next line's `\n`.
    let endings = ["\n", "\r\n", "\r", "\n", "\r\n", "\n", "\r", "\r\n"];
    let mixed = RACY
        .lines()
        .zip(endings)
        .map(|(line, ending)| format!("{line}{ending}"))
        .collect::<String>();
    let files = [
        ("lf.py", RACY.to_string()),
        ("crlf.py", RACY.replace('\n', "\r\n")),
        ("cr.py", RACY.replace('\n', "\r")),
        ("mixed.py", mixed),
    ];
    for (name, text) in &files {
        fs::write(dir.path().join(name), text).unwrap();
    }
    let output = check_json(&[dir.path()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let expected: Vec<_> = ["cr.py", "crlf.py", "lf.py", "mixed.py"]
        .iter()
        .map(|name| finding(name, "NG101", 6, 5))
        .collect();
    assert_eq!(findings(&output), expected);
    // Messages that name other lines count lines as Python does.
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    for finding in report.as_array().unwrap() {
        let message = finding["message"].as_str().unwrap();
        assert!(message.contains("started at line 8"), "{message}");
    }

    nogil_lint()
        .args(["--fix", "--unsafe-fixes"])
        .arg(dir.path())
        .assert()
        .code(0);
    for (name, original) in &files {
        let fixed = fs::read_to_string(dir.path().join(name)).unwrap();
        let endings = |text: &str| {
            let crlf = text.matches("\r\n").count();
            (
                crlf,
                text.matches('\r').count() - crlf,
                text.matches('\n').count() - crlf,
            )
        };
        let (crlf, cr, lf) = endings(&fixed);
        match *name {
            "lf.py" => assert_eq!((crlf, cr), (0, 0), "{fixed:?}"),
            "crlf.py" => assert_eq!((cr, lf), (0, 0), "{fixed:?}"),
            "cr.py" => assert_eq!((crlf, lf), (0, 0), "{fixed:?}"),
            // Mixed endings: the lines not touched keep theirs.
            _ => assert!(endings(original).0 <= crlf && endings(original).1 <= cr),
        }
        assert!(fixed.contains("with _counter_lock:"), "{name}: {fixed:?}");
    }
}

#[test]
fn tabs_and_form_feeds_count_as_python_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let text = "import threading\ncounter = 0\n\x0c\ndef work():\n\tglobal counter\n\x0c\tcounter += 1\n\x0c\nthreading.Thread(target=work).start()\n";
    fs::write(dir.path().join("tabs.py"), text).unwrap();
    let output = check_json(&[dir.path()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    // Columns are characters: the form feed and the tab are one each.
    assert_eq!(findings(&output), [finding("tabs.py", "NG101", 6, 3)]);
    nogil_lint()
        .args(["--fix", "--unsafe-fixes"])
        .arg(dir.path())
        .assert()
        .code(0);
    // The fix indents with the file's tab; the form feed that led the line stays with it.
    let fixed = fs::read_to_string(dir.path().join("tabs.py")).unwrap();
    assert!(
        fixed.contains("\twith _counter_lock:\n\x0c\t\tcounter += 1"),
        "{fixed:?}"
    );
    let compiled = std::process::Command::new("python3")
        .args(["-m", "py_compile"])
        .arg(dir.path().join("tabs.py"))
        .status()
        .unwrap();
    assert!(compiled.success());
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_among_the_files_are_skipped_without_blocking() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("racy.py"), RACY).unwrap();
    let fifo = dir.path().join("pipe.py");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    // Devices under names the discovery would pick: endless, empty, and unreadable.
    symlink("/dev/zero", dir.path().join("zero.py")).unwrap();
    symlink("/dev/null", dir.path().join("null.py")).unwrap();
    symlink("/dev/urandom", dir.path().join("random.py")).unwrap();
    let output = check_json(&[dir.path()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(findings(&output), [finding("racy.py", "NG101", 6, 5)]);

    // Named explicitly, a special file is an error for that path, not a hang.
    let output = check_json(&[
        &fifo,
        &dir.path().join("zero.py"),
        &dir.path().join("racy.py"),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(findings(&output), [finding("racy.py", "NG101", 6, 5)]);
    assert!(
        stderr(&output).contains("not a regular file"),
        "{}",
        stderr(&output)
    );
}

/// Runs `command` as an unprivileged user, so that file permissions apply (a root process
/// reads everything).
#[cfg(unix)]
fn unprivileged(command: &mut Command) -> Output {
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|output| output.stdout.trim_ascii() == b"0")
        .unwrap();
    if !is_root {
        return command.output().unwrap();
    }
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(ToOwned::to_owned).collect();
    let mut wrapped = Command::new("setpriv");
    wrapped
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(program)
        .args(args)
        .env_remove("NOGIL_LINT_OUTPUT_FORMAT");
    let output = wrapped
        .output()
        .expect("setpriv is needed to run as a user");
    assert!(
        !stderr(&output).contains("setpriv:"),
        "cannot drop privileges: {}",
        stderr(&output)
    );
    output
}

#[cfg(unix)]
#[test]
fn unreadable_files_and_directories_are_errors_and_the_rest_is_checked() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(root.join("racy.py"), RACY).unwrap();
    fs::write(root.join("secret.py"), RACY).unwrap();
    fs::set_permissions(root.join("secret.py"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::create_dir(root.join("private")).unwrap();
    fs::write(root.join("private/hidden.py"), RACY).unwrap();
    fs::set_permissions(root.join("private"), fs::Permissions::from_mode(0o000)).unwrap();

    let mut command = nogil_lint();
    command.args(["--output-format", "json"]).arg(root);
    let output = unprivileged(&mut command);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(findings(&output), [finding("racy.py", "NG101", 6, 5)]);
    let errors = stderr(&output);
    assert!(
        errors.contains("secret.py") && errors.contains("ermission denied"),
        "{errors}"
    );
    assert!(errors.contains("private"), "{errors}");

    // A file that can be read but not replaced: --fix reports it and fixes the others.
    fs::set_permissions(root.join("secret.py"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(root.join("private"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(
        root.join("private/hidden.py"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    fs::set_permissions(root.join("private"), fs::Permissions::from_mode(0o555)).unwrap();
    let world_writable = fs::Permissions::from_mode(0o777);
    fs::set_permissions(root, world_writable).unwrap();
    for name in ["racy.py", "secret.py"] {
        fs::set_permissions(root.join(name), fs::Permissions::from_mode(0o666)).unwrap();
    }
    let mut command = nogil_lint();
    command.args(["--fix", "--unsafe-fixes"]).arg(root);
    let output = unprivileged(&mut command);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("hidden.py"), "{}", stderr(&output));
    assert_eq!(
        fs::read_to_string(root.join("private/hidden.py")).unwrap(),
        RACY
    );
    assert!(
        fs::read_to_string(root.join("racy.py"))
            .unwrap()
            .contains("with _counter_lock:")
    );
    fs::set_permissions(root.join("private"), fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
#[test]
fn symlink_loops_missing_paths_and_a_broken_pyproject() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir(root.join("pkg")).unwrap();
    fs::write(root.join("pkg/racy.py"), RACY).unwrap();
    symlink(root.join("pkg"), root.join("pkg/loop")).unwrap();
    symlink("self.py", root.join("pkg/self.py")).unwrap();
    let output = check_json(&[&root.join("pkg"), &root.join("missing.py")]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(findings(&output), [finding("racy.py", "NG101", 6, 5)]);
    assert!(
        stderr(&output).contains("missing.py"),
        "{}",
        stderr(&output)
    );

    // A pyproject.toml that is not TOML is a configuration error with its location.
    fs::write(
        root.join("pyproject.toml"),
        "[tool.nogil-lint]\nselect = [\"NG101\"\n",
    )
    .unwrap();
    let output = Command::cargo_bin("nogil-lint")
        .unwrap()
        .arg("check")
        .arg(root.join("pkg"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let errors = stderr(&output);
    assert!(errors.contains("pyproject.toml"), "{errors}");
    assert!(
        errors.contains(":2:") || errors.contains("line 2") || errors.contains("│"),
        "{errors}"
    );
}

#[test]
fn a_panic_in_one_file_is_an_internal_error_and_other_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("racy.py"), RACY).unwrap();
    fs::write(dir.path().join("boom.py"), RACY).unwrap();
    let output = nogil_lint()
        .env("NOGIL_LINT_TEST_PANIC_ON", "boom.py")
        .args(["--output-format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(findings(&output), [finding("racy.py", "NG101", 6, 5)]);
    let errors = stderr(&output);
    assert!(
        errors.contains("internal error while checking")
            && errors.contains("boom.py")
            && errors.contains("injected panic"),
        "{errors}"
    );
    assert!(
        !errors.contains("thread '"),
        "the panic is described once: {errors}"
    );

    // Fixing: the other file is fixed, the file whose check failed is untouched.
    let output = nogil_lint()
        .env("NOGIL_LINT_TEST_PANIC_ON", "boom.py")
        .args(["--fix", "--unsafe-fixes"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        fs::read_to_string(dir.path().join("boom.py")).unwrap(),
        RACY
    );
    assert!(
        fs::read_to_string(dir.path().join("racy.py"))
            .unwrap()
            .contains("with _counter_lock:")
    );
}

#[test]
fn a_write_failing_half_way_leaves_every_file_old_or_new() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..20).map(|index| format!("m{index:02}.py")).collect();
    for name in &names {
        fs::write(dir.path().join(name), RACY).unwrap();
    }
    let output = nogil_lint()
        .env("NOGIL_LINT_TEST_FAIL_WRITE", "m07.py")
        .args(["--fix", "--unsafe-fixes"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("injected write failure"),
        "{}",
        stderr(&output)
    );
    let mut on_disk: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, names, "a temporary file was left behind");
    for name in &names {
        let text = fs::read_to_string(dir.path().join(name)).unwrap();
        if name == "m07.py" {
            assert_eq!(text, RACY, "the failed write changed {name}");
        } else {
            assert!(text.contains("with _counter_lock:"), "{name} was not fixed");
        }
    }
}

#[cfg(unix)]
#[test]
fn a_fix_run_killed_midway_leaves_every_file_old_or_new() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..400).map(|index| format!("m{index:03}.py")).collect();
    // Large enough that writing them takes a while.
    let padding = "# padding\n".repeat(2_000);
    let original = format!("{RACY}{padding}");
    for name in &names {
        fs::write(dir.path().join(name), &original).unwrap();
    }
    let binary = assert_cmd::cargo::cargo_bin("nogil-lint");
    let mut child = std::process::Command::new(binary)
        .args([
            "check",
            "--isolated",
            "--fix",
            "--unsafe-fixes",
            "--threads",
            "1",
        ])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    child.kill().unwrap();
    child.wait().unwrap();
    let mut fixed = 0;
    for name in &names {
        let text = fs::read_to_string(dir.path().join(name)).unwrap();
        if text != original {
            assert!(
                text.contains("with _counter_lock:\n        counter += 1\n")
                    && text.ends_with(&padding),
                "{name} is neither the old nor the new content"
            );
            fixed += 1;
        }
    }
    // Whatever was killed mid-write is a temporary file, never a Python file.
    for entry in fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            names.contains(&name) || (name.starts_with(".nogil-lint-") && name.ends_with(".tmp")),
            "{name}"
        );
    }
    eprintln!(
        "{fixed} of {} files were fixed before the kill",
        names.len()
    );
}

#[test]
fn legacy_encodings_a_coding_line_declares_are_decoded_and_kept_by_fixes() {
    let dir = tempfile::tempdir().unwrap();
    // "Пр" in koi8-r and in cp1251, then the racy module.
    let koi8 = [
        b"# -*- coding: koi8-r -*-\ns = '\xf0\xd2'\n".as_slice(),
        RACY.as_bytes(),
    ]
    .concat();
    let cp1251 = [
        b"# coding=cp1251\ns = '\xcf\xf0'\n".as_slice(),
        RACY.as_bytes(),
    ]
    .concat();
    fs::write(dir.path().join("koi8.py"), &koi8).unwrap();
    fs::write(dir.path().join("cyrillic.py"), &cp1251).unwrap();
    fs::write(
        dir.path().join("unknown.py"),
        b"# coding: klingon\ns = '\xff'\n",
    )
    .unwrap();
    let output = check_json(&[dir.path()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        findings(&output),
        [
            finding("cyrillic.py", "NG101", 8, 5),
            finding("koi8.py", "NG101", 8, 5),
            finding("unknown.py", "NG001", 1, 1),
        ]
    );
    nogil_lint()
        .args(["--fix", "--unsafe-fixes", "--select", "NG101"])
        .arg(dir.path())
        .assert()
        .code(0);
    for (name, marker) in [("koi8.py", b"'\xf0\xd2'"), ("cyrillic.py", b"'\xcf\xf0'")] {
        let bytes = fs::read(dir.path().join(name)).unwrap();
        assert!(
            bytes.windows(4).any(|window| window == marker),
            "{name} was re-encoded"
        );
        assert!(String::from_utf8_lossy(&bytes).contains("with _counter_lock:"));
    }
}

#[test]
fn noqa_directives_follow_python_rows_with_every_line_ending() {
    for newline in ["\n", "\r\n", "\r"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.py");
        let text = format!("import threading  # noqa: NG102\n{RACY}").replace('\n', newline);
        fs::write(&path, &text).unwrap();
        // The stale directive on line 1 is NG100 on line 1; the finding is on line 7.
        let output = check_json(&[&path]);
        assert_eq!(
            findings(&output),
            [
                finding("m.py", "NG100", 1, 19),
                finding("m.py", "NG101", 7, 5)
            ],
            "{newline:?}"
        );
        nogil_lint().arg("--add-noqa").arg(&path).assert().code(0);
        let output = check_json(&[&path]);
        assert_eq!(
            findings(&output),
            [finding("m.py", "NG100", 1, 19)],
            "{newline:?}"
        );
        let fixed = fs::read_to_string(&path).unwrap();
        assert!(
            fixed.contains(&format!("counter += 1  # noqa: NG101{newline}")),
            "{newline:?}: {fixed:?}"
        );
    }
}
