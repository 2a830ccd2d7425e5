//! What one module tells the project phase: its functions and calls, its thread entries, its
//! process pools, its imports and its changes of process-wide state. Extracted from the
//! semantic model in the parallel per-file phase, then linked across modules by
//! `project::link`.

use ruff_text_size::TextRange;
use rustc_hash::FxHashMap;

use crate::diagnostic::{Fix, Location, ResolvedEdit};
use crate::fix::builders::FixBuilder;
use crate::semantic::{
    FunctionId, PoolFactory, SemanticModel, StateKey, ThreadEntryKind, WorkerRef,
};

/// What the project phase needs to know about one module.
#[derive(Debug, Clone, Default)]
pub struct ModuleFacts {
    pub functions: Vec<FunctionFacts>,
    /// Module-level functions by name.
    pub top_level: FxHashMap<String, FunctionId>,
    /// Methods of module-level classes by `Class.method`, for calls spelled that way in other
    /// modules (`Colors.register(...)`).
    pub methods: FxHashMap<String, FunctionId>,
    /// The constructor of each module-level class that has one (`__init__`, else `__new__`),
    /// by the class's name: creating the class from another module calls it.
    pub constructors: FxHashMap<String, FunctionId>,
    /// Classes by name, with their bases as written (qualified when imported) and whether the
    /// module already knows them as `threading.local` subclasses: the project phase follows
    /// bases across modules.
    pub classes: FxHashMap<String, (Vec<String>, bool)>,
    /// The modules of `from module import *`, as written with a trailing dot.
    pub star_imports: Vec<String>,
    /// This module's functions that its module-level code calls (at import).
    pub import_callees: Vec<FunctionId>,
    /// Imported names that its module-level code calls, as qualified names.
    pub import_external_callees: Vec<String>,
    /// Module-level imports: local name → qualified name (relative ones keep their dots).
    pub imports: FxHashMap<String, String>,
    pub entries: Vec<EntryFacts>,
    pub process_global: Vec<ProcessGlobalFact>,
    pub pools: Vec<PoolFact>,
    /// Top-level modules imported anywhere in the module (for NG202).
    pub imported_modules: Vec<String>,
    /// Each import with its position (for NG204, reported at the import line).
    pub imports_at: Vec<ImportFact>,
    /// The file's `# noqa` comments, for findings added by the project phase.
    pub suppressions: crate::noqa::Suppressions,
    /// Functions already reached from a thread entry of this module.
    pub locally_reached: Vec<bool>,
    /// A test module, or a vendored copy of another project: its findings stay information
    /// (see `checkers::check_module`).
    pub test_module: bool,
    /// The module has an `if __name__ == "__main__":` block: it can run as a program.
    pub main_guard: bool,
}

#[derive(Debug, Clone, Default)]
pub struct FunctionFacts {
    pub local_callees: Vec<FunctionId>,
    pub external_callees: Vec<String>,
    /// Why the function is not safe to run on a thread instead of a process: it changes
    /// process-wide state or writes shared state without a lock.
    pub thread_unsafe: Option<String>,
    /// Why the function behaves per process (`calls `os.getpid``, `uses `os.environ``): run by
    /// a process pool, it was put in processes on purpose.
    pub per_process: Option<String>,
    /// A module global the function assigns or mutates (`global X; X = …`, `CACHE[k] = v`),
    /// under a lock or not: in a pool's initializer, state set up once per worker process.
    pub writes_global: Option<String>,
    /// Main-thread set-up in its module: it installs signal handlers, is a method of a class
    /// that does, or only such code calls it.
    pub main_thread_setup: bool,
    /// One-time set-up in its module (`Execution::Setup`: `init()`, `AppConfig.ready()`, what
    /// only they call): what only it calls in other modules is set-up too.
    pub one_time_setup: bool,
    /// Referenced as a value (passed, stored, returned): it may be called from anywhere, so
    /// the calls the project shows are not all of its callers.
    pub escapes: bool,
}

