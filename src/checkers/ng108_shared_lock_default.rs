//! NG108 shared-lock-default: one lock created for a whole class (attribute or dataclass field
//! default) or for every call (parameter default), where one per instance was meant.
//!
//! The rule's documentation is `rules/NG108.md` (`nogil-lint rule NG108` prints it).

use ruff_text_size::TextRange;

use crate::diagnostic::{Diagnostic, Edit, Fix, FixApplicability, Harm};
use crate::registry::Rule;
use crate::semantic::{ClassAttribute, ClassId, GuardKind, SemanticModel, StateKey, ValueKind};

use super::Context;

pub fn check(context: &Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    for (class_id, class) in model.classes.iter().enumerate() {
        // A class with one instance per process (the module's own `_listener = Listener()`,
        // or a `Singleton` metaclass) has no other instances to contend with.
        let one_instance = class.singleton.is_some()
            || class
                .metaclass
                .as_deref()
                .is_some_and(|metaclass| metaclass.ends_with("Singleton"));
        if one_instance {
            continue;
        }
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
            // Per-instance state only: not an attribute that resolves to the class's own state,
            // and not a one-time lazy binding per instance (`if self._loop is None: self._loop
            // = …` under a global lock is taken once per object, not on every call).
            let guards_only_instances = !guarded.is_empty()
                && guarded.iter().all(|access| match access.key {
                    StateKey::InstanceAttr(owner, attr) => !is_class_level(model, owner, attr),
                    _ => false,
                })
                && !guarded.iter().all(|access| {
                    access
                        .guard
                        .as_ref()
                        .is_some_and(|guard| guard.kind == GuardKind::NoneCheck)
                })
                && !model.iterations.iter().any(|iteration| {
                    iteration.locks.contains(&key)
                        && !matches!(iteration.key, StateKey::InstanceAttr(..))
                });
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
            // Contention, not a race: it costs parallelism, it loses no update.
            let (severity, reached) = context.judge_any(
                Harm::Uncertain,
                guarded.iter().map(|access| access.function),
            );
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
            let fix = if dataclass_field {
                dataclass_field_fix(context, attribute)
            } else {
                move_to_init_fix(context, class_id, attribute, &key)
            };
            diagnostics.push(
                Diagnostic::new(Rule::SharedLockDefault, message, attribute.range)
                    .with_severity(severity)
                    .with_label("created once, shared by every instance")
                    .with_help(help)
                    .with_fix(fix)
                    .with_functions(guarded.iter().map(|access| access.function).collect()),
            );
        }
    }
    for default in &model.parameter_lock_defaults {
        let function = model.function(default.function);
        // `lock=_lock`: the default is the module's own lock, one by design.
        if !model.text(default.range).contains('(') {
            continue;
        }
        // A lock that guards module or class state in the function is that state's lock.
        let guards_shared_state = model.accesses.iter().any(|access| {
            access.function == default.function
                && access.locks.contains(&default.parameter)
                && !matches!(access.key, StateKey::InstanceAttr(..))
        });
        if guards_shared_state {
            continue;
        }
        let (severity, reached) = context.judge(Harm::Uncertain, default.function);
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
            .with_help("default to `None` and create or pass the lock explicitly")
            .with_functions(vec![default.function]),
        );
    }
}

/// `_lock: Lock = Lock()` → `_lock: Lock = field(default_factory=Lock)`. Unsafe: code that
/// relied on the lock being shared between instances changes behaviour.
fn dataclass_field_fix(context: &Context<'_, '_>, attribute: &ClassAttribute<'_>) -> Option<Fix> {
    if attribute.field_default_lock {
        return None;
    }
    let value_range = attribute.value_range?;
    let value = context.model.text(value_range);
    let factory = match value.strip_suffix("()") {
        Some(callee) if !callee.contains(['(', ')', '\n']) => callee.to_string(),
        _ if !value.contains('\n') => format!("lambda: {value}"),
        _ => return None,
    };
    let (field, import) = context.fixes.field_function()?;
    let replacement = format!("{field}(default_factory={factory})");
    let mut edits: Vec<Edit> = import.into_iter().collect();
    edits.push(Edit {
        range: value_range,
        content: replacement.clone(),
    });
    Some(crate::fix::fix(
        FixApplicability::Unsafe,
        format!("Use `{replacement}`"),
        edits,
    ))
}

