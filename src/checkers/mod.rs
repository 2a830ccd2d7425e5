//! The checkers: one module per rule, each with its documentation beside it.
//!
//! Every checker reads the [`SemanticModel`] of the module; none walks the tree again.
//!
//! Where each rule is checked (the catalogue in `registry` knows none of this):
//! - [`check_module`] runs the per-module rules: NG101–NG114, NG201, NG302 (threads started in
//!   the module, and library API), NG303.
//! - `linter` reports NG001 for a file that does not decode or parse, applies `noqa` (NG100),
//!   and runs NG203 over extension sources ([`ng203_extension_enables_gil::check_source`]).
//! - `project::link` reports NG301 and the NG302 findings that only the whole project shows.
//! - `requirements` checks NG202; `pipeline` checks NG204 against the installed environment.

pub mod ng001_syntax_error;
pub mod ng101_unlocked_global_rmw;
pub mod ng102_unlocked_container_rmw;
pub mod ng103_check_then_act;
pub mod ng104_racy_lazy_init;
pub mod ng105_shared_module_state;
pub mod ng106_shared_class_state;
pub mod ng107_inconsistent_locking;
pub mod ng108_shared_lock_default;
pub mod ng109_iteration_during_mutation;
pub mod ng110_scoped_override;
pub mod ng111_shared_stack;
pub mod ng112_shared_iterator;
pub mod ng113_eviction_race;
pub mod ng114_publish_before_fill;
pub mod ng201_extension_without_free_threading;
pub mod ng203_extension_enables_gil;
pub mod ng301_process_pool_convertible;
pub mod ng302_process_global_state_in_thread;
pub mod ng303_gil_assumption;
mod race_harm;
mod shared_state;

use std::collections::HashSet;

use ruff_text_size::TextRange;

use crate::diagnostic::{Diagnostic, FixApplicability, Harm, Severity};
use crate::fix::builders::FixBuilder;
use crate::registry::{Rule, RuleSet};
use crate::semantic::{Execution, FunctionId, ModuleRole, SemanticModel, StateAccess, StateKey};

/// What every checker gets: the model, and the writes a more specific rule already reported.
pub struct Context<'m, 'a> {
    pub model: &'m SemanticModel<'a>,
    pub fixes: FixBuilder<'m, 'a>,
    /// Indices of accesses already reported by a statement-level rule.
    pub claimed: HashSet<usize>,
    /// The loops NG109 reported (by iterated expression), which the inventory (NG105, NG106)
    /// then does not count again as compound use.
    pub reported_iterations: HashSet<TextRange>,
    pub target: crate::data::TargetVersion,
    /// Top-level modules of the project itself.
    pub project_modules: &'m rustc_hash::FxHashSet<String>,
    /// The rules enabled: a rule leaves to a more specific one what that one reports.
    pub rules: &'m RuleSet,
    /// The stacks of "current" entries NG111 reported (`SharedStack::state`): the inventory
    /// rules do not report them again as compound use.
    pub reported_stacks: Vec<StateKey<'a>>,
}

impl<'m, 'a> Context<'m, 'a> {
    /// The writes a statement-level rule may report: those that can race (see
    /// [`Context::may_race`]), not already reported by a more specific rule.
    pub fn candidate_accesses(&self) -> Vec<(usize, &'m StateAccess<'a>)> {
        let model: &'m SemanticModel<'a> = self.model;
        model
            .accesses
            .iter()
            .enumerate()
            .filter(|(index, access)| !self.claimed.contains(index) && self.may_race(access))
            .collect()
    }

    /// Whether a write can run at the same time as another write of the same state, or as
    /// itself: not at import, not under `__main__`, not in a fork's child or a branch only the
    /// main thread takes, not in a test that starts no thread; and
    /// on an event loop only when code that may run on a thread writes the same state, as
    /// coroutines on one loop do not run in parallel with each other.
    pub fn may_race(&self, access: &StateAccess<'a>) -> bool {
        self.may_race_with(access, |_| true)
    }

