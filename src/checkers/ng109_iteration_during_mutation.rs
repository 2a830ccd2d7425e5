//! NG109 iteration-during-mutation: a loop, comprehension or consuming call (`sum`, `min`,
//! `",".join`, …) over a module- or class-level container that code which may run on another
//! thread mutates, or over `sys.modules` or `os.environ`'s items.
//!
//! The rule's documentation is `rules/NG109.md` (`nogil-lint rule NG109` prints it).

use rustc_hash::FxHashMap as HashMap;

use ruff_text_size::TextRange;

use crate::diagnostic::{Diagnostic, Edit, Fix, FixApplicability, Harm};
use crate::registry::Rule;
use crate::semantic::{
    AccessKind, AccessTarget, ContainerKind, MappingIteration, ProcessMapping, StateAccess,
    StateIteration, StateKey,
};

use super::Context;

pub fn check(context: &mut Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    if !model.iterations.is_empty() {
        // The mutations of each piece of module- and class-level state, however it is reached.
        let mut mutations: HashMap<StateKey<'_>, Vec<&StateAccess<'_>>> = HashMap::default();
        for access in &model.accesses {
            if mutates_contents(access)
                && context.may_race(access)
                && let Some(shared) = model.shared_key(access.key)
            {
                mutations.entry(shared).or_default().push(access);
            }
        }
        for iteration in &model.iterations {
            if !walks_live_data(iteration.container, context.target)
                || model.in_fork_child(iteration.range)
            {
                continue;
            }
            let Some(shared) = model.shared_key(iteration.key) else {
                continue;
            };
            if !context.may_race_in(iteration.function, iteration.key) {
                continue;
            }
            let Some(found) = mutations.get(&shared) else {
                continue;
            };
            let loop_locks = model.locks_held(iteration.function, &iteration.locks);
            let racing: Vec<&StateAccess<'_>> = found
                .iter()
                .copied()
                .filter(|access| {
                    shifts_under_loop(iteration.container, access)
                        && !model
                            .access_locks(access)
                            .iter()
                            .any(|lock| loop_locks.contains(lock))
                })
                .collect();
            if let Some(mutation) = racing.first() {
                let racing_with = racing.iter().map(|access| access.function).collect();
                diagnostics.push(
                    state_finding(context, iteration, shared, mutation, found)
                        .with_racing_with(racing_with),
                );
                context.reported_iterations.insert(iteration.range);
            } else if let Some((append, clear)) = drained_then_cleared(context, iteration, found) {
                diagnostics.push(
                    drain_finding(context, iteration, shared, append, clear)
                        .with_racing_with(vec![append.function]),
                );
                context.reported_iterations.insert(iteration.range);
            }
        }
    }
    for iteration in &model.mapping_iterations {
        // `os.environ` and `sys.modules` are the process's: any of its threads may change them
        // while code on an event loop walks them.
        if !model.execution(iteration.function).meets_other_threads()
            || model.in_fork_child(iteration.range)
        {
            continue;
        }
        diagnostics.push(mapping_finding(context, iteration));
    }
}

/// Whether a loop over the container walks its live data, which another thread's change can
/// break. Python 3.14's weak containers iterate over a copy of their data (an atomic
/// `dict.copy()`/`set.copy()` on a free-threaded build); 3.13's walk it live.
pub(super) fn walks_live_data(
    container: ContainerKind,
    target: crate::data::TargetVersion,
) -> bool {
    container != ContainerKind::WeakContainer || target < crate::data::TargetVersion::Py314t
}

/// Whether a write changes what a loop over the container sees: an item set or deleted, a
/// mutating method, or `+=` on the container itself (a list extends in place). Rebinding the
/// name does not touch the object a loop is walking.
fn mutates_contents(access: &StateAccess<'_>) -> bool {
    matches!(
        (&access.target, access.kind),
        (_, AccessKind::MutatingCall(_))
            | (AccessTarget::Item(_), _)
            | (AccessTarget::Whole, AccessKind::AugAssign)
    )
}

/// Whether a mutation changes what a loop over `container` sees of the items it has not
/// reached. A dict, set or deque raises on any change of size, so every mutation counts. A
/// loop over a list walks it by index: an item appended at the end (`append`, `extend`,
/// `L += …`) is seen or not, as in some serial order, a stored item (`L[i] = v`) stays in its
/// place, and `clear()` ends the loop; only removals, insertions and reorderings shift the
/// items still ahead of the loop, so that it skips or repeats them.
pub fn shifts_under_loop(container: ContainerKind, access: &StateAccess<'_>) -> bool {
    if !matches!(container, ContainerKind::List | ContainerKind::ByteArray) {
        return true;
    }
    match (&access.target, access.kind) {
        (_, AccessKind::MutatingCall(method)) => {
            !matches!(method, "append" | "extend" | "clear" | "__iadd__")
        }
        (AccessTarget::Whole, AccessKind::AugAssign) => false,
        (AccessTarget::Item(key), AccessKind::Assign | AccessKind::AugAssign) => key.contains(':'),
        _ => true,
    }
}

