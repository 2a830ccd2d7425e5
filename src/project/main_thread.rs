//! Set-up across modules: a function that only set-up calls, in its module or in others, runs
//! as that set-up does. Main-thread set-up (gunicorn's `Arbiter` calling
//! `systemd.listen_fds()` and `util.daemonize()`) runs on the main thread: its library-code
//! findings about process-wide state are the program's set-up, not something its users run on
//! threads. One-time set-up (`init()`, `AppConfig.ready()` calling another module's
//! installers) runs once, at start-up: its races with itself are not races.

use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::Rule;
use crate::report::FileReport;

/// The functions, in the project's flat numbering, that only one kind of set-up runs.
pub(super) struct SetUpOnly {
    marked: Vec<bool>,
    /// Whether some function is marked that its module did not already know as set-up: only
    /// then can the project phase drop anything.
    reaches_other_code: bool,
}

impl SetUpOnly {
    /// `seeds` are the functions each module knows as set-up.
    pub(super) fn new(seeds: &[bool], callees: &[Vec<usize>], reached: &[Option<usize>]) -> Self {
        let marked = main_thread_only(seeds, callees, reached);
        let reaches_other_code = marked
            .iter()
            .zip(seeds)
            .any(|(&marked, &seed)| marked && !seed);
        SetUpOnly {
            marked,
            reaches_other_code,
        }
    }

    /// Drops from a report (whose functions start at `offset` in the flat numbering) the
    /// findings `droppable` accepts whose functions only this set-up runs.
    pub(super) fn drop_findings(
        &self,
        report: &mut FileReport,
        offset: usize,
        droppable: impl Fn(&Diagnostic) -> bool,
    ) {
        if !self.reaches_other_code {
            return;
        }
        report.messages.retain(|message| {
            let diagnostic = &message.diagnostic;
            !(droppable(diagnostic)
                && !diagnostic.functions.is_empty()
                && diagnostic
                    .functions
                    .iter()
                    .all(|&function| self.marked.get(offset + function).copied().unwrap_or(false)))
        });
    }

    /// Drops from a report (whose functions start at `offset`) the findings whose race needs
    /// another function to run ([`Diagnostic::racing_with`]) when only this set-up runs every
    /// one of them: a loop over a registry that other modules fill while they are imported
    /// (`register_public_key_alg(...)` at the top of each algorithm's module) runs after the
    /// registry is complete.
    pub(super) fn drop_races_with_it(&self, report: &mut FileReport, offset: usize) {
        if !self.reaches_other_code {
            return;
        }
        report.messages.retain(|message| {
            let racing_with = &message.diagnostic.racing_with;
            racing_with.is_empty()
                || !racing_with
                    .iter()
                    .all(|&function| self.marked.get(offset + function).copied().unwrap_or(false))
        });
    }

    /// The functions that run only at import: called from some module's top-level code
    /// (`at_import`, tests' module code excluded) and otherwise only by such functions, never
    /// referenced as a value nor called by a test's top-level code (`called_elsewhere`), nor
    /// reached from a thread. A registry that `colors.py` fills with `Colors.register(...)`
    /// at its top level is filled while the package is imported, before its users' threads
    /// call anything.
    pub(super) fn import_time(
        at_import: &[bool],
        called_elsewhere: &[bool],
        callees: &[Vec<usize>],
        reached: &[Option<usize>],
    ) -> Self {
        let marked =
            closed_under_callers(vec![false; at_import.len()], callees, |node, callers| {
                !called_elsewhere[node]
                    && reached[node].is_none()
                    && (at_import[node] || !callers.is_empty())
            });
        let reaches_other_code = marked.contains(&true);
        SetUpOnly {
            marked,
            reaches_other_code,
        }
    }
}

/// For each function of the flat numbering, whether only main-thread set-up runs it: set-up
/// itself, or called (somewhere in the project) and only by such functions, and reached from
/// no thread. The least fixpoint, so a cycle stays unmarked unless set-up calls into it.
fn main_thread_only(
    setup: &[bool],
    callees: &[Vec<usize>],
    reached: &[Option<usize>],
) -> Vec<bool> {
    let marked: Vec<bool> = setup
        .iter()
        .zip(reached)
        .map(|(&setup, reached)| setup && reached.is_none())
        .collect();
    closed_under_callers(marked, callees, |node, callers| {
        reached[node].is_none() && !callers.is_empty()
    })
}

/// The least fixpoint that marks, besides `marked`, each function `may_mark` accepts (given
/// its callers) whose callers are all marked: a cycle stays unmarked unless marked code calls
/// into it.
fn closed_under_callers(
    mut marked: Vec<bool>,
    callees: &[Vec<usize>],
    may_mark: impl Fn(usize, &[usize]) -> bool,
) -> Vec<bool> {
    let mut callers: Vec<Vec<usize>> = vec![Vec::new(); marked.len()];
    for (caller, called) in callees.iter().enumerate() {
        for &callee in called {
            callers[callee].push(caller);
        }
    }
    let mut changed = true;
    while changed {
        changed = false;
        for node in 0..marked.len() {
            if marked[node] || !may_mark(node, &callers[node]) {
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

/// The library-code findings about process-wide state (NG302's warnings, NG110's public-API
/// errors), which main-thread set-up makes the program's own.
pub(super) fn is_library_process_finding(diagnostic: &Diagnostic) -> bool {
    match diagnostic.rule {
        Rule::ProcessGlobalStateInThread => diagnostic.severity == Severity::Warning,
        Rule::ScopedOverride => diagnostic
            .message
            .ends_with(crate::checkers::PUBLIC_API_NOTE),
        _ => false,
    }
}

/// The findings of a race of the function itself, which one-time set-up does not have. The
/// inventory (NG105, NG106), the extension and pool rules are not about such a race, and a
/// temporary override of process-wide state (NG110) is seen by the threads an application
/// already runs when it calls set-up: these stay.
pub(super) fn is_race_of_its_own(diagnostic: &Diagnostic) -> bool {
    !matches!(
        diagnostic.rule,
        Rule::SyntaxError
            | Rule::UnusedNoqa
            | Rule::SharedModuleState
            | Rule::SharedClassState
            | Rule::ProcessPoolConvertible
            | Rule::ScopedOverride
    ) && !diagnostic.rule.code().starts_with("NG2")
}

/// The findings that code running only at import does not have: as in its own module
/// ([`crate::semantic::Execution::ImportTime`]), no race and no change of process-wide state
/// that threads could see (the extension and pool rules are about imports and pools, not
/// about when code runs).
pub(super) fn is_runtime_finding(diagnostic: &Diagnostic) -> bool {
    !matches!(
        diagnostic.rule,
        Rule::SyntaxError | Rule::UnusedNoqa | Rule::ProcessPoolConvertible
    ) && !diagnostic.rule.code().starts_with("NG2")
}