    /// As [`Context::may_race`], where only the accesses `harmful` picks can break the code:
    /// an eviction (`if D: D.pop()`) breaks only when another thread removes entries in
    /// between, not when it adds them.
    pub fn may_race_with(
        &self,
        access: &StateAccess<'a>,
        harmful: impl Fn(&StateAccess<'a>) -> bool,
    ) -> bool {
        !self.model.in_fork_child(access.range)
            && !self.model.on_main_thread_only(access.range)
            && self.may_race_in_with(access.function, access.key, harmful)
    }

    /// As [`Context::may_race`], for code of `function` touching `key`.
    pub fn may_race_in(&self, function: FunctionId, key: StateKey<'a>) -> bool {
        self.may_race_in_with(function, key, |_| true)
    }

    /// As [`Context::may_race_in`], where only the accesses `harmful` picks count as the other
    /// side of the race.
    fn may_race_in_with(
        &self,
        function: FunctionId,
        key: StateKey<'a>,
        harmful: impl Fn(&StateAccess<'a>) -> bool,
    ) -> bool {
        // A closure's variables are shared only by a closure that runs on threads or wraps a
        // decorated function; each call of the enclosing function makes new ones.
        if let StateKey::Nonlocal(owner, _) = key
            && !self.model.closure_is_shared(function, owner)
        {
            return false;
        }
        match self.model.execution(function) {
            Execution::ImportTime
            | Execution::MainScript
            | Execution::TestOnly
            | Execution::NoThreads => false,
            Execution::Thread(_) | Execution::LibraryApi | Execution::Unknown => true,
            // Set-up runs once, before the program's threads, and code on one event loop
            // interleaves only where it yields: either races only with code that may run on a
            // thread meanwhile.
            Execution::EventLoop | Execution::Setup => self
                .model
                .accesses_of(key)
                .any(|(_, other)| harmful(other) && self.runs_concurrently_on(key, other)),
        }
    }

    /// Whether `other`, an access of `key`, may run while other code touches the same state.
    /// A constructor's writes to `self` do not: they reach an object no one else has yet, so
    /// `__init__` filling the attributes that only coroutines use afterwards does not make
    /// those coroutines race.
    fn runs_concurrently_on(&self, key: StateKey<'a>, other: &StateAccess<'a>) -> bool {
        self.model.execution(other.function).runs_concurrently()
            && !(matches!(key, StateKey::InstanceAttr(..))
                && self.model.is_construction(other.function))
    }

    /// The severity of a race in `function` that does `harm`, and the note that says where the
    /// code runs: a hazard is an error on a thread or in a library's public API (its users may
    /// call it from several threads) and a warning elsewhere; a race of uncertain harm is a
    /// warning; a benign one is information.
    pub fn judge(&self, harm: Harm, function: FunctionId) -> (Severity, String) {
        let execution = self.model.execution(function);
        let note = match execution {
            Execution::Thread(_) => self
                .model
                .reached_from(function)
                .map(|entry| format!(" (reached from {})", entry.describe(self.model)))
                .unwrap_or_default(),
            Execution::LibraryApi if harm == Harm::Hazard => PUBLIC_API_NOTE.to_string(),
            _ => String::new(),
        };
        let severity = match harm {
            Harm::Benign => Severity::Info,
            Harm::Uncertain => Severity::Warning,
            Harm::Hazard => match execution {
                Execution::Thread(_) | Execution::LibraryApi => Severity::Error,
                _ => Severity::Warning,
            },
        };
        (severity, note)
    }

    /// The most severe judgement among several functions (the first one in file order when
    /// they tie).
    pub fn judge_any(
        &self,
        harm: Harm,
        functions: impl IntoIterator<Item = FunctionId>,
    ) -> (Severity, String) {
        let mut functions: Vec<FunctionId> = functions.into_iter().collect();
        functions.sort_unstable();
        functions.dedup();
        let mut best: Option<(Severity, String)> = None;
        for function in functions {
            let judged = self.judge(harm, function);
            // A thread's "reached from" note says more than the public-API one.
            let better = match &best {
                None => true,
                Some((severity, note)) => {
                    judged.0 > *severity
                        || (judged.0 == *severity && note.is_empty() && !judged.1.is_empty())
                }
            };
            if better {
                best = Some(judged);
            }
        }
        best.unwrap_or((Severity::Warning, String::new()))
    }

    /// Source text for a message: the first line, shortened.
    pub fn snippet(&self, range: TextRange) -> String {
        snippet(self.model.text(range))
    }

    pub fn line(&self, range: TextRange) -> usize {
        self.model.line_of(range.start())
    }

    /// The unsafe fix that wraps `range` in `with <lock>:`, reusing the lock that already
    /// guards `key` or creating a module lock for it.
    pub fn wrap_in_lock_fix(
        &self,
        key: StateKey<'a>,
        function: FunctionId,
        range: TextRange,
    ) -> Option<crate::diagnostic::Fix> {
        let plan = self.fixes.lock_for(key, function)?;
        self.wrap_in_planned_lock(plan, range)
    }

    /// The unsafe fix that wraps `range` in `with <lock>:` for a lock already chosen (and
    /// created by the plan's edits when it does not exist yet).
    pub fn wrap_in_planned_lock(
        &self,
        plan: crate::fix::builders::LockPlan,
        range: TextRange,
    ) -> Option<crate::diagnostic::Fix> {
        let wrap = self.fixes.wrap_in_lock(range, &plan.text)?;
        let mut edits = plan.edits;
        edits.push(wrap);
        Some(crate::fix::fix(
            FixApplicability::Unsafe,
            format!("Wrap in `with {}:`", plan.text),
            edits,
        ))
    }
}

/// The note on a hazard that is an error because a library's users may call the code from
/// several threads; the project phase replaces it with the thread it finds.
pub const PUBLIC_API_NOTE: &str = " (public API: its callers may run it on several threads)";

/// What a lost update to a read-modify-write costs: a hazard when the function goes on to use
/// the value (an id handed out, a reference count tested, a quota checked); for a tally the
/// function never reads, a miscount whose harm depends on whether anything decides on it.
pub fn lost_update(model: &SemanticModel<'_>, access: &StateAccess<'_>) -> (Harm, &'static str) {
    if model.reads_outside_write(access) {
        (
            Harm::Hazard,
            "two threads can read the same old value, and one of their updates is lost while this \
             function goes on to use it",
        )
    } else {
        (
            Harm::Uncertain,
            "two threads can read the same old value, and one of their updates is lost: the count \
             is off, which matters if anything decides on it",
        )
    }
}

/// The module-level instance of `class` that module functions use (`_default = Tracker()` and
/// `def track(): _default.record()`): its attributes are shared by every caller, like module
/// state. `None` for a class whose instances are the callers' own.
pub fn shared_singleton<'a>(
    model: &SemanticModel<'a>,
    class: crate::semantic::ClassId,
) -> Option<&'a str> {
    let singleton = model.class(class).singleton?;
    // Creating another instance (`Polyhedron(...)` runs `__new__` and `__init__`) does not
    // use the module's one.
    let used_by_module_functions = model.call_sites.iter().any(|site| {
        let callee = model.function(site.callee);
        callee.class == Some(class)
            && !matches!(callee.name, "__new__" | "__init__")
            && site
                .caller
                .is_some_and(|caller| model.function(caller).class != Some(class))
    });
    used_by_module_functions.then_some(singleton)
}

