//! NG103 check-then-act: `if k not in D: D[k] = …` and its variants on shared mappings,
//! outside a lock.

use std::collections::HashSet;

use crate::diagnostic::Diagnostic;
use crate::registry::Rule;
use crate::semantic::{AccessKind, AccessTarget, GuardKind, StateKey};

use super::Context;

pub const DOCUMENTATION: &str = include_str!("../../rules/NG103.md");

pub fn check(context: &mut Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    let mut reported = HashSet::new();
    for (index, access) in context.candidate_accesses() {
        let Some(guard) = &access.guard else { continue };
        if !matches!(
            guard.kind,
            GuardKind::NotIn | GuardKind::GetIsNone | GuardKind::TryKeyError
        ) || access.kind != AccessKind::Assign
            || model.check_and_act_locked(access)
        {
            continue;
        }
        let AccessTarget::Item(item) = &access.target else {
            continue;
        };
        let (state, written) = match access.key {
            StateKey::Global(name) => (format!("the module-level `{name}`"), name.to_string()),
            StateKey::ClassAttr(class, attr) => (
                format!("the class attribute `{}.{attr}`", model.class(class).name),
                format!("{}.{attr}", model.class(class).name),
            ),
            _ => continue,
        };
        context.claimed.insert(index);
        if !reported.insert(guard.check) {
            continue;
        }
        let (severity, reached) = context.reach(access.function);
        let check = context.snippet(guard.check);
        let act_line = context.line(access.range);
        let check_text = match guard.kind {
            GuardKind::TryKeyError => format!("the lookup `{check}` (its `KeyError` caught)"),
            _ => format!("`{check}`"),
        };
        diagnostics.push(
            Diagnostic::new(
                Rule::CheckThenAct,
                format!(
                    "{check_text} checks {state} and line {act_line} then sets `{written}[{item}]` without a lock; \
                     two threads can both see the key missing and both set it on free-threaded Python{reached}"
                ),
                guard.check,
            )
            .with_severity(severity)
            .with_label("check and act are not atomic")
            .with_help(
                "use `setdefault(key, value)` for a side-effect-free value, or hold one lock around the check and the assignment",
            ),
        );
    }
}
