//! Locks and lock regions: the canonical key of the lock an expression denotes, `with lock:`
//! regions, and regions between `lock.acquire()` and `lock.release()` (or the end of the suite),
//! which is why every suite is walked through [`Builder::walk_suite`].

use ruff_python_ast::visitor::Visitor;
use ruff_python_ast::{self as ast, Expr, Stmt, UnaryOp};
use ruff_text_size::{Ranged, TextRange};

use super::Builder;
use super::syntax::ends_leaving_function;
use crate::semantic::values::{ValueKind, is_lock_like_name};
use crate::semantic::{ClassId, LockKey, LockRegion, StateKey};

impl<'a> Builder<'a> {
    /// The lock an expression in `with …:` or `….acquire()` denotes, as a canonical key.
    pub(super) fn lock_key(&self, expr: &'a Expr) -> Option<LockKey> {
        match expr {
            Expr::Name(ast::ExprName { id, .. }) => {
                let name = id.as_str();
                // `with self:` where `__enter__` acquires `self._lock`.
                if let Some((receiver_name, _, class)) = self.current_receiver()
                    && receiver_name == name
                {
                    return self.classes[class]
                        .context_lock
                        .map(|lock| format!("{name}.{lock}"));
                }
                if let Some(function) = self.current_function()
                    && self.local_locks.contains(&(function, name))
                {
                    return Some(name.to_string());
                }
                // `with budget:` in a closure, on the lock (or condition) of the function
                // around it: the closures that function starts on threads share it.
                if let Some(function) = self.current_function()
                    && !self.functions[function].is_local(name)
                    && let Some(owner) = self.enclosing_owner(function, name)
                    && self.local_locks.contains(&(owner, name))
                {
                    return Some(name.to_string());
                }
                let local = self.current_function().is_some() && self.is_enclosing_local(name);
                match self.bindings.get(name) {
                    Some(binding) if !local => match binding.kind {
                        ValueKind::Lock => Some(name.to_string()),
                        ValueKind::AsyncLock => None,
                        _ => is_lock_like_name(name).then(|| name.to_string()),
                    },
                    _ => is_lock_like_name(name).then(|| name.to_string()),
                }
            }
            Expr::Attribute(ast::ExprAttribute { value, attr, .. }) => {
                let attr_name = attr.as_str();
                if let Expr::Name(base) = &**value {
                    let base = base.id.as_str();
                    if let Some(class) = self.receiver_class(base) {
                        return self.receiver_lock_key(base, class, attr_name);
                    }
                    // `with _STATE.gate:` on the module's one `_State()`, whose methods set
                    // `self.gate = Condition(RLock())`.
                    if let Some(&class) = self.singletons.get(base)
                        && !self.is_enclosing_local(base)
                        && self.classes[class].instance_attributes.get(attr_name)
                            == Some(&ValueKind::Lock)
                    {
                        return Some(self.text(expr.range()).to_string());
                    }
                }
                is_lock_like_name(attr_name).then(|| self.text(expr.range()).to_string())
            }
            Expr::Call(ast::ExprCall { func, .. }) => {
                // A fresh `threading.Lock()` excludes nobody; a call such as
                // `self._lock_for(key)` returns a shared lock.
                if self.classify(expr) == ValueKind::Lock {
                    return None;
                }
                // `cls.get_lock()` that returns `cls._lock`: the same lock as `cls._lock`.
                if let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &**func
                    && let Expr::Name(base) = &**value
                    && let Some(class) = self.receiver_class(base.id.as_str())
                    && let Some(&(_, lock)) = self.classes[class]
                        .lock_getters
                        .iter()
                        .find(|(method, _)| *method == attr.as_str())
                {
                    return self.receiver_lock_key(base.id.as_str(), class, lock);
                }
                // `with rwlock.write():` holds a reader-writer lock exclusively, which excludes
                // every other writer (a `read()` section excludes no other reader, so it
                // does not count).
                if let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &**func
                    && matches!(
                        attr.as_str(),
                        "write" | "writer" | "write_lock" | "gen_wlock" | "exclusive"
                    )
                    && let Some(lock) = self.lock_key(value)
                {
                    return Some(lock);
                }
                let name = match &**func {
                    Expr::Name(name) => name.id.as_str(),
                    Expr::Attribute(attribute) => attribute.attr.as_str(),
                    _ => return None,
                };
                is_lock_like_name(name).then(|| self.text(expr.range()).to_string())
            }
            _ => None,
        }
    }

    /// The class `base` denotes in `base.attr`: the current method's receiver (`self`,
    /// `cls`), or a class of this module named directly.
    fn receiver_class(&self, base: &str) -> Option<ClassId> {
        match self.current_receiver() {
            Some((receiver_name, _, class)) if receiver_name == base => Some(class),
            _ if !self.is_enclosing_local(base) => self.module_class(base),
            _ => None,
        }
    }

