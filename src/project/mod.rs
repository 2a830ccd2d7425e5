//! The project phase: facts gathered per module in parallel are linked into one graph, so a
//! worker defined in one module and started on a thread in another counts as reached.
//!
//! Modules are named from the source roots (each directory given, its `src/` when there is
//! one, and the top of the package a file sits in); absolute and relative imports are resolved
//! against those names, following re-exports a few levels. The cost is linear in the number of
//! functions, calls and imports.

mod main_thread;
mod module_names;
mod programs;
mod thread_locals;

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

pub use module_names::{ModuleNames, source_roots};
pub use thread_locals::cross_module_thread_locals;

use crate::checkers::PUBLIC_API_NOTE;
use crate::diagnostic::{Harm, Severity};
use crate::facts::{EntryFacts, FunctionFacts, ModuleFacts, PoolFact, ProcessGlobalFact};
use crate::registry::{Rule, RuleSet};
use crate::report::{FileReport, Message};
use crate::semantic::{FunctionId, ThreadEntryKind, WorkerRef};
use main_thread::SetUpOnly;

struct Module<'r> {
    names: Vec<String>,
    is_package: bool,
    /// A test module (`test_*.py`, under `tests/`, …).
    is_test: bool,
    /// In a directory of examples, demos or scripts (see [`programs`]).
    in_program_directory: bool,
    facts: &'r ModuleFacts,
    filename: &'r str,
    path: &'r std::path::Path,
}

struct Linker<'r> {
    modules: Vec<Module<'r>>,
    by_name: FxHashMap<String, usize>,
}

impl<'r> Linker<'r> {
    /// The modules of the reports that have facts, named, with the index of each one's report.
    fn new(reports: &'r [FileReport], names: &ModuleNames) -> (Self, Vec<usize>) {
        let mut index_of_report: Vec<usize> = Vec::new();
        let mut modules: Vec<Module<'r>> = Vec::new();
        for (report_index, report) in reports.iter().enumerate() {
            let (Some(facts), Some(path)) = (&report.facts, &report.path) else {
                continue;
            };
            let is_test = names.is_test(path);
            let in_program_directory = names.in_program_directory(path);
            let (names, is_package) = names.of(path);
            modules.push(Module {
                names,
                is_package,
                is_test,
                in_program_directory,
                facts,
                filename: &report.filename,
                path,
            });
            index_of_report.push(report_index);
        }
        let mut by_name: FxHashMap<String, usize> = FxHashMap::default();
        for (index, module) in modules.iter().enumerate() {
            for name in &module.names {
                by_name.entry(name.clone()).or_insert(index);
            }
        }
        (Linker { modules, by_name }, index_of_report)
    }

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
        let Some(&module) = self.by_name.get(module_name) else {
            return self.resolve_method(module_name, function, depth);
        };
        let facts = self.modules[module].facts;
        if let Some(&id) = facts.top_level.get(function) {
            return Some((module, id));
        }
        // Creating a class of that module runs its constructor (`@sqltype_for("text")` in
        // another module's class body builds one while that module is imported).
        if let Some(&id) = facts.constructors.get(function) {
            return Some((module, id));
        }
        let reexport = facts.imports.get(function)?;
        self.resolve(module, reexport, depth + 1)
    }

    /// As [`Linker::resolve`], remembering what absolute names resolve to: they resolve the
    /// same from every module, and a project calls the same names from many modules.
    fn resolve_cached<'q>(
        &self,
        resolved: &mut FxHashMap<&'q str, Option<(usize, FunctionId)>>,
        from: usize,
        qualified: &'q str,
    ) -> Option<(usize, FunctionId)> {
        if qualified.starts_with('.') {
            return self.resolve(from, qualified, 0);
        }
        *resolved
            .entry(qualified)
            .or_insert_with(|| self.resolve(from, qualified, 0))
    }

    /// `pkg.base.Colors.register`: a method of a module-level class, called on the class, or
    /// on a re-export of it.
    fn resolve_method(
        &self,
        class_path: &str,
        method: &str,
        depth: usize,
    ) -> Option<(usize, FunctionId)> {
        let (module_name, class) = class_path.rsplit_once('.')?;
        let &module = self.by_name.get(module_name)?;
        let facts = self.modules[module].facts;
        if let Some(&id) = facts.methods.get(&format!("{class}.{method}")) {
            return Some((module, id));
        }
        let reexport = facts.imports.get(class)?;
        self.resolve(module, &format!("{reexport}.{method}"), depth + 1)
    }
}