/// A loop over a shared list, then `L.clear()` (or `del L[:]`) in the same function, while
/// other code appends to it without a lock held across both: an item appended after the loop
/// has passed the end and before the clear is thrown away unseen. Returns the append and the
/// clear.
fn drained_then_cleared<'s, 'a>(
    context: &Context<'_, 'a>,
    iteration: &StateIteration<'a>,
    mutations: &[&'s StateAccess<'a>],
) -> Option<(&'s StateAccess<'a>, &'s StateAccess<'a>)> {
    if !matches!(iteration.container, ContainerKind::List) {
        return None;
    }
    let model = context.model;
    let clear = mutations.iter().copied().find(|access| {
        access.function == iteration.function
            && access.range.start() >= iteration.stmt.end()
            && match (&access.target, access.kind) {
                (_, AccessKind::MutatingCall("clear")) => true,
                (AccessTarget::Item(key), AccessKind::Delete) => key.trim() == ":",
                _ => false,
            }
    })?;
    let clear_locks = model.access_locks(clear);
    let loop_locks = model.locks_held(iteration.function, &iteration.locks);
    // One lock held across the loop and the clear, which the appends also take, closes the
    // window; a lock taken only around the clear does not.
    let closed =
        |lock: &crate::semantic::LockKey| clear_locks.contains(lock) && loop_locks.contains(lock);
    let append = mutations.iter().copied().find(|access| {
        access.function != iteration.function
            && matches!(
                (&access.target, access.kind),
                (_, AccessKind::MutatingCall("append" | "extend"))
                    | (AccessTarget::Whole, AccessKind::AugAssign)
            )
            && !model.access_locks(access).iter().any(closed)
    })?;
    Some((append, clear))
}

fn drain_finding(
    context: &Context<'_, '_>,
    iteration: &StateIteration<'_>,
    shared: StateKey<'_>,
    append: &StateAccess<'_>,
    clear: &StateAccess<'_>,
) -> Diagnostic {
    let model = context.model;
    let (severity, reached) = context.judge(Harm::Hazard, iteration.function);
    let state = model.describe_shared(shared, iteration.container.describe());
    let appender = &model.function(append.function).qualname;
    let message = format!(
        "{} over {state} then clears it (line {}), while `{appender}` appends to it (line {}) on \
         another thread: an item appended after the loop has passed and before the clear is \
         thrown away unseen{reached}",
        iteration.kind.describe(),
        context.line(clear.range),
        context.line(append.range),
    );
    Diagnostic::new(Rule::IterationDuringMutation, message, iteration.range)
        .with_severity(severity)
        .with_harm(Harm::Hazard)
        .with_label("drained, then cleared, while another thread appends")
        .with_help(
            "remove only what the loop saw: `items = L.copy()`, loop over `items`, then \
             `del L[:len(items)]` (each step is atomic, and items appended meanwhile stay); or \
             drain a `collections.deque` with `popleft()`",
        )
        .with_functions(vec![iteration.function, append.function])
}

fn state_finding(
    context: &Context<'_, '_>,
    iteration: &StateIteration<'_>,
    shared: StateKey<'_>,
    mutation: &StateAccess<'_>,
    mutations: &[&StateAccess<'_>],
) -> Diagnostic {
    let model = context.model;
    let container = iteration.container;
    let (harm, outcome) = match container {
        ContainerKind::List | ContainerKind::ByteArray => (
            Harm::Uncertain,
            "it skips or repeats items as they shift under it".to_string(),
        ),
        ContainerKind::Dict => (
            Harm::Hazard,
            format!(
                "it raises `RuntimeError: {}`{}",
                runtime_error(container),
                tuple_note(iteration.kind)
            ),
        ),
        _ => (
            Harm::Hazard,
            format!("it raises `RuntimeError: {}`", runtime_error(container)),
        ),
    };
    let (severity, reached) = context.judge(harm, iteration.function);
    let state = model.describe_shared(shared, container.describe());
    let mutator = &model.function(mutation.function).qualname;
    let message = format!(
        "{} over {state} can run while `{mutator}` changes it (line {}) on another thread, and \
         then {outcome}{reached}",
        iteration.kind.describe(),
        context.line(mutation.range),
    );
    // A loop that changes the container itself may mean to see its own changes (a work list
    // that grows as it is walked): a snapshot would change what it does.
    let changes_itself = mutations.iter().any(|access| {
        access.function == iteration.function && iteration.stmt.contains_range(access.range)
    });
    let fix = (!changes_itself)
        .then(|| snapshot_fix(context, iteration))
        .flatten();
    Diagnostic::new(Rule::IterationDuringMutation, message, iteration.range)
        .with_severity(severity)
        .with_harm(harm)
        .with_label("iterated while another thread may change it")
        .with_help(
            "iterate over a snapshot (`list(D)`, `list(D.items())`, or `D.copy()` for a deque, \
             `OrderedDict` or `defaultdict`), or hold the lock every mutation holds around the loop",
        )
        .with_fix(fix)
        .with_functions(vec![iteration.function, mutation.function])
}

/// The message free-threaded CPython raises when the container changes under a loop.
fn runtime_error(container: ContainerKind) -> &'static str {
    match container {
        ContainerKind::Set => "Set changed size during iteration",
        ContainerKind::Deque => "deque mutated during iteration",
        ContainerKind::OrderedDict => "OrderedDict mutated during iteration",
        _ => "dictionary changed size during iteration",
    }
}

