//! NG102 unlocked-container-rmw: `D[k] += 1`, `D[k] = D.get(k, 0) + 1`, `obj.n += 1` on
//! module-level or class-level state outside a lock.
//!
//! The rule's documentation is `rules/NG102.md` (`nogil-lint rule NG102` prints it).

use crate::diagnostic::Diagnostic;
use crate::registry::Rule;
use crate::semantic::{AccessKind, AccessTarget, ClassId, StateKey, ValueKind};

use super::Context;

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
            (StateKey::Nonlocal(owner, name), AccessTarget::Item(_)) => (
                "an item of",
                super::describe_closure_variable(model, access.function, owner, name),
            ),
            (StateKey::ObjectAttr(owner, attr), AccessTarget::Item(_)) => (
                "an item of",
                super::describe_object_attr(model, owner, attr),
            ),
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
            // `self.calls += 1` in a class whose one module-level instance every caller shares.
            // Not in its constructor: that `self` is an object no one else has yet (the
            // shared instance's own construction runs once, at import).
            (StateKey::InstanceAttr(class, attr), AccessTarget::Whole | AccessTarget::Item(_))
                if !model.is_construction(access.function)
                    && super::shared_instance_attr(model, class, attr).is_some() =>
            {
                let (description, _) =
                    super::shared_instance_attr(model, class, attr).unwrap_or_default();
                (
                    if access.target == AccessTarget::Whole {
                        "the attribute"
                    } else {
                        "an item of the attribute"
                    },
                    description,
                )
            }
            // `self.counts[k] += 1` where `counts` is a class attribute no instance shadows.
            (StateKey::InstanceAttr(class, attr), AccessTarget::Item(_))
                if shared_class_container(context, class, attr) =>
            {
                (
                    "an item of the class attribute",
                    format!(
                        "`{}.{attr}`, shared by every instance,",
                        model.class(class).name
                    ),
                )
            }
            _ => continue,
        };
        context.claimed.insert(index);
        let (harm, consequence) = super::lost_update(model, access);
        let (severity, reached) = context.judge(harm, access.function);
        let statement = context.snippet(access.stmt);
        let fix = context.wrap_in_lock_fix(access.key, access.function, access.stmt);
        diagnostics.push(
            Diagnostic::new(
                Rule::UnlockedContainerRmw,
                format!(
                    "`{statement}` reads and writes {what} {state} without a lock: {consequence}{reached}"
                ),
                access.stmt,
            )
            .with_severity(severity)
            .with_harm(harm)
            .with_label("read-modify-write without a lock")
            .with_help("hold one lock around every read-modify-write of this state")
            .with_fix(fix)
            .with_functions(vec![access.function]),
        );
    }
}

/// A container defined in the class body (or a base) and never replaced through `self`.
fn shared_class_container(context: &Context<'_, '_>, class: ClassId, attr: &str) -> bool {
    let model = context.model;
    !model.class(class).instance_attributes.contains_key(attr)
        && model
            .class_attribute(class, attr)
            .is_some_and(|(_, attribute)| matches!(attribute.kind, ValueKind::Container(_)))
}