/// An entry that reaches a function, as a message suffix.
fn describe(kind: ThreadEntryKind, filename: &str, line: usize) -> String {
    format!("{} at {filename}:{line}", kind.description())
}

/// Links the modules of a run and applies what only the whole project shows: findings in
/// functions that another module runs on a thread become errors and say where the thread
/// starts, and NG302 is reported for process-wide changes reached that way.
pub fn link(reports: &mut [FileReport], names: &ModuleNames, rules: &RuleSet) {
    let (linker, index_of_report) = Linker::new(reports, names);
    if linker.modules.is_empty() {
        return;
    }

    // Offsets of each module's functions in one flat numbering.
    let mut offsets = Vec::with_capacity(linker.modules.len());
    let mut total = 0usize;
    for module in &linker.modules {
        offsets.push(total);
        total += module.facts.functions.len();
    }
    let mut callees: Vec<Vec<usize>> = vec![Vec::new(); total];
    // An absolute name resolves the same from every module, and a project calls the same
    // names from many modules: each is resolved once (the language server links after every
    // edit).
    let mut resolved: FxHashMap<&str, Option<(usize, FunctionId)>> = FxHashMap::default();
    for (module_index, module) in linker.modules.iter().enumerate() {
        for (function, facts) in module.facts.functions.iter().enumerate() {
            let node = offsets[module_index] + function;
            for &callee in &facts.local_callees {
                callees[node].push(offsets[module_index] + callee);
            }
            for qualified in &facts.external_callees {
                let target = linker.resolve_cached(&mut resolved, module_index, qualified);
                if let Some((target_module, target)) = target {
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

    let programs = programs::stand_alone_programs(&linker, &offsets, &reached);

    // Set-up across modules: main-thread set-up makes its library-code findings about
    // process-wide state the program's own; what only one-time set-up (`init()`) calls runs
    // once.
    let per_function = |fact: fn(&FunctionFacts) -> bool| -> Vec<bool> {
        linker
            .modules
            .iter()
            .flat_map(|module| module.facts.functions.iter().map(fact))
            .collect()
    };
    let main_thread_setup = SetUpOnly::new(
        &per_function(|function| function.main_thread_setup),
        &callees,
        &reached,
    );
    let one_time = SetUpOnly::new(
        &per_function(|function| function.one_time_setup),
        &callees,
        &reached,
    );

    // Import time across modules: what only other modules' top-level code calls runs while
    // they are imported. Tests' top-level calls do not count: a library function a test
    // module calls at import is still the library's API.
    let mut at_import = vec![false; total];
    let mut called_elsewhere = per_function(|function| function.escapes);
    for (module_index, module) in linker.modules.iter().enumerate() {
        if !module.is_test {
            for &callee in &module.facts.import_callees {
                at_import[offsets[module_index] + callee] = true;
            }
        }
        for qualified in &module.facts.import_external_callees {
            let target = linker.resolve_cached(&mut resolved, module_index, qualified);
            if let Some((target_module, target)) = target {
                // A test's top-level call is a caller the fixpoint cannot mark: it keeps the
                // callee library API.
                let marks = if module.is_test {
                    &mut called_elsewhere
                } else {
                    &mut at_import
                };
                marks[offsets[target_module] + target] = true;
            }
        }
    }
    let import_time = SetUpOnly::import_time(&at_import, &called_elsewhere, &callees, &reached);

    // NG301: a pool whose submitted work, its initializer and what they call (three levels
    // deep) are thread-safe and need nothing per process.
    // (report, pool, the submitted work named for the message).
    let mut convertible: Vec<(usize, PoolFact, Vec<String>)> = Vec::new();
    if rules.contains(Rule::ProcessPoolConvertible) {
        for (module_index, module) in linker.modules.iter().enumerate() {
            // A test whose subject is multiprocessing keeps its processes.
            if module.is_test {
                continue;
            }
            for pool in &module.facts.pools {
                if is_convertible(&linker, &offsets, &callees, module_index, pool)
                    && !module
                        .facts
                        .suppressions
                        .silences(Rule::ProcessPoolConvertible, pool.start.row)
                {
                    // `.compute.crunch` → `app.compute.crunch`.
                    let work_names = pool
                        .work
                        .iter()
                        .zip(&pool.work_names)
                        .map(|(worker, name)| match worker {
                            WorkerRef::External(qualified) => linker
                                .absolute(module_index, qualified)
                                .unwrap_or_else(|| name.clone()),
                            WorkerRef::Local(_) => name.clone(),
                        })
                        .collect();
                    convertible.push((index_of_report[module_index], pool.clone(), work_names));
                }
            }
        }
    }

    // What each report gains, computed before the reports are borrowed mutably.
    struct Update {
        report: usize,
        /// (function, description of the entry) for functions reached from another module.
        reached: FxHashMap<FunctionId, String>,
        /// Where each of those entries is: its file and line.
        entry_at: FxHashMap<FunctionId, (std::path::PathBuf, usize)>,
        process_global: Vec<(ProcessGlobalFact, String)>,
    }
    let mut updates: Vec<Update> = Vec::new();
    for (module_index, module) in linker.modules.iter().enumerate() {
        let mut update = Update {
            report: index_of_report[module_index],
            reached: FxHashMap::default(),
            entry_at: FxHashMap::default(),
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
                update.entry_at.insert(
                    function,
                    (linker.modules[entry_module].path.to_path_buf(), entry.line),
                );
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

    for (report_index, pool, work_names) in convertible {
        let report = &mut reports[report_index];
        let diagnostic = crate::checkers::ng301_process_pool_convertible::diagnostic(
            &pool.text,
            pool.factory,
            &work_names,
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
            // An error already, for a thread of its own module: nothing to add. An error as
            // public API gets the thread that actually reaches it instead.
            if diagnostic.severity == Severity::Error
                && !diagnostic.message.ends_with(PUBLIC_API_NOTE)
            {
                continue;
            }
            let mut functions = diagnostic.functions.clone();
            functions.sort_unstable();
            if let Some((function, description)) = functions.iter().find_map(|function| {
                update
                    .reached
                    .get(function)
                    .map(|description| (function, description))
            }) {
                if let Some((path, line)) = update.entry_at.get(function) {
                    diagnostic.related.push(crate::diagnostic::Related {
                        message: format!("reached from {description}"),
                        location: crate::diagnostic::RelatedLocation::Line {
                            path: path.clone(),
                            line: *line,
                        },
                    });
                }
                // A thread makes a hazard an error; a benign or uncertain race stays what it
                // is, now with the thread named.
                if diagnostic.harm == Some(Harm::Hazard) {
                    diagnostic.severity = Severity::Error;
                } else if diagnostic.rule == Rule::InconsistentLocking
                    && diagnostic.harm == Some(Harm::Uncertain)
                {
                    // NG107 keeps a write no thread reaches as information (see its rule):
                    // reached, it is the likely race it was judged to be.
                    diagnostic.severity = diagnostic.severity.max(Severity::Warning);
                }
                if let Some(without) = diagnostic.message.strip_suffix(PUBLIC_API_NOTE) {
                    diagnostic.message = without.to_string();
                }
                diagnostic
                    .message
                    .push_str(&format!(" (reached from {description})"));
            }
        }
        if rules.contains(Rule::ProcessGlobalStateInThread) {
            for (fact, description) in update.process_global {
                // A scoped override is NG110's: its finding became an error above.
                if fact.scoped && rules.contains(Rule::ScopedOverride) {
                    continue;
                }
                // The warning the module gave it as library code becomes the thread's error.
                report.messages.retain(|message| {
                    message.diagnostic.rule != Rule::ProcessGlobalStateInThread
                        || message.diagnostic.range != fact.range
                });
                let mut diagnostic =
                    crate::checkers::ng302_process_global_state_in_thread::diagnostic(
                        &fact.code,
                        &fact.name,
                        &fact.reason,
                        &description,
                        fact.range,
                    )
                    .with_functions(vec![fact.function]);
                if let Some((path, line)) = update.entry_at.get(&fact.function) {
                    diagnostic = diagnostic.with_related(
                        format!("reached from {description}"),
                        crate::diagnostic::RelatedLocation::Line {
                            path: path.clone(),
                            line: *line,
                        },
                    );
                }
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
    // Applied last: the findings above were computed from the reports' facts.
    for (module_index, &report_index) in index_of_report.iter().enumerate() {
        let offset = offsets[module_index];
        let report = &mut reports[report_index];
        import_time.drop_findings(report, offset, main_thread::is_runtime_finding);
        import_time.drop_races_with_it(report, offset);
        one_time.drop_findings(report, offset, main_thread::is_race_of_its_own);
        main_thread_setup.drop_findings(report, offset, main_thread::is_library_process_finding);
        if programs[module_index] {
            programs::lower_program_findings(report);
        }
    }
    // A test module's findings stay information, also where a thread made them errors above;
    // so do a vendored copy's, which the project it comes from fixes.
    for report in reports.iter_mut() {
        let test_module = report.facts.as_ref().is_some_and(|facts| facts.test_module)
            || report
                .path
                .as_deref()
                .is_some_and(|path| names.is_test(path) || names.is_vendored(path));
        if test_module {
            for message in &mut report.messages {
                crate::checkers::lower_to_information(std::slice::from_mut(
                    &mut message.diagnostic,
                ));
            }
        }
    }
}

/// Whether a process pool could be a thread pool: its submitted work is known and neither it
/// nor the initializer, nor what they call three levels deep, changes process-wide state,
/// writes shared state without a lock or behaves per process; the initializer also sets up no
/// module state; and nothing says processes were chosen on purpose (an explicit start method)
/// or lets work reach the pool where the analysis does not look (the pool escapes).
fn is_convertible(
    linker: &Linker<'_>,
    offsets: &[usize],
    callees: &[Vec<usize>],
    module: usize,
    pool: &PoolFact,
) -> bool {
    if pool.work.is_empty() || pool.unresolved_work || pool.escapes || pool.explicit_start_method {
        return false;
    }
    let node = |worker: &WorkerRef| match worker {
        WorkerRef::Local(id) => Some(offsets[module] + id),
        WorkerRef::External(qualified) => linker
            .resolve(module, qualified, 0)
            .map(|(target_module, target)| offsets[target_module] + target),
    };
    // A callable we cannot see: say nothing.
    let Some(work) = pool.work.iter().map(node).collect::<Option<Vec<usize>>>() else {
        return false;
    };
    let initializer = match &pool.initializer {
        Some(initializer) => match node(initializer) {
            Some(node) => vec![node],
            None => return false,
        },
        None => Vec::new(),
    };
    let work_is_shareable =
        |facts: &FunctionFacts| facts.thread_unsafe.is_none() && facts.per_process.is_none();
    // Module state an initializer sets up is per worker process, even under a lock.
    let setup_is_shareable =
        |facts: &FunctionFacts| work_is_shareable(facts) && facts.writes_global.is_none();
    within_three_calls(linker, offsets, callees, work, &work_is_shareable)
        && within_three_calls(linker, offsets, callees, initializer, &setup_is_shareable)
}

/// Whether `holds` is true of every function from `roots` down to three calls deep.
fn within_three_calls(
    linker: &Linker<'_>,
    offsets: &[usize],
    callees: &[Vec<usize>],
    roots: Vec<usize>,
    holds: &dyn Fn(&FunctionFacts) -> bool,
) -> bool {
    let mut frontier = roots;
    let mut seen: Vec<usize> = Vec::new();
    for _depth in 0..=3 {
        let mut next = Vec::new();
        for node in frontier {
            if seen.contains(&node) {
                continue;
            }
            seen.push(node);
            if !holds(function_facts(linker, offsets, node)) {
                return false;
            }
            next.extend(callees[node].iter().copied());
        }
        frontier = next;
    }
    true
}

/// The facts of a function by its flat node number.
fn function_facts<'r>(linker: &Linker<'r>, offsets: &[usize], node: usize) -> &'r FunctionFacts {
    let module = offsets.partition_point(|&offset| offset <= node) - 1;
    &linker.modules[module].facts.functions[node - offsets[module]]
}