/// Iterate a snapshot: `list(D)` / `list(D.items())` where `list` copies atomically (a dict,
/// set or list, and the views of any dict), else `D.copy()` (a deque, an `OrderedDict`, a
/// defaultdict's or Counter's own keys). Weak containers and bytearrays have none.
fn snapshot_fix(context: &Context<'_, '_>, iteration: &StateIteration<'_>) -> Option<Fix> {
    let locator = &context.fixes.locator;
    let text = locator.slice(iteration.range);
    let list_copies = match iteration.container {
        ContainerKind::Dict | ContainerKind::Set | ContainerKind::List => true,
        ContainerKind::DefaultDict | ContainerKind::Counter => iteration.view.is_some(),
        ContainerKind::Deque | ContainerKind::OrderedDict => false,
        _ => return None,
    };
    let (edit, shown) = if list_copies {
        (
            Edit {
                range: iteration.range,
                content: format!("list({text})"),
            },
            format!("list({text})"),
        )
    } else {
        let object = locator.slice(iteration.object);
        let rest = &text[object.len().min(text.len())..];
        (
            Edit {
                range: TextRange::empty(iteration.object.end()),
                content: ".copy()".to_string(),
            },
            format!("{object}.copy(){rest}"),
        )
    };
    // A loop over a dict, set or deque that changes size raises, so the snapshot only removes
    // the crash. A loop over a list goes on to the items appended meanwhile, and a snapshot
    // no longer visits them: a change of behaviour to review.
    let applicability = match iteration.container {
        ContainerKind::List => FixApplicability::Unsafe,
        _ => FixApplicability::Safe,
    };
    Some(crate::fix::fix(
        applicability,
        format!("Iterate over a snapshot: `{}`", super::snippet(&shown)),
        vec![edit],
    ))
}

