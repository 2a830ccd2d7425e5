//! The semantic model of one module, computed once and read by every rule.
//!
//! It answers the questions the shared-state rules ask: which names are module state and what
//! they are bound to, which scopes declare `global`/`nonlocal`, which objects are locks, which
//! regions hold which lock, which functions run on threads, and every write to shared state
//! together with the locks held and the check that guards it. Rules only read these facts; they
//! never walk the tree again.

mod builder;
mod evictions;
mod execution;
mod guards;
mod iteration;
mod iterators;
mod overrides;
mod reads;
mod stacks;
mod values;

use rustc_hash::FxHashMap as HashMap;

use ruff_python_ast::ModModule;
use ruff_text_size::{TextRange, TextSize};

pub use evictions::{Eviction, EvictionTrigger, Removal};
pub use execution::{
    Execution, ModuleRole, ValueIdentity, is_async_package_path, is_command_line_file,
    names_one_time_setup,
};
pub use guards::{BranchWork, CheckActLocking, Guard, GuardKind};
pub use iteration::{IterationKind, MappingIteration, ProcessMapping, StateIteration};
pub use iterators::{AdvanceKind, IteratorAdvance, IteratorKind, SharedIterator};
pub use overrides::{OverriddenState, OverrideShape, ScopedOverride};
pub use reads::{NameIndex, StateRead};
pub use stacks::{SharedStack, StackEnd, StackOp, StackOpKind};
pub use values::{
    ContainerKind, PoolKind, ValueKind, is_atomic_deque_method, is_threading_local, last_segment,
};

pub type FunctionId = usize;
pub type ClassId = usize;
pub type EntryId = usize;

/// The canonical text of a lock: `_lock` (module), `self._lock` (per instance),
/// `Cache._lock` (a class attribute, however it is reached), or the expression's text.
pub type LockKey = String;

/// A module-level name and what it is bound to.
#[derive(Debug, Clone)]
pub struct ModuleBinding {
    pub kind: ValueKind,
    /// The name in the binding statement.
    pub range: TextRange,
    /// The whole binding statement.
    pub stmt_range: TextRange,
}

/// A function, method, or nested function (a closure when it has a parent).
#[derive(Debug)]
pub struct Function<'a> {
    pub name: &'a str,
    /// `Class.method`, `outer.<locals>.inner`, or the name.
    pub qualname: String,
    pub range: TextRange,
    pub name_range: TextRange,
    pub class: Option<ClassId>,
    pub parent: Option<FunctionId>,
    /// Sorted, for binary search.
    pub globals: Vec<&'a str>,
    pub nonlocals: Vec<&'a str>,
    /// Sorted, for binary search.
    pub locals: Vec<&'a str>,
    pub decorated: bool,
    /// The name of the first parameter of a method (`self`, `cls`).
    pub receiver: Option<&'a str>,
    /// The top-level statements of the body (a docstring first, when there is one).
    pub body: Vec<TextRange>,
    /// Referenced as a value (passed, stored, returned), so it may be called from anywhere.
    pub escapes: bool,
    /// A handler that runs apart from the program's threads: registered with
    /// `os.register_at_fork(after_in_child=…)` (it runs in a freshly forked child, where only
    /// the forking thread exists) or with `atexit.register`, called or as a decorator (it runs
    /// once, while the interpreter shuts down, after the threads it waits for have finished).
    pub runs_alone: bool,
    /// Its docstring, or the comment right above it, says it exists for tests ("Used only for
    /// testing."): the library itself does not call it.
    pub for_tests: bool,
    /// Defined under `if __name__ == "__main__":`.
    pub in_main_guard: bool,
    /// An `async def`: a coroutine function.
    pub is_async: bool,
    /// The names of its parameters.
    pub parameters: Vec<&'a str>,
    /// The enclosing functions whose parameter it calls (`func(*args)` in a decorator's
    /// wrapper calls the decorator's `func`).
    pub calls_parameters_of: Vec<FunctionId>,
}

