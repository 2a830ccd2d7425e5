//! NG102 unlocked-container-rmw: `D[k] += 1`, `D[k] = D.get(k, 0) + 1`, `obj.n += 1` on
//! module-level or class-level state outside a lock.

use crate::diagnostic::Diagnostic;
use crate::registry::Rule;
use crate::semantic::{AccessKind, AccessTarget, StateKey};

use super::Context;

pub const DOCUMENTATION: &str = include_str!("../../rules/NG102.md");

pub fn check(context: &mut Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    for (index, access) in context.candidate_accesses() {
        if !access.read_modify_write
            || matches!(
                access.kind,
                AccessKind::Delete | AccessKind::MutatingCall(_)
            )
            || !model.access_locks(access).is_empty()
        {
            continue;
        }
        let (what, state) = match (access.key, &access.target) {
            (StateKey::Global(name), AccessTarget::Item(_)) => {
                ("an item of the module-level", format!("`{name}`"))
            }
            (StateKey::Global(name), AccessTarget::Attr(attr)) => (
                "an attribute of the module-level object",
                format!("`{name}` (`.{attr}`)"),
            ),
            (StateKey::ClassAttr(class, attr), AccessTarget::Whole) => (
                "the class attribute",
                format!(
                    "`{}.{attr}`, shared by every instance,",
                    model.class(class).name
                ),
            ),
            (StateKey::ClassAttr(class, attr), AccessTarget::Item(_)) => (
                "an item of the class attribute",
                format!(
                    "`{}.{attr}`, shared by every instance,",
                    model.class(class).name
                ),
            ),
            _ => continue,
        };
        context.claimed.insert(index);
        let (severity, reached) = context.reach(access.function);
        let statement = context.snippet(access.stmt);
        diagnostics.push(
            Diagnostic::new(
                Rule::UnlockedContainerRmw,
                format!(
                    "`{statement}` reads and writes {what} {state} without a lock; \
                     concurrent calls can lose updates on free-threaded Python{reached}"
                ),
                access.stmt,
            )
            .with_severity(severity)
            .with_label("read-modify-write without a lock")
            .with_help("hold one lock around every read-modify-write of this state"),
        );
    }
}
