//! NG101 unlocked-global-rmw: `global x; x += 1` (or a thread-shared `nonlocal`) outside a lock.
//!
//! The rule's documentation is `rules/NG101.md` (`nogil-lint rule NG101` prints it).

use crate::diagnostic::Diagnostic;
use crate::registry::Rule;
use crate::semantic::{AccessKind, AccessTarget, StateKey};

use super::Context;

pub fn check(context: &mut Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    for (index, access) in context.candidate_accesses() {
        if !access.read_modify_write
            || access.target != AccessTarget::Whole
            || matches!(
                access.kind,
                AccessKind::Delete | AccessKind::MutatingCall(_)
            )
            || !model.access_locks(access).is_empty()
        {
            continue;
        }
        let name = model.text(access.range);
        let state = match access.key {
            StateKey::Global(name) => format!("the module global `{name}`"),
            // A closure's `nonlocal` counter is shared only once the closure runs on threads.
            StateKey::Nonlocal(owner, name) => {
                super::describe_closure_variable(model, access.function, owner, name)
            }
            // Another module's global (`stats.count += 1`), or a function's attribute.
            StateKey::ObjectAttr(owner, attr) => super::describe_object_attr(model, owner, attr),
            _ => continue,
        };
        context.claimed.insert(index);
        let (harm, consequence) = super::lost_update(model, access);
        let (severity, reached) = context.judge(harm, access.function);
        let statement = context.snippet(access.stmt);
        let fix = context.wrap_in_lock_fix(access.key, access.function, access.stmt);
        diagnostics.push(
            Diagnostic::new(
                Rule::UnlockedGlobalRmw,
                format!(
                    "`{statement}` reads and writes {state} without a lock: {consequence}{reached}"
                ),
                access.stmt,
            )
            .with_severity(severity)
            .with_harm(harm)
            .with_label(format!("read-modify-write of `{name}`"))
            .with_help(format!(
                "hold a lock around the update, e.g. `with _{name}_lock:`, using one lock for every write of `{name}`"
            ))
            .with_fix(fix)
            .with_functions(vec![access.function]),
        );
    }
}