impl Function<'_> {
    pub fn declares_global(&self, name: &str) -> bool {
        self.globals.binary_search(&name).is_ok()
    }

    pub fn is_local(&self, name: &str) -> bool {
        self.locals.binary_search(&name).is_ok()
    }

    /// A decorator's wrapper: a closure handed out by its enclosing function (returned or
    /// passed on) that calls a parameter of it, the wrapped function. A decorator is applied
    /// once, where the wrapped function is defined, so every caller of that function runs
    /// this one closure and shares the variables it closes over.
    pub fn is_decorator_wrapper(&self) -> bool {
        self.parent.is_some() && self.escapes && !self.calls_parameters_of.is_empty()
    }

    /// Construction runs before the object is shared with another thread; so does
    /// `__setstate__`, which fills in an object being unpickled or copied.
    pub fn is_constructor(&self) -> bool {
        matches!(
            self.name,
            "__init__"
                | "__new__"
                | "__setstate__"
                | "__post_init__"
                | "setUp"
                | "setUpClass"
                | "__init_subclass__"
                | "__set_name__"
        )
    }
}

/// An attribute assigned in a class body.
#[derive(Debug, Clone)]
pub struct ClassAttribute<'a> {
    pub name: &'a str,
    pub kind: ValueKind,
    pub range: TextRange,
    pub stmt_range: TextRange,
    pub annotated: bool,
    /// Annotated as `ClassVar[...]`.
    pub class_var: bool,
    /// A dataclass `field(default=…)` whose default is a lock.
    pub field_default_lock: bool,
    /// The assigned value.
    pub value_range: Option<TextRange>,
    /// The qualified name of the callee when the value is a call (`threading.RLock`).
    pub factory: Option<String>,
}

#[derive(Debug)]
pub struct Class<'a> {
    pub name: &'a str,
    pub range: TextRange,
    pub name_range: TextRange,
    /// Base classes as written (qualified when imported).
    pub bases: Vec<String>,
    /// The `metaclass=` keyword as written (qualified when imported): `cls.name` in a
    /// classmethod finds the metaclass's methods when the class has none of that name.
    pub metaclass: Option<String>,
    pub is_dataclass: bool,
    pub is_thread_subclass: bool,
    /// A subclass of `multiprocessing.Process`: its `run` is a child process's main.
    pub is_process_subclass: bool,
    /// A subclass of `threading.local`: every thread sees its own attributes.
    pub is_thread_local: bool,
    /// The attribute holding the lock that `__enter__` acquires (`self._lock.acquire()`), so
    /// `with self:` holds it.
    pub context_lock: Option<&'a str>,
    /// Methods that return a lock of the receiver (`def get_lock(cls): … return cls._lock`),
    /// with that attribute: `with cls.get_lock():` holds the lock `with cls._lock:` does.
    pub lock_getters: Vec<(&'a str, &'a str)>,
    /// Locks a classmethod stores on the class (`cls._lock = TqdmDefaultWriteLock()`): one lock
    /// for the class and every instance, whatever the receiver that names it.
    pub class_assigned_locks: Vec<&'a str>,
    /// A module-level lock that `__enter__` acquires (`_LOCK.acquire()`) and `__exit__`
    /// releases: every object of the class holds the same lock while its block runs.
    pub context_module_lock: Option<&'a str>,
    /// A module-level instance of the class (`_default = Tracker()`): one object shared by
    /// every caller of the module, whose attributes are shared state like module globals.
    pub singleton: Option<&'a str>,
    pub attributes: Vec<ClassAttribute<'a>>,
    pub methods: Vec<FunctionId>,
    /// Attributes assigned through `self.<name> = …` in any method, with the value kind of the
    /// first such assignment.
    pub instance_attributes: HashMap<&'a str, ValueKind>,
}

impl<'a> Class<'a> {
    pub fn attribute(&self, name: &str) -> Option<&ClassAttribute<'a>> {
        self.attributes.iter().find(|attr| attr.name == name)
    }
}

/// A region of code that holds a lock: the body of `with lock:`, or the statements between
/// `lock.acquire()` and `lock.release()`.
#[derive(Debug, Clone)]
pub struct LockRegion {
    pub lock: LockKey,
    /// The lock expression as written, for messages and fixes.
    pub lock_text: String,
    pub range: TextRange,
    pub function: Option<FunctionId>,
}

/// How a thread starts running a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadEntryKind {
    Thread,
    Timer,
    StartNewThread,
    ExecutorSubmit,
    PoolMethod,
    Initializer,
    ToThread,
    RunInExecutor,
    RunOverride,
    /// A function decorated with a configured `thread-entry-decorators` decorator.
    Decorated,
    /// `callback=`/`error_callback=` of a `multiprocessing` pool's `apply_async`/`map_async`:
    /// the pool's result-handler thread runs it, in this process, whatever the pool.
    PoolCallback,
    /// Twisted's `deferToThread`/`deferToThreadPool` and `reactor.callInThread`, eventlet's
    /// `tpool.execute`: the function leaves the loop's thread for a real worker thread.
    ReactorThreadPool,
}

