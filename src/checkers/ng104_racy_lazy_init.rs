//! NG104 racy-lazy-init: `global X; if X is None: X = …` (or a class-level singleton) outside
//! a lock.
//!
//! The rule's documentation is `rules/NG104.md` (`nogil-lint rule NG104` prints it).

use std::collections::HashSet;

use crate::diagnostic::{Diagnostic, Harm};
use crate::registry::Rule;
use crate::semantic::{
    AccessKind, AccessTarget, CheckActLocking, GuardKind, SemanticModel, StateAccess, StateKey,
};

use super::{Context, race_harm};

pub fn check(context: &mut Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    let mut reported = HashSet::new();
    // One finding per piece of state: a module that repeats the same lazy initialization in
    // twenty functions (`if _collector is None: _collector = make()`) has one decision to make.
    let mut found: Vec<(StateKey<'_>, Diagnostic)> = Vec::new();
    for (index, access) in context.candidate_accesses() {
        let Some(guard) = &access.guard else { continue };
        if guard.kind != GuardKind::NoneCheck
            || access.kind != AccessKind::Assign
            || access.target != AccessTarget::Whole
        {
            continue;
        }
        // Re-checked under the lock that the assignment holds (double-checked locking), even
        // when the inner check tests another flag.
        if access.rechecked_under_lock && !model.access_locks(access).is_empty() {
            continue;
        }
        if initialized_at_import(model, access) {
            continue;
        }
        let locking = match model.check_and_act_locking(access) {
            CheckActLocking::Atomic => continue,
            CheckActLocking::SeparateSections(lock) => format!(
                "each hold `{}`, but in separate sections",
                super::lock_as_written(model, &lock)
            ),
            CheckActLocking::Unlocked => "run without a lock".to_string(),
        };
        let state = match access.key {
            StateKey::Global(name) => format!("the module global `{name}`"),
            StateKey::ClassAttr(class, attr) => {
                format!("the class attribute `{}.{attr}`", model.class(class).name)
            }
            StateKey::ObjectAttr(owner, attr) => super::describe_object_attr(model, owner, attr),
            StateKey::Nonlocal(owner, name) => {
                super::describe_closure_variable(model, access.function, owner, name)
            }
            StateKey::InstanceAttr(class, attr) => {
                match super::shared_instance_attr(model, class, attr) {
                    Some((description, _)) => description,
                    None => continue,
                }
            }
        };
        context.claimed.insert(index);
        if !reported.insert(guard.check) {
            continue;
        }
        let check = context.snippet(guard.check);
        let act_line = context.line(access.range);
        // Publishing the object and then filling it in lets other threads see it half-built.
        let populated_after = model
            .accesses_of(access.key)
            .map(|(_, later)| later)
            .find(|later| {
                (later.target != AccessTarget::Whole
                    || matches!(later.kind, AccessKind::MutatingCall(_)))
                    && guard.stmt.contains_range(later.range)
                    && later.range.start() > access.range.end()
            });
        let (harm, consequence) = match populated_after {
            Some(later) => (
                Harm::Hazard,
                format!(
                    "line {} fills it in after publishing it, so another thread can use it half-built",
                    context.line(later.range)
                ),
            ),
            None => race_harm::check_then_act_harm(model, access, guard),
        };
        let (severity, reached) = context.judge(harm, access.function);
        // Double-checked locking cannot help an object that is filled in after it is
        // published: the unlocked outer check would still hand out the half-built object.
        // A benign race does not need the lock double-checked locking adds.
        let fix = (populated_after.is_none() && harm != Harm::Benign)
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
        found.push((
            access.key,
            Diagnostic::new(
                Rule::RacyLazyInit,
                format!(
                    "lazy initialization of {state} is not atomic: `{check}` and the assignment at line {act_line} \
                     {locking}; two threads can both see it unset, and {consequence}{reached}"
                ),
                guard.check,
            )
            .with_severity(severity)
            .with_harm(harm)
            .with_label("checked without a lock")
            .with_help(if populated_after.is_some() {
                "build the object in a local variable, then publish it with one assignment under a lock (double-checked locking)"
            } else {
                "use double-checked locking (re-check under a module lock before assigning), or `functools.cache` on a factory"
            })
            .with_fix(fix)
            .with_functions(vec![access.function]),
        ));
    }
    diagnostics.extend(super::one_finding_per_state(
        context,
        found,
        "the same check and store repeat in",
    ));
}

/// The initialization already ran while the module was imported: the module's top-level code
/// calls the function (`_no_value = _NoValueType()` runs the singleton's `__new__`;
/// `_registry = get_registry()`; not its `__main__` block), and no other function writes the state, so nothing puts it
/// back to unset. Every later call finds it set and only reads it.
fn initialized_at_import(model: &SemanticModel<'_>, access: &StateAccess<'_>) -> bool {
    let called_at_import = model.import_calls.binary_search(&access.function).is_ok();
    called_at_import
        && model
            .accesses_of(access.key)
            .all(|(_, other)| other.function == access.function)
}
