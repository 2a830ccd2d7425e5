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

use serde::Deserialize;

use crate::diagnostic::FixApplicability;
use crate::registry::{Rule, RuleSet};
use crate::settings::{FixMode, Settings};

mod report;

use report::describe;
pub use report::{Crash, InterpreterInfo, ParityReport, RaceResult, ScalingRow, render_text};

const HARNESS: &str = include_str!("harness.py");

/// The fewest tries of a fixed program: a race often shows on the racy program's first try,
/// and one exact try of the fixed program is thin evidence.
const MIN_FIXED_TRIES: u64 = 3;

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
    /// Whether the racy program can lose data: then it runs until its race shows or the time
    /// budget is spent. NG108 (contention) and NG301 (a process pool) run once.
    races: bool,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "ng101",
        rule: Rule::UnlockedGlobalRmw,
        source: include_str!("../../fixtures/parity/ng101.py"),
        fixed: None,
        unit: "updates",
        shortfall: None,
        races: true,
    },
    Workload {
        name: "ng102",
        rule: Rule::UnlockedContainerRmw,
        source: include_str!("../../fixtures/parity/ng102.py"),
        fixed: None,
        unit: "updates",
        shortfall: None,
        races: true,
    },
    Workload {
        name: "ng103",
        rule: Rule::CheckThenAct,
        source: include_str!("../../fixtures/parity/ng103.py"),
        fixed: None,
        unit: "objects built",
        shortfall: None,
        races: true,
    },
    Workload {
        name: "ng104",
        rule: Rule::RacyLazyInit,
        source: include_str!("../../fixtures/parity/ng104.py"),
        fixed: None,
        unit: "initialisations",
        shortfall: None,
        races: true,
    },
    Workload {
        name: "ng107",
        rule: Rule::InconsistentLocking,
        source: include_str!("../../fixtures/parity/ng107.py"),
        fixed: None,
        unit: "updates",
        shortfall: None,
        races: true,
    },
    Workload {
        name: "ng108",
        rule: Rule::SharedLockDefault,
        source: include_str!("../../fixtures/parity/ng108.py"),
        fixed: None,
        unit: "deposits",
        shortfall: None,
        races: false,
    },
    Workload {
        name: "ng109",
        rule: Rule::IterationDuringMutation,
        source: include_str!("../../fixtures/parity/ng109.py"),
        fixed: None,
        unit: "scans",
        shortfall: Some("scans raised RuntimeError"),
        races: true,
    },
    Workload {
        name: "ng110",
        rule: Rule::ScopedOverride,
        source: include_str!("../../fixtures/parity/ng110.py"),
        fixed: Some(include_str!("../../fixtures/parity/ng110_fixed.py")),
        unit: "correct reads",
        shortfall: None,
        races: true,
    },
    Workload {
        name: "ng112",
        rule: Rule::SharedIterator,
        source: include_str!("../../fixtures/parity/ng112.py"),
        fixed: None,
        unit: "ids",
        shortfall: Some("next() calls raised ValueError"),
        races: true,
    },
    Workload {
        name: "ng301",
        rule: Rule::ProcessPoolConvertible,
        source: include_str!("../../fixtures/parity/ng301.py"),
        fixed: None,
        unit: "primes",
        shortfall: None,
        races: false,
    },
];

#[derive(Debug, Clone, Deserialize)]
struct RaceRun {
    serial: serde_json::Value,
    threaded: serde_json::Value,
    serial_seconds: f64,
    threaded_seconds: f64,
    /// Threaded tries run, and their wall time.
    tries: u64,
    seconds: f64,
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

/// Options of a parity run.
pub struct ParityOptions {
    pub python: Option<PathBuf>,
    /// Threads of each race workload.
    pub threads: usize,
    /// Iterations per thread of one try of a race workload.
    pub iterations: usize,
    /// How long a racy program may run tries before "no race seen".
    pub budget: Duration,
    /// The most pool workers of the scaling table (1, 2, 4, … up to it).
    pub workers: usize,
    /// The CPU time, in seconds, each scaling workload's serial run is sized to.
    pub scale_seconds: f64,
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
    // Flagged (and fixed) at any severity: NG107 rates an unlocked write that no thread in
    // the file reaches as information, and the harness's threads are not in the file.
    let every_severity = Settings {
        min_severity: crate::diagnostic::Severity::Info,
        ..settings.clone()
    };
    let (reports, _) = crate::pipeline::run(
        std::slice::from_ref(&racy),
        None,
        &every_severity,
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
        &every_severity,
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
        racy_tries: racy_run.as_ref().map_or(0, |run| run.tries),
        racy_total_seconds: seconds(&racy_run, |run| run.seconds),
        fixed_tries: fixed_run.as_ref().map_or(0, |run| run.tries),
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
    let budget = format!("{:.3}", options.budget.as_secs_f64());
    // Past the budget a program still finishes its try; a try that takes minutes is stuck.
    let timeout = timeout + options.budget;
    let mut races = Vec::new();
    for workload in workloads {
        let (racy_dir, fixed_dir) = prepare(workload, directory.path())?;
        let run_side = |dir: &Path, max_tries: u64| {
            run_workload(
                &python,
                &[
                    &harness_arg,
                    "race",
                    &dir.to_string_lossy(),
                    workload.name,
                    &threads,
                    &iterations,
                    &budget,
                    &max_tries.to_string(),
                ],
                timeout,
                workload.name,
            )
        };
        // The racy program runs until its race shows or the budget is spent (0: no limit of
        // tries); the fixed one as many tries as the racy one needed (at least a few), so that
        // "exact" is measured as hard as the race was. A racy program that crashed gives no count: the
        // fixed one then runs the whole budget.
        let racy = run_side(&racy_dir, if workload.races { 0 } else { 1 })?;
        let fixed_tries = match &racy {
            Ran::Finished(run) => run.tries.max(MIN_FIXED_TRIES),
            Ran::Crashed(_) => 0,
        };
        let fixed = run_side(&fixed_dir, fixed_tries)?;
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
            &[
                &harness_arg,
                "scale",
                &options.workers.to_string(),
                &format!("{:.3}", options.scale_seconds),
            ],
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
        budget_seconds: options.budget.as_secs_f64(),
        scale_seconds: options.scale_seconds,
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
