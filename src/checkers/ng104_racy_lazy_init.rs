//! NG104 racy-lazy-init: `global X; if X is None: X = …` (or a class-level singleton) outside
//! a lock.
//!
//! The rule's documentation is `rules/NG104.md` (`nogil-lint rule NG104` prints it).

use std::collections::HashSet;

use crate::diagnostic::Diagnostic;
use crate::registry::Rule;
use crate::semantic::{AccessKind, AccessTarget, GuardKind, StateKey};

use super::Context;

pub fn check(context: &mut Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    let mut reported = HashSet::new();
    for (index, access) in context.candidate_accesses() {
        let Some(guard) = &access.guard else { continue };
        if guard.kind != GuardKind::NoneCheck
            || access.kind != AccessKind::Assign
            || access.target != AccessTarget::Whole
            || model.check_and_act_locked(access)
        {
            continue;
        }
        let state = match access.key {
            StateKey::Global(name) => format!("the module global `{name}`"),
            StateKey::ClassAttr(class, attr) => {
                format!("the class attribute `{}.{attr}`", model.class(class).name)
            }
            _ => continue,
        };
        context.claimed.insert(index);
        if !reported.insert(guard.check) {
            continue;
        }
        let (severity, reached) = context.reach(access.function);
        let check = context.snippet(guard.check);
        let act_line = context.line(access.range);
        // Publishing the object and then filling it in lets other threads see it half-built.
        let populated_after = model
            .accesses_of(access.key)
            .map(|(_, later)| later)
            .find(|later| {
                later.target != AccessTarget::Whole
                    && guard.stmt.contains_range(later.range)
                    && later.range.start() > access.range.end()
            });
        let consequence = match populated_after {
            Some(later) => format!(
                "two threads can both initialize it, and line {} fills it in after publishing it, so \
                 another thread can use it half-built",
                context.line(later.range)
            ),
            None => "two threads can both initialize it".to_string(),
        };
        // Double-checked locking cannot help an object that is filled in after it is
        // published: the unlocked outer check would still hand out the half-built object.
        let fix = populated_after
            .is_none()
            .then(|| context.fixes.module_lock(access.key))
            .flatten()
            .and_then(|plan| {
                let edit = context.fixes.double_checked(guard, &plan.text)?;
                let mut edits = plan.edits;
                edits.push(edit);
                Some(crate::fix::fix(
                    crate::diagnostic::FixApplicability::Unsafe,
                    format!("Use double-checked locking with `{}`", plan.text),
                    edits,
                ))
            });
        diagnostics.push(
            Diagnostic::new(
                Rule::RacyLazyInit,
                format!(
                    "lazy initialization of {state} is not atomic: `{check}` and the assignment at line {act_line} \
                     run without a lock, so {consequence} on free-threaded Python{reached}"
                ),
                guard.check,
            )
            .with_severity(severity)
            .with_label("checked without a lock")
            .with_help(if populated_after.is_some() {
                "build the object in a local variable, then publish it with one assignment under a lock (double-checked locking)"
            } else {
                "use double-checked locking (re-check under a module lock before assigning), or `functools.cache` on a factory"
            })
            .with_fix(fix)
            .with_functions(vec![access.function]),
        );
    }
}
