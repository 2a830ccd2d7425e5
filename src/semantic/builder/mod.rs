//! Builds the [`SemanticModel`] in two walks and a resolution step.
//!
//! 1. A shallow scan of module-level statements and class bodies: imports, module bindings and
//!    what they hold, class attributes, and the attributes methods assign through `self`.
//! 2. One full walk of the tree that follows scopes, lock regions and check-then-act guards, and
//!    records functions, writes to shared state, call sites and thread entries. References to
//!    functions are kept unresolved until the whole module has been seen, because Python code
//!    routinely calls functions defined further down.
//! 3. Resolution: call sites and thread targets are bound to functions, thread reachability is
//!    propagated over the call graph, and functions called only with a lock held inherit it.
//!
//! This module holds the [`Builder`]'s state, the records it keeps until resolution, and the
//! walk's position (current function, receiver, class, held locks). Each submodule adds the
//! `Builder` methods for one concern:
//!
//! - [`imports`]: imports, qualified names, what a value is, module bindings (the first scan).
//! - [`classes`]: classes, their attributes, and the attributes their methods assign via `self`.
//! - [`visitor`]: the full walk, and entering functions and classes.
//! - [`locks`]: lock keys and lock regions (`with lock:`, `acquire()`/`release()`).
//! - [`accesses`]: which shared state an expression denotes, and writes to it.
//! - [`guards`]: check-then-act tests guarding a write.
//! - [`iterations`]: loops, comprehensions and consuming calls over shared state,
//!   `sys.modules` and `os.environ`.
//! - [`evictions`]: removals from a container that depend on a check of its size.
//! - [`reads`]: where functions read module- and class-level state.
//! - [`stacks`]: pushes, pops and top reads of shared lists; which are stacks of "current"
//!   entries.
//! - [`iterators`]: generators and iterators bound at module or class level, and the places
//!   functions advance them.
//! - [`process_state`]: process-wide state and GIL APIs.
//! - [`overrides`]: saves, sets and restores of shared or process-wide state (scoped overrides);
//!   [`override_matching`] pairs them once every function is known.
//! - [`per_process`]: what code has per process (`os.getpid()`, `os.environ`, reseeded RNGs,
//!   `threading.local`) and a module's choice of start method.
//! - [`calls`]: call sites and references to this module's functions, and resolving them.
//! - [`threads`]: calls that start threads, and fork-child handlers.
//! - [`pools`]: process pools and the work submitted to them.
//! - [`finish`]: resolution, in named steps.
//! - [`call_graph`]: the analyses over the resolved call graph.
//! - [`syntax`]: syntax helpers that need no builder state.

mod accesses;
mod branch_work;
mod call_graph;
mod calls;
mod classes;
mod evictions;
mod execution;
mod finish;
mod fork_child;
mod guards;
mod identity;
mod imports;
mod iterations;
mod iterators;
mod locks;
mod main_thread;
mod override_matching;
mod overrides;
mod per_process;
mod pools;
mod process_state;
mod reads;
mod stacks;
mod syntax;
mod thread_keys;
mod threads;
mod version_guards;
mod visitor;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use ruff_python_ast::{self as ast, Expr, ModModule, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::values::{PoolKind, ValueKind};
use super::{
    Class, ClassId, Eviction, Function, FunctionId, GilApiUse, Guard, ImportRef, IteratorAdvance,
    LockKey, LockRegion, MappingIteration, ModelOptions, ModuleBinding, ModuleRole,
    ParameterLockDefault, PerProcessUse, ProcessGlobalUse, SemanticModel, StackOp, StateAccess,
    StateIteration, StateKey, StateRead, ThreadEntryKind,
};

pub(super) fn build<'a>(
    module: &'a ModModule,
    source: &'a str,
    options: &ModelOptions,
    role: ModuleRole,
    async_package: bool,
) -> SemanticModel<'a> {
    let mut builder = Builder::new(source, options.clone(), role);
    builder.cooperative_loop = async_package || imports_cooperative_loop(&module.body);
    builder.scan_module_suite(&module.body);
    builder.note_python2_only_imports(&module.body);
    builder.walk_suite(&module.body);
    let mut model = builder.finish();
    model.header_end = header_end(module, source);
    model
}

