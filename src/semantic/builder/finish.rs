//! Resolution, the builder's last step: binds the function references recorded during the walk
//! (thread targets, pool workers, call sites, escapes, fork-child handlers) now that every
//! function of the module is known, runs the call-graph analyses, and assembles the
//! [`SemanticModel`].

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use ruff_text_size::{Ranged, TextRange, TextSize};

use super::call_graph::{
    closed_under_callers, construction_only, import_time_only, inherit_locks,
    propagate_reachability,
};
use super::execution::{
    ExecutionFacts, event_loop_only, executions, for_tests_only, library_api, setup_only,
};
use super::{Builder, PendingRef, PendingSubmission};
use crate::semantic::{
    CallSite, ClassId, FunctionId, ProcessPool, SemanticModel, StateAccess, StateKey, ThreadEntry,
    ThreadEntryKind, ValueIdentity, WorkerRef,
};

impl<'a> Builder<'a> {
    /// Resolves what the walk recorded and computes the call-graph facts the rules read.
    pub(super) fn finish(mut self) -> SemanticModel<'a> {
        let function_count = self.functions.len();

        let thread_entries = self.resolve_thread_entries();
        let process_pools = self.resolve_process_pools();
        let external_calls = self.resolve_external_calls();
        let call_sites = self.resolve_call_sites();
        let import_calls = self.import_calls(&call_sites);
        self.mark_escaped_functions();
        self.mark_lone_handlers();
        let entry_targets = entry_targets(&thread_entries);

        let reached_from = propagate_reachability(function_count, &thread_entries, &call_sites);
        let inherited_locks = inherit_locks(
            &self.functions,
            &call_sites,
            &entry_targets,
            function_count,
            None,
        );
        let construction = construction_only(&self.functions, &call_sites, &entry_targets);
        let instance_inherited_locks = inherit_locks(
            &self.functions,
            &call_sites,
            &entry_targets,
            function_count,
            Some(&construction),
        );
        let class_creation = self.class_creation_methods();
        let fork_child_ranges = self.fork_child_ranges_with_process_runs();
        let in_child_process = self.child_process_functions(&call_sites, &fork_child_ranges);
        let import_time = import_time_only(
            &self.functions,
            &call_sites,
            &entry_targets,
            &class_creation,
            &in_child_process,
        );
        let event_loop = event_loop_only(
            &self.functions,
            &call_sites,
            &entry_targets,
            self.cooperative_loop,
        );
        let class_names: Vec<&str> = self.classes.iter().map(|class| class.name).collect();
        let library_api = library_api(
            &self.functions,
            &class_names,
            &call_sites,
            &import_time,
            self.role,
        );
        let for_tests = for_tests_only(&self.functions, &call_sites, &entry_targets);
        let setup = setup_only(&self.functions, &self.classes, &call_sites, &entry_targets);
        let execution = executions(
            &self.functions,
            &ExecutionFacts {
                import_time: &import_time,
                reached_from: &reached_from,
                event_loop: &event_loop,
                library_api: &library_api,
                for_tests: &for_tests,
                setup: &setup,
            },
            self.role,
        );

        let command_line = self.command_line_functions(&call_sites, &entry_targets);
        let main_thread_setup = self.main_thread_setup_functions(&call_sites, &entry_targets);
        let scoped_overrides = self.resolve_overrides();
        self.mark_rechecked_under_lock();
        self.judge_values_from_calls();
        let accesses_by_key = index_accesses_by_key(&self.accesses);
        self.resolve_undeclared_global_reads();
        let iterator_definitions = self.resolve_iterator_bindings();
        let stack_ops = std::mem::take(&mut self.stack_ops);
        let iterator_advances = std::mem::take(&mut self.iterator_advances);