/// A place where a function is handed to a thread.
#[derive(Debug, Clone)]
pub struct ThreadEntry {
    pub kind: ThreadEntryKind,
    /// The call that starts the thread (or the `run` override's name).
    pub range: TextRange,
    pub targets: Vec<FunctionId>,
    /// Targets imported from elsewhere, by qualified name (relative imports keep their dots).
    pub external_targets: Vec<String>,
}

/// What shared state an access touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StateKey<'a> {
    /// A module-level name (rebound through `global`, or mutated in place).
    Global(&'a str),
    /// A variable of an enclosing function, rebound through `nonlocal`.
    Nonlocal(FunctionId, &'a str),
    /// A class attribute reached through `cls.`, or the class name (shared by all instances).
    ClassAttr(ClassId, &'a str),
    /// `self.<attr>` in a method of the class.
    InstanceAttr(ClassId, &'a str),
    /// An attribute of a module-level object that lives once per process but is neither a
    /// container nor a class of this module: another module of the project (`config.CACHE`,
    /// `from . import state; state._instance`) or one of this module's functions used as a
    /// cache (`f.table`). The owner as written, and the attribute.
    ObjectAttr(&'a str, &'a str),
}

/// Which part of the state is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessTarget<'a> {
    /// The state itself (`x = …`, `x += …`, `self.n = …`).
    Whole,
    /// An item, with the source text of the key (`D[k]`).
    Item(String),
    /// An attribute of the state (`obj.n`).
    Attr(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKind<'a> {
    /// `=` (or an annotated assignment with a value).
    Assign,
    AugAssign,
    Delete,
    /// A call of a method that mutates a container in place (`append`, `update`, …).
    MutatingCall(&'a str),
}

/// A write to shared state inside a function.
#[derive(Debug, Clone)]
pub struct StateAccess<'a> {
    pub key: StateKey<'a>,
    pub target: AccessTarget<'a>,
    pub kind: AccessKind<'a>,
    /// Reads the same target it writes (`x += 1`, `x = x + 1`, `D[k] = D.get(k, 0) + 1`).
    pub read_modify_write: bool,
    /// The written expression (target or call).
    pub range: TextRange,
    /// The simple statement containing the write.
    pub stmt: TextRange,
    pub function: FunctionId,
    /// Locks held at the write inside its own function.
    pub locks: Vec<LockKey>,
    /// The innermost check on the same state that this write depends on.
    pub guard: Option<Guard>,
    /// The object written into: `D` of `D[k] = v`, `obj` of `obj.n += 1`.
    pub object: Option<TextRange>,
    /// The assigned value, for assignments.
    pub value: Option<TextRange>,
    /// The value has no side effects (a literal, a name, an empty display).
    pub value_is_pure: bool,
    /// The value is a new empty container (`{}`, `[]`, `set()`, `defaultdict(list)`) or a list
    /// of placeholders (`[0] * n`), which the code presumably fills afterwards.
    pub value_is_empty_container: bool,
    /// Whether computing the value twice gives equal values or two different objects.
    pub value_identity: ValueIdentity,
    /// Written under a lock after a check made while holding it (the inner check of
    /// double-checked locking, even when it tests a second flag).
    pub rechecked_under_lock: bool,
    /// The next statement of the same block returns or raises: nothing else this call does
    /// runs after the write (`D = {}; return D`, a reset).
    pub followed_by_exit: bool,
}

impl StateAccess<'_> {
    /// Whether the write takes entries out (`del D[k]`, `D.pop(k)`, `L.clear()`, …).
    pub fn removes(&self) -> bool {
        match self.kind {
            AccessKind::Delete => true,
            AccessKind::MutatingCall(method) => matches!(
                method,
                "pop" | "popitem" | "popleft" | "clear" | "remove" | "discard"
            ),
            _ => false,
        }
    }
}

/// A call from one function (or module-level code) to a function of this module.
#[derive(Debug, Clone)]
pub struct CallSite {
    pub caller: Option<FunctionId>,
    pub callee: FunctionId,
    pub locks: Vec<LockKey>,
    /// The callee expression as written (`helper` of `helper(x)`).
    pub range: TextRange,
}

/// A call or assignment that changes process-wide state (the NG302 table).
#[derive(Debug, Clone)]
pub struct ProcessGlobalUse {
    /// `None` in module-level code.
    pub function: Option<FunctionId>,
    pub range: TextRange,
    /// The qualified name from the table (`os.chdir`, `sys.stdout`).
    pub name: String,
    pub reason: String,
    /// Part of a scoped override (a set, the restore, the `with redirect_stdout(…)` call, a
    /// warning filter changed inside `catch_warnings`): NG110 reports it, not NG302.
    pub scoped: bool,
}

/// A use of an API that assumes a GIL or does not exist (the NG303 table).
#[derive(Debug, Clone)]
pub struct GilApiUse {
    pub range: TextRange,
    pub name: String,
    pub reason: String,
    /// The whole call, when the API is called, and the text to replace it with.
    pub replacement: Option<(TextRange, String)>,
}

/// Which process pool a constructor call creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolFactory {
    /// `concurrent.futures.ProcessPoolExecutor`
    Executor,
    /// `multiprocessing.Pool` or `multiprocessing.get_context(…).Pool`
    Multiprocessing,
}

/// A callable handed to a process pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerRef {
    Local(FunctionId),
    /// Imported from another module, by qualified name (relative imports keep their dots).
    External(String),
}

