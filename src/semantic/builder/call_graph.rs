//! Analyses over the resolved call graph: which thread entry reaches each function, the locks a
//! function inherits from all its callers, and which functions run only during construction or
//! only at import time.

use std::collections::VecDeque;

use rustc_hash::FxHashSet as HashSet;

use crate::semantic::{CallSite, Function, FunctionId, LockKey, ThreadEntry};

/// Breadth-first propagation over the call graph: each function records the earliest entry
/// (in file order) that reaches it.
pub(super) fn propagate_reachability(
    function_count: usize,
    entries: &[ThreadEntry],
    call_sites: &[CallSite],
) -> Vec<Option<usize>> {
    let mut callees: Vec<Vec<FunctionId>> = vec![Vec::new(); function_count];
    for site in call_sites {
        if let Some(caller) = site.caller {
            callees[caller].push(site.callee);
        }
    }
    let mut reached: Vec<Option<usize>> = vec![None; function_count];
    for (entry_id, entry) in entries.iter().enumerate() {
        let mut queue: VecDeque<FunctionId> = VecDeque::new();
        for &target in &entry.targets {
            if reached[target].is_none() {
                reached[target] = Some(entry_id);
                queue.push_back(target);
            }
        }
        while let Some(function) = queue.pop_front() {
            for &callee in &callees[function] {
                if reached[callee].is_none() {
                    reached[callee] = Some(entry_id);
                    queue.push_back(callee);
                }
            }
        }
    }
    reached
}

