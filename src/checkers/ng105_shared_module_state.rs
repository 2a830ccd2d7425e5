//! NG105 shared-module-state: a module-level mutable container mutated from functions with no
//! lock anywhere; reported once, at its definition.
//!
//! The rule's documentation is `rules/NG105.md` (`nogil-lint rule NG105` prints it).

use crate::diagnostic::Diagnostic;
use crate::registry::Rule;
use crate::semantic::{
    AccessKind, AccessTarget, ContainerKind, StateAccess, StateIteration, StateKey, ValueKind,
};

use super::Context;
use super::shared_state::judge_use;

/// Whether a write changes the container's contents (as opposed to rebinding the name).
fn mutates_contents(access: &StateAccess<'_>) -> bool {
    matches!(access.kind, AccessKind::MutatingCall(_)) || access.target != AccessTarget::Whole
}

pub fn check(context: &Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    let mut bindings: Vec<(&&str, _)> = model.bindings.iter().collect();
    bindings.sort_by_key(|(_, binding)| binding.range.start());
    for (&name, binding) in bindings {
        let ValueKind::Container(container) = binding.kind else {
            continue;
        };
        if model.in_main_guard(binding.range.start()) {
            continue;
        }
        let key = StateKey::Global(name);
        let mutations: Vec<&StateAccess<'_>> = model
            .accesses_of(key)
            .map(|(_, access)| access)
            .filter(|access| mutates_contents(access) && context.may_race(access))
            .collect();
        if mutations.is_empty() {
            continue;
        }
        // With some mutations locked, NG107 reports the others precisely.
        if mutations
            .iter()
            .any(|access| !model.access_locks(access).is_empty())
        {
            continue;
        }
        // `setdefault` is one atomic insert-if-missing: the recommended fix for check-then-act.
        if mutations
            .iter()
            .all(|access| access.kind == AccessKind::MutatingCall("setdefault"))
        {
            continue;
        }
        // `deque.append`/`popleft` and friends are documented as atomic.
        if container == ContainerKind::Deque
            && mutations.iter().all(|access| {
                matches!(access.kind, AccessKind::MutatingCall(method)
                    if crate::semantic::is_atomic_deque_method(method))
            })
        {
            continue;
        }
        let iterations: Vec<&StateIteration<'_>> = model
            .iterations
            .iter()
            .filter(|iteration| {
                iteration.key == key && context.may_race_in(iteration.function, key)
            })
            .collect();
        let used = judge_use(context, Some(container), &mutations, &iterations);
        let (severity, reached) = context.judge_any(used.harm, used.functions.iter().copied());
        let sites = describe_sites(context, &mutations);
        diagnostics.push(
            Diagnostic::new(
                Rule::SharedModuleState,
                format!(
                    "module-level {} `{name}` is mutated from functions without a lock ({sites}), \
                     and every thread shares it: {}{reached}",
                    container.describe(),
                    used.what
                ),
                binding.range,
            )
            .with_severity(severity)
            .with_harm(used.harm)
            .with_label(format!("shared {}", container.describe()))
            .with_help(
                "guard every mutation with one lock, or use `threading.local`, `contextvars.ContextVar`, \
                 `queue.Queue`, or data built once at import",
            )
            .with_functions(mutations.iter().map(|access| access.function).collect()),
        );
    }
}

/// "`register` line 10, `reset` lines 20, 24, 2 more functions".
pub fn describe_sites(context: &Context<'_, '_>, accesses: &[&StateAccess<'_>]) -> String {
    const SHOWN: usize = 3;
    let mut by_function: Vec<(&str, Vec<usize>)> = Vec::new();
    for access in accesses {
        let name = context.model.function(access.function).qualname.as_str();
        let line = context.line(access.range);
        match by_function
            .iter_mut()
            .find(|(function, _)| *function == name)
        {
            Some((_, lines)) => {
                if !lines.contains(&line) {
                    lines.push(line);
                }
            }
            None => by_function.push((name, vec![line])),
        }
    }
    let mut parts: Vec<String> = by_function
        .iter()
        .take(SHOWN)
        .map(|(function, lines)| {
            let lines: Vec<String> = lines.iter().map(ToString::to_string).collect();
            let word = if lines.len() == 1 { "line" } else { "lines" };
            format!("`{function}` {word} {}", lines.join(", "))
        })
        .collect();
    if by_function.len() > SHOWN {
        parts.push(format!("{} more functions", by_function.len() - SHOWN));
    }
    parts.join(", ")
}
