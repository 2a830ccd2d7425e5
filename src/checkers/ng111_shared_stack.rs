//! NG111 shared-stack: a module- or class-level list used as a stack of "current" entries
//! (pushed on entering a scope, popped on leaving it, the top read as the current one) from
//! code that may race; reported once, at the first push.
//!
//! The rule's documentation is `rules/NG111.md` (`nogil-lint rule NG111` prints it).

use rustc_hash::FxHashSet as HashSet;

use crate::diagnostic::{Diagnostic, Harm};
use crate::registry::Rule;
use crate::semantic::{
    FunctionId, SemanticModel, SharedStack, StackEnd, StackOp, StackOpKind, StateKey, ValueKind,
};

use super::Context;

/// The operations of a stack that may race.
pub struct StackRace<'s, 'a> {
    pub push: &'s StackOp<'a>,
    pub pop: &'s StackOp<'a>,
    /// A read of the top, when the code has one.
    pub peek: Option<&'s StackOp<'a>>,
    /// Every function with a push, pop or top read that may race.
    pub functions: Vec<FunctionId>,
    /// Some operations hold a lock, but no lock spans each scope from push to pop.
    pub locked_separately: bool,
}

/// The racing use of a stack of "current" entries: a push and a pop in code that may race,
/// unless one lock is held across every scope, from its push to its pop (which serialises the
/// scopes, so each thread pops its own entry).
pub fn racing<'s, 'a>(
    context: &Context<'_, 'a>,
    stack: &'s SharedStack<'a>,
) -> Option<StackRace<'s, 'a>> {
    let ops: Vec<&'s StackOp<'a>> = stack
        .ops
        .iter()
        // Set-up runs once: a drain at set-up or teardown (`while L: L.pop()` in `unpatch`) is
        // not a scope that pairs with another thread's push.
        .filter(|op| {
            context.may_race_in(op.function, op.key)
                && context.model.execution(op.function) != crate::semantic::Execution::Setup
        })
        .collect();
    let push = ops
        .iter()
        .copied()
        .find(|op| op.kind == StackOpKind::Push)?;
    let pop = ops
        .iter()
        .copied()
        .find(|op| op.kind == StackOpKind::Pop { discarded: true })
        .or_else(|| {
            ops.iter()
                .copied()
                .find(|op| matches!(op.kind, StackOpKind::Pop { .. }))
        })?;
    let peek = ops.iter().copied().find(|op| op.kind == StackOpKind::Peek);
    if peek.is_none()
        && !ops
            .iter()
            .any(|op| op.kind == StackOpKind::Pop { discarded: true })
    {
        // Pops whose items are used, and no read of the top: a work queue.
        return None;
    }
    if serialised(context.model, &ops) {
        return None;
    }
    let mut functions: Vec<FunctionId> = ops.iter().map(|op| op.function).collect();
    functions.sort_unstable();
    functions.dedup();
    let locked_separately = ops
        .iter()
        .any(|op| !super::shared_locks(context.model, op.function, &op.locks).is_empty());
    Some(StackRace {
        push,
        pop,
        peek,
        functions,
        locked_separately,
    })
}

/// Whether one lock is held across each function's whole use of the stack, and every function
/// that pushes also pops (and the other way round): then the scopes run one at a time.
fn serialised(model: &SemanticModel<'_>, ops: &[&StackOp<'_>]) -> bool {
    let Some(first) = ops.first() else {
        return true;
    };
    let functions: HashSet<FunctionId> = ops.iter().map(|op| op.function).collect();
    let balanced = functions.iter().all(|&function| {
        let in_function = || ops.iter().filter(move |op| op.function == function);
        let pushes = in_function().any(|op| op.kind == StackOpKind::Push);
        let pops = in_function().any(|op| matches!(op.kind, StackOpKind::Pop { .. }));
        pushes == pops
    });
    if !balanced {
        return false;
    }
    super::shared_locks(model, first.function, &first.locks)
        .iter()
        .any(|lock| {
            functions.iter().all(|&function| {
                if model.inherited_locks(function).contains(lock) {
                    return true;
                }
                let mut in_function = ops.iter().filter(|op| op.function == function);
                model.lock_regions.iter().any(|region| {
                    region.lock == *lock
                        && region.function == Some(function)
                        && in_function
                            .clone()
                            .all(|op| region.range.contains_range(op.range))
                }) && in_function.next().is_some()
            })
        })
}

