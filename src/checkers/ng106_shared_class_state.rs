//! NG106 shared-class-state: a mutable class attribute mutated through `self.`/`cls.`, so every
//! instance (and every thread) shares it; reported at the definition.
//!
//! The rule's documentation is `rules/NG106.md` (`nogil-lint rule NG106` prints it).

use crate::diagnostic::Diagnostic;
use crate::registry::Rule;
use crate::semantic::{
    AccessKind, AccessTarget, ClassId, StateAccess, StateIteration, StateKey, ValueKind,
};

use rustc_hash::FxHashMap as HashMap;

use super::Context;
use super::ng105_shared_module_state::describe_sites;
use super::shared_state::judge_use;

pub fn check(context: &Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    // One pass over the accesses groups each runtime mutation under the class that defines the
    // attribute it reaches (`self.items` in a subclass mutates the base class's `items`).
    let mut mutations_by_definition: HashMap<(ClassId, &str), Vec<&StateAccess<'_>>> =
        HashMap::default();
    for access in &model.accesses {
        let (StateKey::InstanceAttr(owner, attr) | StateKey::ClassAttr(owner, attr)) = access.key
        else {
            continue;
        };
        // `self.S |= {…}` on a class-level container is an in-place mutation of it.
        let in_place = access.kind == AccessKind::AugAssign
            && access.target == AccessTarget::Whole
            && model
                .class_attribute(owner, attr)
                .is_some_and(|(_, attribute)| matches!(attribute.kind, ValueKind::Container(_)));
        let mutates = matches!(access.kind, AccessKind::MutatingCall(_))
            || matches!(access.target, AccessTarget::Item(_))
            || in_place;
        if !mutates
            || !context.may_race(access)
            // An attribute the instance sets for itself shadows the class attribute.
            || model.class(owner).instance_attributes.contains_key(attr)
        {
            continue;
        }
        if let Some((defining, _)) = model.class_attribute(owner, attr) {
            mutations_by_definition
                .entry((defining, attr))
                .or_default()
                .push(access);
        }
    }
    for (class_id, class) in model.classes.iter().enumerate() {
        for attribute in &class.attributes {
            let ValueKind::Container(container) = attribute.kind else {
                continue;
            };
            if class.instance_attributes.contains_key(attribute.name) {
                continue;
            }
            // Annotated fields of dataclasses and of model frameworks (a class with bases) are
            // per-instance defaults, not shared class state.
            if attribute.annotated
                && !attribute.class_var
                && (class.is_dataclass || !class.bases.is_empty())
            {
                continue;
            }
            let Some(mutations) = mutations_by_definition.get(&(class_id, attribute.name)) else {
                continue;
            };
            if mutations.is_empty()
                || mutations
                    .iter()
                    .any(|access| !model.access_locks(access).is_empty())
            {
                continue;
            }
            let iterations: Vec<&StateIteration<'_>> = model
                .iterations
                .iter()
                .filter(|iteration| match iteration.key {
                    StateKey::ClassAttr(owner, attr) | StateKey::InstanceAttr(owner, attr) => {
                        attr == attribute.name
                            && model
                                .class_attribute(owner, attr)
                                .is_some_and(|(defining, _)| defining == class_id)
                            && context.may_race_in(iteration.function, iteration.key)
                    }
                    _ => false,
                })
                .collect();
            let used = judge_use(context, Some(container), mutations, &iterations);
            let (severity, reached) = context.judge_any(used.harm, used.functions.iter().copied());
            let what = &used.what;
            let sites = describe_sites(context, mutations);
            // Mutated through `self.`: per-instance state was probably meant. Only through
            // `cls.`/the class name: class-level state on purpose, which needs a lock.
            let through_instances = mutations
                .iter()
                .any(|access| matches!(access.key, StateKey::InstanceAttr(..)));
            let (message, help) = if through_instances {
                (
                    format!(
                        "class attribute `{}.{}` is a {} shared by every instance, and methods mutate it \
                         through `self` without a lock ({sites}), so threads using different instances \
                         still share it: {what}{reached}",
                        class.name,
                        attribute.name,
                        container.describe()
                    ),
                    format!(
                        "create it per instance in `__init__` (`self.{} = …`) if that was the intent; otherwise guard it with a lock",
                        attribute.name
                    ),
                )
            } else {
                (
                    format!(
                        "class-level {} `{}.{}` is mutated without a lock ({sites}), and every thread \
                         shares it: {what}{reached}",
                        container.describe(),
                        class.name,
                        attribute.name
                    ),
                    "guard every mutation with one class-level lock".to_string(),
                )
            };
            diagnostics.push(
                Diagnostic::new(Rule::SharedClassState, message, attribute.range)
                    .with_severity(severity)
                    .with_harm(used.harm)
                    .with_label("one object for every instance")
                    .with_help(help)
                    .with_functions(mutations.iter().map(|access| access.function).collect()),
            );
        }
    }
}