/// A process pool and the work handed to it (NG301).
#[derive(Debug, Clone)]
pub struct ProcessPool {
    /// The constructor call.
    pub range: TextRange,
    /// The callee of the constructor (`ProcessPoolExecutor`, `mp.get_context("spawn").Pool`).
    pub callee: TextRange,
    pub factory: PoolFactory,
    pub function: Option<FunctionId>,
    /// The work submitted to the pool in this module (`submit`, `map`, `apply_async`, …,
    /// `loop.run_in_executor(pool, f)`): what the pool is for.
    pub work: Vec<WorkerRef>,
    /// The `initializer=` of the constructor: set-up run once in each worker process.
    pub initializer: Option<WorkerRef>,
    /// Submitted work or an initializer that cannot be analysed (a lambda, a callable from a
    /// library, …).
    pub unresolved_work: bool,
    /// The start method was chosen on purpose: `mp_context=`/`context=`, or a pool made by a
    /// context from `multiprocessing.get_context(…)`.
    pub explicit_start_method: bool,
    /// The pool leaves the code that made it (stored on an object, returned, yielded, passed
    /// to a call), so work may be submitted to it where this analysis does not look.
    pub escapes: bool,
    /// Positional arguments of the constructor.
    pub positional: usize,
    /// Keyword arguments: name and the range of `name=value`.
    pub keywords: Vec<(String, TextRange)>,
}

/// Code that behaves per process: it reads or sets something each worker process has its own
/// copy of (`os.getpid()`, `os.environ`, a reseeded RNG, a `threading.local`, …). Work that
/// does this under a process pool was put in processes on purpose (NG301).
#[derive(Debug, Clone)]
pub struct PerProcessUse {
    /// `None` in module-level code.
    pub function: Option<FunctionId>,
    pub range: TextRange,
    /// What is used, for messages (`os.getpid`, `random.seed`, `threading.local`).
    pub name: String,
}

/// An import of a top-level module (`import numpy.linalg`, `from yaml import safe_load`,
/// `importlib.import_module("lxml.etree")`), for the extension rules.
#[derive(Debug, Clone)]
pub struct ImportRef {
    /// The top-level module name (`numpy`).
    pub top: String,
    /// The imported name as written (`numpy.linalg`).
    pub module: String,
    pub range: TextRange,
    /// The names a `from X import a, b` imports (`a`, `b`), which may be submodules.
    pub names: Vec<String>,
    /// The modules the `try` body imported when this import is its `except ImportError`
    /// fallback (`try: import yaml_ft as yaml` / `except ImportError: import yaml`).
    pub fallback_after: Vec<String>,
}

/// Options of the model that come from the settings.
#[derive(Debug, Clone, Default)]
pub struct ModelOptions {
    pub target_version: crate::data::TargetVersion,
    /// Extra qualified names of functions that change process-wide state.
    pub thread_unsafe_functions: Vec<String>,
    /// Extra qualified names of callables that create locks (`mypkg.locks.make_lock`).
    pub lock_factories: Vec<String>,
    /// Decorators that run the decorated function on a thread (`mypkg.background`).
    pub thread_entry_decorators: Vec<String>,
    /// Top-level module names of the project: attributes of its modules are shared state of
    /// the project, those of third-party and standard modules are someone else's.
    pub project_modules: std::sync::Arc<rustc_hash::FxHashSet<String>>,
    /// Qualified names (as this module's imports spell them) of classes that other modules of
    /// the project derive from `threading.local` (`pony.utils.localbase`, bound there by
    /// `from threading import local as localbase`): found by the project phase.
    pub thread_local_classes: std::sync::Arc<rustc_hash::FxHashSet<String>>,
}

