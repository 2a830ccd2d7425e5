//! Scoped overrides (NG110): for each function, the statements that save a piece of shared or
//! process-wide state (into a local, or onto `self` in `__enter__`), write it, and restore it
//! from what was saved; and the `with` statements whose context manager swaps process-wide state
//! for its block. Once every function is known, `override_matching` matches saves, sets and
//! restores into [`ScopedOverride`]s.

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::visitor::with_stack;
use super::{Builder, Receiver};
use crate::semantic::overrides::{OverriddenState, OverrideShape, ScopedOverride};
use crate::semantic::{AccessTarget, FunctionId, StateKey};

/// What one statement does to a piece of state.
#[derive(Debug, Clone)]
pub(super) enum OverrideEvent<'a> {
    /// `slot = <the current value>`: `old = sys.stdout`, `self._old = os.getcwd()`.
    Save {
        slot: String,
        state: OverriddenState<'a>,
    },
    /// A new value written; `value` is the slot it comes from when it is a name (a restore when
    /// that slot saved this state). `restores_default`: `sys.stdout = sys.__stdout__`.
    Write {
        state: OverriddenState<'a>,
        value: Option<String>,
        restores_default: bool,
    },
    /// The temporary value removed: `del os.environ[k]`, `os.environ.pop(k)`,
    /// `sys.path.remove(p)`, `sys.path.pop()`.
    Remove { state: OverriddenState<'a> },
    /// `os.environ.clear()`, `_options.clear()`: the first half of restoring a saved copy.
    Clear { state: OverriddenState<'a> },
}

impl<'a> OverrideEvent<'a> {
    pub(super) fn state(&self) -> &OverriddenState<'a> {
        match self {
            OverrideEvent::Save { state, .. }
            | OverrideEvent::Write { state, .. }
            | OverrideEvent::Remove { state }
            | OverrideEvent::Clear { state } => state,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct RecordedEvent<'a> {
    pub(super) event: OverrideEvent<'a>,
    /// The simple statement.
    pub(super) stmt: TextRange,
    /// The branches of `if`, `try` and `match` statements the statement is in: (statement,
    /// branch, whether the branch is an `except` handler). Two events in different branches of
    /// one statement never both run.
    pub(super) branches: Vec<(TextRange, usize, bool)>,
}

impl RecordedEvent<'_> {
    /// Whether the two events are in different branches of one statement.
    pub(super) fn excludes(&self, other: &Self) -> bool {
        self.branches.iter().any(|(stmt, branch, _)| {
            other
                .branches
                .iter()
                .any(|(other_stmt, other_branch, _)| stmt == other_stmt && branch != other_branch)
        })
    }

    /// Whether `later` can end the temporary value this event sets: it runs on the same path,
    /// and not only when something failed (a value restored in an `except` handler the set is
    /// not in is a rollback, not the end of a temporary value).
    pub(super) fn ended_by(&self, later: &Self) -> bool {
        !self.excludes(later)
            && later
                .branches
                .iter()
                .all(|branch| !branch.2 || self.branches.contains(branch))
    }
}

/// `sys` attributes a function may swap: one value for the whole process.
const SYS_ATTRIBUTES: &[&str] = &[
    "sys.stdout",
    "sys.stderr",
    "sys.stdin",
    "sys.argv",
    "sys.excepthook",
    "sys.displayhook",
];

fn process(name: &str, part: &str) -> OverriddenState<'static> {
    OverriddenState::Process {
        name: name.to_string(),
        part: part.to_string(),
    }
}

impl<'a> Builder<'a> {
    /// Records what each statement of `body` (the body of `function`) does to shared or
    /// process-wide state, for the matching done in [`Builder::resolve_overrides`].
    pub(super) fn record_override_events(&mut self, function: FunctionId, body: &'a [Stmt]) {
        let mut events = Vec::new();
        self.override_suite(function, body, None, &mut events);
        if !events.is_empty() {
            self.override_events.push((function, events));
        }
    }

