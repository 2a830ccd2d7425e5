//! NG302 process-global-state-in-thread: code that changes state shared by the whole process
//! (the working directory, the environment, signal handlers, …) where threads run it (an error)
//! or where a library exposes it to its users' threads (a warning).
//!
//! The rule's documentation is `rules/NG302.md` (`nogil-lint rule NG302` prints it).

use ruff_text_size::TextRange;

use crate::diagnostic::{Diagnostic, Harm, Severity};
use crate::registry::Rule;
use crate::semantic::Execution;

use super::Context;

pub fn check(context: &Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    // A change that a scoped override undoes again is NG110's finding.
    let scoped_by_ng110 = context.rules.contains(Rule::ScopedOverride);
    for use_ in &model.process_global_uses {
        let Some(function) = use_.function else {
            continue;
        };
        if (use_.scoped && scoped_by_ng110)
            || !model.is_runtime_function(function)
            || model.in_fork_child(use_.range)
        {
            continue;
        }
        let code = context.snippet(use_.range);
        let found = match model.execution(function) {
            Execution::Thread(_) => model.reached_from(function).map(|entry| {
                diagnostic(
                    &code,
                    &use_.name,
                    &use_.reason,
                    &entry.describe(model),
                    use_.range,
                )
            }),
            // A library's public function: its users may call it from their threads. A
            // program's own command line (`main`, `__main__.py`, `cli.py`) has no such users,
            // and an API Python allows only in the main thread (`signal.signal`) already
            // fails on any other thread, GIL or not: free threading changes nothing there,
            // nor for what else a function that installs signal handlers changes (a worker's
            // start-up that sets the environment and its handlers).
            Execution::LibraryApi
                if !model.is_command_line(function)
                    && !model.is_main_thread_setup(function)
                    && !crate::data::is_main_thread_only(&use_.name) =>
            {
                let mut found = library_diagnostic(&code, &use_.name, &use_.reason, use_.range);
                // A module's set-up step (`setup_distributed_env`, `configure_from_env`,
                // `prepare`) changes the process's settings as configuration, once, before the
                // work starts: what the advice asks for. It stays in the inventory as
                // information. Not a method: one named `configure` is an object's API, which
                // its users may call whenever they like.
                let definition = model.function(function);
                let name = definition.name;
                let module_function = definition.class.is_none() && definition.parent.is_none();
                if module_function && names_setup_step(name) {
                    found.severity = Severity::Info;
                    found.message.push_str(&format!(
                        " (`{name}` is named as a set-up step, which runs once before the work starts)"
                    ));
                }
                Some(found)
            }
            _ => None,
        };
        if let Some(found) = found {
            diagnostics.push(found.with_functions(vec![function]));
        }
    }
}

/// The finding for code a thread runs, shared with the project phase (which reports uses
/// reached from other modules).
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
    .with_harm(Harm::Hazard)
    .with_label("process-wide")
    .with_help(crate::data::process_global_advice(name).unwrap_or(HELP))
}

/// The finding for a library's public function that no thread in view runs: a warning, as
/// whether its callers use threads is not known.
fn library_diagnostic(code: &str, name: &str, reason: &str, range: TextRange) -> Diagnostic {
    Diagnostic::new(
        Rule::ProcessGlobalStateInThread,
        format!(
            "`{code}` in library code changes process-wide state (`{name}` {reason}): a caller that runs it on a \
             thread changes it under every other thread of the program"
        ),
        range,
    )
    .with_severity(Severity::Warning)
    .with_harm(Harm::Uncertain)
    .with_label("process-wide")
    .with_help(crate::data::process_global_advice(name).unwrap_or(HELP))
}

/// Whether a function's name says it is a set-up step: it starts with `set_up`, or a word of it
/// (snake case, or the start of a camel-case name) is `setup`, `configure`, `prepare`,
/// `bootstrap` or `initialize`. `init` alone is not one: `__init__` builds every object.
fn names_setup_step(name: &str) -> bool {
    const STEPS: [&str; 6] = [
        "setup",
        "configure",
        "prepare",
        "bootstrap",
        "initialize",
        "initialise",
    ];
    let lower = name.trim_matches('_').to_ascii_lowercase();
    lower.starts_with("set_up")
        || STEPS.iter().any(|step| lower.starts_with(step))
        || lower.split('_').any(|word| STEPS.contains(&word))
}

const HELP: &str = "do this once in the main thread before starting threads, or pass the setting explicitly (`cwd=`, `env=`, a `random.Random` instance)";