    /// The key of the lock `base.attr` holds, `base` denoting `class` or its instance: the
    /// class's own lock when the attribute is a class-level lock no instance replaces, else
    /// the receiver's.
    fn receiver_lock_key(&self, base: &str, class: ClassId, attr_name: &str) -> Option<LockKey> {
        let class_level = (self.classes[class]
            .attribute(attr_name)
            .is_some_and(|attribute| attribute.kind == ValueKind::Lock)
            || self.classes[class]
                .class_assigned_locks
                .contains(&attr_name))
            && !self.classes[class]
                .instance_attributes
                .contains_key(attr_name);
        if class_level {
            return Some(format!("{}.{attr_name}", self.classes[class].name));
        }
        match self.state_value_kind(StateKey::InstanceAttr(class, attr_name)) {
            Some(ValueKind::Lock) => Some(format!("{base}.{attr_name}")),
            Some(ValueKind::AsyncLock) => None,
            _ => is_lock_like_name(attr_name).then(|| format!("{base}.{attr_name}")),
        }
    }

    pub(super) fn push_lock(&mut self, key: LockKey, text: &str, range: TextRange) {
        self.lock_regions.push(LockRegion {
            lock: key.clone(),
            lock_text: text.to_string(),
            range,
            function: self.current_function(),
        });
        self.lock_stack.push((key, text.to_string()));
    }

    pub(super) fn walk_suite(&mut self, suite: &'a [Stmt]) {
        // Locks taken with `lock.acquire()` in this suite and not yet released.
        let mut acquired: Vec<(LockKey, TextRange)> = Vec::new();
        // Checks that guard the rest of the suite: `if k in D: return D[k]` … `D[k] = v`.
        let guards_before = self.guard_stack.len();
        let size_checks_before = self.size_checks.len();
        // The early exits of this suite that leave the function, for the statement after a
        // `with` block whose body this suite is.
        let mut leaving_function = Vec::new();
        for (position, stmt) in suite.iter().enumerate() {
            self.function_exit_guards.clear();
            if let Some(lock) = self.lock_call(stmt, "release")
                && let Some(position) = acquired.iter().rposition(|(key, _)| *key == lock)
            {
                let (_, start) = acquired.remove(position);
                self.close_acquired_region(&lock, start, stmt.start());
            }
            // `done = cls.complete` … `if done: return`: a test of a local that holds shared
            // state re-checks that state as much as testing it directly.
            if let Stmt::If(ast::StmtIf { test, .. }) = stmt
                && let Some(function) = self.current_function()
                && self.tests_local_copy_of_state(test, &suite[..position])
            {
                self.checks.push((function, test.range()));
            }
            // Branches that only a forked child, or only the main thread, takes.
            if let Stmt::If(branch) = stmt {
                let rest = &suite[position + 1..];
                self.record_fork_child(branch, rest);
                self.record_main_thread_branch(branch, rest);
            }
            self.next_stmt_exits = matches!(
                suite.get(position + 1),
                Some(Stmt::Return(_) | Stmt::Raise(_))
            );
            self.visit_stmt(stmt);
            self.next_stmt_exits = false;
            let acquire = self
                .lock_call(stmt, "acquire")
                .map(|lock| (lock, self.lock_call_receiver_text(stmt)))
                .or_else(|| self.checked_acquire(stmt, &suite[position + 1..]));
            if let Some((lock, text)) = acquire {
                let start = TextRange::empty(stmt.end());
                self.lock_stack.push((lock.clone(), text));
                acquired.push((lock, start));
            }
            if let Stmt::Try(ast::StmtTry { finalbody, .. }) = stmt {
                let released: Vec<LockKey> = finalbody
                    .iter()
                    .filter_map(|stmt| self.lock_call(stmt, "release"))
                    .collect();
                for lock in released {
                    if let Some(position) = acquired.iter().rposition(|(key, _)| *key == lock) {
                        let (_, start) = acquired.remove(position);
                        self.close_acquired_region(&lock, start, stmt.end());
                    }
                }
            }
            let rest = &suite[position + 1..];
            // `with lock: if k in D: return D[k]` … `D[k] = v` after the block: the return
            // leaves the function, so the check guards the rest of this suite too.
            if matches!(stmt, Stmt::With(_)) {
                let inner = std::mem::take(&mut self.function_exit_guards);
                for mut guard in inner {
                    if let Some(last) = rest.last() {
                        guard.guard.stmt = TextRange::new(guard.guard.stmt.start(), last.end());
                        guard.guard.work = super::branch_work::branch_work(rest);
                        leaving_function.push(guard.clone());
                        self.guard_stack.push(guard);
                    }
                }
            }
            // `if not C: continue` inside a lock re-checks `C` for the rest of the suite (the
            // emptiness test repeated inside the lock). Outside a lock it is only a test.
            if let Some(check) = self.early_exit_size_check(stmt, rest) {
                self.push_size_check(check);
            }
            if let Some(guard) = self.early_exit_guard(stmt, &suite[..position], rest) {
                if leaves_function(stmt) {
                    leaving_function.push(guard.clone());
                }
                self.guard_stack.push(guard);
            }
        }
        self.guard_stack.truncate(guards_before);
        self.size_checks.truncate(size_checks_before);
        self.function_exit_guards = leaving_function;
        let end = suite.last().map(Ranged::end);
        while let Some((lock, start)) = acquired.pop() {
            self.close_acquired_region(&lock, start, end.unwrap_or(start.start()));
        }
    }