        let mut model = SemanticModel {
            source: self.source,
            line_starts: std::sync::OnceLock::new(),
            imports: self.imports,
            bindings: self.bindings,
            functions: self.functions,
            classes: self.classes,
            class_index: self.class_index,
            lock_regions: self.lock_regions,
            lock_unavailable: self.lock_unavailable,
            thread_entries,
            accesses: self.accesses,
            iterations: self.iterations,
            mapping_iterations: self.mapping_iterations,
            evictions: self.evictions,
            shared_stacks: Vec::new(),
            shared_iterators: Vec::new(),
            accesses_by_key,
            reads_by_key: self.reads,
            call_sites,
            parameter_lock_defaults: self.parameter_lock_defaults,
            process_global_uses: self.process_global_uses,
            scoped_overrides,
            per_process_uses: self.per_process_uses,
            sets_start_method: self.sets_start_method,
            import_refs: self.import_refs,
            star_imports: self.star_imports,
            process_pools,
            external_calls,
            import_calls,
            gil_api_uses: self.gil_api_uses,
            main_guards: self.main_guards,
            header_end: TextSize::default(),
            reached_from,
            inherited_locks,
            instance_inherited_locks,
            construction,
            import_time,
            execution,
            role: self.role,
            command_line,
            command_line_module: false,
            vendored: false,
            main_thread_setup,
            fork_child_ranges,
            main_thread_ranges: self.main_thread_ranges,
            dead_on_target: self.dead_on_target,
        };
        // Which lists are stacks and which iterators are shared depends on class attributes
        // reached through base classes: the model answers that.
        model.shared_stacks = super::stacks::shared_stacks(&model, stack_ops);
        model.shared_iterators =
            super::iterators::shared_iterators(&model, iterator_definitions, iterator_advances);
        model
    }

    /// Thread entries, including `run` overrides of `Thread` subclasses, in file order.
    fn resolve_thread_entries(&self) -> Vec<ThreadEntry> {
        let mut thread_entries = self.thread_entries_from_calls();
        thread_entries.extend(self.thread_entries_from_run_overrides());
        thread_entries.extend(self.thread_entries_from_decorators());
        thread_entries.sort_by_key(|entry| entry.range.start());
        thread_entries
    }

    /// The thread-starting calls whose targets resolve to functions of this module or to
    /// imported ones.
    fn thread_entries_from_calls(&self) -> Vec<ThreadEntry> {
        let mut thread_entries: Vec<ThreadEntry> = Vec::new();
        for pending in &self.pending_entries {
            let mut targets: Vec<FunctionId> = Vec::new();
            let mut external_targets: Vec<String> = Vec::new();
            for reference in &pending.targets {
                match self.resolve(reference) {
                    Some(target) => targets.push(target),
                    None => {
                        if self.imported_head(reference.expr)
                            && let Some(qualified) = self.qualified_name(reference.expr)
                        {
                            external_targets.push(qualified);
                        }
                    }
                }
            }
            targets.sort_unstable();
            targets.dedup();
            if !targets.is_empty() || !external_targets.is_empty() {
                thread_entries.push(ThreadEntry {
                    kind: pending.kind,
                    range: pending.range,
                    targets,
                    external_targets,
                });
            }
        }
        thread_entries
    }

    /// The `run` methods of `Thread` subclasses: each runs on the thread its object starts.
    fn thread_entries_from_run_overrides(&self) -> Vec<ThreadEntry> {
        let mut thread_entries: Vec<ThreadEntry> = Vec::new();
        for class in &self.classes {
            if !class.is_thread_subclass {
                continue;
            }
            for &method in &class.methods {
                if self.functions[method].name == "run" {
                    thread_entries.push(ThreadEntry {
                        kind: ThreadEntryKind::RunOverride,
                        range: self.functions[method].name_range,
                        targets: vec![method],
                        external_targets: Vec::new(),
                    });
                }
            }
        }
        thread_entries
    }

    /// The children of forks, and the `run` methods of `multiprocessing.Process` subclasses:
    /// `run` is the child process's main, which starts on the only thread there (what it does
    /// to its copy of the module races with nothing until it starts threads itself).
    fn fork_child_ranges_with_process_runs(&mut self) -> Vec<TextRange> {
        let mut ranges = std::mem::take(&mut self.fork_child_ranges);
        for class in self
            .classes
            .iter()
            .filter(|class| class.is_process_subclass)
        {
            for &method in &class.methods {
                let function = &self.functions[method];
                if function.name == "run"
                    && let (Some(first), Some(last)) = (function.body.first(), function.body.last())
                {
                    ranges.push(TextRange::new(first.start(), last.end()));
                }
            }
        }
        ranges
    }

    /// The functions decorated with a configured thread-entry decorator.
    fn thread_entries_from_decorators(&self) -> Vec<ThreadEntry> {
        self.decorated_entries
            .iter()
            .map(|&(function, range)| ThreadEntry {
                kind: ThreadEntryKind::Decorated,
                range,
                targets: vec![function],
                external_targets: Vec::new(),
            })
            .collect()
    }

    /// The pool a submission goes to, as an index into the pending pools.
    ///
    /// Each submission goes to the pool created on the receiver itself, or to the latest pool
    /// bound to the receiver's name before it in the same function.
    fn submission_pool(&self, submission: &PendingSubmission<'a>) -> Option<usize> {
        let receiver = submission.receiver.range();
        if let Some(index) = self
            .pending_pools
            .iter()
            .position(|pool| pool.call.range() == receiver)
        {
            return Some(index);
        }
        self.pool_bound_to(self.text(receiver), submission.scope, receiver.start())
    }

    /// Every process pool with the work submitted to it and its initializer, resolved to
    /// functions of this module or imported ones, and what its constructor is given.
    fn resolve_process_pools(&self) -> Vec<ProcessPool> {
        let owners: Vec<Option<usize>> = self
            .pending_submissions
            .iter()
            .map(|submission| self.submission_pool(submission))
            .collect();
        let mut process_pools: Vec<ProcessPool> = Vec::new();
        for (pool_index, pending) in self.pending_pools.iter().enumerate() {
            let mut work: Vec<WorkerRef> = Vec::new();
            let mut unresolved_work = false;
            let submitted = self
                .pending_submissions
                .iter()
                .zip(&owners)
                .filter(|(_, owner)| **owner == Some(pool_index))
                .map(|(submission, _)| submission);
            for submission in submitted {
                match submission
                    .worker
                    .and_then(|worker| self.worker_ref(worker, submission.scope, submission.class))
                {
                    Some(worker) => {
                        if !work.contains(&worker) {
                            work.push(worker);
                        }
                    }
                    None => unresolved_work = true,
                }
            }
            let initializer = pending.initializer.and_then(|initializer| {
                let resolved = self.worker_ref(initializer, pending.function, None);
                unresolved_work |= resolved.is_none();
                resolved
            });
            let arguments = &pending.call.arguments;
            process_pools.push(ProcessPool {
                range: pending.call.range(),
                callee: pending.call.func.range(),
                factory: pending.factory,
                function: pending.function,
                work,
                initializer,
                unresolved_work,
                explicit_start_method: pending.explicit_start_method,
                escapes: pending.escapes,
                positional: arguments.args.len(),
                keywords: arguments
                    .keywords
                    .iter()
                    .map(|keyword| {
                        (
                            keyword
                                .arg
                                .as_ref()
                                .map_or_else(|| "**".to_string(), ToString::to_string),
                            keyword.range(),
                        )
                    })
                    .collect(),
            });
        }
        process_pools
    }

    /// Calls of imported names as (caller, qualified callee), for the project phase to resolve
    /// against other modules.
    fn resolve_external_calls(&self) -> Vec<(Option<FunctionId>, String)> {
        // One qualified name per distinct (caller, callee text); the result is sorted below,
        // so a set (not a sort of the texts) finds the distinct ones.
        let mut seen: HashSet<(Option<FunctionId>, &str)> =
            HashSet::with_capacity_and_hasher(self.external_call_refs.len(), Default::default());
        let mut external_calls: Vec<(Option<FunctionId>, String)> = self
            .external_call_refs
            .iter()
            .filter(|(caller, expr)| seen.insert((*caller, self.text(expr.range()))))
            // The program's `__main__` block is not import: what it calls is the program's,
            // not code the module runs once while imported.
            .filter(|(caller, expr)| caller.is_some() || !self.in_main_guard(expr.range()))
            .filter_map(|(caller, expr)| {
                self.qualified_name(expr)
                    .filter(|qualified| !qualified.starts_with("builtins."))
                    .map(|qualified| (*caller, qualified))
            })
            .collect();
        external_calls.sort_unstable();
        external_calls.dedup();
        external_calls
    }

    /// The call graph: each call of one of this module's functions, with the locks held at it.
    fn resolve_call_sites(&self) -> Vec<CallSite> {
        let mut call_sites: Vec<CallSite> = Vec::new();
        // Only a module with subclasses of its own classes has overrides to dispatch to; each
        // method's overrides are looked up once.
        let has_subclasses = self.classes.iter().any(|class| {
            class
                .bases
                .iter()
                .any(|base| self.class_index.contains_key(base.as_str()))
        });
        let subclasses = if has_subclasses {
            self.module_subclasses()
        } else {
            Vec::new()
        };
        let mut overrides: HashMap<FunctionId, Vec<FunctionId>> = HashMap::default();
        for pending in &self.pending_calls {
            let resolved = self.resolve(&pending.reference);
            // `self.m()` / `cls.m()` dispatches on the receiver's class: a subclass's `m`.
            let dispatched = match (resolved, pending.reference.expr) {
                (Some(method), ruff_python_ast::Expr::Attribute(attribute))
                    if has_subclasses
                        && matches!(&*attribute.value, ruff_python_ast::Expr::Name(base)
                            if matches!(base.id.as_str(), "self" | "cls")) =>
                {
                    overrides
                        .entry(method)
                        .or_insert_with(|| self.overrides_of(method, &subclasses))
                        .clone()
                }
                _ => Vec::new(),
            };
            let callees = resolved
                .into_iter()
                .chain(dispatched)
                .chain(self.resolve_allocator(&pending.reference));
            for callee in callees {
                call_sites.push(CallSite {
                    caller: pending.reference.scope,
                    callee,
                    locks: pending.locks.clone(),
                    range: pending.reference.expr.range(),
                });
            }
        }
        call_sites
    }

    /// This module's functions that its top-level code calls while it is imported (not in
    /// its `__main__` block), sorted.
    fn import_calls(&self, call_sites: &[CallSite]) -> Vec<FunctionId> {
        let mut calls: Vec<FunctionId> = call_sites
            .iter()
            .filter(|site| site.caller.is_none() && !self.in_main_guard(site.range))
            .map(|site| site.callee)
            .collect();
        calls.sort_unstable();
        calls.dedup();
        calls
    }

    fn in_main_guard(&self, range: TextRange) -> bool {
        self.main_guards
            .iter()
            .any(|guard| guard.contains_range(range))
    }

    /// Command-line entry points: `main` of a module with an `if __name__ == "__main__":`
    /// block, the methods of a class that block creates (see `program_classes`), and the
    /// functions only they call.
    fn command_line_functions(
        &self,
        call_sites: &[CallSite],
        entry_targets: &HashSet<FunctionId>,
    ) -> Vec<bool> {
        let has_main_guard = !self.main_guards.is_empty();
        let programs = self.program_classes();
        let seeds: Vec<bool> = self
            .functions
            .iter()
            .map(|function| {
                has_main_guard
                    && ((function.name == "main"
                        && function.parent.is_none()
                        && function.class.is_none())
                        || function
                            .class
                            .is_some_and(|class| programs.contains(&class)))
            })
            .collect();
        if !seeds.contains(&true) {
            return seeds;
        }
        closed_under_callers(&self.functions, call_sites, entry_targets, seeds)
    }

    /// Classes that are the module's program: created under `if __name__ == "__main__":`
    /// (`DirectorControl()(*sys.argv[1:])`) and nowhere else in the module. Their methods are
    /// the command line's, dispatched from there (often by name, which no call site shows).
    fn program_classes(&self) -> HashSet<ClassId> {
        let mut programs: HashSet<ClassId> = HashSet::default();
        let mut elsewhere: HashSet<ClassId> = HashSet::default();
        for pending in &self.pending_calls {
            let reference = &pending.reference;
            if !reference.instantiates {
                continue;
            }
            let ruff_python_ast::Expr::Name(name) = reference.expr else {
                continue;
            };
            let Some(class) = self.module_class(name.id.as_str()) else {
                continue;
            };
            if reference.scope.is_none() && self.in_main_guard(reference.expr.range()) {
                programs.insert(class);
            } else {
                elsewhere.insert(class);
            }
        }
        programs.retain(|class| !elsewhere.contains(class));
        programs
    }

    /// Main-thread set-up: functions that call an API Python allows only in the main thread
    /// (`signal.signal`), the other methods of their class, and the functions only they
    /// call. Such a function is written for the main thread: on any other it raises at that
    /// call, GIL or not. A class that installs signal handlers is the process's own driver
    /// (an arbiter, a worker process's main object), whose methods its main thread runs.
    fn main_thread_setup_functions(
        &self,
        call_sites: &[CallSite],
        entry_targets: &HashSet<FunctionId>,
    ) -> Vec<bool> {
        let mut seeds = vec![false; self.functions.len()];
        let mut classes = HashSet::default();
        for use_ in &self.process_global_uses {
            if let Some(function) = use_.function
                && crate::data::is_main_thread_only(&use_.name)
            {
                seeds[function] = true;
                classes.extend(self.functions[function].class);
            }
        }
        if !seeds.contains(&true) {
            return seeds;
        }
        // What calls a function that requires the main thread requires it too
        // (python-daemon's `DaemonContext.open()` calling `set_signal_handlers()`): it fails
        // on any other thread. A thread entry is left alone (it would fail, and is reported).
        let mut requires: Vec<bool> = vec![false; self.functions.len()];
        let mut work: Vec<FunctionId> = self.requires_main_thread.clone();
        for &function in &work {
            requires[function] = true;
        }
        let mut callers: Vec<Vec<FunctionId>> = vec![Vec::new(); self.functions.len()];
        if !work.is_empty() {
            for site in call_sites {
                if let Some(caller) = site.caller {
                    callers[site.callee].push(caller);
                }
            }
        }
        while let Some(callee) = work.pop() {
            for &caller in &callers[callee] {
                if !requires[caller] && !entry_targets.contains(&caller) {
                    requires[caller] = true;
                    seeds[caller] = true;
                    classes.extend(self.functions[caller].class);
                    work.push(caller);
                }
            }
        }
        for (id, function) in self.functions.iter().enumerate() {
            if function.class.is_some_and(|class| classes.contains(&class)) {
                seeds[id] = true;
            }
        }
        closed_under_callers(&self.functions, call_sites, entry_targets, seeds)
    }

    /// Marks the functions referenced as values (passed, stored, returned) as escaping.
    fn mark_escaped_functions(&mut self) {
        // Handing a function to `os.register_at_fork(after_in_child=…)` is not an escape: it
        // runs only in a freshly forked child, where no other thread exists. Nor is handing it
        // to `atexit.register`: it runs once, at shutdown.
        let lone_handlers: HashSet<TextRange> = self
            .pending_lone_handlers
            .iter()
            .map(|reference| reference.expr.range())
            .collect();
        let escaped: Vec<FunctionId> = self
            .pending_escapes
            .iter()
            .filter(|reference| !lone_handlers.contains(&reference.expr.range()))
            .filter_map(|reference| self.resolve(reference))
            .collect();
        for function in escaped {
            self.functions[function].escapes = true;
        }
    }

    /// Marks the functions registered to run apart from the program's threads (in a forked
    /// child, at exit).
    fn mark_lone_handlers(&mut self) {
        let handlers: Vec<FunctionId> = self
            .pending_lone_handlers
            .iter()
            .filter_map(|reference| self.resolve(reference))
            .collect();
        for function in handlers {
            self.functions[function].runs_alone = true;
        }
    }
}

