//! The project phase: facts gathered per module in parallel are linked into one graph, so a
//! worker defined in one module and started on a thread in another counts as reached.
//!
//! Modules are named from the source roots (each directory given, its `src/` when there is
//! one, and the top of the package a file sits in); absolute and relative imports are resolved
//! against those names, following re-exports a few levels. The cost is linear in the number of
//! functions, calls and imports.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use ruff_text_size::TextRange;
use rustc_hash::FxHashMap;

use crate::diagnostic::{Fix, Location, Severity};
use crate::fix::builders::FixBuilder;
use crate::linter::{FileReport, Message, ResolvedEdit};
use crate::registry::Rule;
use crate::semantic::{
    FunctionId, PoolFactory, SemanticModel, StateKey, ThreadEntryKind, WorkerRef,
};

/// What the project phase needs to know about one module.
#[derive(Debug, Clone, Default)]
pub struct ModuleFacts {
    pub functions: Vec<FunctionFacts>,
    /// Module-level functions by name.
    pub top_level: FxHashMap<String, FunctionId>,
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
}

#[derive(Debug, Clone, Default)]
pub struct FunctionFacts {
    pub local_callees: Vec<FunctionId>,
    pub external_callees: Vec<String>,
    /// Why the function is not safe to run on a thread instead of a process: it changes
    /// process-wide state or writes shared state without a lock.
    pub thread_unsafe: Option<String>,
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
    pub workers: Vec<WorkerRef>,
    /// The workers as written, for the message.
    pub worker_names: Vec<String>,
    pub unresolved_worker: bool,
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
        for (caller, qualified) in &model.external_calls {
            if let Some(caller) = caller {
                functions[*caller].external_callees.push(qualified.clone());
            }
        }
        for function in &mut functions {
            function.local_callees.sort_unstable();
            function.local_callees.dedup();
        }
        for use_ in &model.process_global_uses {
            if let Some(function) = use_.function {
                functions[function]
                    .thread_unsafe
                    .get_or_insert_with(|| format!("changes process-wide state (`{}`)", use_.name));
            }
        }
        for access in &model.accesses {
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
                    workers: pool.workers.clone(),
                    worker_names: pool
                        .workers
                        .iter()
                        .map(|worker| match worker {
                            WorkerRef::Local(id) => model.function(*id).qualname.clone(),
                            WorkerRef::External(name) => name.clone(),
                        })
                        .collect(),
                    unresolved_worker: pool.unresolved_worker,
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
                    })
            })
            .collect();
        let locally_reached = (0..count)
            .map(|id| model.reached_from(id).is_some())
            .collect();
        ModuleFacts {
            functions,
            top_level,
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
        }
    }
}

/// The directories module names are computed from: each directory given (and its `src/`),
/// the parent of each file given.
pub fn source_roots(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for path in paths {
        let Ok(path) = std::fs::canonicalize(path) else {
            continue;
        };
        if path.is_dir() {
            let src = path.join("src");
            if src.is_dir() {
                roots.push(src);
            }
            roots.push(path);
        } else if let Some(parent) = path.parent() {
            roots.push(parent.to_path_buf());
        }
    }
    roots.sort();
    roots.dedup();
    roots
}

/// The dotted names each Python file of a run can be imported as, computed once (module
/// naming reads the file system: canonical paths, `__init__.py` lookups).
#[derive(Debug, Default)]
pub struct ModuleNames {
    by_path: FxHashMap<PathBuf, (Vec<String>, bool)>,
}

