//! NG112 shared-iterator: a generator or one-pass iterator created once at module or class
//! level and advanced (`next(it)`, `it.send(v)`, `for x in it`) from code that may race,
//! without one lock held at every advance; reported at each unlocked advance.
//!
//! The rule's documentation is `rules/NG112.md` (`nogil-lint rule NG112` prints it).

use crate::diagnostic::{Diagnostic, Fix, Harm};
use crate::fix::builders::LockPlan;
use crate::registry::Rule;
use crate::semantic::{
    AdvanceKind, IteratorAdvance, IteratorKind, LockKey, SemanticModel, SharedIterator, StateKey,
    ValueKind,
};

use super::Context;

pub fn check(context: &Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    for iterator in &model.shared_iterators {
        let racing: Vec<&IteratorAdvance<'_>> = iterator
            .advances
            .iter()
            .filter(|advance| context.may_race_in(advance.function, iterator.state))
            .collect();
        if racing.is_empty() {
            continue;
        }
        // An object's iterator is guarded by the object's own lock too.
        let held: Vec<Vec<LockKey>> = racing
            .iter()
            .map(|advance| match iterator.object_lock {
                Some(_) => model.locks_held(advance.function, &advance.locks),
                None => super::shared_locks(model, advance.function, &advance.locks),
            })
            .collect();
        // The lock most advances hold: the one that guards the iterator, if any does.
        let guard = most_held(&held);
        if let Some(lock) = &guard
            && held.iter().all(|locks| locks.contains(lock))
        {
            continue;
        }
        let name = describe(model, iterator);
        for (advance, locks) in racing.iter().zip(&held) {
            if guard.as_ref().is_some_and(|lock| locks.contains(lock)) {
                continue;
            }
            let others: Vec<String> = racing
                .iter()
                .filter(|other| other.range != advance.range)
                .map(|other| context.line(other.range).to_string())
                .collect();
            let elsewhere = match others.as_slice() {
                [] => String::new(),
                [line] => format!(" (line {line} advances it too)"),
                lines => format!(" (lines {} advance it too)", lines.join(", ")),
            };
            let consequence = if iterator.kind.is_generator() {
                "two threads running it at once raise `ValueError: generator already executing`, \
                 and on free-threaded 3.13 and 3.14 can crash the interpreter"
            } else if iterator.kind == IteratorKind::Passed {
                "when it is a generator, two threads running it at once raise `ValueError: \
                 generator already executing`, and on free-threaded 3.13 and 3.14 can crash the \
                 interpreter; another iterator can hand both threads the same item"
            } else {
                "two threads advancing it at once can both take the same item, or skip one"
            };
            let (severity, reached) = context.judge(Harm::Hazard, advance.function);
            let what = match advance.kind {
                AdvanceKind::Loop => "loops over",
                AdvanceKind::Next | AdvanceKind::Send => "advances",
            };
            let statement = match advance.kind {
                AdvanceKind::Loop => format!("for … in {}", context.snippet(advance.range)),
                AdvanceKind::Next | AdvanceKind::Send => context.snippet(advance.stmt),
            };
            // An object's lock may already be held by a caller of the method (a plain `Lock`
            // would then deadlock): the help says what to do, no fix does it.
            let fix = match iterator.object_lock {
                Some(_) => None,
                None => lock_fix(context, iterator, advance, guard.as_deref()),
            };
            diagnostics.push(
                Diagnostic::new(
                    Rule::SharedIterator,
                    format!(
                        "`{statement}` {what} {name} without a lock{elsewhere}: \
                         {consequence}{reached}"
                    ),
                    advance.range,
                )
                .with_severity(severity)
                .with_harm(Harm::Hazard)
                .with_label(if iterator.kind.is_generator() {
                    "shared generator advanced here"
                } else {
                    "shared iterator advanced here"
                })
                .with_help(
                    "hold one lock around every `next()` of it, use `itertools.count()` for a \
                     counter (its `next()` is one atomic step), or give each thread its own \
                     iterator",
                )
                .with_fix(fix)
                .with_functions(vec![advance.function]),
            );
        }
    }
}

