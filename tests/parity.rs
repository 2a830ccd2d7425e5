//! `nogil-lint parity` on the machines' python3 (a GIL build): every fixed program has parity
//! with the serial run, every scaling row has results, the self-checks hold, errors are clean.

use assert_cmd::Command;
use predicates::prelude::*;

fn parity() -> Command {
    Command::cargo_bin("nogil-lint").unwrap()
}

#[test]
fn parity_on_python3_has_parity_and_results() {
    let output = parity()
        .args([
            "parity",
            "--python",
            "python3",
            "--threads",
            "2",
            "--iterations",
            "2000",
            "--quick",
            "--output-format",
            "json",
        ])
        .timeout(std::time::Duration::from_secs(600))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        report["interpreter"]["version"]
            .as_str()
            .unwrap()
            .starts_with('3')
    );
    let races = report["races"].as_array().unwrap();
    let rules: Vec<&str> = races
        .iter()
        .map(|race| race["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "NG101", "NG102", "NG103", "NG104", "NG107", "NG108", "NG109", "NG110", "NG112",
            "NG301"
        ]
    );
    for race in races {
        assert_eq!(race["parity"], true, "{race}");
        assert_eq!(race["fixed_outcome"], "exact", "{race}");
        assert!(race["fixed_crash"].is_null(), "{race}");
    }
    let rows = report["scaling"].as_array().unwrap();
    assert!(
        rows.len() >= 8,
        "rows for 1 and 2 workers, threads and processes, two workloads"
    );
    for row in rows {
        assert_eq!(row["result"], row["serial_result"], "{row}");
        assert!(row["seconds"].as_f64().unwrap() > 0.0);
        assert!(row["size"].as_u64().unwrap() > 0, "calibrated: {row}");
    }
    for race in races {
        assert!(race["racy_tries"].as_u64().unwrap() >= 1, "{race}");
        // The fixed program runs as many tries as the racy one needed, and at least three.
        assert_eq!(
            race["fixed_tries"].as_u64().unwrap(),
            race["racy_tries"].as_u64().unwrap().max(3),
            "{race}"
        );
    }
}

#[test]
fn text_report_says_plainly_that_the_gil_is_on() {
    parity()
        .args([
            "parity",
            "--python",
            "python3",
            "--only",
            "NG101",
            "--iterations",
            "500",
            "--quick",
        ])
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("races may not show"))
        .stdout(predicate::str::contains("NG101"));
}

#[test]
fn errors_are_clean() {
    parity()
        .args(["parity", "--python", "/nonexistent/python3.14t"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot run /nonexistent/python3.14t",
        ));
    let dir = tempfile::tempdir().unwrap();
    let failing = dir.path().join("python");
    std::fs::write(&failing, "#!/bin/sh\necho broken >&2\nexit 1\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).unwrap();
        parity()
            .args(["parity", "--python"])
            .arg(&failing)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("exited with"));
    }
    parity()
        .args(["parity", "--python", "python3", "--only", "NG999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no workload named"));
    for (flag, value) in [
        ("--budget", "-1"),
        ("--scale-seconds", "NaN"),
        ("--workers", "0"),
    ] {
        let value = format!("{flag}={value}");
        parity()
            .args(["parity", "--python", "python3", &value])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(flag));
    }
}

/// A racy program that kills its interpreter shows the race (a result, exit 0); a fixed program
/// that does lacks parity (exit 1). Neither is an error of the run. The stand-in interpreter
/// runs python3 and kills itself with SIGSEGV for one side's race runs.
#[cfg(unix)]
#[test]
fn a_crashing_program_is_a_result_not_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    for (side, code, verdict) in [
        (
            "racy",
            0,
            "race shown (crashed: signal 11), fix restores parity",
        ),
        ("fixed", 1, "FIXED PROGRAM LACKS PARITY"),
    ] {
        let python = dir.path().join(format!("python-{side}"));
        std::fs::write(
            &python,
            format!(
                "#!/bin/sh\ncase \"$3\" in */{side}) echo 'Fatal Python error: Segmentation fault' >&2; kill -SEGV $$;; esac\nexec python3 \"$@\"\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
        let output = parity()
            .args([
                "parity",
                "--only",
                "NG112",
                "--iterations",
                "200",
                "--quick",
                "--python",
            ])
            .arg(&python)
            .timeout(std::time::Duration::from_secs(300))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("crashed: signal 11 (SIGSEGV)"), "{stdout}");
        assert!(stdout.contains(verdict), "{stdout}");
        assert!(
            stdout.contains("Fatal Python error: Segmentation fault"),
            "{stdout}"
        );
    }
}