impl ModuleNames {
    pub fn new(files: &[PathBuf], roots: &[PathBuf]) -> Self {
        let files: Vec<&PathBuf> = files
            .iter()
            .filter(|file| crate::discovery::is_python_file(file))
            .collect();
        // Resolving each directory once, not each file, saves a realpath (a readlink per path
        // component) per file: on a tree of small modules that was a tenth of the run.
        let directories: rustc_hash::FxHashSet<&Path> =
            files.iter().filter_map(|file| file.parent()).collect();
        let directories: FxHashMap<&Path, Option<PathBuf>> = directories
            .into_iter()
            .map(|directory| {
                let resolved = if directory.as_os_str().is_empty() {
                    std::fs::canonicalize(".")
                } else {
                    std::fs::canonicalize(directory)
                };
                (directory, resolved.ok())
            })
            .collect();
        use rayon::prelude::*;
        let resolved: Vec<Option<PathBuf>> = files
            .par_iter()
            .map(|file| {
                let is_symlink = std::fs::symlink_metadata(file)
                    .map(|metadata| metadata.file_type().is_symlink())
                    .unwrap_or(true);
                match (file.parent(), file.file_name()) {
                    (Some(directory), Some(name)) if !is_symlink => directories
                        .get(directory)
                        .cloned()
                        .flatten()
                        .map(|directory| directory.join(name)),
                    _ => std::fs::canonicalize(file).ok(),
                }
            })
            .collect();
        let mut packages: FxHashMap<PathBuf, bool> = FxHashMap::default();
        let by_path = files
            .into_iter()
            .zip(resolved)
            .map(|(file, resolved)| {
                let names = match resolved {
                    Some(path) => module_names(&path, roots, &mut packages),
                    None => (Vec::new(), false),
                };
                (file.clone(), names)
            })
            .collect();
        ModuleNames { by_path }
    }

    /// The top-level module names the project's files provide (`black` for `src/black/…`).
    pub fn top_level(&self) -> rustc_hash::FxHashSet<String> {
        self.by_path
            .values()
            .flat_map(|(names, _)| names.iter())
            .filter_map(|name| name.split('.').next())
            .map(str::to_string)
            .collect()
    }
}

/// The dotted names a file (its resolved path) can be imported as, and whether it is a package
/// (`__init__`). `packages` caches which directories hold an `__init__.py`.
fn module_names(
    path: &Path,
    roots: &[PathBuf],
    packages: &mut FxHashMap<PathBuf, bool>,
) -> (Vec<String>, bool) {
    let is_package = path.file_stem().is_some_and(|stem| stem == "__init__");
    let dotted = |relative: &Path| -> Option<String> {
        let mut parts: Vec<String> = relative
            .components()
            .map(|component| component.as_os_str().to_string_lossy().into_owned())
            .collect();
        let last = parts.pop()?;
        let stem = last
            .strip_suffix(".py")
            .or_else(|| last.strip_suffix(".pyi"))
            .unwrap_or(&last)
            .to_string();
        if stem != "__init__" {
            parts.push(stem);
        }
        (!parts.is_empty()).then(|| parts.join("."))
    };
    let mut names: Vec<String> = roots
        .iter()
        .filter_map(|root| path.strip_prefix(root).ok())
        .filter_map(dotted)
        .collect();
    // The top of the package the file sits in (directories with `__init__.py`).
    let mut top = path.parent().map(Path::to_path_buf);
    while let Some(directory) = top.clone() {
        let is_package = *packages
            .entry(directory.clone())
            .or_insert_with(|| directory.join("__init__.py").is_file());
        if is_package {
            top = directory.parent().map(Path::to_path_buf);
        } else {
            break;
        }
    }
    if let Some(top) = top
        && let Some(name) = path.strip_prefix(&top).ok().and_then(dotted)
    {
        names.push(name);
    }
    names.sort_by_key(|name| std::cmp::Reverse(name.len()));
    names.dedup();
    (names, is_package)
}

struct Module<'r> {
    names: Vec<String>,
    is_package: bool,
    facts: &'r ModuleFacts,
    filename: &'r str,
}

struct Linker<'r> {
    modules: Vec<Module<'r>>,
    by_name: FxHashMap<String, usize>,
}

impl Linker<'_> {
    /// `.jobs.run` in module `pkg.sub.main` → `pkg.sub.jobs.run`.
    fn absolute(&self, module: usize, qualified: &str) -> Option<String> {
        let level = qualified.chars().take_while(|c| *c == '.').count();
        if level == 0 {
            return Some(qualified.to_string());
        }
        let this = &self.modules[module];
        let name = this.names.last()?;
        let mut package: Vec<&str> = name.split('.').collect();
        if !this.is_package {
            package.pop();
        }
        for _ in 1..level {
            package.pop()?;
        }
        let rest = &qualified[level..];
        if package.is_empty() {
            return (!rest.is_empty()).then(|| rest.to_string());
        }
        Some(if rest.is_empty() {
            package.join(".")
        } else {
            format!("{}.{rest}", package.join("."))
        })
    }

    /// The function a qualified name denotes in the project, following re-exports.
    fn resolve(&self, from: usize, qualified: &str, depth: usize) -> Option<(usize, FunctionId)> {
        if depth > 4 {
            return None;
        }
        let absolute = self.absolute(from, qualified)?;
        let (module_name, function) = absolute.rsplit_once('.')?;
        let &module = self.by_name.get(module_name)?;
        let facts = self.modules[module].facts;
        if let Some(&id) = facts.top_level.get(function) {
            return Some((module, id));
        }
        let reexport = facts.imports.get(function)?;
        self.resolve(module, reexport, depth + 1)
    }
}

