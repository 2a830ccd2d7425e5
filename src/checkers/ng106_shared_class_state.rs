//! NG106 shared-class-state: a mutable class attribute mutated through `self.`/`cls.`, so every
//! instance (and every thread) shares it; reported at the definition.
//!
//! The rule's documentation is `rules/NG106.md` (`nogil-lint rule NG106` prints it).

use crate::diagnostic::Diagnostic;
use crate::registry::Rule;
use crate::semantic::{AccessKind, AccessTarget, ClassId, StateAccess, StateKey, ValueKind};

use rustc_hash::FxHashMap as HashMap;

use super::Context;
use super::ng105_shared_module_state::describe_sites;

/// Methods that run when a class is created, at import time.
fn runs_at_class_creation(name: &str) -> bool {
    matches!(
        name,
        "__init_subclass__" | "__set_name__" | "__class_getitem__"
    )
}

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
        let mutates = matches!(access.kind, AccessKind::MutatingCall(_))
            || matches!(access.target, AccessTarget::Item(_));
        if !mutates
            || runs_at_class_creation(model.function(access.function).name)
            || !model.is_runtime_access(access)
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
            let (severity, reached) =
                context.reach_any(mutations.iter().map(|access| access.function));
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
                         through `self` without a lock ({sites}); threads using different instances still \
                         share it on free-threaded Python{reached}",
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
                        "class-level {} `{}.{}` is mutated without a lock ({sites}); every thread shares it \
                         on free-threaded Python{reached}",
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
                    .with_label("one object for every instance")
                    .with_help(help)
                    .with_functions(mutations.iter().map(|access| access.function).collect()),
            );
        }
    }
}
