//! `nogil-lint parity`: runs each racy pattern the linter flags, and the program its fix
//! produces, on the user's interpreter, serially and on threads, and compares the outcomes.
//! Then times CPU-bound work serially, on a thread pool and on a process pool (the evidence
//! behind NG301).
//!
//! The workloads live in `fixtures/parity/` and are compiled into the binary. Each one is
//! first linted (it must be reported with its rule: a self-check), then fixed with the same
//! pipeline as `check --fix --unsafe-fixes` (or, for a rule whose fix is advice, replaced by
//! the fixed program written beside it, which the rule must not report), then both programs
//! run under an embedded harness.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::diagnostic::FixApplicability;
use crate::registry::{Rule, RuleSet};
use crate::settings::{FixMode, Settings};

const HARNESS: &str = include_str!("harness.py");

/// A racy program, the rule that must flag it, and how to read its outcome.
struct Workload {
    name: &'static str,
    rule: Rule,
    source: &'static str,
    /// The fixed program, for a rule that offers advice instead of a fix (NG110: the setting
    /// in a `ContextVar`); `None` when the rule's own fix makes it.
    fixed: Option<&'static str>,
    /// What the outcome counts, for the report.
    unit: &'static str,
    /// How a shortfall reads when it is not a loss of `unit` ("scans raised RuntimeError":
    /// "12 of 2,500 scans raised RuntimeError").
    shortfall: Option<&'static str>,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "ng101",
        rule: Rule::UnlockedGlobalRmw,
        source: include_str!("../../fixtures/parity/ng101.py"),
        fixed: None,
        unit: "updates",
        shortfall: None,
    },
    Workload {
        name: "ng102",
        rule: Rule::UnlockedContainerRmw,
        source: include_str!("../../fixtures/parity/ng102.py"),
        fixed: None,
        unit: "updates",
        shortfall: None,
    },
    Workload {
        name: "ng103",
        rule: Rule::CheckThenAct,
        source: include_str!("../../fixtures/parity/ng103.py"),
        fixed: None,
        unit: "objects built",
        shortfall: None,
    },
    Workload {
        name: "ng104",
        rule: Rule::RacyLazyInit,
        source: include_str!("../../fixtures/parity/ng104.py"),
        fixed: None,
        unit: "initialisations",
        shortfall: None,
    },
    Workload {
        name: "ng107",
        rule: Rule::InconsistentLocking,
        source: include_str!("../../fixtures/parity/ng107.py"),
        fixed: None,
        unit: "updates",
        shortfall: None,
    },
    Workload {
        name: "ng108",
        rule: Rule::SharedLockDefault,
        source: include_str!("../../fixtures/parity/ng108.py"),
        fixed: None,
        unit: "deposits",
        shortfall: None,
    },
    Workload {
        name: "ng109",
        rule: Rule::IterationDuringMutation,
        source: include_str!("../../fixtures/parity/ng109.py"),
        fixed: None,
        unit: "scans",
        shortfall: Some("scans raised RuntimeError"),
    },
    Workload {
        name: "ng110",
        rule: Rule::ScopedOverride,
        source: include_str!("../../fixtures/parity/ng110.py"),
        fixed: Some(include_str!("../../fixtures/parity/ng110_fixed.py")),
        unit: "correct reads",
        shortfall: None,
    },
    Workload {
        name: "ng112",
        rule: Rule::SharedIterator,
        source: include_str!("../../fixtures/parity/ng112.py"),
        fixed: None,
        unit: "ids",
        shortfall: Some("next() calls raised ValueError"),
    },
    Workload {
        name: "ng301",
        rule: Rule::ProcessPoolConvertible,
        source: include_str!("../../fixtures/parity/ng301.py"),
        fixed: None,
        unit: "primes",
        shortfall: None,
    },
];

/// What the interpreter says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InterpreterInfo {
    pub path: String,
    pub version: String,
    /// `sys._is_gil_enabled()`; `None` before 3.13, where it does not exist.
    pub gil_enabled: Option<bool>,
    pub cpus: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
struct RaceRun {
    serial: serde_json::Value,
    threaded: serde_json::Value,
    serial_seconds: f64,
    threaded_seconds: f64,
}

/// A program that killed its interpreter: the signal (on Unix), and whether CPython printed a
/// "Fatal Python error" first.
#[derive(Debug, Clone, Serialize)]
pub struct Crash {
    pub signal: Option<i32>,
    pub fatal_error: bool,
    /// The "Fatal Python error: …" line, when there is one.
    pub message: Option<String>,
}

