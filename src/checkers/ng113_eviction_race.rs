//! NG113 eviction-race: a bounded cache that checks its size (or emptiness) and then evicts,
//! or moves an entry to one end and then pops that end, without one lock held across both.
//!
//! The rule's documentation is `rules/NG113.md` (`nogil-lint rule NG113` prints it).

use std::collections::HashSet;

use crate::diagnostic::{Diagnostic, Harm};
use crate::registry::Rule;
use crate::semantic::{
    CheckActLocking, ContainerKind, EvictionTrigger, Removal, SemanticModel, StateKey, ValueKind,
};

use super::Context;

pub fn check(context: &mut Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    let mut reported = HashSet::new();
    for eviction in &model.evictions {
        let access = &model.accesses[eviction.access];
        if context.claimed.contains(&eviction.access)
            || !context.may_race_with(access, |other| other.removes())
        {
            continue;
        }
        let Some(state) = shared_container(model, access.key, access.function) else {
            continue;
        };
        let locking = match model.eviction_locking(eviction) {
            CheckActLocking::Atomic => continue,
            CheckActLocking::SeparateSections(lock) => format!(
                "each hold `{}`, but in separate sections",
                super::lock_as_written(model, &lock)
            ),
            CheckActLocking::Unlocked => "run without a lock held across both".to_string(),
        };
        context.claimed.insert(eviction.access);
        if !reported.insert(eviction.check) {
            continue;
        }
        let check = context.snippet(eviction.check);
        let removal = match eviction.removal {
            Removal::Delete => context.snippet(access.stmt),
            _ => context.snippet(access.range),
        };
        let removal_line = context.line(access.range);
        // `del L[0]` on a list or deque removes by position, as `L.pop(0)` does: two threads
        // remove two different entries, not the same key twice.
        let kind = container_kind(model, access.key);
        let positional = matches!(kind, Some(ContainerKind::List | ContainerKind::Deque))
            && matches!(eviction.removal, Removal::Delete | Removal::PopKey { .. });
        let removal_kind = if positional {
            Removal::PopEnd
        } else {
            eviction.removal
        };
        // `popleft()`/`pop()` on an empty deque or list raise `IndexError`; `set.pop()`,
        // `popitem()`, `pop(key)` and `del` raise `KeyError`.
        let empty_error = match (removal_kind, kind) {
            (Removal::PopEnd, Some(ContainerKind::Set)) => "`KeyError`",
            (Removal::PopEnd, _) => "`IndexError`",
            _ => "`KeyError`",
        };
        let (harm, what) = match (eviction.trigger, removal_kind) {
            // The program catches the error of a removal that finds the entry gone: a thread
            // that loses the race goes on, and at worst one entry more is evicted.
            (EvictionTrigger::Emptiness | EvictionTrigger::SizeCheck, _) if eviction.handled => (
                Harm::Benign,
                format!(
                    "the test `{check}` on {state} and `{removal}` at line {removal_line} \
                     {locking}: another thread can remove the entry in between, but the \
                     {empty_error} the removal then raises is caught, so at worst one entry more \
                     is evicted"
                ),
            ),
            (EvictionTrigger::MoveToEnd, _) => (
                Harm::Hazard,
                format!(
                    "`{check}` and `{removal}` at line {removal_line} {locking}: another thread can \
                     move or add an entry at that end in between, so the pop removes that entry \
                     instead of the one moved"
                ),
            ),
            (EvictionTrigger::Emptiness, _) => (
                Harm::Hazard,
                format!(
                    "the emptiness test `{check}` on {state} and `{removal}` at line \
                     {removal_line} {locking}: another thread can empty it in between, and the \
                     removal raises {empty_error}"
                ),
            ),
            (EvictionTrigger::SizeCheck, Removal::PopKey { default: true }) => (
                Harm::Uncertain,
                format!(
                    "`{check}` checks the size of {state} and `{removal}` at line {removal_line} \
                     {locking}: two threads can both see it over its bound and pick the same \
                     entry, so one eviction does nothing and the cache stays over its bound"
                ),
            ),
            (EvictionTrigger::SizeCheck, Removal::PopKey { .. } | Removal::Delete) => (
                Harm::Hazard,
                format!(
                    "`{check}` checks the size of {state} and `{removal}` at line {removal_line} \
                     {locking}: two threads can both see it over its bound and pick the same \
                     entry, and the second removal raises `KeyError`"
                ),
            ),
            (EvictionTrigger::SizeCheck, Removal::PopItem | Removal::PopEnd) => (
                Harm::Hazard,
                format!(
                    "`{check}` checks the size of {state} and `{removal}` at line {removal_line} \
                     {locking}: two threads can both see it over its bound and both evict, \
                     dropping an entry another thread just added (or raising {empty_error} once \
                     it is empty)"
                ),
            ),
        };
        let (severity, reached) = context.judge(harm, access.function);
        diagnostics.push(
            Diagnostic::new(
                Rule::EvictionRace,
                format!("{what}{reached}"),
                eviction.check,
            )
            .with_severity(severity)
            .with_harm(harm)
            .with_label("checked, then evicted, without a lock")
            .with_help(
                "hold one lock from the check through the eviction (and around every other \
                     use of the cache), or use `functools.lru_cache`, which locks internally, \
                     or a `cachetools` cache with a lock",
            )
            .with_functions(vec![access.function]),
        );
    }
}

/// "the module-level OrderedDict `_cache`": state every thread shares, or an instance
/// attribute that other code of its class changes while holding a lock (so its objects are
/// meant to be shared between threads).
fn shared_container(
    model: &SemanticModel<'_>,
    key: StateKey<'_>,
    function: usize,
) -> Option<String> {
    let what = describe(container_kind(model, key));
    if let Some(shared) = model.shared_key(key) {
        return Some(model.describe_shared(shared, what));
    }
    let StateKey::InstanceAttr(_, attr) = key else {
        return None;
    };
    let receiver = model.function(function).receiver?;
    let locked = model
        .accesses_of(key)
        .map(|(_, access)| access)
        .find(|access| !model.access_locks(access).is_empty())?;
    let lock = model.access_locks(locked).swap_remove(0);
    Some(format!(
        "the {what} `{receiver}.{attr}` (line {} changes it holding `{}`, so its objects are \
         shared between threads)",
        model.line_of(locked.range.start()),
        super::lock_as_written(model, &lock)
    ))
}

/// What the state holds, when known.
fn container_kind(model: &SemanticModel<'_>, key: StateKey<'_>) -> Option<ContainerKind> {
    let kind = match model.shared_key(key) {
        Some(StateKey::Global(name)) => model.bindings.get(name).map(|binding| binding.kind),
        Some(StateKey::ClassAttr(class, attr)) => model
            .class(class)
            .attribute(attr)
            .map(|attribute| attribute.kind),
        _ => match key {
            StateKey::InstanceAttr(class, attr) => {
                model.class(class).instance_attributes.get(attr).copied()
            }
            _ => None,
        },
    };
    match kind {
        Some(ValueKind::Container(container)) => Some(container),
        _ => None,
    }
}

fn describe(kind: Option<ContainerKind>) -> &'static str {
    kind.map_or("container", ContainerKind::describe)
}