/// Moves a class-level lock into `__init__` (`self._lock = threading.Lock()`), creating
/// `__init__` when the class has none. Only when every use goes through `self`: code that
/// names the class attribute (`Cls._lock`, `cls._lock`) would lose it. Unsafe: instances no
/// longer exclude each other, which is the point, but may be what some code relied on.
fn move_to_init_fix(
    context: &Context<'_, '_>,
    class_id: ClassId,
    attribute: &ClassAttribute<'_>,
    key: &str,
) -> Option<Fix> {
    let model = context.model;
    let class = model.class(class_id);
    let only_through_self = model
        .lock_regions
        .iter()
        .filter(|region| region.lock == key)
        .all(|region| region.lock_text.starts_with("self."));
    if !only_through_self {
        return None;
    }
    let value = model.text(attribute.value_range?);
    if value.contains(['\n', '\r']) {
        return None;
    }
    let builder = &context.fixes;
    let remove = builder.delete_lines(attribute.stmt_range)?;
    let init = class
        .methods
        .iter()
        .copied()
        .find(|&method| model.function(method).name == "__init__");
    let name = attribute.name;
    let edits = match init {
        Some(init) => {
            let function = model.function(init);
            let receiver = function.receiver?;
            // After the docstring, before the first statement.
            let is_docstring = |range: &TextRange| {
                let text = model.text(*range);
                text.starts_with(['"', '\'']) || text.starts_with("r\"") || text.starts_with("r'")
            };
            let first = function
                .body
                .iter()
                .find(|range| !is_docstring(range))
                .or(function.body.first())?;
            if !builder.locator.is_own_lines(*first) {
                return None;
            }
            let insert = if is_docstring(first) {
                let at = builder.locator.full_line_end(first.end());
                let indent = builder.locator.indentation(first.start());
                Edit {
                    range: TextRange::empty(at),
                    content: format!(
                        "{indent}{receiver}.{name} = {value}{}",
                        builder.stylist.newline
                    ),
                }
            } else {
                builder.insert_line_before(first.start(), &format!("{receiver}.{name} = {value}"))
            };
            vec![remove, insert]
        }
        None => {
            let indent = builder.locator.indentation(attribute.stmt_range.start());
            let unit = &builder.stylist.indent;
            let nl = builder.stylist.newline;
            let start = builder.locator.line_start(attribute.stmt_range.start());
            let end = builder.locator.full_line_end(attribute.stmt_range.end());
            let init = if class.bases.is_empty() {
                format!("{indent}def __init__(self):{nl}{indent}{unit}self.{name} = {value}{nl}")
            } else {
                format!(
                    "{indent}def __init__(self, *args, **kwargs):{nl}\
                     {indent}{unit}super().__init__(*args, **kwargs){nl}\
                     {indent}{unit}self.{name} = {value}{nl}"
                )
            };
            vec![Edit {
                range: TextRange::new(start, end),
                content: init,
            }]
        }
    };
    Some(crate::fix::fix(
        FixApplicability::Unsafe,
        format!("Create `{name}` per instance in `__init__`"),
        edits,
    ))
}

/// `self.<attr>` that is the class's own attribute: defined in the class body (or a base) and
/// never assigned per instance.
fn is_class_level(model: &SemanticModel<'_>, class: ClassId, attr: &str) -> bool {
    !model.class(class).instance_attributes.contains_key(attr)
        && model.class_attribute(class, attr).is_some()
}
