//! Execution contexts: for every function, where it may run. Computed once the call graph is
//! resolved: what runs when a class is created, what runs only on an event loop, what a
//! library's users can call, and from these the one [`Execution`] each rule reads.

use rustc_hash::FxHashSet as HashSet;

use super::Builder;
use super::call_graph::closed_under_callers;
use super::syntax::last_segment;
use crate::semantic::{CallSite, Execution, Function, FunctionId, ModuleRole};

/// The facts [`Execution`] is decided from, one entry per function.
pub(super) struct ExecutionFacts<'f> {
    pub import_time: &'f [bool],
    pub reached_from: &'f [Option<usize>],
    pub event_loop: &'f [bool],
    pub library_api: &'f [bool],
    /// Functions that say they exist for tests, and what only they call.
    pub for_tests: &'f [bool],
    /// One-time set-up functions, and what only they call.
    pub setup: &'f [bool],
}

/// Where each function may run, the most telling fact first.
pub(super) fn executions(
    functions: &[Function<'_>],
    facts: &ExecutionFacts<'_>,
    role: ModuleRole,
) -> Vec<Execution> {
    (0..functions.len())
        .map(|id| {
            if facts.import_time[id] {
                Execution::ImportTime
            } else if functions[id].in_main_guard {
                Execution::MainScript
            } else if let Some(entry) = facts.reached_from[id] {
                Execution::Thread(entry)
            } else if facts.event_loop[id] {
                Execution::EventLoop
            } else if facts.setup[id] {
                Execution::Setup
            } else if matches!(role, ModuleRole::NoThreads | ModuleRole::Python2Only) {
                Execution::NoThreads
            } else if role == ModuleRole::Test || facts.for_tests[id] {
                Execution::TestOnly
            } else if facts.library_api[id] {
                Execution::LibraryApi
            } else {
                Execution::Unknown
            }
        })
        .collect()
}

/// Functions whose docstring or comment says they exist for tests, and what only they call:
/// the library does not run them, its test suite does.
pub(super) fn for_tests_only(
    functions: &[Function<'_>],
    call_sites: &[CallSite],
    entry_targets: &HashSet<FunctionId>,
) -> Vec<bool> {
    let seeds: Vec<bool> = functions
        .iter()
        .map(|function| function.for_tests)
        .collect();
    if !seeds.contains(&true) {
        return seeds;
    }
    closed_under_callers(functions, call_sites, entry_targets, seeds)
}

/// One-time set-up functions by their names (see [`crate::semantic::Execution::Setup`]),
/// and what only they call.
pub(super) fn setup_only(
    functions: &[Function<'_>],
    classes: &[crate::semantic::Class<'_>],
    call_sites: &[CallSite],
    entry_targets: &HashSet<FunctionId>,
) -> Vec<bool> {
    // Django runs an application's `AppConfig.ready()` once, in `django.setup()`, before the
    // server's threads serve anything.
    let django_ready = |function: &Function<'_>| {
        function.name == "ready"
            && function.class.is_some_and(|class| {
                classes[class]
                    .bases
                    .iter()
                    .any(|base| super::syntax::last_segment(base) == "AppConfig")
            })
    };
    let mut seeds: Vec<bool> = functions
        .iter()
        .enumerate()
        .map(|(id, function)| {
            (crate::semantic::names_one_time_setup(
                function.name,
                function.parent.is_none() && function.class.is_none(),
            ) || django_ready(function))
                && !entry_targets.contains(&id)
        })
        .collect();
    if !seeds.contains(&true) {
        return seeds;
    }
    // A set-up function the module's other code calls (`capture()` → `setup()` on first use)
    // runs lazily, on whatever thread gets there first: only calls from module-level code and
    // from other set-up keep it set-up.
    let mut changed = true;
    while changed {
        changed = false;
        for site in call_sites {
            if seeds[site.callee] && site.caller.is_some_and(|caller| !seeds[caller]) {
                seeds[site.callee] = false;
                changed = true;
            }
        }
    }
    closed_under_callers(functions, call_sites, entry_targets, seeds)
}

/// Coroutines, and the plain functions that only coroutines call: they run on an event loop,
/// where they interleave with each other only at `await`. In a module of a framework whose
/// loop runs everything on one thread (`reactor_driven`: Twisted, Tornado, eventlet, gevent),
/// every function runs on that thread.
/// Code handed to a thread (`asyncio.to_thread`, `run_in_executor`, `deferToThread`) is a
/// thread entry and stays out.
pub(super) fn event_loop_only(
    functions: &[Function<'_>],
    call_sites: &[CallSite],
    entry_targets: &HashSet<FunctionId>,
    reactor_driven: bool,
) -> Vec<bool> {
    let coroutines: Vec<bool> = functions
        .iter()
        .enumerate()
        .map(|(id, function)| (function.is_async || reactor_driven) && !entry_targets.contains(&id))
        .collect();
    closed_under_callers(functions, call_sites, entry_targets, coroutines)
}

/// A library's public surface and everything it calls: public module-level functions and
/// public methods of public classes of a library module (a dunder method is public too), then
/// their callees. Its users may call any of it from several threads at once.
pub(super) fn library_api(
    functions: &[Function<'_>],
    class_names: &[&str],
    call_sites: &[CallSite],
    import_time: &[bool],
    role: ModuleRole,
) -> Vec<bool> {
    let mut api = vec![false; functions.len()];
    if role != ModuleRole::Library {
        return api;
    }
    let public =
        |name: &str| !name.starts_with('_') || (name.starts_with("__") && name.ends_with("__"));
    let mut queue: Vec<FunctionId> = Vec::new();
    for (id, function) in functions.iter().enumerate() {
        // A decorator's wrapper runs for every caller of the function it wraps.
        let exposed = (function.parent.is_none()
            && public(function.name)
            && function
                .class
                .is_none_or(|class| !class_names[class].starts_with('_'))
            || function.is_decorator_wrapper())
            && !import_time[id];
        if exposed {
            api[id] = true;
            queue.push(id);
        }
    }
    let mut callees: Vec<Vec<FunctionId>> = vec![Vec::new(); functions.len()];
    for site in call_sites {
        if let Some(caller) = site.caller {
            callees[caller].push(site.callee);
        }
    }
    while let Some(id) = queue.pop() {
        for &callee in &callees[id] {
            if !api[callee] && !import_time[callee] {
                api[callee] = true;
                queue.push(callee);
            }
        }
    }
    api
}

impl Builder<'_> {
    /// Methods that run when a class is created, at import: `__init_subclass__` and
    /// `__set_name__` of any class, and `__new__`, `__init__` and `__prepare__` of a metaclass.
    pub(super) fn class_creation_methods(&self) -> Vec<bool> {
        let metaclass: Vec<bool> = (0..self.classes.len())
            .map(|class| self.is_metaclass(class, 0))
            .collect();
        self.functions
            .iter()
            .map(|function| match function.class {
                Some(class) if function.parent.is_none() => {
                    matches!(function.name, "__init_subclass__" | "__set_name__")
                        || (metaclass[class]
                            && matches!(function.name, "__new__" | "__init__" | "__prepare__"))
                }
                _ => false,
            })
            .collect()
    }

    /// A class derived from `type` (directly, through an imported metaclass such as
    /// `abc.ABCMeta`, or through a metaclass of this module).
    fn is_metaclass(&self, class: usize, depth: usize) -> bool {
        if depth > 16 {
            return false;
        }
        self.classes[class].bases.iter().any(|base| {
            let last = last_segment(base);
            matches!(base.as_str(), "type" | "builtins.type")
                || last.ends_with("Meta")
                || last.ends_with("MetaClass")
                || last.ends_with("Metaclass")
                || last == "EnumType"
                || self
                    .class_index
                    .get(base.as_str())
                    .is_some_and(|&parent| parent != class && self.is_metaclass(parent, depth + 1))
        })
    }
}