/// The lock held at the most advances (the first one, in file order, on a tie).
fn most_held(held: &[Vec<LockKey>]) -> Option<LockKey> {
    let mut best: Option<(&LockKey, usize)> = None;
    for locks in held {
        for lock in locks {
            let count = held.iter().filter(|other| other.contains(lock)).count();
            if best.is_none_or(|(_, most)| count > most) {
                best = Some((lock, count));
            }
        }
    }
    best.map(|(lock, _)| lock.clone())
}

/// "the module-level generator `_ids` (created at line 3)" / "the class-level `map` iterator
/// `Feed._rows` (created at line 9)".
fn describe(model: &SemanticModel<'_>, iterator: &SharedIterator<'_>) -> String {
    let line = model.line_of(iterator.definition.start());
    if let (StateKey::InstanceAttr(class, attr), Some(lock)) =
        (iterator.state, iterator.object_lock)
    {
        let class = model.class(class).name;
        let what = match iterator.kind {
            IteratorKind::GeneratorExpression | IteratorKind::GeneratorFunction(_) => {
                "generator".to_string()
            }
            IteratorKind::Builtin(builtin) => format!("`{builtin}` iterator"),
            IteratorKind::Passed => "iterator passed in".to_string(),
        };
        return format!(
            "the {what} `self.{attr}` that each `{class}` object keeps (set at line {line}; \
             `{class}` locks its state with `self.{lock}`, so its objects are used from several \
             threads)"
        );
    }
    let (scope, name) = match iterator.state {
        StateKey::ClassAttr(class, attr) | StateKey::InstanceAttr(class, attr) => {
            ("class-level", format!("{}.{attr}", model.class(class).name))
        }
        StateKey::Global(name) | StateKey::Nonlocal(_, name) => ("module-level", name.to_string()),
        StateKey::ObjectAttr(object, attr) => ("shared", format!("{object}.{attr}")),
    };
    match iterator.kind {
        IteratorKind::GeneratorExpression => {
            format!("the {scope} generator `{name}` (created at line {line})")
        }
        IteratorKind::GeneratorFunction(function) => format!(
            "the {scope} generator `{name}` (created at line {line} by `{}()`)",
            model.function(function).name
        ),
        IteratorKind::Builtin(builtin) => {
            format!("the {scope} `{builtin}` iterator `{name}` (created at line {line})")
        }
        IteratorKind::Passed => format!("the {scope} iterator `{name}` (set at line {line})"),
    }
}

/// Wraps a `next()` (or `send()`) statement in the lock that guards the iterator elsewhere, or
/// in a new module lock. Not for a loop (the lock would be held over its body) nor for a
/// statement with a body, a `lambda` (which runs later) or a `yield` (the lock would be held
/// while the generator is suspended).
fn lock_fix(
    context: &Context<'_, '_>,
    iterator: &SharedIterator<'_>,
    advance: &IteratorAdvance<'_>,
    guard: Option<&str>,
) -> Option<Fix> {
    if advance.kind == AdvanceKind::Loop || !advance.simple_statement {
        return None;
    }
    let text = context.model.text(advance.stmt);
    if text.contains("lambda") || text.contains("yield") {
        return None;
    }
    let plan = match guard.and_then(|lock| nameable_lock(context, lock)) {
        Some(text) => LockPlan {
            text,
            edits: Vec::new(),
        },
        None => context.fixes.module_lock(iterator.state)?,
    };
    context.wrap_in_planned_lock(plan, advance.stmt)
}

/// The text of a lock that means the same object at `advance`: a module lock, or a class-level
/// lock named through its class (per-instance locks were left out: they do not guard state that
/// every instance shares).
fn nameable_lock(context: &Context<'_, '_>, lock: &str) -> Option<String> {
    let model = context.model;
    if !lock
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        return None;
    }
    let module_lock = model
        .bindings
        .get(lock)
        .is_some_and(|binding| binding.kind == ValueKind::Lock);
    let class_lock = lock
        .split_once('.')
        .is_some_and(|(owner, _)| model.class_index.contains_key(owner));
    (module_lock || class_lock).then(|| lock.to_string())
}