/// A lock created once and shared where a per-instance or per-call lock was likely meant.
#[derive(Debug, Clone)]
pub struct ParameterLockDefault {
    pub function: FunctionId,
    pub parameter: String,
    pub range: TextRange,
}

#[derive(Debug)]
pub struct SemanticModel<'a> {
    pub source: &'a str,
    /// Where each line starts, built on the first position asked for: a rule that reports
    /// thousands of findings in one large file must not recount lines from the start each time.
    pub line_starts: std::sync::OnceLock<Vec<usize>>,
    /// Local name → qualified name, for every import in the module.
    pub imports: HashMap<&'a str, String>,
    /// Module-level bindings; a name bound several times keeps its most telling binding.
    pub bindings: HashMap<&'a str, ModuleBinding>,
    pub functions: Vec<Function<'a>>,
    pub classes: Vec<Class<'a>>,
    /// Class name → the first class of that name.
    pub class_index: HashMap<&'a str, ClassId>,
    pub lock_regions: Vec<LockRegion>,
    /// The branches taken when `lock.acquire(False)` failed (`if not lock.acquire(False): …`):
    /// code that chose not to wait for the lock, and must not be made to.
    pub lock_unavailable: Vec<(LockKey, TextRange)>,
    pub thread_entries: Vec<ThreadEntry>,
    pub accesses: Vec<StateAccess<'a>>,
    /// Loops and comprehensions over shared state inside functions.
    pub iterations: Vec<StateIteration<'a>>,
    /// Loops over `sys.modules` and over `os.environ`'s items inside functions.
    pub mapping_iterations: Vec<MappingIteration<'a>>,
    /// Evictions from shared containers that depend on a check of their size or emptiness (or
    /// on a `move_to_end` just before), in file order.
    pub evictions: Vec<Eviction>,
    /// Module- and class-level lists used as stacks of "current" entries (NG111).
    pub shared_stacks: Vec<SharedStack<'a>>,
    /// Generators and one-pass iterators created at module or class level and advanced from
    /// functions (NG112).
    pub shared_iterators: Vec<SharedIterator<'a>>,
    /// Indexes into `accesses` by the state they touch, so that rules asking "every write of
    /// this name" stay linear in large modules.
    accesses_by_key: HashMap<StateKey<'a>, Vec<usize>>,
    /// Where functions read module- and class-level state (see [`StateRead`]), by state.
    reads_by_key: HashMap<StateKey<'a>, Vec<StateRead>>,
    pub call_sites: Vec<CallSite>,
    pub parameter_lock_defaults: Vec<ParameterLockDefault>,
    pub process_global_uses: Vec<ProcessGlobalUse>,
    /// Shared or process-wide state saved, set to a temporary value and restored (NG110).
    pub scoped_overrides: Vec<ScopedOverride<'a>>,
    pub process_pools: Vec<ProcessPool>,
    pub per_process_uses: Vec<PerProcessUse>,
    /// The module calls `multiprocessing.set_start_method` or `set_forkserver_preload`: its
    /// process pools run in processes started a chosen way.
    pub sets_start_method: bool,
    pub import_refs: Vec<ImportRef>,
    /// The modules of `from module import *` statements as written, each followed by the dot
    /// a name would follow (`.utils.`, or `.` for `from . import *`).
    pub star_imports: Vec<String>,
    /// Calls of imported names (`helpers.work`, `from .jobs import run; run()`), by caller.
    pub external_calls: Vec<(Option<FunctionId>, String)>,
    /// This module's functions its top-level code calls at import (not under `__main__`).
    pub import_calls: Vec<FunctionId>,
    pub gil_api_uses: Vec<GilApiUse>,
    /// The bodies of `if __name__ == "__main__":` blocks.
    pub main_guards: Vec<TextRange>,
    /// Where new module-level statements go: after the docstring, `__future__` imports and the
    /// leading block of imports (the start of the line that follows them).
    pub header_end: TextSize,
    /// For each function, the entry that reaches it (the earliest in the file).
    reached_from: Vec<Option<EntryId>>,
    /// For each function, the locks held at every one of its call sites.
    inherited_locks: Vec<Vec<LockKey>>,
    /// As `inherited_locks`, not counting calls made while constructing an object: what an
    /// instance's own attributes are written under once the object can be shared.
    instance_inherited_locks: Vec<Vec<LockKey>>,
    /// For each function, whether it runs only during construction of its object.
    construction: Vec<bool>,
    /// For each function, whether it is called only from module-level code.
    import_time: Vec<bool>,
    /// For each function, where it may run.
    execution: Vec<Execution>,
    /// What the module is for, from its path.
    pub role: ModuleRole,
    /// For each function, whether it is a command-line entry point: `main` of a module that
    /// runs it under `if __name__ == "__main__":`, and what only such functions call.
    command_line: Vec<bool>,
    /// The module is a program's command line (`__main__.py`, `cli.py`), set by the linter
    /// from the file name: its functions are entry points, not a library's API.
    pub command_line_module: bool,
    /// The module is another project's code copied into a package of this one
    /// (`pkg/_vendor/…`), set by the linter: its findings are information.
    pub vendored: bool,
    /// Code that runs in the child of `os.fork()` (`if pid == 0:`), where only the forking
    /// thread exists, and the `run` methods of `multiprocessing.Process` subclasses, which
    /// start on the child process's only thread.
    fork_child_ranges: Vec<TextRange>,
    /// Code only the main thread runs (`if threading.current_thread() is
    /// threading.main_thread():`).
    main_thread_ranges: Vec<TextRange>,
    /// Branches the target interpreter never runs (`if sys.version_info < (3, 8):`).
    pub dead_on_target: Vec<TextRange>,
    /// For each function, whether it is main-thread set-up: it calls an API Python allows
    /// only in the main thread (`signal.signal`), or only such functions call it.
    main_thread_setup: Vec<bool>,
}

