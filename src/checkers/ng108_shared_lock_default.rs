//! NG108 shared-lock-default: one lock created for a whole class (attribute or dataclass field
//! default) or for every call (parameter default), where one per instance was meant.

use crate::diagnostic::Diagnostic;
use crate::registry::Rule;
use crate::semantic::{StateKey, ValueKind};

use super::Context;

pub const DOCUMENTATION: &str = include_str!("../../rules/NG108.md");

pub fn check(context: &Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    for class in &model.classes {
        for attribute in &class.attributes {
            let is_lock = attribute.kind == ValueKind::Lock || attribute.field_default_lock;
            if !is_lock || class.instance_attributes.contains_key(attribute.name) {
                continue;
            }
            // A class-wide semaphore is a deliberate cap on concurrency, not a mutex.
            if attribute
                .factory
                .as_deref()
                .is_some_and(|factory| factory.ends_with("Semaphore"))
            {
                continue;
            }
            let dataclass_field = class.is_dataclass && attribute.annotated && !attribute.class_var;
            let key = format!("{}.{}", class.name, attribute.name);
            // What the lock guards: a class-level lock that guards class-level or module state
            // (a singleton, a registry) is meant to be shared.
            let guarded: Vec<_> = model
                .accesses
                .iter()
                .filter(|access| model.access_locks(access).contains(&key))
                .collect();
            let guards_only_instances = !guarded.is_empty()
                && guarded
                    .iter()
                    .all(|access| matches!(access.key, StateKey::InstanceAttr(..)));
            let guarded_attribute = guarded.iter().find_map(|access| match access.key {
                StateKey::InstanceAttr(_, attr) => Some(attr),
                _ => None,
            });
            let factory = attribute
                .value_range
                .filter(|_| !attribute.field_default_lock)
                .map(|range| model.text(range).to_string())
                .unwrap_or_else(|| "threading.Lock()".to_string());
            let factory_callee = factory
                .strip_suffix("()")
                .unwrap_or("threading.Lock")
                .to_string();
            if !dataclass_field && !guards_only_instances {
                continue;
            }
            let (severity, reached) =
                context.reach_any(guarded.iter().map(|access| access.function));
            let message = if dataclass_field {
                format!(
                    "dataclass field `{}.{}` defaults to one lock object shared by every instance; \
                     instances contend on it and never run in parallel on free-threaded Python{reached}",
                    class.name, attribute.name
                )
            } else {
                format!(
                    "`{}.{}` is one lock for the whole class, but it guards per-instance state (`self.{}`); \
                     every instance contends on it on free-threaded Python{reached}",
                    class.name,
                    attribute.name,
                    guarded_attribute.unwrap_or("…")
                )
            };
            let help = if dataclass_field {
                format!(
                    "use `field(default_factory={factory_callee})` so each instance gets its own lock"
                )
            } else {
                format!(
                    "create the lock per instance in `__init__` (`self.{} = {factory}`)",
                    attribute.name
                )
            };
            diagnostics.push(
                Diagnostic::new(Rule::SharedLockDefault, message, attribute.range)
                    .with_severity(severity)
                    .with_label("created once, shared by every instance")
                    .with_help(help),
            );
        }
    }
    for default in &model.parameter_lock_defaults {
        let function = model.function(default.function);
        let (severity, reached) = context.reach(default.function);
        diagnostics.push(
            Diagnostic::new(
                Rule::SharedLockDefault,
                format!(
                    "the default of parameter `{}` of `{}` is one lock created when the function is defined \
                     and shared by every call, so callers that omit it serialize on one lock on free-threaded \
                     Python{reached}",
                    default.parameter, function.qualname
                ),
                default.range,
            )
            .with_severity(severity)
            .with_label("evaluated once, at definition")
            .with_help("default to `None` and create or pass the lock explicitly"),
        );
    }
}
