//! The full walk: the [`Visitor`] over every statement and expression, which enters functions
//! and classes, follows lock regions and guards into the suites it walks, and hands each call,
//! write and reference to the recorder for its concern.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, ExprContext, Stmt, UnaryOp};
use ruff_text_size::{Ranged, TextRange};

use super::branch_work::branch_work;
use super::syntax::{is_main_guard, method_receiver, scan_scope};
use super::{Builder, FunctionFrame};
use crate::semantic::values::ValueKind;
use crate::semantic::{AccessKind, BranchWork, Function, IterationKind, ParameterLockDefault};

/// Below this much free stack, a deeper visit continues on a new stack segment: code nested
/// tens of thousands of levels deep (a generated `1 + 1 + …` of a million terms) must not
/// overflow the thread's stack, whatever its size.
const STACK_RED_ZONE: usize = 256 * 1024;
/// The size of each extra segment.
const STACK_SEGMENT: usize = 8 * 1024 * 1024;

pub(super) fn with_stack<R>(visit: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, visit)
}

/// The walk asks for more stack once every this many nested statements and expressions, not
/// at each: asking costs a thread-local read per node, and this many of the walk's frames take
/// a few kilobytes, far less than the red zone.
const STACK_CHECK_EVERY: usize = 16;

impl<'a> Visitor<'a> for Builder<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        self.nested(|builder| builder.visit_stmt_here(stmt));
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        self.nested(|builder| builder.visit_expr_here(expr));
    }
}

impl<'a> Builder<'a> {
    /// Runs one level of the walk's recursion, on a new stack segment when little is left.
    fn nested(&mut self, visit: impl FnOnce(&mut Self)) {
        self.depth += 1;
        if self.depth.is_multiple_of(STACK_CHECK_EVERY) {
            with_stack(|| visit(self));
        } else {
            visit(self);
        }
        self.depth -= 1;
    }