/// Whether the module is code of a framework whose loop runs everything on one thread: it
/// imports Twisted's reactor machinery (`twisted.internet`), Tornado, eventlet or gevent
/// unconditionally, at its top level. An import inside a function, a `try` (`except
/// ImportError`) or an `if` is a library's optional support for the framework, and its other
/// code runs on ordinary threads.
fn imports_cooperative_loop(body: &[Stmt]) -> bool {
    let framework = |module: &str| {
        let top = module.split('.').next().unwrap_or(module);
        module.starts_with("twisted.internet") || matches!(top, "tornado" | "eventlet" | "gevent")
    };
    body.iter().any(|stmt| match stmt {
        Stmt::Import(ast::StmtImport { names, .. }) => {
            names.iter().any(|alias| framework(alias.name.as_str()))
        }
        Stmt::ImportFrom(ast::StmtImportFrom {
            module: Some(module),
            names,
            level: 0,
            ..
        }) => {
            framework(module.as_str())
                || (module.as_str() == "twisted"
                    && names.iter().any(|alias| alias.name.as_str() == "internet"))
        }
        _ => false,
    })
}

/// The start of the line after the module's docstring and leading imports, or after the
/// leading comments (shebang, encoding line) when there are none.
fn header_end(module: &ModModule, source: &str) -> TextSize {
    let mut last: Option<&Stmt> = None;
    for (index, stmt) in module.body.iter().enumerate() {
        let is_docstring = index == 0
            && matches!(stmt, Stmt::Expr(ast::StmtExpr { value, .. }) if value.is_string_literal_expr());
        if is_docstring || matches!(stmt, Stmt::Import(_) | Stmt::ImportFrom(_)) {
            last = Some(stmt);
        } else {
            break;
        }
    }
    let after = match last {
        Some(stmt) => usize::from(stmt.end()),
        None => {
            // Skip the leading comment and blank lines.
            let mut offset = 0;
            for line in source.split_inclusive('\n') {
                let trimmed = line.trim_start_matches('\u{feff}').trim();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    offset += line.len();
                } else {
                    break;
                }
            }
            return TextSize::try_from(offset).unwrap_or_default();
        }
    };
    let rest = &source[after..];
    let line_end = rest.find('\n').map_or(source.len(), |at| after + at + 1);
    TextSize::try_from(line_end).unwrap_or_default()
}

/// How a method reaches its own object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Receiver {
    Instance,
    Class,
}

/// A reference to a function that is resolved once every function is known.
#[derive(Debug, Clone)]
struct PendingRef<'a> {
    expr: &'a Expr,
    /// The innermost function the reference appears in.
    scope: Option<FunctionId>,
    /// The class whose methods `self.`/`cls.` refer to at the reference.
    class: Option<ClassId>,
    /// A call of a class of this module (`Metadata(…)`): it runs the class's `__init__`.
    instantiates: bool,
    /// An instance of the class of this module the expression names, called later: its
    /// method of this name runs (`callback=CallBack(…)` runs `CallBack.__call__`).
    invokes: Option<&'static str>,
}

#[derive(Debug)]
struct PendingCall<'a> {
    reference: PendingRef<'a>,
    locks: Vec<LockKey>,
}

#[derive(Debug)]
struct PendingEntry<'a> {
    kind: ThreadEntryKind,
    range: TextRange,
    targets: Vec<PendingRef<'a>>,
}

/// A check-then-act test being walked: its body may contain the act.
#[derive(Debug, Clone)]
struct ActiveGuard<'a> {
    key: StateKey<'a>,
    /// The key text for item checks (`k` in `k not in D`).
    item: Option<String>,
    guard: Guard,
}

struct FunctionFrame<'a> {
    id: FunctionId,
    receiver: Option<(&'a str, Receiver)>,
}