/// The functions some thread entry starts.
fn entry_targets(thread_entries: &[ThreadEntry]) -> HashSet<FunctionId> {
    let mut entry_targets: HashSet<FunctionId> = HashSet::default();
    for entry in thread_entries {
        entry_targets.extend(entry.targets.iter().copied());
    }
    entry_targets
}

impl Builder<'_> {
    /// Values that come from a call of one of this module's functions take that function's
    /// identity: unique when it changes shared state (running it twice does the work twice)
    /// or returns a new object, equal when it returns equal values. An instance of one of this
    /// module's classes is unique when its `__init__` changes state beyond the new instance's
    /// own attributes (a registry it joins, a count of instances), else not known.
    fn judge_values_from_calls(&mut self) {
        let writers: HashSet<FunctionId> =
            self.accesses.iter().map(|access| access.function).collect();
        let shared_writers: HashSet<FunctionId> = self
            .accesses
            .iter()
            .filter(|access| !matches!(access.key, StateKey::InstanceAttr(..)))
            .map(|access| access.function)
            .collect();
        let judged: Vec<(usize, ValueIdentity)> = self
            .pending_value_calls
            .iter()
            .filter_map(|(index, reference)| {
                let identity = match self.resolve(reference) {
                    Some(callee) if writers.contains(&callee) => {
                        ValueIdentity::Unique("a value from a call that changes shared state")
                    }
                    Some(callee) => self.return_identity(callee)?,
                    None => {
                        let constructor = self.resolve(&PendingRef {
                            instantiates: true,
                            ..reference.clone()
                        })?;
                        if !shared_writers.contains(&constructor) {
                            return None;
                        }
                        ValueIdentity::Unique("a new object whose constructor changes shared state")
                    }
                };
                Some((*index, identity))
            })
            .collect();
        for (index, identity) in judged {
            self.accesses[index].value_identity = identity;
        }
    }

    /// Writes made under a lock after a check made inside the same lock region (the inner
    /// check of double-checked locking, whatever flag it tests): the act was re-checked under
    /// the lock it holds.
    fn mark_rechecked_under_lock(&mut self) {
        let mut checks_by_function: HashMap<FunctionId, Vec<TextRange>> = HashMap::default();
        for (function, check) in &self.checks {
            checks_by_function
                .entry(*function)
                .or_default()
                .push(*check);
        }
        let mut regions_by_function: HashMap<FunctionId, Vec<usize>> = HashMap::default();
        for (index, region) in self.lock_regions.iter().enumerate() {
            if let Some(function) = region.function {
                regions_by_function.entry(function).or_default().push(index);
            }
        }
        for access in &mut self.accesses {
            if access.locks.is_empty() {
                continue;
            }
            let (Some(checks), Some(regions)) = (
                checks_by_function.get(&access.function),
                regions_by_function.get(&access.function),
            ) else {
                continue;
            };
            access.rechecked_under_lock = regions.iter().any(|&region| {
                let region = &self.lock_regions[region];
                access.locks.contains(&region.lock)
                    && region.range.contains_range(access.range)
                    && checks.iter().any(|check| {
                        region.range.contains_range(*check) && check.start() < access.range.start()
                    })
            });
        }
    }
}

/// The accesses to each piece of state, as indices into `accesses`.
fn index_accesses_by_key<'a>(accesses: &[StateAccess<'a>]) -> HashMap<StateKey<'a>, Vec<usize>> {
    let mut accesses_by_key: HashMap<StateKey<'a>, Vec<usize>> = HashMap::default();
    for (index, access) in accesses.iter().enumerate() {
        accesses_by_key.entry(access.key).or_default().push(index);
    }
    accesses_by_key
}