    /// Walks a suite; `branch` is the branch of an `if`, `try` or `match` it is (one of
    /// several that exclude each other), recorded on its events.
    fn override_suite(
        &mut self,
        function: FunctionId,
        suite: &'a [Stmt],
        branch: Option<(TextRange, usize, bool)>,
        events: &mut Vec<RecordedEvent<'a>>,
    ) {
        if let Some(branch) = branch {
            self.override_branches.push(branch);
        }
        for stmt in suite {
            with_stack(|| self.override_stmt(function, stmt, events));
        }
        if branch.is_some() {
            self.override_branches.pop();
        }
    }

    fn override_stmt(
        &mut self,
        function: FunctionId,
        stmt: &'a Stmt,
        events: &mut Vec<RecordedEvent<'a>>,
    ) {
        let branches = &self.override_branches;
        let mut push = |event: OverrideEvent<'a>| {
            events.push(RecordedEvent {
                event,
                stmt: stmt.range(),
                branches: branches.clone(),
            });
        };
        let here = stmt.range();
        match stmt {
            Stmt::Assign(ast::StmtAssign { targets, value, .. }) => {
                for target in targets {
                    match (target, &**value) {
                        (Expr::Tuple(names), Expr::Tuple(values))
                            if names.elts.len() == values.elts.len() =>
                        {
                            for (target, value) in names.elts.iter().zip(&values.elts) {
                                self.override_pair(target, value, &mut push);
                            }
                        }
                        _ => self.override_pair(target, value, &mut push),
                    }
                }
            }
            Stmt::AnnAssign(ast::StmtAnnAssign {
                target,
                value: Some(value),
                ..
            }) => self.override_pair(target, value, &mut push),
            Stmt::Expr(ast::StmtExpr { value, .. }) => {
                if let Expr::Call(call) = &**value {
                    self.override_call(call, &mut push);
                }
            }
            Stmt::Delete(ast::StmtDelete { targets, .. }) => {
                for target in targets {
                    if let Some(state) = self.override_target(target) {
                        push(OverrideEvent::Remove { state });
                    }
                }
            }
            Stmt::If(ast::StmtIf {
                body,
                elif_else_clauses,
                ..
            }) => {
                self.override_suite(function, body, Some((here, 0, false)), events);
                for (index, clause) in elif_else_clauses.iter().enumerate() {
                    self.override_suite(
                        function,
                        &clause.body,
                        Some((here, index + 1, false)),
                        events,
                    );
                }
            }
            Stmt::For(ast::StmtFor { body, orelse, .. })
            | Stmt::While(ast::StmtWhile { body, orelse, .. }) => {
                self.override_suite(function, body, None, events);
                self.override_suite(function, orelse, None, events);
            }
            Stmt::With(ast::StmtWith { items, body, .. }) => {
                for item in items {
                    self.record_swapping_with(function, &item.context_expr, here);
                }
                self.override_suite(function, body, None, events);
            }
            Stmt::Try(ast::StmtTry {
                body,
                handlers,
                orelse,
                finalbody,
                ..
            }) => {
                // The body and `else` run on success, each handler instead of them; `finally`
                // runs either way.
                self.override_suite(function, body, Some((here, 0, false)), events);
                for (index, handler) in handlers.iter().enumerate() {
                    let ast::ExceptHandler::ExceptHandler(handler) = handler;
                    self.override_suite(
                        function,
                        &handler.body,
                        Some((here, index + 1, true)),
                        events,
                    );
                }
                self.override_suite(function, orelse, Some((here, 0, false)), events);
                self.override_suite(function, finalbody, None, events);
            }
            Stmt::Match(ast::StmtMatch { cases, .. }) => {
                for (index, case) in cases.iter().enumerate() {
                    self.override_suite(function, &case.body, Some((here, index, false)), events);
                }
            }
            _ => {}
        }
    }

    /// `with redirect_stdout(buf):`, `with contextlib.chdir(d):`, and `with catch_warnings():`
    /// where the table lists it for the target (below 3.14).
    fn record_swapping_with(&mut self, function: FunctionId, expr: &'a Expr, stmt: TextRange) {
        let Expr::Call(call) = expr else { return };
        let Some(qualified) = self.qualified_name(&call.func) else {
            return;
        };
        // Context managers that swap process-wide state for their block are marked `scoped`
        // in the table (`rules/process_global.toml`).
        if !crate::data::is_scoped_context_manager(&qualified) {
            return;
        }
        let Some((name, reason)) = self.process_global_entry(false, &qualified) else {
            return;
        };
        self.with_overrides.push(ScopedOverride {
            state: process(&name, ""),
            shape: OverrideShape::With,
            function,
            save: None,
            sets: vec![call.range()],
            restore: stmt,
            others: Vec::new(),
            reason: Some(reason),
        });
    }

    /// `target = value`: a save into a slot, or a write of the state `target` denotes.
    fn override_pair(
        &self,
        target: &'a Expr,
        value: &'a Expr,
        push: &mut impl FnMut(OverrideEvent<'a>),
    ) {
        // Most assignments store a local: its text is only made for an actual save.
        if self.is_slot(target) {
            let slot = || self.slot_text(target).unwrap_or_default();
            if let Some(state) = self.override_read(value) {
                push(OverrideEvent::Save {
                    slot: slot(),
                    state,
                });
            } else if let Expr::Call(call) = value
                && let Some(state) = self.returns_previous(call)
            {
                // `old = signal.signal(sig, handler)`: saves and sets in one call.
                push(OverrideEvent::Save {
                    slot: slot(),
                    state: state.clone(),
                });
                self.override_call(call, push);
            }
            return;
        }
        if let Some(state) = self.override_target(target) {
            let restores_default = matches!(&state, OverriddenState::Process { name, .. }
            if self.qualified_name(value).is_some_and(|value| {
                name.strip_prefix("sys.").is_some_and(|stream| value == format!("sys.__{stream}__"))
            }));
            push(OverrideEvent::Write {
                state,
                value: self.slot_text(value),
                restores_default,
            });
        } else if let Expr::Call(call) = value {
            // `handlers[sig] = signal.signal(sig, handler)`: a set whose old value is kept
            // where the matching cannot follow it.
            self.override_call(call, push);
        }
    }

    /// A call that changes (or removes, or clears) state.
    fn override_call(&self, call: &'a ast::ExprCall, push: &mut impl FnMut(OverrideEvent<'a>)) {
        let args = &call.arguments.args;
        let arg = |index: usize| args.get(index).map(|arg| self.text(arg.range()));
        let slot = |index: usize| args.get(index).and_then(|arg| self.slot_text(arg));
        let write = |state: OverriddenState<'a>, value: Option<String>| OverrideEvent::Write {
            state,
            value,
            restores_default: false,
        };
        if let Some(qualified) = self.qualified_name(&call.func) {
            let event = match qualified.as_str() {
                "os.chdir" | "os.fchdir" => Some(write(process("os.chdir", ""), slot(0))),
                "sys.setrecursionlimit" | "os.umask" | "socket.setdefaulttimeout" => {
                    Some(write(process(&qualified, ""), slot(0)))
                }
                "signal.signal" => arg(0).map(|sig| write(process("signal.signal", sig), slot(1))),
                "locale.setlocale" if args.len() >= 2 && !args[1].is_none_literal_expr() => {
                    arg(0).map(|category| write(process("locale.setlocale", category), slot(1)))
                }
                "random.seed" => Some(write(process("random.seed", ""), None)),
                "random.setstate" => Some(write(process("random.seed", ""), slot(0))),
                "os.putenv" => arg(0).map(|key| write(process("os.environ", key), slot(1))),
                "os.unsetenv" | "os.environ.pop" => arg(0).map(|key| OverrideEvent::Remove {
                    state: process("os.environ", key),
                }),
                "os.environ.update" => Some(write(process("os.environ", ""), slot(0))),
                "os.environ.clear" => Some(OverrideEvent::Clear {
                    state: process("os.environ", ""),
                }),
                "sys.path.insert" => arg(1).map(|path| write(process("sys.path", path), None)),
                "sys.path.append" => arg(0).map(|path| write(process("sys.path", path), None)),
                "sys.path.remove" => arg(0).map(|path| OverrideEvent::Remove {
                    state: process("sys.path", path),
                }),
                "sys.path.pop" => Some(OverrideEvent::Remove {
                    state: process("sys.path", ""),
                }),
                _ => None,
            };
            if let Some(event) = event {
                push(event);
                return;
            }
        }
        // A module-level dict: `_options.update(new)`, `.pop(k)`, `.clear()`.
        let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &*call.func else {
            return;
        };
        let Some(key) = self.module_object(value) else {
            return;
        };
        let whole = OverriddenState::Shared {
            key,
            target: AccessTarget::Whole,
        };
        let event = match attr.as_str() {
            "update" if args.len() == 1 => Some(write(whole, slot(0))),
            "clear" => Some(OverrideEvent::Clear { state: whole }),
            "pop" => arg(0).map(|item| OverrideEvent::Remove {
                state: OverriddenState::Shared {
                    key,
                    target: AccessTarget::Item(item.to_string()),
                },
            }),
            _ => None,
        };
        if let Some(event) = event {
            push(event);
        }
    }

    /// A setter whose result is the previous value: `signal.signal(sig, handler)`,
    /// `os.umask(mask)`.
    fn returns_previous(&self, call: &'a ast::ExprCall) -> Option<OverriddenState<'a>> {
        let qualified = self.qualified_name(&call.func)?;
        match qualified.as_str() {
            "signal.signal" => {
                let sig = call.arguments.args.first()?;
                Some(process("signal.signal", self.text(sig.range())))
            }
            "os.umask" => Some(process("os.umask", "")),
            _ => None,
        }
    }

    /// Where a value can be kept until it is restored: a local name, an attribute of the
    /// method's own object (`self._old`, written `@._old` so that `__enter__` and `__exit__`
    /// agree whatever their receivers are called), or an item of a local (`saved[k]`).
    fn slot_text(&self, expr: &'a Expr) -> Option<String> {
        if !self.is_slot(expr) {
            return None;
        }
        match expr {
            Expr::Name(name) => Some(name.id.to_string()),
            Expr::Attribute(ast::ExprAttribute { attr, .. }) => {
                Some(format!("@.{}", attr.as_str()))
            }
            _ => Some(self.text(expr.range()).to_string()),
        }
    }

    /// Whether [`Builder::slot_text`] names a slot for `expr`, without making its text.
    fn is_slot(&self, expr: &'a Expr) -> bool {
        let Some(function) = self.current_function() else {
            return false;
        };
        match expr {
            Expr::Name(name) => {
                let id = name.id.as_str();
                let current = &self.functions[function];
                current.is_local(id) && !current.declares_global(id)
            }
            Expr::Attribute(ast::ExprAttribute { value, .. }) => {
                let Expr::Name(base) = &**value else {
                    return false;
                };
                matches!(self.current_receiver(),
                    Some((receiver, Receiver::Instance, _)) if receiver == base.id.as_str())
            }
            Expr::Subscript(ast::ExprSubscript { value, .. }) => {
                let Expr::Name(base) = &**value else {
                    return false;
                };
                self.functions[function].is_local(base.id.as_str())
            }
            _ => false,
        }
    }

    /// The state whose current value an expression reads, when it is one override saves.
    fn override_read(&self, value: &'a Expr) -> Option<OverriddenState<'a>> {
        match value {
            Expr::Name(name) => {
                self.module_global(name.id.as_str(), false)
                    .map(|key| OverriddenState::Shared {
                        key,
                        target: AccessTarget::Whole,
                    })
            }
            Expr::Attribute(_) => {
                if let Some(qualified) = self.qualified_name(value)
                    && SYS_ATTRIBUTES.contains(&qualified.as_str())
                {
                    return Some(process(&qualified, ""));
                }
                self.shared_attribute(value)
            }
            Expr::Subscript(ast::ExprSubscript {
                value: container,
                slice,
                ..
            }) => {
                let full_slice = is_full_slice(slice);
                let qualified = self.qualified_name(container);
                match qualified.as_deref() {
                    Some("os.environ") if !full_slice => {
                        Some(process("os.environ", self.text(slice.range())))
                    }
                    Some("sys.path") if full_slice => Some(process("sys.path", "")),
                    _ => self.module_object_part(container, slice),
                }
            }
            Expr::Call(call) => self.override_read_call(call),
            _ => None,
        }
    }

    /// A call that returns the current value (or a copy of it): `os.getcwd()`,
    /// `os.environ.get(k)`, `sys.getrecursionlimit()`, `dict(_options)`, `sys.path[:]`, ….
    fn override_read_call(&self, call: &'a ast::ExprCall) -> Option<OverriddenState<'a>> {
        let args = &call.arguments.args;
        let arg_text = |index: usize| args.get(index).map(|arg| self.text(arg.range()));
        // `dict(D)`, `list(sys.path)`, `copy.copy(D)`: a copy of the argument.
        let copied = |copied: &'a Expr| -> Option<OverriddenState<'a>> {
            match self.qualified_name(copied).as_deref() {
                Some("os.environ") => Some(process("os.environ", "")),
                Some("sys.path") => Some(process("sys.path", "")),
                _ => self
                    .module_object(copied)
                    .map(|key| OverriddenState::Shared {
                        key,
                        target: AccessTarget::Whole,
                    }),
            }
        };
        if let Some(qualified) = self.qualified_name(&call.func) {
            match qualified.as_str() {
                "os.getcwd" | "os.getcwdb" | "pathlib.Path.cwd" => {
                    return Some(process("os.chdir", ""));
                }
                "os.path.abspath" | "os.path.realpath"
                    if args.len() == 1
                        && (matches!(arg_text(0), Some("'.'" | "\".\""))
                            || self.qualified_name(&args[0]).as_deref() == Some("os.curdir")) =>
                {
                    return Some(process("os.chdir", ""));
                }
                "sys.getrecursionlimit" => return Some(process("sys.setrecursionlimit", "")),
                "socket.getdefaulttimeout" => {
                    return Some(process("socket.setdefaulttimeout", ""));
                }
                "random.getstate" => return Some(process("random.seed", "")),
                "signal.getsignal" => {
                    return arg_text(0).map(|sig| process("signal.signal", sig));
                }
                "locale.getlocale" => {
                    return Some(process("locale.setlocale", arg_text(0).unwrap_or("")));
                }
                "locale.setlocale" if args.len() == 1 || args[1].is_none_literal_expr() => {
                    return arg_text(0).map(|category| process("locale.setlocale", category));
                }
                "os.getenv" | "os.environ.get" => {
                    return arg_text(0).map(|key| process("os.environ", key));
                }
                "os.environ.copy" | "sys.path.copy" => {
                    return Some(process(qualified.trim_end_matches(".copy"), ""));
                }
                "builtins.dict" | "builtins.list" | "copy.copy" | "copy.deepcopy"
                    if args.len() == 1 =>
                {
                    return copied(&args[0]);
                }
                _ => {}
            }
        }
        // `_options.get(k)`, `_options.copy()` on a module-level object.
        let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &*call.func else {
            return None;
        };
        match attr.as_str() {
            "copy" if args.is_empty() => copied(value),
            "get" if !args.is_empty() => {
                let key = self.module_object(value)?;
                Some(OverriddenState::Shared {
                    key,
                    target: AccessTarget::Item(arg_text(0)?.to_string()),
                })
            }
            _ => None,
        }
    }

    /// The state a write to `target` changes, when an override may set it.
    fn override_target(&self, target: &'a Expr) -> Option<OverriddenState<'a>> {
        match target {
            Expr::Name(name) => {
                let id = name.id.as_str();
                let function = self.current_function()?;
                self.functions[function]
                    .declares_global(id)
                    .then_some(OverriddenState::Shared {
                        key: StateKey::Global(id),
                        target: AccessTarget::Whole,
                    })
            }
            Expr::Attribute(_) => {
                if let Some(qualified) = self.qualified_name(target)
                    && (SYS_ATTRIBUTES.contains(&qualified.as_str())
                        || matches!(qualified.as_str(), "os.environ" | "sys.path"))
                {
                    return Some(process(&qualified, ""));
                }
                self.shared_attribute(target)
            }
            Expr::Subscript(ast::ExprSubscript {
                value: container,
                slice,
                ..
            }) => {
                match self.qualified_name(container).as_deref() {
                    Some("os.environ") => Some(process("os.environ", self.text(slice.range()))),
                    // `sys.path[:] = saved`; `del sys.path[0]` removes what was inserted.
                    Some("sys.path") => Some(process("sys.path", "")),
                    _ => self.module_object_part(container, slice),
                }
            }
            _ => None,
        }
    }

    /// `D[k]` (or the whole `D[:]`) of a module-level or imported container.
    fn module_object_part(
        &self,
        container: &'a Expr,
        slice: &'a Expr,
    ) -> Option<OverriddenState<'a>> {
        let key = self.module_object(container)?;
        Some(OverriddenState::Shared {
            key,
            target: if is_full_slice(slice) {
                AccessTarget::Whole
            } else {
                AccessTarget::Item(self.text(slice.range()).to_string())
            },
        })
    }

    /// A class attribute (`cls.x`, `ClassName.x`, `type(self).x`, `self.__class__.x`) or an
    /// attribute of a module-level or imported object (`config.debug`).
    fn shared_attribute(&self, expr: &'a Expr) -> Option<OverriddenState<'a>> {
        let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = expr else {
            return None;
        };
        let attr = attr.as_str();
        let receiver = self.current_receiver();
        let class_attr = |class| OverriddenState::Shared {
            key: StateKey::ClassAttr(class, attr),
            target: AccessTarget::Whole,
        };
        match &**value {
            Expr::Name(base) => {
                let base = base.id.as_str();
                match receiver {
                    Some((name, Receiver::Class, class)) if name == base => {
                        return Some(class_attr(class));
                    }
                    // `self.x`: the object's own attribute.
                    Some((name, Receiver::Instance, _)) if name == base => return None,
                    _ => {}
                }
                if self.current_function().is_some() && self.is_enclosing_local(base) {
                    return None;
                }
                if let Some(class) = self.module_class(base) {
                    return Some(class_attr(class));
                }
                let key = self.module_object(value)?;
                Some(OverriddenState::Shared {
                    key,
                    target: AccessTarget::Attr(attr),
                })
            }
            // `type(self).x`
            Expr::Call(ast::ExprCall {
                func, arguments, ..
            }) => {
                let (name, Receiver::Instance, class) = receiver? else {
                    return None;
                };
                let is_type = matches!(&**func, Expr::Name(callee)
                    if callee.id.as_str() == "type" && !self.bindings.contains_key("type"));
                let of_self =
                    matches!(arguments.args.as_ref(), [Expr::Name(arg)] if arg.id.as_str() == name);
                (is_type && of_self).then(|| class_attr(class))
            }
            // `self.__class__.x`
            Expr::Attribute(ast::ExprAttribute {
                value: inner,
                attr: dunder,
                ..
            }) if dunder.as_str() == "__class__" => {
                let (name, Receiver::Instance, class) = receiver? else {
                    return None;
                };
                matches!(&**inner, Expr::Name(base) if base.id.as_str() == name)
                    .then(|| class_attr(class))
            }
            _ => None,
        }
    }

    /// A module-level name (not shadowed by a local) bound to shared state, or an imported
    /// name: the object whose items or attributes an override may set.
    fn module_object(&self, expr: &'a Expr) -> Option<StateKey<'a>> {
        let Expr::Name(name) = expr else { return None };
        self.module_global(name.id.as_str(), true)
    }

    fn module_global(&self, name: &'a str, imported: bool) -> Option<StateKey<'a>> {
        let function = self.current_function()?;
        if self.functions[function].declares_global(name) {
            return Some(StateKey::Global(name));
        }
        if self.is_enclosing_local(name) {
            return None;
        }
        match self.bindings.get(name) {
            Some(binding) => binding
                .kind
                .is_shared_state()
                .then_some(StateKey::Global(name)),
            None => (imported && self.imports.contains_key(name)).then_some(StateKey::Global(name)),
        }
    }
}

/// `[:]`: the whole of a sequence (`sys.path[:] = saved`).
fn is_full_slice(slice: &Expr) -> bool {
    matches!(slice, Expr::Slice(slice)
        if slice.lower.is_none() && slice.upper.is_none() && slice.step.is_none())
}