struct Builder<'a> {
    source: &'a str,
    options: ModelOptions,
    /// What the module is for (library code or tests), from its path.
    role: ModuleRole,
    process_global_uses: Vec<ProcessGlobalUse>,
    per_process_uses: Vec<PerProcessUse>,
    /// A call of `multiprocessing.set_start_method` / `set_forkserver_preload` was seen.
    sets_start_method: bool,
    /// Module-level decorators that run the decorated method holding one of its object's locks,
    /// and that lock's attribute (`locked` → `_lock`).
    locking_decorators: HashMap<&'a str, &'a str>,
    /// Module-level instances of this module's classes (`_default = Tracker()`), by name.
    singletons: HashMap<&'a str, ClassId>,
    /// Names imported as `os.environ` / `os.environb` (`from os import environ`).
    environ_aliases: Vec<&'a str>,
    /// Module-level names bound to a `threading.local` (or an instance of a subclass).
    thread_local_names: HashSet<&'a str>,
    star_imports: Vec<String>,
    gil_api_uses: Vec<GilApiUse>,
    import_refs: Vec<ImportRef>,
    /// Expressions used directly as conditions (`if`/`while` tests, `not` and `and`/`or`
    /// operands): a `not …` replacement needs no parentheses there.
    condition_slots: Vec<TextRange>,
    imports: HashMap<&'a str, String>,
    bindings: HashMap<&'a str, ModuleBinding>,
    functions: Vec<Function<'a>>,
    classes: Vec<Class<'a>>,
    class_by_offset: HashMap<u32, ClassId>,
    class_index: HashMap<&'a str, ClassId>,
    /// (enclosing function, name) → the plain function (not a method) defined there.
    function_index: HashMap<(Option<FunctionId>, &'a str), FunctionId>,
    /// Names of every `def` seen so far (module-level ones from the first scan), to skip
    /// references that cannot denote a function of this module before resolving them.
    function_names: HashSet<&'a str>,
    /// The names that may denote one of this module's functions or classes (functions,
    /// module-level classes, module-level instances): every name loaded and every call's
    /// callee is tested against it before a hash lookup.
    callable_names: NameFilter,
    /// The names bound at module level or declared `global` anywhere (a superset of the keys
    /// of `bindings` and `declared_global_names`).
    module_names: NameFilter,
    lock_regions: Vec<LockRegion>,
    lock_unavailable: Vec<(LockKey, TextRange)>,
    accesses: Vec<StateAccess<'a>>,
    iterations: Vec<StateIteration<'a>>,
    mapping_iterations: Vec<MappingIteration<'a>>,
    evictions: Vec<Eviction>,
    /// Reads of module- and class-level state, by state.
    reads: HashMap<StateKey<'a>, Vec<StateRead>>,
    /// Reads of names with no module-level binding, outside the functions that declare them
    /// `global`: module state a function creates (`global T; T = [0] * n`) once the module is
    /// known to declare them.
    undeclared_global_reads: Vec<(&'a str, StateRead)>,
    /// Every name some `global` statement may declare (a textual pre-scan).
    declared_global_names: HashSet<&'a str>,
    /// The qualified name of the callee of the call being visited, resolved once, when a
    /// recorder first asks for it (most calls pass every recorder's cheaper filters).
    current_callee: std::cell::RefCell<Option<(TextRange, Option<Option<String>>)>>,
    /// The last `move_to_end` on each piece of state in each function, for the `popitem` that
    /// may follow it.
    moved_to_end: HashMap<(FunctionId, StateKey<'a>), evictions::MoveToEnd>,
    /// Pushes, pops and top reads of shared state (NG111).
    stack_ops: Vec<StackOp<'a>>,
    /// Module- and class-level bindings that may hold an iterator (NG112).
    iterator_bindings: Vec<iterators::PendingIterator<'a>>,
    /// `self.<attr> = …` assignments in methods, for the iterators objects keep (NG112).
    instance_iterator_values: Vec<iterators::PendingInstanceValue<'a>>,
    /// Places functions advance shared state that may be an iterator (NG112).
    iterator_advances: Vec<IteratorAdvance<'a>>,
    /// Functions with a `yield`: calling one makes a generator.
    generator_functions: HashSet<FunctionId>,
    /// Every check of shared state made in a function (`if k not in D`, `if X is None`, a
    /// `try` lookup), in walk order.
    checks: Vec<(FunctionId, TextRange)>,
    parameter_lock_defaults: Vec<ParameterLockDefault>,
    main_guards: Vec<TextRange>,
    /// Names (as written) bound to thread or process pools anywhere in the module.
    pool_names: HashMap<String, PoolKind>,
    /// Local variables bound to lock factories, by function.
    local_locks: HashSet<(FunctionId, &'a str)>,
    /// Locals bound to a container (`cache = {}`), by function: a closure that mutates one
    /// shares it with every call of the closure.
    local_containers: HashMap<(FunctionId, &'a str), ValueKind>,
    /// The early exits that leave the function, of the suite walked last.
    function_exit_guards: Vec<ActiveGuard<'a>>,

    // Walk state.
    frames: Vec<Option<FunctionFrame<'a>>>,
    class_stack: Vec<ClassId>,
    /// Whether each class on `class_stack` says it exists for tests: its methods do too.
    test_class_stack: Vec<bool>,
    lock_stack: Vec<(LockKey, String)>,
    guard_stack: Vec<ActiveGuard<'a>>,
    /// Size and emptiness checks whose `if`/`while` body is being walked.
    size_checks: Vec<evictions::ActiveSizeCheck<'a>>,
    /// The module imports a single-thread loop framework at its top level (see
    /// `imports_cooperative_loop`).
    cooperative_loop: bool,
    /// For each `try` body being walked, whether its handlers catch `KeyError` and
    /// `IndexError`: an eviction there that finds the entry gone is handled.
    caught_lookup_errors: Vec<(bool, bool)>,
    current_stmt: TextRange,
    /// The current statement is a simple one (no body of its own).
    current_stmt_simple: bool,
    in_main_guard: bool,
    /// Depth of expressions that are a call's callee, so the callee name is not an escape.
    callee_depth: usize,
    /// How many statements and expressions the walk is nested in (see `visitor::nested`).
    depth: usize,

    pending_calls: Vec<PendingCall<'a>>,
    pending_entries: Vec<PendingEntry<'a>>,
    pending_escapes: Vec<PendingRef<'a>>,
    /// Functions registered to run apart from the program's threads: in a forked child
    /// (`os.register_at_fork(after_in_child=f)`) or at exit (`atexit.register(f)`).
    pending_lone_handlers: Vec<PendingRef<'a>>,
    /// Locals holding the result of `os.fork()`, by function.
    fork_results: HashSet<(FunctionId, &'a str)>,
    /// Code that runs in a forked child (see `fork_child.rs`).
    fork_child_ranges: Vec<TextRange>,
    /// `target=` functions of `Process(...)` calls: each is a child process's main.
    process_mains: Vec<PendingRef<'a>>,
    /// Code only the main thread runs (see `main_thread.rs`).
    main_thread_ranges: Vec<TextRange>,
    /// Functions that call a main-thread-only API outside any `try` and main-thread branch.
    requires_main_thread: Vec<FunctionId>,
    /// Branches the target interpreter never runs (`if sys.version_info < (3, 8):`).
    dead_on_target: Vec<TextRange>,
    /// The statement after the one being visited, in its block, returns or raises.
    next_stmt_exits: bool,
    /// Calls of imported names, resolved against other modules by the project phase.
    external_call_refs: Vec<(Option<FunctionId>, &'a Expr)>,
    pending_pools: Vec<PendingPool<'a>>,
    pending_submissions: Vec<PendingSubmission<'a>>,
    /// Names bound to `multiprocessing.get_context(…)`.
    context_names: HashSet<String>,
    /// Whether some `from … import Pool` or `… import ProcessPoolExecutor` binds a pool class
    /// by name in this module: only then can a call of a bare name create a process pool.
    imports_pool_class: bool,
    /// What each function returns (its `return` values), judged only for the functions a
    /// write's value comes from.
    return_values: HashMap<FunctionId, Vec<&'a Expr>>,
    /// Writes whose value comes from a call of one of this module's functions, by index into
    /// `accesses`: judged by that function once every function is known.
    pending_value_calls: Vec<(usize, PendingRef<'a>)>,
    /// The value last assigned to each local, so a write of a local (`cache[k] = value`) can be
    /// judged by what the local holds.
    local_values: HashMap<(FunctionId, &'a str), &'a Expr>,
    /// Locals bound to `functools.partial(…)`, so a pool's worker can be followed through them.
    partial_bindings: HashMap<(FunctionId, &'a str), &'a Expr>,
    /// Functions decorated with a configured thread-entry decorator, and the decorator.
    decorated_entries: Vec<(FunctionId, TextRange)>,
    /// What each function's statements do to shared or process-wide state, for matching saves,
    /// sets and restores into scoped overrides.
    override_events: Vec<(FunctionId, Vec<overrides::RecordedEvent<'a>>)>,
    /// `with` statements whose context manager swaps process-wide state for its block.
    with_overrides: Vec<super::ScopedOverride<'a>>,
    /// The branches (`if`, `try`, `match`) the statement being recorded is in.
    override_branches: Vec<(TextRange, usize, bool)>,
}

/// A process pool constructor call, before its workers are known.
struct PendingPool<'a> {
    call: &'a ast::ExprCall,
    factory: super::PoolFactory,
    function: Option<FunctionId>,
    /// The names the pool is bound to (`pool` in `with Pool() as pool`, and names it is
    /// passed on to: `with pool as executor`).
    bound: Vec<String>,
    initializer: Option<&'a Expr>,
    /// `mp_context=`/`context=`, or a context's `Pool`: the start method was chosen.
    explicit_start_method: bool,
    /// Stored on an object, returned, yielded or passed to a call.
    escapes: bool,
}

/// Work handed to a process pool (`pool.map(f, …)`, `executor.submit(f)`).
struct PendingSubmission<'a> {
    receiver: &'a Expr,
    worker: Option<&'a Expr>,
    scope: Option<FunctionId>,
    class: Option<ClassId>,
}

impl<'a> Builder<'a> {
    fn new(source: &'a str, options: ModelOptions, role: ModuleRole) -> Self {
        let mut builder = Builder {
            source,
            options,
            role,
            process_global_uses: Vec::new(),
            per_process_uses: Vec::new(),
            sets_start_method: false,
            thread_local_names: HashSet::default(),
            star_imports: Vec::new(),
            environ_aliases: Vec::new(),
            singletons: HashMap::default(),
            locking_decorators: HashMap::default(),
            gil_api_uses: Vec::new(),
            import_refs: Vec::new(),
            condition_slots: Vec::new(),
            imports: HashMap::default(),
            bindings: HashMap::default(),
            functions: Vec::new(),
            classes: Vec::new(),
            class_by_offset: HashMap::default(),
            class_index: HashMap::default(),
            function_index: HashMap::default(),
            function_names: HashSet::default(),
            callable_names: NameFilter::default(),
            module_names: NameFilter::default(),
            lock_regions: Vec::new(),
            lock_unavailable: Vec::new(),
            accesses: Vec::new(),
            iterations: Vec::new(),
            mapping_iterations: Vec::new(),
            evictions: Vec::new(),
            reads: HashMap::default(),
            undeclared_global_reads: Vec::new(),
            declared_global_names: syntax::names_declared_global(source),
            current_callee: std::cell::RefCell::new(None),
            moved_to_end: HashMap::default(),
            stack_ops: Vec::new(),
            iterator_bindings: Vec::new(),
            instance_iterator_values: Vec::new(),
            iterator_advances: Vec::new(),
            generator_functions: HashSet::default(),
            checks: Vec::new(),
            parameter_lock_defaults: Vec::new(),
            main_guards: Vec::new(),
            pool_names: HashMap::default(),
            local_locks: HashSet::default(),
            local_containers: HashMap::default(),
            function_exit_guards: Vec::new(),
            frames: Vec::new(),
            class_stack: Vec::new(),
            test_class_stack: Vec::new(),
            lock_stack: Vec::new(),
            guard_stack: Vec::new(),
            size_checks: Vec::new(),
            cooperative_loop: false,
            caught_lookup_errors: Vec::new(),
            current_stmt: TextRange::default(),
            current_stmt_simple: true,
            in_main_guard: false,
            callee_depth: 0,
            depth: 0,
            pending_calls: Vec::new(),
            pending_entries: Vec::new(),
            pending_escapes: Vec::new(),
            pending_lone_handlers: Vec::new(),
            fork_results: HashSet::default(),
            fork_child_ranges: Vec::new(),
            process_mains: Vec::new(),
            main_thread_ranges: Vec::new(),
            requires_main_thread: Vec::new(),
            dead_on_target: Vec::new(),
            next_stmt_exits: false,
            external_call_refs: Vec::new(),
            pending_pools: Vec::new(),
            pending_submissions: Vec::new(),
            context_names: HashSet::default(),
            imports_pool_class: false,
            partial_bindings: HashMap::default(),
            local_values: HashMap::default(),
            return_values: HashMap::default(),
            pending_value_calls: Vec::new(),
            decorated_entries: Vec::new(),
            override_events: Vec::new(),
            with_overrides: Vec::new(),
            override_branches: Vec::new(),
        };
        // Every name declared `global` may be a module-level name a function creates.
        for &name in &builder.declared_global_names {
            builder.module_names.insert(name);
        }
        builder
    }

    fn text(&self, range: TextRange) -> &'a str {
        &self.source[range]
    }

    // The walk's position.

    fn current_function(&self) -> Option<FunctionId> {
        self.frames
            .last()
            .and_then(|frame| frame.as_ref().map(|f| f.id))
    }

    /// The receiver (`self`/`cls`) of the nearest enclosing method, and its class.
    fn current_receiver(&self) -> Option<(&'a str, Receiver, ClassId)> {
        for frame in self.frames.iter().rev() {
            let frame = frame.as_ref()?;
            if let Some((name, receiver)) = frame.receiver {
                let class = self.functions[frame.id].class?;
                return Some((name, receiver, class));
            }
        }
        None
    }

    fn current_class(&self) -> Option<ClassId> {
        self.current_receiver()
            .map(|(_, _, class)| class)
            .or_else(|| self.class_stack.last().copied())
    }

    fn locks_now(&self) -> Vec<LockKey> {
        let mut locks: Vec<LockKey> = Vec::new();
        for (lock, _) in &self.lock_stack {
            if !locks.contains(lock) {
                locks.push(lock.clone());
            }
        }
        locks
    }

    /// Whether `name` is a local variable of a function enclosing the current point.
    /// The enclosing function (not `function` itself) whose local `name` is.
    fn enclosing_owner(&self, function: FunctionId, name: &str) -> Option<FunctionId> {
        let mut parent = self.functions[function].parent;
        while let Some(id) = parent {
            if self.functions[id].is_local(name) {
                return Some(id);
            }
            parent = self.functions[id].parent;
        }
        None
    }

    /// Remembers the name of a `def`, in the set and in the filter in front of it.
    fn note_function_name(&mut self, name: &'a str) {
        self.function_names.insert(name);
        self.callable_names.insert(name);
    }

    /// Whether `name` means the builtin here: not imported, bound at module level or a local.
    fn is_unshadowed_builtin(&self, name: &str) -> bool {
        !self.imports.contains_key(name)
            && !self.bindings.contains_key(name)
            && !self.is_enclosing_local(name)
    }

    fn is_enclosing_local(&self, name: &str) -> bool {
        self.frames
            .iter()
            .rev()
            .flatten()
            .any(|frame| self.functions[frame.id].is_local(name))
    }

    fn module_class(&self, name: &str) -> Option<ClassId> {
        // Most names are not classes: the filter, else one lookup, rejects them.
        if !self.callable_names.may_contain(name) {
            return None;
        }
        let class = self.class_index.get(name).copied()?;
        match self.bindings.get(name) {
            Some(binding) if binding.kind == ValueKind::Class => Some(class),
            _ => None,
        }
    }
}

/// A 256-bit summary of a set of names: `may_contain` is false for most names not in the set
/// (a quick test of a slot picked by the name's length and its first and last bytes), so the
/// hash lookups that would answer "no" are skipped. Most names a module loads (`self`, `len`,
/// locals, imported modules) are not its own functions or classes.
#[derive(Default)]
struct NameFilter([u64; 4]);

impl NameFilter {
    fn slot(name: &str) -> usize {
        let bytes = name.as_bytes();
        let first = usize::from(bytes.first().copied().unwrap_or(0));
        let last = usize::from(bytes.last().copied().unwrap_or(0));
        (first.wrapping_mul(31) ^ last.wrapping_mul(7) ^ bytes.len().wrapping_mul(131)) & 255
    }

    fn insert(&mut self, name: &str) {
        let slot = Self::slot(name);
        self.0[slot >> 6] |= 1 << (slot & 63);
    }

    fn may_contain(&self, name: &str) -> bool {
        let slot = Self::slot(name);
        self.0[slot >> 6] & (1 << (slot & 63)) != 0
    }
}