    /// Walks a suite, holding `lock` (if any) for its whole body.
    pub(super) fn walk_suite_holding(&mut self, suite: &'a [Stmt], lock: Option<(&LockKey, &str)>) {
        match (lock, suite.first(), suite.last()) {
            (Some((key, text)), Some(first), Some(last)) => {
                self.push_lock(key.clone(), text, TextRange::new(first.start(), last.end()));
                self.walk_suite(suite);
                self.lock_stack.pop();
            }
            _ => self.walk_suite(suite),
        }
    }

    /// `lock.acquire(…)` or `not lock.acquire(…)` as an `if` or `while` test, also as one
    /// operand of an `and` (`while pending and lock.acquire(False):`, whose body runs only
    /// when the lock was taken): the lock, its text, and whether the test is negated.
    pub(super) fn acquire_test(&self, test: &'a Expr) -> Option<(LockKey, String, bool)> {
        if let Expr::BoolOp(ast::ExprBoolOp {
            op: ast::BoolOp::And,
            values,
            ..
        }) = test
        {
            return values
                .iter()
                .filter_map(|value| self.acquire_test(value))
                .find(|(_, _, negated)| !negated);
        }
        let (call, negated) = match test {
            Expr::UnaryOp(ast::ExprUnaryOp {
                op: UnaryOp::Not,
                operand,
                ..
            }) => (&**operand, true),
            other => (other, false),
        };
        let Expr::Call(ast::ExprCall { func, .. }) = call else {
            return None;
        };
        let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &**func else {
            return None;
        };
        if attr.as_str() != "acquire" {
            return None;
        }
        let key = self.lock_key(value)?;
        Some((key, self.text(value.range()).to_string(), negated))
    }

    fn close_acquired_region(
        &mut self,
        lock: &LockKey,
        start: TextRange,
        end: ruff_text_size::TextSize,
    ) {
        if let Some(position) = self.lock_stack.iter().rposition(|(key, _)| key == lock) {
            let (key, text) = self.lock_stack.remove(position);
            let range = TextRange::new(start.start(), end.max(start.start()));
            self.lock_regions.push(LockRegion {
                lock: key,
                lock_text: text,
                range,
                function: self.current_function(),
            });
        }
    }

    /// `lock.acquire()` / `lock.release()` as an expression statement.
    fn lock_call(&self, stmt: &'a Stmt, method: &str) -> Option<LockKey> {
        let Stmt::Expr(ast::StmtExpr { value, .. }) = stmt else {
            return None;
        };
        let Expr::Call(ast::ExprCall { func, .. }) = &**value else {
            return None;
        };
        let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &**func else {
            return None;
        };
        if attr.as_str() != method {
            return None;
        }
        self.lock_key(value)
    }

    /// `ok = lock.acquire(timeout=5)` followed by `if not ok: raise …` (or `return`): from
    /// there on the lock is held, as after a plain `lock.acquire()`.
    fn checked_acquire(&self, stmt: &'a Stmt, rest: &'a [Stmt]) -> Option<(LockKey, String)> {
        // `if not lock.acquire(blocking=False): return …`: held from here on.
        if let Stmt::If(ast::StmtIf {
            test,
            body,
            elif_else_clauses,
            ..
        }) = stmt
        {
            let (lock, text, negated) = self.acquire_test(test)?;
            let exits = ends_leaving_function(body);
            return (negated && exits && elif_else_clauses.is_empty()).then_some((lock, text));
        }
        let Stmt::Assign(ast::StmtAssign { targets, value, .. }) = stmt else {
            return None;
        };
        let [Expr::Name(flag)] = targets.as_slice() else {
            return None;
        };
        let (lock, text, negated) = self.acquire_test(value)?;
        if negated {
            return None;
        }
        let Some(Stmt::If(ast::StmtIf {
            test,
            body,
            elif_else_clauses,
            ..
        })) = rest.first()
        else {
            return None;
        };
        let tests_not_flag = matches!(&**test, Expr::UnaryOp(ast::ExprUnaryOp {
            op: UnaryOp::Not,
            operand,
            ..
        }) if matches!(&**operand, Expr::Name(name) if name.id == flag.id));
        let exits = ends_leaving_function(body);
        (tests_not_flag && exits && elif_else_clauses.is_empty()).then_some((lock, text))
    }

    fn lock_call_receiver_text(&self, stmt: &'a Stmt) -> String {
        if let Stmt::Expr(ast::StmtExpr { value, .. }) = stmt
            && let Expr::Call(ast::ExprCall { func, .. }) = &**value
            && let Expr::Attribute(ast::ExprAttribute { value, .. }) = &**func
        {
            return self.text(value.range()).to_string();
        }
        String::new()
    }
}

/// An early exit that leaves the function (`return`, `raise`), not only a loop.
fn leaves_function(stmt: &Stmt) -> bool {
    let body = match stmt {
        Stmt::If(ast::StmtIf { body, .. }) => body,
        Stmt::Try(ast::StmtTry { body, .. }) => body,
        _ => return false,
    };
    ends_leaving_function(body)
}