/// `self.attr` of an instance every thread shares, described for a message, and the name a
/// write to it goes by: the module's one instance of the class, or a descriptor (a class with
/// `__get__`), whose instances live on the classes that use them and serve every instance
/// of those classes.
pub fn shared_instance_attr(
    model: &SemanticModel<'_>,
    class: crate::semantic::ClassId,
    attr: &str,
) -> Option<(String, String)> {
    let name = model.class(class).name;
    if let Some(singleton) = shared_singleton(model, class) {
        return Some((
            format!(
                "`self.{attr}` of `{singleton}`, the module's one `{name}` every caller shares,"
            ),
            format!("{singleton}.{attr}"),
        ));
    }
    let is_descriptor = model
        .class(class)
        .methods
        .iter()
        .any(|&method| model.function(method).name == "__get__");
    is_descriptor.then(|| {
        (
            format!(
                "`self.{attr}` of a `{name}` descriptor, one object that every instance of the \
                 class it is defined on shares,"
            ),
            format!("self.{attr}"),
        )
    })
}

/// A closure variable, described with what shares it: a decorator's wrapper, which every
/// caller of the decorated function runs, or a closure run on threads.
pub fn describe_closure_variable(
    model: &SemanticModel<'_>,
    function: FunctionId,
    owner: FunctionId,
    name: &str,
) -> String {
    let wrapper = std::iter::successors(Some(function), |&id| model.function(id).parent)
        .take_while(|&id| id != owner)
        .any(|id| model.wraps_with_cells_of(id, owner));
    let owner = model.function(owner).qualname.as_str();
    if wrapper {
        format!(
            "the closure variable `{name}` of the decorator `{owner}`, shared by every call of \
             the function it decorates,"
        )
    } else {
        format!("the closure variable `{name}` of `{owner}`, shared by the threads it starts,")
    }
}