/// An import and where it is written.
#[derive(Debug, Clone)]
pub struct ImportFact {
    pub module: String,
    pub range: TextRange,
    pub start: Location,
    pub end: Location,
}

/// A process pool and its workers (NG301).
#[derive(Debug, Clone)]
pub struct PoolFact {
    pub range: TextRange,
    pub start: Location,
    pub end: Location,
    pub text: String,
    pub factory: PoolFactory,
    /// The work submitted to the pool (see [`crate::semantic::ProcessPool::work`]).
    pub work: Vec<WorkerRef>,
    /// The submitted work as named in the module, for the message.
    pub work_names: Vec<String>,
    pub initializer: Option<WorkerRef>,
    pub unresolved_work: bool,
    /// Processes were chosen on purpose: an explicit context or start method for this pool,
    /// or `multiprocessing.set_start_method` in the module.
    pub explicit_start_method: bool,
    pub escapes: bool,
    pub fix: Option<Fix>,
    pub fix_edits: Vec<ResolvedEdit>,
}

#[derive(Debug, Clone)]
pub struct EntryFacts {
    pub kind: ThreadEntryKind,
    pub line: usize,
    pub local_targets: Vec<FunctionId>,
    pub external_targets: Vec<String>,
}

/// A change of process-wide state, kept so that NG302 can be reported when another module
/// runs the function on a thread.
#[derive(Debug, Clone)]
pub struct ProcessGlobalFact {
    pub function: FunctionId,
    pub range: TextRange,
    /// Resolved by the linter once the file's line index exists.
    pub start: Location,
    pub end: Location,
    pub code: String,
    pub name: String,
    pub reason: String,
    /// Part of a scoped override, which NG110 reports.
    pub scoped: bool,
}

