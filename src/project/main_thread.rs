//! Main-thread set-up across modules: a function that only main-thread set-up calls, in its
//! module or in others (gunicorn's `Arbiter` calling `systemd.listen_fds()` and
//! `util.daemonize()`), runs on the main thread too. Its library-code findings about
//! process-wide state are the program's set-up, not something its users run on threads.

use crate::diagnostic::Severity;
use crate::registry::Rule;
use crate::report::FileReport;

/// For each function of the flat numbering, whether only main-thread set-up runs it: set-up
/// itself, or called (somewhere in the project) and only by such functions, and reached from
/// no thread. The least fixpoint, so a cycle stays unmarked unless set-up calls into it.
pub(super) fn main_thread_only(
    setup: &[bool],
    callees: &[Vec<usize>],
    reached: &[Option<usize>],
) -> Vec<bool> {
    let mut callers: Vec<Vec<usize>> = vec![Vec::new(); setup.len()];
    for (caller, called) in callees.iter().enumerate() {
        for &callee in called {
            callers[callee].push(caller);
        }
    }
    let mut marked: Vec<bool> = setup
        .iter()
        .zip(reached)
        .map(|(&setup, reached)| setup && reached.is_none())
        .collect();
    let mut changed = true;
    while changed {
        changed = false;
        for node in 0..setup.len() {
            if marked[node] || reached[node].is_some() || callers[node].is_empty() {
                continue;
            }
            if callers[node]
                .iter()
                .all(|&caller| caller != node && marked[caller])
            {
                marked[node] = true;
                changed = true;
            }
        }
    }
    marked
}

/// Drops the library-code findings about process-wide state (NG302's warnings, NG110's
/// public-API errors) whose functions only main-thread set-up runs. `main_thread` answers for
/// the report's own function ids.
pub(super) fn drop_setup_findings(report: &mut FileReport, main_thread: impl Fn(usize) -> bool) {
    report.messages.retain(|message| {
        let diagnostic = &message.diagnostic;
        let library_finding = match diagnostic.rule {
            Rule::ProcessGlobalStateInThread => diagnostic.severity == Severity::Warning,
            Rule::ScopedOverride => diagnostic
                .message
                .ends_with(crate::checkers::PUBLIC_API_NOTE),
            _ => false,
        };
        !(library_finding
            && !diagnostic.functions.is_empty()
            && diagnostic
                .functions
                .iter()
                .all(|&function| main_thread(function)))
    });
}

/// Drops the race findings whose functions only one-time set-up runs, across modules: a helper
/// of another module that only `init()` or `AppConfig.ready()` calls (scout's
/// `ensure_sql_instrumented`) runs once, at start-up, as they do. The inventory (NG105, NG106),
/// the extension and pool rules are not about a race of the function and stay.
pub(super) fn drop_one_time_setup_findings(
    report: &mut FileReport,
    setup_only: impl Fn(usize) -> bool,
) {
    report.messages.retain(|message| {
        let diagnostic = &message.diagnostic;
        // A temporary override of process-wide state (NG110) is seen by the threads an
        // application already runs when it calls set-up, and stays reported.
        let race = !matches!(
            diagnostic.rule,
            Rule::SyntaxError
                | Rule::UnusedNoqa
                | Rule::SharedModuleState
                | Rule::SharedClassState
                | Rule::ProcessPoolConvertible
                | Rule::ScopedOverride
        ) && !diagnostic.rule.code().starts_with("NG2");
        !(race
            && !diagnostic.functions.is_empty()
            && diagnostic
                .functions
                .iter()
                .all(|&function| setup_only(function)))
    });
}
