//! What a parity run found, and the human table of it.

use serde::{Deserialize, Serialize};

/// What the interpreter says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InterpreterInfo {
    pub path: String,
    pub version: String,
    /// `sys._is_gil_enabled()`; `None` before 3.13, where it does not exist.
    pub gil_enabled: Option<bool>,
    pub cpus: Option<usize>,
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
    /// One threaded run: the last try of each program.
    pub racy_seconds: f64,
    pub fixed_seconds: f64,
    /// Threaded tries of the racy program: until its race showed, or its time budget was spent.
    pub racy_tries: u64,
    /// The wall time of those tries.
    pub racy_total_seconds: f64,
    /// Threaded tries of the fixed program: as many as the racy program needed (the whole
    /// budget when the racy program crashed), each compared with the serial run.
    pub fixed_tries: u64,
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
    /// The workload's size, calibrated so that the serial run takes about the target CPU time.
    #[serde(default)]
    pub size: u64,
    /// Peak resident memory in KiB (Linux): of the serial run's process, and of this row (the
    /// process that ran the thread pool; for a process pool, the parent's plus every worker's).
    #[serde(default)]
    pub serial_peak_rss_kib: Option<u64>,
    #[serde(default)]
    pub peak_rss_kib: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParityReport {
    pub interpreter: InterpreterInfo,
    pub threads: usize,
    pub iterations: usize,
    /// The time budget of each race workload's racy program, in seconds.
    pub budget_seconds: f64,
    /// The CPU time each scaling workload's serial run is sized to, in seconds.
    pub scale_seconds: f64,
    pub races: Vec<RaceResult>,
    pub scaling: Vec<ScalingRow>,
}

/// "lost 2,104,331 of 4,000,000 updates" / "12 extra objects built" / "exact"; with a
/// `shortfall` phrase, "12 of 2,500 scans raised RuntimeError".
pub(super) fn describe(
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

/// "race shown on try 3 (0.41 s)", "no race in 3.0 s (57 tries)": how hard the racy program
/// was run.
fn effort(race: &RaceResult) -> String {
    let tries = |count: u64| {
        if count == 1 {
            "1 try".to_string()
        } else {
            format!("{} tries", group(count as i64))
        }
    };
    if race.racy_crash.is_some() {
        return String::new();
    }
    if race.racy_outcome == "exact" {
        format!(
            "no race in {:.1} s ({})",
            race.racy_total_seconds,
            tries(race.racy_tries)
        )
    } else {
        format!(
            "shown on try {} ({:.2} s); fixed: {} exact",
            group(race.racy_tries as i64),
            race.racy_total_seconds,
            tries(race.fixed_tries)
        )
    }
}

fn mebibytes(kib: Option<u64>) -> String {
    kib.map_or("n/a".to_string(), |kib| {
        format!("{:.0}", kib as f64 / 1024.0)
    })
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
        "interpreter: {} (Python {}, {gil}), {} CPUs; {} threads x {} iterations, up to {:.1} s per race",
        interpreter.path,
        interpreter.version,
        interpreter.cpus.map_or("?".to_string(), |c| c.to_string()),
        report.threads,
        group(report.iterations as i64),
        report.budget_seconds,
    );
    let has_gil = interpreter.gil_enabled != Some(false);
    if has_gil {
        let _ = writeln!(
            out,
            "note: this interpreter has a GIL: races may not show, and threads do not speed up CPU-bound work (the scaling table shows it). Run with python3.14t to see the real behaviour."
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
            } else {
                let effort = effort(race);
                if !effort.is_empty() {
                    let _ = writeln!(out, "       {effort}");
                }
            }
        }
    }
    if !report.scaling.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<11} {:<10} {:>7} {:>9} {:>8} {:>10} {:>9}  parity",
            "workload", "executor", "workers", "seconds", "speedup", "efficiency", "peak MiB"
        );
        let mut last_workload = "";
        for row in &report.scaling {
            if row.workload != last_workload {
                last_workload = &row.workload;
                let _ = writeln!(
                    out,
                    "{:<11} {:<10} {:>7} {:>9.3} {:>7.2}x {:>9.0}% {:>9}  size {}",
                    row.workload,
                    "serial",
                    1,
                    row.serial_seconds,
                    1.0,
                    100.0,
                    mebibytes(row.serial_peak_rss_kib),
                    group(row.size as i64)
                );
            }
            let speedup = if row.seconds > 0.0 {
                row.serial_seconds / row.seconds
            } else {
                0.0
            };
            let efficiency = speedup / row.workers as f64;
            let _ = writeln!(
                out,
                "{:<11} {:<10} {:>7} {:>9.3} {:>7.2}x {:>9.0}% {:>9}  {}",
                row.workload,
                row.executor,
                row.workers,
                row.seconds,
                speedup,
                efficiency * 100.0,
                mebibytes(row.peak_rss_kib),
                if row.result == row.serial_result {
                    "exact"
                } else {
                    "MISMATCH"
                }
            );
        }
        if has_gil
            && let Some(row) = report
                .scaling
                .iter()
                .filter(|row| row.executor == "threads" && row.workers > 1)
                .max_by_key(|row| row.workers)
        {
            let _ = writeln!(
                out,
                "note: {} threads ran {} at {:.2}x serial: with the GIL one thread runs Python code at a time.",
                row.workers,
                row.workload,
                row.serial_seconds / row.seconds.max(f64::MIN_POSITIVE)
            );
        }
        let _ = writeln!(
            out,
            "peak MiB: the row's peak resident memory; for processes, the parent's plus every worker's (pages shared between them count once per process)."
        );
    }
    out
}