impl<'a> SemanticModel<'a> {
    pub fn build(module: &'a ModModule, source: &'a str) -> Self {
        builder::build(
            module,
            source,
            &ModelOptions::default(),
            ModuleRole::Library,
            false,
        )
    }

    /// `async_package`: the module belongs to the asynchronous twin of a library (see
    /// [`is_async_package_path`]), whose code runs on an event loop.
    pub fn build_with(
        module: &'a ModModule,
        source: &'a str,
        options: &ModelOptions,
        role: ModuleRole,
        async_package: bool,
    ) -> Self {
        builder::build(module, source, options, role, async_package)
    }

    pub fn function(&self, id: FunctionId) -> &Function<'a> {
        &self.functions[id]
    }

    pub fn class(&self, id: ClassId) -> &Class<'a> {
        &self.classes[id]
    }

    /// Every access of `key`, in source order, with its index in `accesses`.
    pub fn accesses_of(
        &self,
        key: StateKey<'a>,
    ) -> impl Iterator<Item = (usize, &StateAccess<'a>)> + '_ {
        self.accesses_by_key
            .get(&key)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&index| (index, &self.accesses[index]))
    }

    /// The thread entry that reaches `function`, if any.
    /// Whether a variable of `owner` that `function` (nested in it) uses is shared between
    /// threads: `function`, or a closure between it and `owner`, runs on a thread or is a
    /// decorator's wrapper, which every caller of the wrapped function runs.
    pub fn closure_is_shared(&self, function: FunctionId, owner: FunctionId) -> bool {
        // A thread that merely calls the owner calls its closures on that same thread, with
        // the cells of that one call: only a thread the owner's call starts runs a closure
        // beside the code that made it.
        let owner_range = self.functions[owner].range;
        let owner_starts_threads = self
            .thread_entries
            .iter()
            .any(|entry| owner_range.contains_range(entry.range));
        let mut current = Some(function);
        while let Some(id) = current {
            if id == owner {
                return false;
            }
            if self.wraps_with_cells_of(id, owner)
                || (owner_starts_threads && self.reached_from(id).is_some())
            {
                return true;
            }
            current = self.functions[id].parent;
        }
        false
    }

    /// Whether `function` is a decorator's wrapper that every call of the decorated function
    /// runs with the cells of `owner`: it calls a parameter of `owner` or of a function nested
    /// in it, so `owner` ran once per decoration. A callback that calls a parameter of a
    /// function *around* `owner` (Rx's `on_next` calling the operator's predicate, with a
    /// counter of the `subscribe` call that made it) has fresh cells for each call of `owner`.
    pub fn wraps_with_cells_of(&self, function: FunctionId, owner: FunctionId) -> bool {
        let wrapper = &self.functions[function];
        wrapper.is_decorator_wrapper()
            && wrapper.calls_parameters_of.iter().any(|&decorator| {
                std::iter::successors(Some(decorator), |&id| self.functions[id].parent)
                    .any(|id| id == owner)
            })
    }

    pub fn reached_from(&self, function: FunctionId) -> Option<&ThreadEntry> {
        self.reached_from
            .get(function)
            .copied()
            .flatten()
            .map(|entry| &self.thread_entries[entry])
    }

    /// Where `function` may run: at import, on a thread, on an event loop, as library API….
    pub fn execution(&self, function: FunctionId) -> Execution {
        self.execution[function]
    }

    /// Whether `function` is part of a command-line program rather than a library's API: a
    /// function of `__main__.py` or `cli.py`, `main` of a module with a `__main__` guard, or
    /// what only such functions call.
    pub fn is_command_line(&self, function: FunctionId) -> bool {
        self.command_line_module || self.command_line[function]
    }

    /// Whether code at `range` runs in the child of an `os.fork()` of its function (the body
    /// of `if pid == 0:`), where only the forking thread exists, or in the `run` method of a
    /// `multiprocessing.Process` subclass, the child process's main: it races with nothing.
    pub fn in_fork_child(&self, range: TextRange) -> bool {
        self.fork_child_ranges
            .iter()
            .any(|child| child.contains_range(range))
    }

    /// Whether the code at `range` runs only on the main thread, so one thread at a time.
    pub fn on_main_thread_only(&self, range: TextRange) -> bool {
        self.main_thread_ranges
            .iter()
            .any(|branch| branch.contains_range(range))
    }

    /// Whether `function` is written for the main thread: it installs signal handlers (or
    /// calls another API Python allows only there), or only such functions call it. Other
    /// process-wide changes it makes are the program's set-up, not something a library's
    /// users run on their threads.
    pub fn is_main_thread_setup(&self, function: FunctionId) -> bool {
        self.main_thread_setup[function]
    }

    /// Whether `function` runs only while the module is imported: every call site in the module
    /// is module-level code (or another such function), so like module-level code it runs once.
    pub fn is_import_time(&self, function: FunctionId) -> bool {
        self.import_time[function]
    }

    /// Whether a function runs after import (not only at import, not under a `__main__` guard).
    pub fn is_runtime_function(&self, function: FunctionId) -> bool {
        !self.import_time[function] && !self.functions[function].in_main_guard
    }

    /// Whether a write runs in code that may run concurrently: not at import, not under
    /// `if __name__ == "__main__":`.
    pub fn is_runtime_access(&self, access: &StateAccess<'a>) -> bool {
        !self.import_time[access.function] && !self.functions[access.function].in_main_guard
    }

    /// Whether `function` runs only while its object is constructed (a constructor, or a
    /// helper called only from constructors).
    pub fn is_construction(&self, function: FunctionId) -> bool {
        self.construction[function]
    }

    /// Locks held by every caller of `function` (the "only called with the lock held" case).
    pub fn inherited_locks(&self, function: FunctionId) -> &[LockKey] {
        &self.inherited_locks[function]
    }

    /// Every lock held at a point of `function`: lexically, or inherited from all callers.
    pub fn locks_held(&self, function: FunctionId, direct: &[LockKey]) -> Vec<LockKey> {
        let mut locks = direct.to_vec();
        for lock in self.inherited_locks(function) {
            if !locks.contains(lock) {
                locks.push(lock.clone());
            }
        }
        locks
    }

    /// The locks held at a write.
    pub fn access_locks(&self, access: &StateAccess<'a>) -> Vec<LockKey> {
        self.state_locks_held(access, &access.locks)
    }

    /// Every lock held at a point of `access.function` (lexically `direct`) for the state
    /// `access` touches: an instance's own attributes ignore the calls made while it is
    /// constructed, as nothing else can see the object yet.
    fn state_locks_held(&self, access: &StateAccess<'a>, direct: &[LockKey]) -> Vec<LockKey> {
        let StateKey::InstanceAttr(..) = access.key else {
            return self.locks_held(access.function, direct);
        };
        let mut locks = direct.to_vec();
        for lock in &self.instance_inherited_locks[access.function] {
            if !locks.contains(lock) {
                locks.push(lock.clone());
            }
        }
        locks
    }

    /// Whether the write and the check it depends on hold one lock throughout, each hold it in
    /// a section of its own, or share no lock.
    pub fn check_and_act_locking(&self, access: &StateAccess<'a>) -> CheckActLocking {
        match &access.guard {
            Some(guard) => self.locking_across(access, guard.check, &guard.locks),
            None if self.access_locks(access).is_empty() => CheckActLocking::Unlocked,
            None => CheckActLocking::Atomic,
        }
    }

    /// Whether a check at `check` (holding `check_locks` lexically) and the write `access` of
    /// the same function hold one lock throughout, each hold it in a section of its own, or
    /// share no lock.
    pub fn locking_across(
        &self,
        access: &StateAccess<'a>,
        check: TextRange,
        check_locks: &[LockKey],
    ) -> CheckActLocking {
        let write_locks = self.access_locks(access);
        let check_locks = self.state_locks_held(access, check_locks);
        let common: Vec<&LockKey> = write_locks
            .iter()
            .filter(|lock| check_locks.contains(lock))
            .collect();
        let Some(first) = common.first() else {
            return CheckActLocking::Unlocked;
        };
        // A lock every caller holds spans the whole function; otherwise one region of the
        // lock must contain both the check and the write.
        let inherited = match access.key {
            StateKey::InstanceAttr(..) => &self.instance_inherited_locks[access.function],
            _ => &self.inherited_locks[access.function],
        };
        let one_section = common.iter().any(|lock| {
            inherited.contains(lock)
                || self.lock_regions.iter().any(|region| {
                    region.lock == **lock
                        && region.range.contains_range(check)
                        && region.range.contains_range(access.range)
                })
        });
        if one_section {
            CheckActLocking::Atomic
        } else {
            CheckActLocking::SeparateSections((*first).clone())
        }
    }

    /// The text a lock is written as, for a region holding `lock`.
    pub fn lock_text(&self, lock: &str) -> Option<&str> {
        self.lock_regions
            .iter()
            .find(|region| region.lock == lock)
            .map(|region| region.lock_text.as_str())
    }

    pub fn in_main_guard(&self, offset: TextSize) -> bool {
        self.main_guards.iter().any(|range| range.contains(offset))
    }

    /// The class that defines `attr` for class `class`, following base classes of this module.
    pub fn class_attribute(
        &self,
        class: ClassId,
        attr: &str,
    ) -> Option<(ClassId, &ClassAttribute<'a>)> {
        let mut current = Some(class);
        let mut seen = 0;
        while let Some(id) = current {
            let cls = &self.classes[id];
            if let Some(attribute) = cls.attribute(attr) {
                return Some((id, attribute));
            }
            seen += 1;
            if seen > 16 {
                break;
            }
            current = cls
                .bases
                .iter()
                .find_map(|base| self.class_index.get(base.as_str()).copied());
        }
        None
    }

    /// The 1-based line of an offset.
    pub fn line_of(&self, offset: TextSize) -> usize {
        let starts = self
            .line_starts
            .get_or_init(|| crate::lines::line_starts(self.source));
        // The number of line starts at or before `offset` is the 1-based line.
        starts.partition_point(|&start| start <= usize::from(offset))
    }

    /// Source text of a range.
    pub fn text(&self, range: TextRange) -> &'a str {
        &self.source[range]
    }
}

impl ThreadEntry {
    /// "the thread started at line 19", for messages.
    pub fn describe(&self, model: &SemanticModel<'_>) -> String {
        format!(
            "{} at line {}",
            self.kind.description(),
            model.line_of(self.range.start())
        )
    }
}

impl ThreadEntryKind {
    /// "the thread started", for "reached from the thread started at …".
    pub fn description(self) -> &'static str {
        match self {
            ThreadEntryKind::Thread | ThreadEntryKind::StartNewThread => "the thread started",
            ThreadEntryKind::Timer => "the timer thread started",
            ThreadEntryKind::ExecutorSubmit
            | ThreadEntryKind::PoolMethod
            | ThreadEntryKind::RunInExecutor => "the thread-pool task submitted",
            ThreadEntryKind::Initializer => "the thread-pool initializer set",
            ThreadEntryKind::ToThread => "the `asyncio.to_thread` call",
            ThreadEntryKind::ReactorThreadPool => "the loop's thread-pool call",
            ThreadEntryKind::RunOverride => "the `Thread.run` override",
            ThreadEntryKind::Decorated => "the thread-entry decorator",
            ThreadEntryKind::PoolCallback => {
                "the pool's result-handler thread, via the callback set"
            }
        }
    }
}