/// How the code names a push or a pop: `append`, `insert(0, …)`, `pop()`, `del S[-1]`.
pub fn operation_name(model: &SemanticModel<'_>, op: &StackOp<'_>) -> String {
    let text = model.text(op.range);
    let method = |name: &str| text.contains(&format!(".{name}("));
    match op.kind {
        StackOpKind::Push if method("appendleft") => "appendleft".to_string(),
        StackOpKind::Push if method("insert") => "insert(0, …)".to_string(),
        StackOpKind::Push => "append".to_string(),
        StackOpKind::Pop { .. } if !text.contains('(') => format!("del {}", text.trim()),
        StackOpKind::Pop { .. } if method("popleft") => "popleft()".to_string(),
        StackOpKind::Pop { .. } if op.end == StackEnd::Front => "pop(0)".to_string(),
        StackOpKind::Pop { .. } => "pop()".to_string(),
        StackOpKind::Peek => text.trim().to_string(),
    }
}

/// "module-level list `_stack`" / "class-level list `Context.stack`".
fn describe_state(model: &SemanticModel<'_>, state: StateKey<'_>) -> String {
    let (scope, kind, name) = match state {
        StateKey::Global(name) => (
            "module-level",
            model.bindings.get(name).map(|binding| binding.kind),
            name.to_string(),
        ),
        StateKey::ClassAttr(class, attr) | StateKey::InstanceAttr(class, attr) => (
            "class-level",
            model
                .class(class)
                .attribute(attr)
                .map(|attribute| attribute.kind),
            format!("{}.{attr}", model.class(class).name),
        ),
        StateKey::Nonlocal(_, name) => ("shared", None, name.to_string()),
        StateKey::ObjectAttr(object, attr) => ("shared", None, format!("{object}.{attr}")),
    };
    let kind = match kind {
        Some(ValueKind::Container(container)) => container.describe(),
        _ => "list",
    };
    format!("{scope} {kind} `{name}`")
}

pub fn check(context: &mut Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    for stack in &model.shared_stacks {
        let Some(race) = racing(context, stack) else {
            continue;
        };
        let (severity, reached) = context.judge_any(Harm::Hazard, race.functions.iter().copied());
        let line = |op: &StackOp<'_>| context.line(op.range);
        let peek = race
            .peek
            .map(|peek| {
                format!(
                    ", line {} reads `{}` as the current entry",
                    line(peek),
                    operation_name(model, peek)
                )
            })
            .unwrap_or_default();
        let locks = if race.locked_separately {
            " (a lock around each push and pop does not help: each thread's scope, from its push \
             to its pop, is what must be its own)"
        } else {
            ""
        };
        let message = format!(
            "`{}` pushes onto the {} and line {} pops it (`{}`){peek}: every thread shares the \
             one stack, so a thread pops the entry another thread pushed and sees another \
             thread's entry as the current one{locks}{reached}",
            context.snippet(race.push.range),
            describe_state(model, stack.state),
            line(race.pop),
            operation_name(model, race.pop),
        );
        diagnostics.push(
            Diagnostic::new(Rule::SharedStack, message, race.push.range)
                .with_severity(severity)
                .with_harm(Harm::Hazard)
                .with_label("push onto a stack every thread shares")
                .with_help(
                    "keep the stack per thread and per context: a `contextvars.ContextVar` holding \
                     a tuple (`token = var.set(var.get() + (entry,))` … `var.reset(token)`), or a \
                     list on a `threading.local()`",
                )
                .with_functions(race.functions.clone()),
        );
        context.reported_stacks.push(stack.state);
    }
}