/// `config.CACHE`, described with its owner: a name of another module of the project, or an
/// attribute of one of this module's functions.
pub fn describe_object_attr(model: &SemanticModel<'_>, owner: &str, attr: &str) -> String {
    match model.imports.get(owner) {
        Some(qualified) => format!("`{owner}.{attr}`, a module-level name of `{qualified}`,"),
        None => format!("`{owner}.{attr}`, an attribute of the function `{owner}`,"),
    }
}

/// The locks held at a point of `function` (lexically `direct`, or inherited from every caller)
/// that every instance shares: a per-instance lock (`self._lock`) does not guard module- or
/// class-level state, as each object has its own.
pub fn shared_locks(
    model: &SemanticModel<'_>,
    function: FunctionId,
    direct: &[crate::semantic::LockKey],
) -> Vec<crate::semantic::LockKey> {
    let receiver = model.function(function).receiver;
    model
        .locks_held(function, direct)
        .into_iter()
        .filter(|lock| {
            receiver.is_none_or(|receiver| {
                lock.split_once('.')
                    .is_none_or(|(owner, _)| owner != receiver)
            })
        })
        .collect()
}

/// Keeps one finding per piece of state (per key), the most severe (the first of those), and
/// names the other places that repeat it: a module that repeats one pattern in twenty
/// functions has one decision to make. A fix applies to the kept place; the fix engine's next
/// pass finds the next one.
pub fn one_finding_per_state<K: Eq + std::hash::Hash>(
    context: &Context<'_, '_>,
    found: Vec<(K, Diagnostic)>,
    repeat: &str,
) -> Vec<Diagnostic> {
    // Groups in the order their first finding came, found by key in constant time: a generated
    // module can have thousands of findings.
    let mut group_of: rustc_hash::FxHashMap<K, usize> = rustc_hash::FxHashMap::default();
    let mut groups: Vec<Vec<Diagnostic>> = Vec::new();
    for (key, diagnostic) in found {
        let index = *group_of.entry(key).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[index].push(diagnostic);
    }
    groups
        .into_iter()
        .filter_map(|mut group| {
            let chosen = group
                .iter()
                .enumerate()
                .max_by_key(|(index, diagnostic)| (diagnostic.severity, std::cmp::Reverse(*index)))
                .map(|(index, _)| index)?;
            let mut kept = group.remove(chosen);
            if group.is_empty() {
                return Some(kept);
            }
            let model = context.model;
            let places: Vec<String> = group
                .iter()
                .take(3)
                .map(|other| {
                    let function = other
                        .functions
                        .first()
                        .map(|&function| model.function(function).qualname.as_str())
                        .unwrap_or("module");
                    format!("`{function}` line {}", context.line(other.range))
                })
                .collect();
            let more = match group.len().saturating_sub(3) {
                0 => String::new(),
                rest => format!(" and {rest} more"),
            };
            kept.message
                .push_str(&format!("; {repeat} {}{more}", places.join(", ")));
            for other in &group {
                kept.functions.extend(other.functions.iter().copied());
            }
            Some(kept)
        })
        .collect()
}

/// A lock as the code writes it (`self._lock`, the first line of a longer expression), for
/// messages; its key when no region shows how it is written.
pub fn lock_as_written(model: &SemanticModel<'_>, lock: &str) -> String {
    snippet(model.lock_text(lock).unwrap_or(lock))
}

/// The first line of a piece of code, shortened to a readable length.
pub fn snippet(text: &str) -> String {
    let first = text.lines().next().unwrap_or("").trim();
    let multi_line = text.trim().contains('\n');
    let mut out: String = first.chars().take(60).collect();
    if multi_line || first.chars().count() > 60 {
        out.push('…');
    }
    out
}