/// An entry that reaches a function, as a message suffix.
fn describe(kind: ThreadEntryKind, filename: &str, line: usize) -> String {
    format!("{} at {filename}:{line}", kind.description())
}

/// Links the modules of a run and applies what only the whole project shows: findings in
/// functions that another module runs on a thread become errors and say where the thread
/// starts, and NG302 is reported for process-wide changes reached that way.
pub fn link(reports: &mut [FileReport], names: &ModuleNames, rules: &crate::registry::RuleSet) {
    let mut index_of_report: Vec<usize> = Vec::new();
    let mut modules: Vec<Module<'_>> = Vec::new();
    for (report_index, report) in reports.iter().enumerate() {
        let (Some(facts), Some(path)) = (&report.facts, &report.path) else {
            continue;
        };
        let (names, is_package) = names.by_path.get(path).cloned().unwrap_or_default();
        modules.push(Module {
            names,
            is_package,
            facts,
            filename: &report.filename,
        });
        index_of_report.push(report_index);
    }
    if modules.is_empty() {
        return;
    }
    let mut by_name: FxHashMap<String, usize> = FxHashMap::default();
    for (index, module) in modules.iter().enumerate() {
        for name in &module.names {
            by_name.entry(name.clone()).or_insert(index);
        }
    }
    let linker = Linker { modules, by_name };

    // Offsets of each module's functions in one flat numbering.
    let mut offsets = Vec::with_capacity(linker.modules.len());
    let mut total = 0usize;
    for module in &linker.modules {
        offsets.push(total);
        total += module.facts.functions.len();
    }
    let mut callees: Vec<Vec<usize>> = vec![Vec::new(); total];
    for (module_index, module) in linker.modules.iter().enumerate() {
        for (function, facts) in module.facts.functions.iter().enumerate() {
            let node = offsets[module_index] + function;
            for &callee in &facts.local_callees {
                callees[node].push(offsets[module_index] + callee);
            }
            for qualified in &facts.external_callees {
                if let Some((target_module, target)) = linker.resolve(module_index, qualified, 0) {
                    callees[node].push(offsets[target_module] + target);
                }
            }
        }
    }

    // Entries in file order; each function keeps the first entry that reaches it.
    let mut entries: Vec<(usize, &EntryFacts)> = linker
        .modules
        .iter()
        .enumerate()
        .flat_map(|(module, facts)| facts.facts.entries.iter().map(move |entry| (module, entry)))
        .collect();
    entries.sort_by_key(|(module, entry)| (linker.modules[*module].filename, entry.line));
    let mut reached: Vec<Option<usize>> = vec![None; total];
    for (entry_index, (module, entry)) in entries.iter().enumerate() {
        let mut queue: VecDeque<usize> = VecDeque::new();
        let targets = entry
            .local_targets
            .iter()
            .map(|&target| offsets[*module] + target)
            .chain(entry.external_targets.iter().filter_map(|qualified| {
                linker
                    .resolve(*module, qualified, 0)
                    .map(|(target_module, target)| offsets[target_module] + target)
            }));
        for target in targets {
            if reached[target].is_none() {
                reached[target] = Some(entry_index);
                queue.push_back(target);
            }
        }
        while let Some(node) = queue.pop_front() {
            for &callee in &callees[node] {
                if reached[callee].is_none() {
                    reached[callee] = Some(entry_index);
                    queue.push_back(callee);
                }
            }
        }
    }

    // NG301: a pool whose workers, and what they call (three levels deep), are thread-safe.
    let mut convertible: Vec<(usize, PoolFact)> = Vec::new();
    if rules.contains(Rule::ProcessPoolConvertible) {
        for (module_index, module) in linker.modules.iter().enumerate() {
            'pools: for pool in &module.facts.pools {
                if pool.unresolved_worker || pool.workers.is_empty() {
                    continue;
                }
                let mut frontier: Vec<usize> = Vec::new();
                for worker in &pool.workers {
                    let node = match worker {
                        WorkerRef::Local(id) => Some(offsets[module_index] + id),
                        WorkerRef::External(qualified) => linker
                            .resolve(module_index, qualified, 0)
                            .map(|(target_module, target)| offsets[target_module] + target),
                    };
                    match node {
                        Some(node) => frontier.push(node),
                        // A worker we cannot see: say nothing.
                        None => continue 'pools,
                    }
                }
                let mut seen: Vec<usize> = Vec::new();
                for _depth in 0..=3 {
                    let mut next = Vec::new();
                    for node in frontier {
                        if seen.contains(&node) {
                            continue;
                        }
                        seen.push(node);
                        if function_facts(&linker, &offsets, node)
                            .thread_unsafe
                            .is_some()
                        {
                            continue 'pools;
                        }
                        next.extend(callees[node].iter().copied());
                    }
                    frontier = next;
                }
                if !module
                    .facts
                    .suppressions
                    .silences(Rule::ProcessPoolConvertible, pool.start.row)
                {
                    convertible.push((index_of_report[module_index], pool.clone()));
                }
            }
        }
    }

    // What each report gains, computed before the reports are borrowed mutably.
    struct Update {
        report: usize,
        /// (function, description of the entry) for functions reached from another module.
        reached: FxHashMap<FunctionId, String>,
        process_global: Vec<(ProcessGlobalFact, String)>,
    }
    let mut updates: Vec<Update> = Vec::new();
    for (module_index, module) in linker.modules.iter().enumerate() {
        let mut update = Update {
            report: index_of_report[module_index],
            reached: FxHashMap::default(),
            process_global: Vec::new(),
        };
        for function in 0..module.facts.functions.len() {
            if module.facts.locally_reached[function] {
                continue;
            }
            if let Some(entry_index) = reached[offsets[module_index] + function] {
                let (entry_module, entry) = entries[entry_index];
                let description = describe(
                    entry.kind,
                    linker.modules[entry_module].filename,
                    entry.line,
                );
                update.reached.insert(function, description);
            }
        }
        for fact in &module.facts.process_global {
            if module
                .facts
                .suppressions
                .silences(Rule::ProcessGlobalStateInThread, fact.start.row)
            {
                continue;
            }
            if let Some(description) = update.reached.get(&fact.function) {
                update
                    .process_global
                    .push((fact.clone(), description.clone()));
            }
        }
        if !update.reached.is_empty() {
            updates.push(update);
        }
    }

    for (report_index, pool) in convertible {
        let report = &mut reports[report_index];
        let diagnostic = crate::checkers::ng301_process_pool_convertible::diagnostic(
            &pool.text,
            pool.factory,
            &pool.worker_names,
            pool.range,
        )
        .with_fix(pool.fix.clone());
        report.messages.push(Message {
            filename: report.filename.clone(),
            noqa_row: pool.start.row,
            start: pool.start,
            end: pool.end,
            fix_edits: pool.fix_edits.clone(),
            diagnostic,
        });
        report.sort_messages();
    }

    for update in updates {
        let report = &mut reports[update.report];
        for message in &mut report.messages {
            let diagnostic = &mut message.diagnostic;
            if diagnostic.severity == Severity::Error {
                continue;
            }
            let mut functions = diagnostic.functions.clone();
            functions.sort_unstable();
            if let Some(description) = functions
                .iter()
                .find_map(|function| update.reached.get(function))
            {
                diagnostic.severity = Severity::Error;
                diagnostic
                    .message
                    .push_str(&format!(" (reached from {description})"));
            }
        }
        if rules.contains(Rule::ProcessGlobalStateInThread) {
            for (fact, description) in update.process_global {
                let diagnostic = crate::checkers::ng302_process_global_state_in_thread::diagnostic(
                    &fact.code,
                    &fact.name,
                    &fact.reason,
                    &description,
                    fact.range,
                )
                .with_functions(vec![fact.function]);
                report.messages.push(Message {
                    filename: report.filename.clone(),
                    noqa_row: fact.start.row,
                    start: fact.start,
                    end: fact.end,
                    fix_edits: Vec::new(),
                    diagnostic,
                });
            }
            report.sort_messages();
        }
    }
}

/// The facts of a function by its flat node number.
fn function_facts<'r>(linker: &Linker<'r>, offsets: &[usize], node: usize) -> &'r FunctionFacts {
    let module = offsets.partition_point(|&offset| offset <= node) - 1;
    &linker.modules[module].facts.functions[node - offsets[module]]
}