/// `tuple(D)` reads as a snapshot, and CPython's documentation of `sys.modules` suggests it,
/// but on a free-threaded build it walks the dict item by item; `list(D)` and `D.copy()` copy
/// it in one step (measured on 3.14t: 2,994 of 3,000 `tuple(d)` and 2,996 of 3,000
/// `tuple(d.values())` raised while another thread inserted and removed keys, no `list(…)`).
fn tuple_note(kind: crate::semantic::IterationKind<'_>) -> &'static str {
    match kind {
        crate::semantic::IterationKind::Call("tuple") => {
            " (on a free-threaded build `tuple(…)` walks the dict item by item; `list(…)` and \
             `.copy()` copy it in one step)"
        }
        _ => "",
    }
}

fn mapping_finding(context: &Context<'_, '_>, iteration: &MappingIteration<'_>) -> Diagnostic {
    let model = context.model;
    let what = iteration.kind.describe();
    let (harm, message, fix) = match iteration.mapping {
        ProcessMapping::SysModules => {
            let text = context.fixes.locator.slice(iteration.range);
            let fix = crate::fix::fix(
                FixApplicability::Safe,
                format!("Iterate over a snapshot: `list({})`", super::snippet(text)),
                vec![Edit {
                    range: iteration.range,
                    content: format!("list({text})"),
                }],
            );
            (
                Harm::Hazard,
                format!(
                    "{what} over `sys.modules` can run while an import on another thread adds a \
                     module to it, and then it raises `RuntimeError: dictionary changed size \
                     during iteration`{}",
                    tuple_note(iteration.kind)
                ),
                Some(fix),
            )
        }
        ProcessMapping::Environ => {
            // Only a deletion breaks it; any change of the environment from code that may run
            // on a thread shows the module does change it.
            let changed = model.process_global_uses.iter().find(|usage| {
                (usage.name.starts_with("os.environ") || usage.name == "os.unsetenv")
                    && usage
                        .function
                        .is_some_and(|function| model.execution(function).runs_concurrently())
            });
            let view = iteration.view.unwrap_or("items");
            match changed {
                Some(usage) => (
                    Harm::Hazard,
                    format!(
                        "{what} over `os.environ.{view}()` lists the variable names, then looks \
                         each one up: line {} changes the environment from code that may run on \
                         another thread, and a variable deleted in between raises `KeyError`",
                        context.line(usage.range)
                    ),
                    None,
                ),
                None => (
                    Harm::Uncertain,
                    format!(
                        "{what} over `os.environ.{view}()` lists the variable names, then looks \
                         each one up: a variable another thread deletes in between raises \
                         `KeyError`"
                    ),
                    None,
                ),
            }
        }
    };
    let (severity, reached) = context.judge(harm, iteration.function);
    let help = match iteration.mapping {
        ProcessMapping::SysModules => "iterate over a snapshot: `list(sys.modules.items())`",
        ProcessMapping::Environ => {
            "read the variables you need with `os.environ.get(name)`, or change the environment \
             only before threads start"
        }
    };
    Diagnostic::new(
        Rule::IterationDuringMutation,
        format!("{message}{reached}"),
        iteration.range,
    )
    .with_severity(severity)
    .with_harm(harm)
    .with_label(format!(
        "`{}` may change during the loop",
        iteration.mapping.name()
    ))
    .with_help(help)
    .with_fix(fix)
    .with_functions(vec![iteration.function])
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::{Diagnostic, Harm};
    use crate::registry::{Rule, RuleSet};
    use crate::semantic::SemanticModel;

    fn findings(source: &str) -> Vec<Diagnostic> {
        let parsed = ruff_python_parser::parse_unchecked_source(
            source,
            ruff_python_ast::PySourceType::Python,
        );
        let model = SemanticModel::build(parsed.syntax(), source);
        super::super::check_module(
            &model,
            &RuleSet::all(),
            crate::data::TargetVersion::default(),
            &rustc_hash::FxHashSet::default(),
        )
        .into_iter()
        .filter(|diagnostic| diagnostic.rule == Rule::IterationDuringMutation)
        .collect()
    }

    #[test]
    fn environ_items_is_a_hazard_when_the_module_changes_the_environment() {
        let source = "import os\n\n\ndef proxies():\n    return [k for k, v in os.environ.items()]\n\n\ndef unset(name):\n    del os.environ[name]\n";
        let found = findings(source);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].harm, Some(Harm::Hazard));
        assert!(found[0].message.contains("line 9"), "{}", found[0].message);
        assert!(found[0].fix.is_none());
    }

    #[test]
    fn a_rebinding_is_not_a_mutation_of_the_object_being_walked() {
        let source = "TABLE = {}\n\n\ndef reset():\n    global TABLE\n    TABLE = {}\n\n\ndef names():\n    return [k for k in TABLE]\n";
        assert!(findings(source).is_empty());
    }

    #[test]
    fn a_loop_under_the_lock_every_mutation_holds_is_quiet_also_when_inherited() {
        let source = "import threading\n\n_lock = threading.Lock()\n_items = {}\n\n\ndef add(k):\n    with _lock:\n        _items[k] = 1\n\n\ndef _walk():\n    return [k for k in _items]\n\n\ndef walk():\n    with _lock:\n        return _walk()\n";
        assert!(findings(source).is_empty());
    }

    #[test]
    fn the_list_snapshot_fix_is_unsafe_and_the_dict_one_safe() {
        let source = "_items = []\n_map = {}\n\n\ndef add(x):\n    _items.insert(0, x)\n    _map[x] = x\n\n\ndef walk():\n    for x in _items:\n        print(x)\n    for k in _map:\n        print(k)\n";
        let found = findings(source);
        let applicability: Vec<_> = found
            .iter()
            .map(|diagnostic| diagnostic.fix.as_ref().map(|fix| fix.applicability))
            .collect();
        assert_eq!(
            applicability,
            vec![
                Some(crate::diagnostic::FixApplicability::Unsafe),
                Some(crate::diagnostic::FixApplicability::Safe)
            ]
        );
    }

    #[test]
    fn a_list_only_appended_to_keeps_the_items_ahead_of_the_loop() {
        let appended = "import threading\n_hooks = []\n\n\ndef add(fn):\n    _hooks.append(fn)\n    _hooks.extend([fn])\n\n\ndef run():\n    for fn in _hooks:\n        fn()\n\n\nthreading.Thread(target=add, args=(print,)).start()\n";
        assert!(findings(appended).is_empty());
        let removed = appended.replace("_hooks.extend([fn])", "_hooks.remove(fn)");
        assert_eq!(findings(&removed).len(), 1);
    }
}