/// Runs every enabled rule over a parsed module.
///
/// One statement is reported once, by the most specific rule: a check-then-act or lazy
/// initialisation (NG103, NG104), a scoped override (NG110), a container published before it
/// is filled (NG114, not where NG104 reports it) and an eviction after a size check (NG113)
/// before an unprotected write (NG107), and an unprotected write before a plain
/// read-modify-write (NG101, NG102). A scoped override of process-wide state is NG110's, not
/// NG302's; a loop NG109 reports is not counted again by the inventory (NG105, NG106).
pub fn check_module(
    model: &SemanticModel<'_>,
    rules: &RuleSet,
    target: crate::data::TargetVersion,
    project_modules: &rustc_hash::FxHashSet<String>,
) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let mut context = Context {
        model,
        fixes: FixBuilder::new(model),
        claimed: HashSet::new(),
        reported_iterations: HashSet::new(),
        target,
        project_modules,
        rules,
        reported_stacks: Vec::new(),
    };
    if rules.contains(Rule::CheckThenAct) {
        ng103_check_then_act::check(&mut context, &mut diagnostics);
    }
    if rules.contains(Rule::RacyLazyInit) {
        ng104_racy_lazy_init::check(&mut context, &mut diagnostics);
    }
    if rules.contains(Rule::ScopedOverride) {
        ng110_scoped_override::check(&mut context, &mut diagnostics);
    }
    if rules.contains(Rule::PublishBeforeFill) {
        ng114_publish_before_fill::check(&mut context, &mut diagnostics);
    }
    if rules.contains(Rule::EvictionRace) {
        ng113_eviction_race::check(&mut context, &mut diagnostics);
    }
    if rules.contains(Rule::InconsistentLocking) {
        ng107_inconsistent_locking::check(&mut context, &mut diagnostics);
    }
    if rules.contains(Rule::UnlockedGlobalRmw) {
        ng101_unlocked_global_rmw::check(&mut context, &mut diagnostics);
    }
    if rules.contains(Rule::UnlockedContainerRmw) {
        ng102_unlocked_container_rmw::check(&mut context, &mut diagnostics);
    }
    if rules.contains(Rule::IterationDuringMutation) {
        ng109_iteration_during_mutation::check(&mut context, &mut diagnostics);
    }
    if rules.contains(Rule::SharedStack) {
        ng111_shared_stack::check(&mut context, &mut diagnostics);
    }
    if rules.contains(Rule::SharedIterator) {
        ng112_shared_iterator::check(&context, &mut diagnostics);
    }
    if rules.contains(Rule::SharedModuleState) {
        ng105_shared_module_state::check(&context, &mut diagnostics);
    }
    if rules.contains(Rule::SharedClassState) {
        ng106_shared_class_state::check(&context, &mut diagnostics);
    }
    if rules.contains(Rule::SharedLockDefault) {
        ng108_shared_lock_default::check(&context, &mut diagnostics);
    }
    if rules.contains(Rule::ExtensionWithoutFreeThreading) {
        ng201_extension_without_free_threading::check(&context, &mut diagnostics);
    }
    if rules.contains(Rule::ProcessGlobalStateInThread) {
        ng302_process_global_state_in_thread::check(&context, &mut diagnostics);
    }
    if rules.contains(Rule::GilAssumption) {
        ng303_gil_assumption::check(&context, &mut diagnostics);
    }
    add_thread_entries(model, &mut diagnostics);
    if model.role == ModuleRole::Test || model.vendored {
        lower_to_information(&mut diagnostics);
    }
    // Compatibility branches for Pythons older than the target never run on it.
    if !model.dead_on_target.is_empty() {
        diagnostics.retain(|diagnostic| {
            diagnostic.rule == Rule::SyntaxError
                || !model
                    .dead_on_target
                    .iter()
                    .any(|dead| dead.contains_range(diagnostic.range))
        });
    }
    diagnostics
}

/// A test suite's own races (a fake clock bumped by the test's threads, a switch interval set
/// to provoke interleaving, an import of an extension the tests exercise) make a test flaky at
/// worst; they never reach the library's users. They are shown with `--min-severity info`, so
/// that a team porting its tests still finds them, and do not fail a default run.
pub fn lower_to_information(diagnostics: &mut [Diagnostic]) {
    for diagnostic in diagnostics {
        if diagnostic.rule != Rule::SyntaxError && diagnostic.rule != Rule::UnusedNoqa {
            diagnostic.severity = Severity::Info;
        }
    }
}

/// Points each finding whose message names the thread entry that reaches it ("reached from the
/// thread started at line 19") at that entry, so that an editor can jump to it.
fn add_thread_entries(model: &SemanticModel<'_>, diagnostics: &mut [Diagnostic]) {
    for diagnostic in diagnostics {
        let mut functions = diagnostic.functions.clone();
        functions.sort_unstable();
        let entry = functions.iter().find_map(|&function| {
            let entry = model.reached_from(function)?;
            let description = entry.describe(model);
            diagnostic
                .message
                .contains(&format!("reached from {description}"))
                .then_some((description, entry.range))
        });
        if let Some((description, range)) = entry {
            diagnostic.related.push(crate::diagnostic::Related {
                message: format!("reached from {description}"),
                location: crate::diagnostic::RelatedLocation::Here(range),
            });
        }
    }
}