    fn enter_function(&mut self, def: &'a ast::StmtFunctionDef) {
        // Decorators, defaults and annotations run in the enclosing scope.
        for decorator in &def.decorator_list {
            self.visit_decorator_expression(&decorator.expression);
        }
        for parameter in def.parameters.iter_non_variadic_params() {
            if let Some(default) = parameter.default.as_deref() {
                self.visit_expr(default);
            }
        }

        self.note_function_name(def.name.as_str());
        let parent = self.current_function();
        let class = match self.frames.last() {
            // A `def` directly in a class body is a method.
            Some(None) => self.class_stack.last().copied(),
            _ => None,
        };
        let id = self.functions.len();
        let qualname = match (class, parent) {
            (Some(class), _) => format!("{}.{}", self.classes[class].name, def.name.as_str()),
            (None, Some(parent)) => {
                format!(
                    "{}.<locals>.{}",
                    self.functions[parent].qualname,
                    def.name.as_str()
                )
            }
            (None, None) => def.name.to_string(),
        };
        let scope = scan_scope(def);
        // `@contextmanager` keeps the function where its callers are: its body runs in their
        // `with` statement, on their thread, holding their locks.
        let decorated = def.decorator_list.iter().any(|decorator| {
            !matches!(
                self.qualified_name(&decorator.expression).as_deref(),
                Some(
                    "builtins.staticmethod"
                        | "builtins.classmethod"
                        | "atexit.register"
                        | "contextlib.contextmanager"
                )
            )
        });
        let runs_alone = def.decorator_list.iter().any(|decorator| {
            self.qualified_name(&decorator.expression).as_deref() == Some("atexit.register")
        }) || super::call_graph::names_fork_child_handler(def.name.as_str());
        self.functions.push(Function {
            name: def.name.as_str(),
            qualname,
            range: def.range,
            name_range: def.name.range(),
            class,
            parent,
            globals: scope.globals,
            nonlocals: scope.nonlocals,
            locals: scope.locals,
            decorated,
            receiver: None,
            body: def.body.iter().map(Ranged::range).collect(),
            escapes: false,
            runs_alone,
            for_tests: super::syntax::says_for_tests(self.source, def)
                || (class.is_some() && self.test_class_stack.last() == Some(&true)),
            in_main_guard: self.in_main_guard,
            is_async: def.is_async,
            parameters: def
                .parameters
                .iter()
                .map(|parameter| parameter.name().as_str())
                .collect(),
            calls_parameters_of: Vec::new(),
        });
        // Decorators that run the function on a thread: Tornado's `run_on_executor` (a
        // method of an IOLoop-driven class that runs on the executor's threads) and the
        // configured ones (`thread-entry-decorators`).
        for decorator in &def.decorator_list {
            let expression = match &decorator.expression {
                Expr::Call(call) => &*call.func,
                other => other,
            };
            let named = self.qualified_name(expression);
            let runs_on_thread = named.as_deref() == Some("tornado.concurrent.run_on_executor")
                || (!self.options.thread_entry_decorators.is_empty()
                    && self.options.thread_entry_decorators.contains(
                        &named.unwrap_or_else(|| self.text(expression.range()).to_string()),
                    ));
            if runs_on_thread {
                self.decorated_entries.push((id, decorator.range()));
            }
        }
        match class {
            Some(class) => self.classes[class].methods.push(id),
            None => {
                self.function_index.insert((parent, def.name.as_str()), id);
            }
        }
        for parameter in def.parameters.iter_non_variadic_params() {
            if let Some(default) = parameter.default.as_deref()
                && self.classify(default) == ValueKind::Lock
            {
                self.parameter_lock_defaults.push(ParameterLockDefault {
                    function: id,
                    parameter: parameter.parameter.name.to_string(),
                    range: default.range(),
                });
            }
        }

        let receiver = if class.is_some() {
            method_receiver(def, |expr| self.qualified_name(expr))
        } else {
            None
        };
        self.functions[id].receiver = receiver.map(|(name, _)| name);
        let saved_locks = std::mem::take(&mut self.lock_stack);
        let saved_guards = std::mem::take(&mut self.guard_stack);
        let saved_size_checks = std::mem::take(&mut self.size_checks);
        self.frames.push(Some(FunctionFrame { id, receiver }));
        // `@locked` methods run holding the object's lock that the decorator takes.
        if let Some((receiver_name, _)) = receiver {
            let held: Vec<&str> = def
                .decorator_list
                .iter()
                .filter_map(|decorator| match &decorator.expression {
                    Expr::Name(name) => self.locking_decorators.get(name.id.as_str()).copied(),
                    _ => None,
                })
                .collect();
            for attr in held {
                let text = format!("{receiver_name}.{attr}");
                self.push_lock(text.clone(), &text, def.range);
            }
        }
        // `__exit__` of a class whose `__enter__` acquires `self._lock` runs holding it until
        // its `self._lock.release()` (to its end when the release is nested in a block).
        let exit_lock = match (receiver, class) {
            (Some((receiver_name, _)), Some(class))
                if matches!(def.name.as_str(), "__exit__" | "__aexit__") =>
            {
                self.classes[class]
                    .context_lock
                    .map(|attr| format!("{receiver_name}.{attr}"))
            }
            _ => None,
        };
        match exit_lock {
            Some(text) => {
                let release = def.body.iter().position(|stmt| {
                    let Stmt::Expr(ast::StmtExpr { value, .. }) = stmt else {
                        return false;
                    };
                    let Expr::Call(ast::ExprCall { func, .. }) = &**value else {
                        return false;
                    };
                    matches!(&**func, Expr::Attribute(ast::ExprAttribute { value, attr, .. })
                        if attr.as_str() == "release" && self.text(value.range()) == text)
                });
                let held = &def.body[..release.unwrap_or(def.body.len())];
                if let (Some(first), Some(last)) = (held.first(), held.last()) {
                    self.push_lock(
                        text.clone(),
                        &text,
                        TextRange::new(first.start(), last.end()),
                    );
                    self.walk_suite(held);
                    self.lock_stack.pop();
                }
                self.walk_suite(&def.body[held.len()..]);
            }
            None => self.walk_suite(&def.body),
        }
        // After the walk, so that imports inside the function (`import sys`) are known.
        self.record_override_events(id, &def.body);
        self.frames.pop();
        self.lock_stack = saved_locks;
        self.guard_stack = saved_guards;
        self.size_checks = saved_size_checks;
    }