impl Crash {
    /// "crashed: signal 11 (SIGSEGV)", "crashed: Fatal Python error".
    pub fn describe(&self) -> String {
        match self.signal {
            Some(signal) => match signal_name(signal) {
                Some(name) => format!("crashed: signal {signal} ({name})"),
                None => format!("crashed: signal {signal}"),
            },
            None => "crashed: Fatal Python error".to_string(),
        }
    }

    /// "crashed: signal 11", for the verdict.
    pub fn short(&self) -> String {
        match self.signal {
            Some(signal) => format!("crashed: signal {signal}"),
            None => "crashed: Fatal Python error".to_string(),
        }
    }
}

fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// One workload's result.
#[derive(Debug, Clone, Serialize)]
pub struct RaceResult {
    pub workload: String,
    pub rule: String,
    pub expected: serde_json::Value,
    pub racy: serde_json::Value,
    pub fixed: serde_json::Value,
    pub racy_outcome: String,
    pub fixed_outcome: String,
    /// The serial run of the racy program.
    pub serial_seconds: f64,
    pub racy_seconds: f64,
    pub fixed_seconds: f64,
    /// The fixed program matches the serial run.
    pub parity: bool,
    /// The racy program killed its interpreter: the race shown at its worst.
    pub racy_crash: Option<Crash>,
    /// The fixed program killed its interpreter (it then lacks parity).
    pub fixed_crash: Option<Crash>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScalingRow {
    pub workload: String,
    pub executor: String,
    pub workers: usize,
    pub result: serde_json::Value,
    pub serial_result: serde_json::Value,
    pub serial_seconds: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParityReport {
    pub interpreter: InterpreterInfo,
    pub threads: usize,
    pub iterations: usize,
    pub races: Vec<RaceResult>,
    pub scaling: Vec<ScalingRow>,
}

/// The interpreter: `--python`, else the first of `python3.14t`, `python3.13t`, `python3` on
/// `PATH`.
pub fn find_interpreter(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["python3.14t", "python3.13t", "python3"] {
        for directory in std::env::split_paths(&path) {
            let candidate = directory.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err("no Python interpreter found: install python3.14t (or pass --python PATH)".to_string())
}

fn run(python: &Path, args: &[&str], timeout: Duration) -> Result<String, String> {
    let mut command = Command::new(python);
    command.args(args);
    let (ok, stdout, stderr) =
        crate::environment::run_with_timeout(command, timeout).map_err(|error| {
            if error.starts_with("timed out") {
                format!("a workload ran past its timeout of {} s", timeout.as_secs())
            } else {
                format!("cannot run {}: {error}", python.display())
            }
        })?;
    if !ok {
        let last = stderr.lines().last().unwrap_or("no error output");
        return Err(format!("{} exited with an error: {last}", python.display()));
    }
    Ok(stdout)
}

/// What running one program of a race workload gave: its output, or the crash that killed it.
enum Ran {
    Finished(RaceRun),
    Crashed(Crash),
}

/// Runs one program of a race workload. An interpreter killed by a signal, or that printed
/// "Fatal Python error", crashed: a result (the race at its worst), not an error of the run.
fn run_workload(
    python: &Path,
    args: &[&str],
    timeout: Duration,
    name: &str,
) -> Result<Ran, String> {
    let mut command = Command::new(python);
    command.args(args);
    let (status, stdout, stderr) = crate::environment::run_with_timeout_status(command, timeout)
        .map_err(|error| {
            if error.starts_with("timed out") {
                format!("a workload ran past its timeout of {} s", timeout.as_secs())
            } else {
                format!("cannot run {}: {error}", python.display())
            }
        })?;
    let message = stderr
        .lines()
        .find(|line| line.starts_with("Fatal Python error"))
        .map(|line| line.trim().to_string());
    let signal = exit_signal(&status);
    if signal.is_some() || message.is_some() {
        return Ok(Ran::Crashed(Crash {
            signal,
            fatal_error: message.is_some(),
            message,
        }));
    }
    if !status.success() {
        let last = stderr.lines().last().unwrap_or("no error output");
        return Err(format!("{} exited with an error: {last}", python.display()));
    }
    let parsed: RaceRun = serde_json::from_str(stdout.trim())
        .map_err(|error| format!("the {name} workload printed something unexpected: {error}"))?;
    Ok(Ran::Finished(parsed))
}

#[cfg(unix)]
fn exit_signal(status: &std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn exit_signal(_status: &std::process::ExitStatus) -> Option<i32> {
    None
}

/// "lost 2,104,331 of 4,000,000 updates" / "12 extra objects built" / "exact"; with a
/// `shortfall` phrase, "12 of 2,500 scans raised RuntimeError".
fn describe(
    expected: &serde_json::Value,
    actual: &serde_json::Value,
    unit: &str,
    shortfall: Option<&str>,
) -> String {
    if expected == actual {
        return "exact".to_string();
    }
    match (expected.as_i64(), actual.as_i64()) {
        (Some(expected), Some(actual)) if actual < expected => match shortfall {
            Some(phrase) => format!(
                "{} of {} {phrase}",
                group(expected - actual),
                group(expected)
            ),
            None => format!(
                "lost {} of {} {unit}",
                group(expected - actual),
                group(expected)
            ),
        },
        (Some(expected), Some(actual)) => {
            format!(
                "{} extra {unit} ({} instead of {})",
                group(actual - expected),
                group(actual),
                group(expected)
            )
        }
        _ => format!("{actual} instead of {expected}"),
    }
}

fn group(value: i64) -> String {
    let digits = value.abs().to_string();
    let mut out = String::new();
    for (index, c) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 { format!("-{out}") } else { out }
}

/// Options of a parity run.
pub struct ParityOptions {
    pub python: Option<PathBuf>,
    pub threads: usize,
    pub iterations: usize,
    pub only: Option<String>,
    pub scaling: bool,
}

/// Lints a workload (self-check) and makes its fixed program with the fix pipeline.
fn prepare(workload: &Workload, directory: &Path) -> Result<(PathBuf, PathBuf), String> {
    let racy_dir = directory.join("racy");
    let fixed_dir = directory.join("fixed");
    std::fs::create_dir_all(&racy_dir).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&fixed_dir).map_err(|e| e.to_string())?;
    let racy = racy_dir.join(format!("{}.py", workload.name));
    let fixed = fixed_dir.join(format!("{}.py", workload.name));
    std::fs::write(&racy, workload.source).map_err(|e| e.to_string())?;
    std::fs::write(&fixed, workload.source).map_err(|e| e.to_string())?;
    let settings = Settings {
        rules: RuleSet::all(),
        collect_facts: true,
        ..Settings::default()
    };
    let (reports, _) = crate::pipeline::run(
        std::slice::from_ref(&racy),
        None,
        &settings,
        FixMode::Report,
    );
    let flagged = reports
        .iter()
        .flat_map(|report| &report.messages)
        .any(|message| message.diagnostic.rule == workload.rule);
    if !flagged {
        return Err(format!(
            "self-check failed: nogil-lint does not report {} on the {} workload",
            workload.rule.code(),
            workload.name
        ));
    }
    if let Some(fixed_source) = workload.fixed {
        // Advice, not a fix: the program written by hand must no longer be reported.
        std::fs::write(&fixed, fixed_source).map_err(|e| e.to_string())?;
        let (reports, _) = crate::pipeline::run(
            std::slice::from_ref(&fixed),
            None,
            &settings,
            FixMode::Report,
        );
        let still_flagged = reports
            .iter()
            .flat_map(|report| &report.messages)
            .any(|message| message.diagnostic.rule == workload.rule);
        if still_flagged {
            return Err(format!(
                "self-check failed: nogil-lint still reports {} on the fixed {} workload",
                workload.rule.code(),
                workload.name
            ));
        }
        return Ok((racy_dir, fixed_dir));
    }
    let (reports, _) = crate::pipeline::run(
        std::slice::from_ref(&fixed),
        None,
        &settings,
        FixMode::Apply(FixApplicability::Unsafe),
    );
    let fixed_rule = reports
        .iter()
        .flat_map(|report| &report.fixed)
        .any(|(rule, _)| *rule == workload.rule);
    if !fixed_rule {
        return Err(format!(
            "self-check failed: the fix for {} did not apply to the {} workload",
            workload.rule.code(),
            workload.name
        ));
    }
    Ok((racy_dir, fixed_dir))
}

/// Compares the racy and the fixed program's runs with the serial run. A racy program that
/// crashed shows the race; a fixed program that crashed lacks parity.
fn compare(workload: &Workload, racy: Ran, fixed: Ran) -> RaceResult {
    let outcome = |ran: &Ran| match ran {
        Ran::Finished(run) => describe(
            &run.serial,
            &run.threaded,
            workload.unit,
            workload.shortfall,
        ),
        Ran::Crashed(crash) => crash.describe(),
    };
    let (racy_outcome, fixed_outcome) = (outcome(&racy), outcome(&fixed));
    let finished = |ran: &Ran| match ran {
        Ran::Finished(run) => Some(run.clone()),
        Ran::Crashed(_) => None,
    };
    let crash = |ran: Ran| match ran {
        Ran::Finished(_) => None,
        Ran::Crashed(crash) => Some(crash),
    };
    let (racy_run, fixed_run) = (finished(&racy), finished(&fixed));
    let parity = match (&racy_run, &fixed_run) {
        (_, None) => false,
        (Some(racy), Some(fixed)) => fixed.serial == fixed.threaded && fixed.serial == racy.serial,
        (None, Some(fixed)) => fixed.serial == fixed.threaded,
    };
    let value = |run: &Option<RaceRun>, pick: fn(&RaceRun) -> &serde_json::Value| {
        run.as_ref()
            .map_or(serde_json::Value::Null, |run| pick(run).clone())
    };
    let seconds = |run: &Option<RaceRun>, pick: fn(&RaceRun) -> f64| run.as_ref().map_or(0.0, pick);
    RaceResult {
        workload: workload.name.to_string(),
        rule: workload.rule.code().to_string(),
        expected: match &racy_run {
            Some(run) => run.serial.clone(),
            None => value(&fixed_run, |run| &run.serial),
        },
        racy: value(&racy_run, |run| &run.threaded),
        fixed: value(&fixed_run, |run| &run.threaded),
        racy_outcome,
        fixed_outcome,
        serial_seconds: seconds(&racy_run, |run| run.serial_seconds),
        racy_seconds: seconds(&racy_run, |run| run.threaded_seconds),
        fixed_seconds: seconds(&fixed_run, |run| run.threaded_seconds),
        parity,
        racy_crash: crash(racy),
        fixed_crash: crash(fixed),
    }
}

/// Runs the parity workloads. `Err` is an error (exit 2); a report whose fixed programs lack
/// parity is exit 1.
pub fn run_parity(options: &ParityOptions) -> Result<ParityReport, String> {
    let python = find_interpreter(options.python.as_deref())?;
    let directory = tempfile::tempdir().map_err(|e| e.to_string())?;
    let harness = directory.path().join("nogil_lint_harness.py");
    std::fs::write(&harness, HARNESS).map_err(|e| e.to_string())?;
    let harness_arg = harness.to_string_lossy().into_owned();
    let timeout = Duration::from_secs(300);

    #[derive(Deserialize)]
    struct Probe {
        version: String,
        gil_enabled: Option<bool>,
        cpus: Option<usize>,
    }
    let probe: Probe = serde_json::from_str(
        run(&python, &[&harness_arg, "probe"], timeout)?.trim(),
    )
    .map_err(|error| format!("{} printed something unexpected: {error}", python.display()))?;
    let interpreter = InterpreterInfo {
        path: python.display().to_string(),
        version: probe.version,
        gil_enabled: probe.gil_enabled,
        cpus: probe.cpus,
    };

    let workloads: Vec<&Workload> = WORKLOADS
        .iter()
        .filter(|workload| {
            options.only.as_deref().is_none_or(|only| {
                workload.name.eq_ignore_ascii_case(only)
                    || workload.rule.code().eq_ignore_ascii_case(only)
            })
        })
        .collect();
    if workloads.is_empty()
        && options
            .only
            .as_deref()
            .is_some_and(|only| only != "scaling")
    {
        let names: Vec<&str> = WORKLOADS.iter().map(|w| w.rule.code()).collect();
        return Err(format!(
            "no workload named `{}`; the workloads are {} and `scaling`",
            options.only.as_deref().unwrap_or(""),
            names.join(", ")
        ));
    }
    let threads = options.threads.to_string();
    let iterations = options.iterations.to_string();
    let mut races = Vec::new();
    for workload in workloads {
        let (racy_dir, fixed_dir) = prepare(workload, directory.path())?;
        let mut runs = Vec::new();
        for dir in [&racy_dir, &fixed_dir] {
            runs.push(run_workload(
                &python,
                &[
                    &harness_arg,
                    "race",
                    &dir.to_string_lossy(),
                    workload.name,
                    &threads,
                    &iterations,
                ],
                timeout,
                workload.name,
            )?);
        }
        let fixed = runs.pop().expect("two runs");
        let racy = runs.pop().expect("two runs");
        races.push(compare(workload, racy, fixed));
    }
    let mut scaling = Vec::new();
    if options.scaling && options.only.as_deref().is_none_or(|only| only == "scaling") {
        #[derive(Deserialize)]
        struct Scale {
            rows: Vec<ScalingRow>,
        }
        let output = run(
            &python,
            &[&harness_arg, "scale", &threads, &iterations],
            timeout,
        )?;
        let parsed: Scale = serde_json::from_str(output.trim()).map_err(|error| {
            format!("the scaling workload printed something unexpected: {error}")
        })?;
        scaling = parsed.rows;
    }
    Ok(ParityReport {
        interpreter,
        threads: options.threads,
        iterations: options.iterations,
        races,
        scaling,
    })
}

/// Whether every fixed program and every scaling row has parity with the serial run.
pub fn all_parity(report: &ParityReport) -> bool {
    report.races.iter().all(|race| race.parity)
        && report
            .scaling
            .iter()
            .all(|row| row.result == row.serial_result)
}

/// The human report.
pub fn render_text(report: &ParityReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let interpreter = &report.interpreter;
    let gil = match interpreter.gil_enabled {
        Some(true) => "GIL enabled",
        Some(false) => "GIL disabled (free-threaded)",
        None => "GIL (sys._is_gil_enabled absent: Python < 3.13)",
    };
    let _ = writeln!(
        out,
        "interpreter: {} (Python {}, {gil}), {} CPUs; {} threads x {} iterations",
        interpreter.path,
        interpreter.version,
        interpreter.cpus.map_or("?".to_string(), |c| c.to_string()),
        report.threads,
        group(report.iterations as i64)
    );
    if interpreter.gil_enabled != Some(false) {
        let _ = writeln!(
            out,
            "note: this interpreter has a GIL: races may not show, and threads will not speed up CPU-bound work. Run with python3.14t to see the real behaviour."
        );
    }
    if !report.races.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<6} {:<52} {:<26} verdict",
            "rule", "racy program (threads)", "fixed program (threads)"
        );
        for race in &report.races {
            let crashed = race
                .racy_crash
                .as_ref()
                .map(|crash| format!("race shown ({}), fix restores parity", crash.short()));
            let verdict = match (race.parity, race.racy_outcome == "exact") {
                (true, _) if crashed.is_some() => crashed.as_deref().unwrap_or_default(),
                (true, false) => "race shown, fix restores parity",
                (true, true) if race.rule == "NG108" => "parity; see the times for contention",
                (true, true) if race.rule == "NG301" => "same results on threads",
                (true, true) => "no race seen this run; fix has parity",
                (false, _) => "FIXED PROGRAM LACKS PARITY",
            };
            let _ = writeln!(
                out,
                "{:<6} {:<52} {:<26} {verdict}",
                race.rule, race.racy_outcome, race.fixed_outcome
            );
            for crash in [&race.racy_crash, &race.fixed_crash].into_iter().flatten() {
                if let Some(message) = &crash.message {
                    let _ = writeln!(out, "       {message}");
                }
            }
            if race.rule == "NG108" || race.rule == "NG301" {
                let _ = writeln!(
                    out,
                    "       time: racy {:.3} s, fixed {:.3} s",
                    race.racy_seconds, race.fixed_seconds
                );
            }
        }
    }
    if !report.scaling.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<11} {:<10} {:>7} {:>9} {:>8} {:>10}  parity",
            "workload", "executor", "workers", "seconds", "speedup", "efficiency"
        );
        for row in &report.scaling {
            let speedup = if row.seconds > 0.0 {
                row.serial_seconds / row.seconds
            } else {
                0.0
            };
            let efficiency = speedup / row.workers as f64;
            let _ = writeln!(
                out,
                "{:<11} {:<10} {:>7} {:>9.3} {:>7.2}x {:>9.0}%  {}",
                row.workload,
                row.executor,
                row.workers,
                row.seconds,
                speedup,
                efficiency * 100.0,
                if row.result == row.serial_result {
                    "exact"
                } else {
                    "MISMATCH"
                }
            );
        }
    }
    out
}