/// The locks every caller holds when it calls a function (a greatest fixpoint over the call
/// graph). Functions that escape, are decorated, start threads or have no call site in this
/// module inherit nothing: someone we cannot see may call them without the lock.
///
/// With `construction`, calls made while an object is constructed do not count: for the
/// object's own attributes a helper that `__init__` calls before the object is shared, and
/// every other method calls under the lock, always writes them under the lock once it matters.
pub(super) fn inherit_locks(
    functions: &[Function<'_>],
    call_sites: &[CallSite],
    entry_targets: &HashSet<FunctionId>,
    function_count: usize,
    construction: Option<&[bool]>,
) -> Vec<Vec<LockKey>> {
    let mut sites_by_callee: Vec<Vec<&CallSite>> = vec![Vec::new(); function_count];
    for site in call_sites {
        sites_by_callee[site.callee].push(site);
    }
    // A caller that runs alone (in a forked child, at exit) needs no lock to exclude others:
    // the callee inherits what its other callers hold.
    let from_construction = |site: &&CallSite| {
        site.caller
            .is_some_and(|caller| functions[caller].runs_alone)
            || construction.is_some_and(|construction| site.caller.is_some_and(|c| construction[c]))
    };
    let eligible: Vec<bool> = (0..function_count)
        .map(|id| {
            let function = &functions[id];
            !function.escapes
                && !function.decorated
                && !entry_targets.contains(&id)
                && !sites_by_callee[id].is_empty()
        })
        .collect();
    // `None` is "every lock" (not yet constrained).
    let mut inherited: Vec<Option<Vec<LockKey>>> = (0..function_count)
        .map(|id| if eligible[id] { None } else { Some(Vec::new()) })
        .collect();
    let mut changed = true;
    let mut rounds = 0;
    while changed && rounds < 64 {
        changed = false;
        rounds += 1;
        for id in 0..function_count {
            if !eligible[id] {
                continue;
            }
            let mut result: Option<Vec<LockKey>> = None;
            for site in sites_by_callee[id]
                .iter()
                .filter(|site| !from_construction(site))
            {
                let held: Option<Vec<LockKey>> = match site.caller {
                    None => Some(site.locks.clone()),
                    Some(caller) => inherited[caller].as_ref().map(|caller_locks| {
                        let mut held = site.locks.clone();
                        for lock in caller_locks {
                            if !held.contains(lock) {
                                held.push(lock.clone());
                            }
                        }
                        held
                    }),
                };
                if let Some(held) = held {
                    result = Some(match result {
                        None => held,
                        Some(previous) => previous
                            .into_iter()
                            .filter(|lock| held.contains(lock))
                            .collect(),
                    });
                }
            }
            if result.is_some() && result != inherited[id] {
                inherited[id] = result;
                changed = true;
            }
        }
    }
    inherited
        .into_iter()
        .map(|locks| locks.unwrap_or_default())
        .collect()
}

/// Functions called only from module-level code (directly or through other such functions):
/// like module-level code they run once, while the module is imported (`def_op(...)` tables,
/// registration helpers applied at import, decorators applied to module-level definitions).
/// `class_creation` marks the methods that run when a class is created, which are import-time
/// code too, as is what only they call; `in_child_process` marks code that runs alone in a
/// child process.
pub(super) fn import_time_only(
    functions: &[Function<'_>],
    call_sites: &[CallSite],
    entry_targets: &HashSet<FunctionId>,
    class_creation: &[bool],
    in_child_process: &[bool],
) -> Vec<bool> {
    let mut callers: Vec<Vec<Option<FunctionId>>> = vec![Vec::new(); functions.len()];
    for site in call_sites {
        callers[site.callee].push(site.caller);
    }
    let candidate: Vec<bool> = (0..functions.len())
        .map(|id| !functions[id].escapes && !entry_targets.contains(&id) && !callers[id].is_empty())
        .collect();
    // A fork-child handler runs single-threaded, as import-time code does, and an exit
    // handler once, at shutdown (both `runs_alone`); so does what only they (or import-time
    // code) call.
    // A handler named for the forked child runs there whoever calls it (the hook registered
    // is often a lambda or a weak-reference wrapper around it).
    let mut import_time: Vec<bool> = (0..functions.len())
        .map(|id| {
            let named = names_fork_child_handler(functions[id].name);
            // A child process's main, or what only a fork's child calls, runs on that
            // process's one thread (see `Builder::child_process_functions`).
            ((functions[id].runs_alone || class_creation[id]) && (callers[id].is_empty() || named)
                || in_child_process[id])
                && !entry_targets.contains(&id)
        })
        .collect();
    let mut changed = true;
    while changed {
        changed = false;
        for id in 0..functions.len() {
            if import_time[id] || !candidate[id] {
                continue;
            }
            let only_at_import = callers[id].iter().all(|caller| match caller {
                None => true,
                Some(caller) => *caller != id && import_time[*caller],
            });
            if only_at_import {
                import_time[id] = true;
                changed = true;
            }
        }
    }
    import_time
}

/// Functions that run only while an object is being constructed: constructors, and helpers
/// called only from them (`self._init()` in `__init__`). The object is not shared yet.
pub(super) fn construction_only(
    functions: &[Function<'_>],
    call_sites: &[CallSite],
    entry_targets: &HashSet<FunctionId>,
) -> Vec<bool> {
    let constructors: Vec<bool> = functions.iter().map(Function::is_constructor).collect();
    closed_under_callers(functions, call_sites, entry_targets, constructors)
}

/// Extends `marked` to every function all of whose callers (in this module) are marked: a
/// function that escapes, is decorated, starts a thread or has no call site here may be called
/// from elsewhere and stays as it is. The least fixpoint, so a cycle of such functions stays
/// unmarked unless something marked calls into it.
pub(super) fn closed_under_callers(
    functions: &[Function<'_>],
    call_sites: &[CallSite],
    entry_targets: &HashSet<FunctionId>,
    mut marked: Vec<bool>,
) -> Vec<bool> {
    let mut callers: Vec<Vec<Option<FunctionId>>> = vec![Vec::new(); functions.len()];
    for site in call_sites {
        callers[site.callee].push(site.caller);
    }
    let mut changed = true;
    while changed {
        changed = false;
        for id in 0..functions.len() {
            let function = &functions[id];
            if marked[id]
                || function.escapes
                || function.decorated
                || entry_targets.contains(&id)
                || callers[id].is_empty()
            {
                continue;
            }
            if callers[id]
                .iter()
                .all(|caller| caller.is_some_and(|caller| caller != id && marked[caller]))
            {
                marked[id] = true;
                changed = true;
            }
        }
    }
    marked
}

/// A function whose name says it runs in the child after `fork()` (`post_fork_child`,
/// `_reinit_after_fork`, `rebuild_after_fork`, `_after_fork_in_child`, `_at_fork_reinit`):
/// libraries register such hooks with `os.register_at_fork(after_in_child=…)`, often through a
/// lambda or a weak reference this module cannot follow. The child has one thread until the
/// hook returns. A `…_locked` name says a lock is held, and a parent-side hook (`post_fork_parent`)
/// runs beside the parent's threads: neither counts.
pub(super) fn names_fork_child_handler(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if !name.contains("fork") || name.contains("parent") || name.ends_with("_locked") {
        return false;
    }
    name.contains("child")
        || name.contains("reinit")
        || name.contains("rebuild")
        || name.ends_with("after_fork")
        || name.ends_with("afterfork")
}