    /// A decorator name is a use of the decorating function, not an escape.
    fn visit_decorator_expression(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(_) | Expr::Attribute(_) => {
                self.record_call(expr);
            }
            _ => self.visit_expr(expr),
        }
    }

    fn enter_class(&mut self, def: &'a ast::StmtClassDef) {
        for decorator in &def.decorator_list {
            self.visit_decorator_expression(&decorator.expression);
        }
        if let Some(arguments) = def.arguments.as_deref() {
            self.visit_arguments(arguments);
        }
        let id = self.declare_class(def);
        let saved_locks = std::mem::take(&mut self.lock_stack);
        let saved_guards = std::mem::take(&mut self.guard_stack);
        let saved_size_checks = std::mem::take(&mut self.size_checks);
        self.frames.push(None);
        self.class_stack.push(id);
        let for_tests = self.test_class_stack.last() == Some(&true)
            || super::syntax::class_says_for_tests(self.source, def);
        self.test_class_stack.push(for_tests);
        self.walk_suite(&def.body);
        self.test_class_stack.pop();
        self.class_stack.pop();
        self.frames.pop();
        self.lock_stack = saved_locks;
        self.guard_stack = saved_guards;
        self.size_checks = saved_size_checks;
    }

    fn visit_stmt_here(&mut self, stmt: &'a Stmt) {
        // Condition slots only matter inside the statement that recorded them.
        self.condition_slots.clear();
        let saved_stmt = self.current_stmt;
        let saved_simple = self.current_stmt_simple;
        self.current_stmt = stmt.range();
        self.current_stmt_simple = super::iterators::is_simple_statement(stmt);
        match stmt {
            Stmt::FunctionDef(def) => self.enter_function(def),
            Stmt::ClassDef(def) => self.enter_class(def),
            Stmt::Import(_) | Stmt::ImportFrom(_) => {
                if self.current_function().is_some() {
                    self.record_import(stmt);
                }
            }
            Stmt::If(
                if_stmt @ ast::StmtIf {
                    test,
                    body,
                    elif_else_clauses,
                    ..
                },
            ) => {
                if let Some(dead) = self.dead_on_target(if_stmt) {
                    self.dead_on_target.push(dead);
                }
                self.condition_slots.push(test.range());
                self.visit_expr(test);
                let main_guard = self.frames.is_empty() && is_main_guard(test);
                let guard = self.guard_for_test(test, stmt.range()).map(|mut guard| {
                    guard.guard.work = branch_work(body);
                    guard
                });
                // Every test of shared state counts as a check for double-checked locking,
                // `if k in D: return D[k]` as much as `if k not in D:`.
                if let Some(function) = self.current_function()
                    && (guard.is_some() || self.tests_shared_state(test))
                {
                    self.checks.push((function, test.range()));
                }
                let saved_main = self.in_main_guard;
                self.in_main_guard |= main_guard;
                let pushed = guard.is_some();
                if let Some(guard) = guard {
                    self.guard_stack.push(guard);
                }
                let size_check = self.size_check_for_test(test, stmt.range());
                let sized = size_check.is_some();
                if let Some(check) = size_check {
                    self.push_size_check(check);
                }
                // `if lock.acquire(False):` holds the lock in its body;
                // `if not lock.acquire(False): … else:` holds it in the `else` branch.
                let acquired = self.acquire_test(test);
                let body_holds = acquired.as_ref().filter(|(_, _, negated)| !negated);
                if let Some((key, _, negated)) = &acquired {
                    // The branch taken when the lock was not free: written lock-free on purpose.
                    let fallback = if *negated {
                        body.first().zip(body.last())
                    } else {
                        elif_else_clauses
                            .iter()
                            .find(|clause| clause.test.is_none())
                            .and_then(|clause| clause.body.first().zip(clause.body.last()))
                    };
                    if let Some((first, last)) = fallback {
                        self.lock_unavailable
                            .push((key.clone(), TextRange::new(first.start(), last.end())));
                    }
                }
                self.walk_suite_holding(
                    body,
                    body_holds.map(|(key, text, _)| (key, text.as_str())),
                );
                if pushed {
                    self.guard_stack.pop();
                }
                if sized {
                    self.pop_size_check();
                }
                self.in_main_guard = saved_main;
                // `if k in D: return D[k]` / `else: D[k] = …`: the `else` acts on the absence
                // the test found.
                let else_guard = match elif_else_clauses.as_slice() {
                    [only] if only.test.is_none() => {
                        self.present_test(test, &[], stmt.range()).map(|mut guard| {
                            guard.guard.work = branch_work(&only.body);
                            guard
                        })
                    }
                    _ => None,
                };
                for clause in elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.visit_expr(test);
                    }
                    let else_holds = acquired
                        .as_ref()
                        .filter(|(_, _, negated)| *negated && clause.test.is_none());
                    let pushed_else = clause.test.is_none() && else_guard.is_some();
                    if pushed_else && let Some(guard) = else_guard.clone() {
                        self.guard_stack.push(guard);
                    }
                    self.walk_suite_holding(
                        &clause.body,
                        else_holds.map(|(key, text, _)| (key, text.as_str())),
                    );
                    if pushed_else {
                        self.guard_stack.pop();
                    }
                }
            }
            Stmt::While(ast::StmtWhile {
                test, body, orelse, ..
            }) => {
                self.condition_slots.push(test.range());
                self.visit_expr(test);
                let size_check = self.size_check_for_test(test, stmt.range());
                let sized = size_check.is_some();
                if let Some(check) = size_check {
                    self.push_size_check(check);
                }
                // `while pending and lock.acquire(False):` holds the lock in its body.
                let acquired = self.acquire_test(test).filter(|(_, _, negated)| !negated);
                self.walk_suite_holding(
                    body,
                    acquired.as_ref().map(|(key, text, _)| (key, text.as_str())),
                );
                if sized {
                    self.pop_size_check();
                }
                self.walk_suite(orelse);
            }
            Stmt::For(ast::StmtFor {
                target,
                iter,
                body,
                orelse,
                ..
            }) => {
                self.record_loop_iteration(iter, IterationKind::Loop, stmt.range());
                self.record_iterator_loop(iter);
                self.visit_expr(iter);
                self.visit_expr(target);
                self.walk_suite(body);
                self.walk_suite(orelse);
            }
            Stmt::With(ast::StmtWith {
                items,
                body,
                is_async,
                ..
            }) => {
                let mut pushed = 0;
                for item in items {
                    self.visit_expr(&item.context_expr);
                    if let Some(vars) = item.optional_vars.as_deref() {
                        self.visit_expr(vars);
                        self.bind_process_pool(&item.context_expr, vars);
                        if let ValueKind::Pool(kind) = self.classify(&item.context_expr) {
                            self.pool_names
                                .insert(self.text(vars.range()).to_string(), kind);
                        }
                    }
                    // `async with` takes asyncio locks, which do not exclude other threads.
                    if !is_async && let Some(key) = self.lock_key(&item.context_expr) {
                        let text = self.text(item.context_expr.range()).to_string();
                        let body_range = match (body.first(), body.last()) {
                            (Some(first), Some(last)) => TextRange::new(first.start(), last.end()),
                            _ => TextRange::empty(stmt.end()),
                        };
                        self.push_lock(key, &text, body_range);
                        pushed += 1;
                    }
                }
                self.walk_suite(body);
                for _ in 0..pushed {
                    self.lock_stack.pop();
                }
            }
            Stmt::Try(try_stmt) => {
                let guard = self.try_lookup_guard(try_stmt).map(|mut guard| {
                    // What the handlers do, the most of any.
                    guard.guard.work = try_stmt
                        .handlers
                        .iter()
                        .map(|handler| {
                            let ast::ExceptHandler::ExceptHandler(handler) = handler;
                            branch_work(&handler.body)
                        })
                        .max()
                        .unwrap_or(BranchWork::Stores);
                    guard
                });
                if let (Some(guard), Some(function)) = (&guard, self.current_function()) {
                    self.checks.push((function, guard.guard.check));
                }
                let before_body = self.import_refs.len();
                let caught = caught_lookup_errors(try_stmt);
                self.caught_lookup_errors.push(caught);
                self.walk_suite(&try_stmt.body);
                self.caught_lookup_errors.pop();
                let tried_from = before_body..self.import_refs.len();
                for handler in &try_stmt.handlers {
                    let ast::ExceptHandler::ExceptHandler(handler) = handler;
                    if let Some(type_) = handler.type_.as_deref() {
                        self.visit_expr(type_);
                    }
                    let pushed = guard.is_some();
                    if let Some(guard) = &guard {
                        self.guard_stack.push(guard.clone());
                    }
                    let before_handler = self.import_refs.len();
                    self.walk_suite(&handler.body);
                    self.mark_import_fallbacks(tried_from.clone(), before_handler, handler);
                    if pushed {
                        self.guard_stack.pop();
                    }
                }
                self.walk_suite(&try_stmt.orelse);
                self.walk_suite(&try_stmt.finalbody);
            }
            Stmt::Match(ast::StmtMatch { subject, cases, .. }) => {
                self.visit_expr(subject);
                for case in cases {
                    if let Some(guard) = &case.guard {
                        self.visit_expr(guard);
                    }
                    self.walk_suite(&case.body);
                }
            }
            Stmt::Assign(ast::StmtAssign { targets, value, .. }) => {
                self.condition_slots.push(value.range());
                self.visit_expr(value);
                // `setswitchinterval = sys.setswitchinterval` at the top of a module re-exports
                // the function; only a call of it tunes anything. (Naming an API that does
                // not exist, `CHECK = sys._is_gil_disabled`, fails right there.)
                if self.current_function().is_none()
                    && self.gil_api_uses.last().is_some_and(|use_| {
                        use_.range == value.range() && use_.name.ends_with("switchinterval")
                    })
                {
                    self.gil_api_uses.pop();
                }
                self.record_iterator_binding(targets, value);
                if let [target] = targets.as_slice() {
                    self.record_fork_result(target, value);
                    self.bind_process_pool(value, target);
                    if let (Expr::Name(name), Expr::Call(call), Some(function)) =
                        (target, &**value, self.current_function())
                        && matches!(
                            self.qualified_name(&call.func).as_deref(),
                            Some("functools.partial")
                        )
                    {
                        self.partial_bindings
                            .insert((function, name.id.as_str()), value);
                    }
                    // `value = compute(key)` before `cache[key] = value`: what a later write of
                    // the local stores.
                    if let (Expr::Name(name), Some(function)) = (target, self.current_function())
                        && self.functions[function].is_local(name.id.as_str())
                    {
                        self.local_values
                            .insert((function, name.id.as_str()), value);
                    }
                    // `fd, name = tempfile.mkstemp()`: each name is a part of what the call
                    // returned, as unique as the whole.
                    if let (Expr::Tuple(tuple), Expr::Call(_), Some(function)) =
                        (target, &**value, self.current_function())
                    {
                        for element in &tuple.elts {
                            if let Expr::Name(name) = element
                                && self.functions[function].is_local(name.id.as_str())
                            {
                                self.local_values
                                    .insert((function, name.id.as_str()), value);
                            }
                        }
                    }
                }
                let kind = self.classify(value);
                for target in targets {
                    self.visit_expr(target);
                    self.record_write(target, AccessKind::Assign, Some(value));
                    self.note_local_binding(target, kind);
                }
            }
            Stmt::AnnAssign(ast::StmtAnnAssign { target, value, .. }) => {
                if let Some(value) = value {
                    self.visit_expr(value);
                    self.record_iterator_binding(std::slice::from_ref(&**target), value);
                    self.bind_process_pool(value, target);
                    self.visit_expr(target);
                    self.record_write(target, AccessKind::Assign, Some(value));
                    let kind = self.classify(value);
                    self.note_local_binding(target, kind);
                }
            }
            Stmt::AugAssign(ast::StmtAugAssign { target, value, .. }) => {
                self.visit_expr(value);
                self.visit_expr(target);
                self.record_write(target, AccessKind::AugAssign, Some(value));
            }
            Stmt::Delete(ast::StmtDelete { targets, .. }) => {
                for target in targets {
                    self.visit_expr(target);
                    self.record_write(target, AccessKind::Delete, None);
                    self.record_stack_delete(target);
                }
            }
            Stmt::Return(ast::StmtReturn {
                value: Some(value), ..
            }) => {
                // `return not …` needs no parentheses.
                self.condition_slots.push(value.range());
                self.visit_expr(value);
                self.record_pool_escape(value);
                self.record_return_value(value);
            }
            _ => visitor::walk_stmt(self, stmt),
        }
        self.current_stmt = saved_stmt;
        self.current_stmt_simple = saved_simple;
    }

    /// What a call tells each recorder. Kept out of line: the recorders' locals would
    /// otherwise enlarge the frame of every expression's visit, most of which are no call.
    #[inline(never)]
    fn record_call_facts(&mut self, call: &'a ast::ExprCall) {
        // Resolved at most once for the recorders below (and reset before the arguments,
        // whose calls resolve their own).
        *self.current_callee.borrow_mut() = Some((call.func.range(), None));
        self.record_call(&call.func);
        self.note_enclosing_parameter_call(&call.func);
        self.record_mutating_call(call);
        self.record_consuming_call(call);
        self.record_thread_entry(call);
        self.record_process_main(call);
        self.record_process_global_call(call);
        self.record_gil_api_call(call);
        self.record_process_pool(call);
        self.record_pool_handoff(call);
        self.record_per_process_call(call);
        self.record_dynamic_import(call);
        self.record_lone_handler(call);
        self.record_stack_call(call);
        self.record_iterator_advance(call);
        *self.current_callee.borrow_mut() = None;
    }

    fn visit_expr_here(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => {
                self.record_call_facts(call);
                self.callee_depth += 1;
                self.visit_expr(&call.func);
                self.callee_depth -= 1;
                self.visit_arguments(&call.arguments);
            }
            Expr::Name(ast::ExprName { ctx, .. }) => {
                if *ctx == ExprContext::Load {
                    self.record_per_process_reference(expr);
                    self.record_state_read(expr);
                }
                // Only a name that can denote one of this module's functions can make one escape.
                if *ctx == ExprContext::Load
                    && self.callee_depth == 0
                    && self.may_denote_function(expr)
                {
                    self.pending_escapes.push(self.pending_ref(expr));
                }
            }
            Expr::Yield(ast::ExprYield { value: None, .. }) => {
                self.note_yield();
            }
            Expr::Yield(ast::ExprYield {
                value: Some(value), ..
            })
            | Expr::YieldFrom(ast::ExprYieldFrom { value, .. }) => {
                self.note_yield();
                if matches!(expr, Expr::YieldFrom(_)) {
                    self.record_iterator_loop(value);
                }
                self.record_pool_escape(value);
                let saved = std::mem::take(&mut self.callee_depth);
                visitor::walk_expr(self, expr);
                self.callee_depth = saved;
            }
            Expr::BoolOp(ast::ExprBoolOp { values, .. }) => {
                self.condition_slots
                    .extend(values.iter().map(Ranged::range));
                let saved = std::mem::take(&mut self.callee_depth);
                visitor::walk_expr(self, expr);
                self.callee_depth = saved;
            }
            Expr::UnaryOp(ast::ExprUnaryOp {
                op: UnaryOp::Not,
                operand,
                ..
            }) => {
                self.condition_slots.push(operand.range());
                let saved = std::mem::take(&mut self.callee_depth);
                visitor::walk_expr(self, expr);
                self.callee_depth = saved;
            }
            Expr::Attribute(ast::ExprAttribute { value, ctx, .. }) => {
                let is_callee = self.callee_depth > 0;
                if *ctx == ExprContext::Load && !is_callee {
                    self.record_gil_api_reference(expr);
                    self.record_per_process_reference(expr);
                    self.record_state_read(expr);
                }
                if *ctx == ExprContext::Load
                    && !is_callee
                    && let Expr::Name(base) = &**value
                    && matches!(base.id.as_str(), "self" | "cls")
                {
                    self.pending_escapes.push(self.pending_ref(expr));
                }
                // The object of `obj.method` is not itself the callee.
                let saved = std::mem::take(&mut self.callee_depth);
                self.visit_expr(value);
                self.callee_depth = saved;
            }
            Expr::ListComp(ast::ExprListComp { generators, .. })
            | Expr::SetComp(ast::ExprSetComp { generators, .. })
            | Expr::DictComp(ast::ExprDictComp { generators, .. })
            | Expr::Generator(ast::ExprGenerator { generators, .. }) => {
                for generator in generators {
                    self.record_loop_iteration(
                        &generator.iter,
                        IterationKind::Comprehension,
                        expr.range(),
                    );
                    self.record_iterator_loop(&generator.iter);
                }
                let saved = std::mem::take(&mut self.callee_depth);
                visitor::walk_expr(self, expr);
                self.callee_depth = saved;
            }
            _ => {
                if let Expr::Subscript(subscript) = expr {
                    self.record_stack_peek(subscript);
                }
                let saved = std::mem::take(&mut self.callee_depth);
                visitor::walk_expr(self, expr);
                self.callee_depth = saved;
            }
        }
    }

    /// `func(*args)` where `func` is a parameter of an enclosing function: the closure wraps it.
    fn note_enclosing_parameter_call(&mut self, func: &'a Expr) {
        let (Some(function), Expr::Name(name)) = (self.current_function(), func) else {
            return;
        };
        let name = name.id.as_str();
        if self.functions[function].is_local(name) {
            return;
        }
        if let Some(owner) = self.enclosing_owner(function, name)
            && self.functions[owner].parameters.contains(&name)
        {
            let wrapped = &mut self.functions[function].calls_parameters_of;
            if !wrapped.contains(&owner) {
                wrapped.push(owner);
            }
        }
    }

    /// Remembers locals bound to locks, pools or containers: `with lock:` on them is a lock
    /// region, and a closure that mutates the container shares it.
    fn note_local_binding(&mut self, target: &'a Expr, kind: ValueKind) {
        let Some(function) = self.current_function() else {
            return;
        };
        if let Expr::Name(name) = target {
            match kind {
                ValueKind::Container(_) => {
                    self.local_containers
                        .insert((function, name.id.as_str()), kind);
                }
                ValueKind::Lock => {
                    self.local_locks.insert((function, name.id.as_str()));
                }
                ValueKind::Pool(pool) => {
                    self.pool_names.insert(name.id.to_string(), pool);
                }
                _ => {}
            }
        }
    }
}

/// Which lookup errors the handlers of a `try` catch, as `(KeyError, IndexError)`: by name,
/// through `LookupError`, `Exception` or `BaseException`, or with a bare `except:`.
fn caught_lookup_errors(try_stmt: &ast::StmtTry) -> (bool, bool) {
    let mut caught = (false, false);
    let mut note = |name: &str| match name {
        "KeyError" => caught.0 = true,
        "IndexError" => caught.1 = true,
        "LookupError" | "Exception" | "BaseException" => caught = (true, true),
        _ => {}
    };
    for handler in &try_stmt.handlers {
        let ast::ExceptHandler::ExceptHandler(handler) = handler;
        match handler.type_.as_deref() {
            None => note("BaseException"),
            Some(Expr::Tuple(tuple)) => {
                for element in &tuple.elts {
                    if let Expr::Name(name) = element {
                        note(name.id.as_str());
                    }
                }
            }
            Some(Expr::Name(name)) => note(name.id.as_str()),
            Some(Expr::Attribute(attribute)) => note(attribute.attr.as_str()),
            Some(_) => {}
        }
    }
    caught
}
