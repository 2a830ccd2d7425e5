//! NG302 process-global-state-in-thread: code run by threads that changes state shared by the
//! whole process (the working directory, the environment, signal handlers, …).
//!
//! The rule's documentation is `rules/NG302.md` (`nogil-lint rule NG302` prints it).

use ruff_text_size::TextRange;

use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::Rule;

use super::Context;

pub fn check(context: &Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    for use_ in &model.process_global_uses {
        let Some(function) = use_.function else {
            continue;
        };
        let Some(entry) = model.reached_from(function) else {
            continue;
        };
        if !model.is_runtime_function(function) {
            continue;
        }
        let code = context.snippet(use_.range);
        diagnostics.push(
            diagnostic(
                &code,
                &use_.name,
                &use_.reason,
                &entry.describe(model),
                use_.range,
            )
            .with_functions(vec![function]),
        );
    }
}

/// The finding, shared with the project phase (which reports uses reached from other modules).
pub fn diagnostic(
    code: &str,
    name: &str,
    reason: &str,
    reached_from: &str,
    range: TextRange,
) -> Diagnostic {
    Diagnostic::new(
        Rule::ProcessGlobalStateInThread,
        format!(
            "`{code}` runs on a thread (reached from {reached_from}) and changes process-wide state: `{name}` {reason}"
        ),
        range,
    )
    .with_severity(Severity::Error)
    .with_label("process-wide")
    .with_help(
        "do this once in the main thread before starting threads, or pass the setting explicitly (`cwd=`, `env=`, a `random.Random` instance)",
    )
}