impl ModuleFacts {
    pub fn extract(model: &SemanticModel<'_>) -> Self {
        let count = model.functions.len();
        let mut functions = vec![FunctionFacts::default(); count];
        for site in &model.call_sites {
            if let Some(caller) = site.caller {
                functions[caller].local_callees.push(site.callee);
            }
        }
        let mut import_external_callees: Vec<String> = Vec::new();
        for (caller, qualified) in &model.external_calls {
            match caller {
                Some(caller) => functions[*caller].external_callees.push(qualified.clone()),
                None => import_external_callees.push(qualified.clone()),
            }
        }
        for (id, function) in functions.iter_mut().enumerate() {
            function.local_callees.sort_unstable();
            function.local_callees.dedup();
            function.main_thread_setup = model.is_main_thread_setup(id);
            function.one_time_setup = model.execution(id) == crate::semantic::Execution::Setup;
            function.escapes = model.functions[id].escapes;
        }
        for use_ in &model.process_global_uses {
            if let Some(function) = use_.function {
                functions[function]
                    .thread_unsafe
                    .get_or_insert_with(|| format!("changes process-wide state (`{}`)", use_.name));
            }
        }
        for use_ in &model.per_process_uses {
            if let Some(function) = use_.function {
                functions[function]
                    .per_process
                    .get_or_insert_with(|| format!("uses `{}`", use_.name));
            }
        }
        for access in &model.accesses {
            if let StateKey::Global(name) = access.key {
                functions[access.function]
                    .writes_global
                    .get_or_insert_with(|| name.to_string());
            }
            let shared = match access.key {
                StateKey::InstanceAttr(..) => !model.is_construction(access.function),
                _ => true,
            };
            if shared && model.access_locks(access).is_empty() {
                functions[access.function]
                    .thread_unsafe
                    .get_or_insert_with(|| {
                        format!(
                            "writes {} without a lock",
                            crate::checkers::ng107_inconsistent_locking::describe_state(
                                model, access
                            )
                        )
                    });
            }
        }
        let pools = if model.process_pools.is_empty() {
            Vec::new()
        } else {
            let builder = FixBuilder::new(model);
            model
                .process_pools
                .iter()
                .map(|pool| PoolFact {
                    range: pool.range,
                    start: Location { row: 0, column: 0 },
                    end: Location { row: 0, column: 0 },
                    text: crate::checkers::snippet(model.text(pool.callee)),
                    factory: pool.factory,
                    work: pool.work.clone(),
                    work_names: pool
                        .work
                        .iter()
                        .map(|worker| match worker {
                            WorkerRef::Local(id) => model.function(*id).qualname.clone(),
                            WorkerRef::External(name) => name.clone(),
                        })
                        .collect(),
                    initializer: pool.initializer.clone(),
                    unresolved_work: pool.unresolved_work,
                    explicit_start_method: pool.explicit_start_method || model.sets_start_method,
                    escapes: pool.escapes,
                    fix: crate::checkers::ng301_process_pool_convertible::fix(&builder, pool),
                    fix_edits: Vec::new(),
                })
                .collect()
        };
        let top_level = model
            .functions
            .iter()
            .enumerate()
            .filter(|(_, function)| function.parent.is_none() && function.class.is_none())
            .map(|(id, function)| (function.name.to_string(), id))
            .collect();
        // Methods of module-level classes (`Outer.Inner.method` is not one), and among them
        // each class's constructor: `__init__`, else `__new__`.
        let mut methods: FxHashMap<String, FunctionId> = FxHashMap::default();
        let mut constructors: FxHashMap<String, FunctionId> = FxHashMap::default();
        for (id, function) in model.functions.iter().enumerate() {
            let (Some(class), None) = (function.class, function.parent) else {
                continue;
            };
            if function.qualname.matches('.').count() != 1 {
                continue;
            }
            methods.insert(function.qualname.clone(), id);
            let class = || model.class(class).name.to_string();
            match function.name {
                "__init__" => {
                    constructors.insert(class(), id);
                }
                "__new__" => {
                    constructors.entry(class()).or_insert(id);
                }
                _ => {}
            }
        }
        let imports = model
            .imports
            .iter()
            .map(|(local, qualified)| (local.to_string(), qualified.clone()))
            .collect();
        let entries = model
            .thread_entries
            .iter()
            .map(|entry| EntryFacts {
                kind: entry.kind,
                line: model.line_of(entry.range.start()),
                local_targets: entry.targets.clone(),
                external_targets: entry.external_targets.clone(),
            })
            .collect();
        let process_global = model
            .process_global_uses
            .iter()
            .filter_map(|use_| {
                let function = use_.function?;
                model
                    .is_runtime_function(function)
                    .then(|| ProcessGlobalFact {
                        function,
                        range: use_.range,
                        start: Location { row: 0, column: 0 },
                        end: Location { row: 0, column: 0 },
                        code: crate::checkers::snippet(model.text(use_.range)),
                        name: use_.name.clone(),
                        reason: use_.reason.clone(),
                        scoped: use_.scoped,
                    })
            })
            .collect();
        let locally_reached = (0..count)
            .map(|id| model.reached_from(id).is_some())
            .collect();
        ModuleFacts {
            functions,
            top_level,
            methods,
            constructors,
            classes: model
                .classes
                .iter()
                .map(|class| {
                    (
                        class.name.to_string(),
                        (class.bases.clone(), class.is_thread_local),
                    )
                })
                .collect(),
            star_imports: model.star_imports.clone(),
            import_callees: model.import_calls.clone(),
            import_external_callees,
            imports,
            entries,
            process_global,
            pools,
            imported_modules: {
                let mut tops: Vec<String> = model
                    .import_refs
                    .iter()
                    .map(|import| import.module.clone())
                    .collect();
                tops.sort();
                tops.dedup();
                tops
            },
            imports_at: model
                .import_refs
                .iter()
                .map(|import| ImportFact {
                    module: import.module.clone(),
                    range: import.range,
                    start: Location { row: 0, column: 0 },
                    end: Location { row: 0, column: 0 },
                })
                .collect(),
            suppressions: Default::default(),
            locally_reached,
            test_module: model.role == crate::semantic::ModuleRole::Test || model.vendored,
            main_guard: !model.main_guards.is_empty(),
        }
    }
}
