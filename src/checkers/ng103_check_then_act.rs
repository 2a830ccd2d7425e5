//! NG103 check-then-act: `if k not in D: D[k] = …` and its variants on shared mappings,
//! outside a lock.
//!
//! The rule's documentation is `rules/NG103.md` (`nogil-lint rule NG103` prints it).

use std::collections::HashSet;

use ruff_text_size::TextRange;

use crate::diagnostic::{Diagnostic, Edit, Fix, FixApplicability, Harm};
use crate::registry::Rule;
use crate::semantic::{
    AccessKind, AccessTarget, CheckActLocking, Guard, GuardKind, StateAccess, StateKey,
};

use super::{Context, race_harm};

pub fn check(context: &mut Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    let mut reported = HashSet::new();
    for (index, access) in context.candidate_accesses() {
        let Some(guard) = &access.guard else { continue };
        if !matches!(
            guard.kind,
            GuardKind::NotIn | GuardKind::GetIsNone | GuardKind::TryKeyError
        ) || access.kind != AccessKind::Assign
        {
            continue;
        }
        // Re-checked under the lock that the act holds: double-checked locking.
        if access.rechecked_under_lock && !model.access_locks(access).is_empty() {
            continue;
        }
        let locking = match model.check_and_act_locking(access) {
            CheckActLocking::Atomic => continue,
            CheckActLocking::SeparateSections(lock) => format!(
                "while holding `{}` in a separate section from the check (which holds it too)",
                super::lock_as_written(model, &lock)
            ),
            CheckActLocking::Unlocked => "without a lock".to_string(),
        };
        let AccessTarget::Item(item) = &access.target else {
            continue;
        };
        let (state, written) = match access.key {
            StateKey::Global(name) => (format!("the module-level `{name}`"), name.to_string()),
            StateKey::ClassAttr(class, attr) => (
                format!("the class attribute `{}.{attr}`", model.class(class).name),
                format!("{}.{attr}", model.class(class).name),
            ),
            StateKey::ObjectAttr(owner, attr) => (
                super::describe_object_attr(model, owner, attr),
                format!("{owner}.{attr}"),
            ),
            StateKey::Nonlocal(owner, name) => (
                super::describe_closure_variable(model, access.function, owner, name),
                name.to_string(),
            ),
            // `self.cache` of the module's one instance or of a descriptor, which every caller
            // shares.
            StateKey::InstanceAttr(class, attr)
                if super::shared_instance_attr(model, class, attr).is_some() =>
            {
                super::shared_instance_attr(model, class, attr).unwrap_or_default()
            }
            // `self.cache` / a metaclass's `cls._instances` that is the class's own container.
            StateKey::InstanceAttr(class, attr)
                if !model.class(class).instance_attributes.contains_key(attr) =>
            {
                match model.class_attribute(class, attr) {
                    Some((defining, attribute))
                        if matches!(attribute.kind, crate::semantic::ValueKind::Container(_)) =>
                    {
                        let owner = model.class(defining).name;
                        (
                            format!(
                                "the class attribute `{owner}.{attr}`, shared by every instance,"
                            ),
                            format!("{owner}.{attr}"),
                        )
                    }
                    _ => continue,
                }
            }
            _ => continue,
        };
        context.claimed.insert(index);
        if !reported.insert(guard.check) {
            continue;
        }
        let (harm, consequence) = race_harm::check_then_act_harm(model, access, guard);
        let (severity, reached) = context.judge(harm, access.function);
        let check = context.snippet(guard.check);
        let act_line = context.line(access.range);
        let check_text = match guard.kind {
            GuardKind::TryKeyError => format!("the lookup `{check}` (its `KeyError` caught)"),
            _ => format!("`{check}`"),
        };
        let fix = setdefault_fix(context, access, guard).or_else(|| {
            // Otherwise one lock around the check and the act; a benign race does not need
            // the contention a lock would add.
            (harm != Harm::Benign)
                .then(|| context.wrap_in_lock_fix(access.key, access.function, guard.stmt))
                .flatten()
        });
        diagnostics.push(
            Diagnostic::new(
                Rule::CheckThenAct,
                format!(
                    "{check_text} checks {state} and line {act_line} then sets `{written}[{item}]` {locking}: \
                     two threads can both see the key missing, and {consequence}{reached}"
                ),
                guard.check,
            )
            .with_severity(severity)
            .with_harm(harm)
            .with_label("check and act are not atomic")
            .with_help(
                "use `setdefault(key, value)` for a side-effect-free value, or hold one lock around the check and the assignment",
            )
            .with_fix(fix)
            .with_functions(vec![access.function]),
        );
    }
}

/// `if k not in D: D[k] = v` → `D.setdefault(k, v)`: one atomic insert-if-missing. Safe when
/// `v` has no side effects (evaluating it even when the key exists changes nothing) and the
/// `if` holds nothing else.
fn setdefault_fix(
    context: &Context<'_, '_>,
    access: &StateAccess<'_>,
    guard: &Guard,
) -> Option<Fix> {
    if guard.kind != GuardKind::NotIn || !access.value_is_pure {
        return None;
    }
    let source = context.model.source;
    let locator = &context.fixes.locator;
    if !locator.is_own_lines(guard.stmt) || !locator.is_own_lines(access.stmt) {
        return None;
    }
    let header = &source[TextRange::new(guard.stmt.start(), guard.check.start())];
    if header.trim_end() != "if" {
        return None;
    }
    // The body is exactly the assignment, on the line after the header.
    let header_end = locator.full_line_end(guard.check.end());
    let after_test = source[TextRange::new(guard.check.end(), header_end)].trim();
    if after_test != ":" || locator.line_start(access.stmt.start()) != header_end {
        return None;
    }
    if access.stmt.end() != guard.stmt.end() {
        return None;
    }
    let AccessTarget::Item(item) = &access.target else {
        return None;
    };
    let object = locator.slice(access.object?);
    let value = locator.slice(access.value?);
    let replacement = format!("{object}.setdefault({item}, {value})");
    Some(crate::fix::fix(
        FixApplicability::Safe,
        format!("Replace with `{replacement}`"),
        vec![Edit {
            range: guard.stmt,
            content: replacement,
        }],
    ))
}
