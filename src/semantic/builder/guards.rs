//! Check-then-act guards: the tests (`if k not in D:`, `if x is None:`, `if not D.get(k):`,
//! `try: D[k] except KeyError:`) whose body may act on the state they checked.

use ruff_python_ast::visitor::Visitor;
use ruff_python_ast::{self as ast, CmpOp, Expr, Stmt, UnaryOp};
use ruff_text_size::{Ranged, TextRange};

use super::syntax::{SubscriptLoadFinder, ends_leaving_suite};
use super::{ActiveGuard, Builder};
use crate::semantic::values::ValueKind;
use crate::semantic::{BranchWork, Guard, GuardKind, StateKey};

impl<'a> Builder<'a> {
    /// The shared mapping `k in D` / `k not in D` tests, when `D` may be one (a mapping, or a
    /// value of unknown kind).
    fn membership_state(&self, container: &'a Expr) -> Option<StateKey<'a>> {
        let key = self.state_key_of(container)?;
        let kind = self.state_value_kind(key);
        let may_be_mapping = matches!(kind, Some(ValueKind::Container(c)) if c.is_mapping())
            || matches!(kind, Some(ValueKind::Other));
        may_be_mapping.then_some(key)
    }

    pub(super) fn guard_for_test(
        &self,
        test: &'a Expr,
        stmt: TextRange,
    ) -> Option<ActiveGuard<'a>> {
        let make = |kind, key, item: Option<String>| ActiveGuard {
            key,
            item,
            guard: Guard {
                kind,
                check: test.range(),
                stmt,
                locks: self.locks_now(),
                work: BranchWork::Effects,
                rejects: false,
            },
        };
        match test {
            Expr::BoolOp(ast::ExprBoolOp { values, .. }) => values
                .iter()
                .find_map(|value| self.guard_for_test(value, stmt))
                .map(|mut active| {
                    active.guard.check = test.range();
                    active
                }),
            Expr::Compare(ast::ExprCompare {
                left,
                ops,
                comparators,
                ..
            }) if ops.len() == 1 => {
                let right = &comparators[0];
                match ops[0] {
                    CmpOp::NotIn => {
                        if let Some(name) = global_name_check(left, right) {
                            return Some(make(GuardKind::NoneCheck, StateKey::Global(name), None));
                        }
                        let key = self.membership_state(right)?;
                        Some(make(
                            GuardKind::NotIn,
                            key,
                            Some(self.text(left.range()).to_string()),
                        ))
                    }
                    CmpOp::Is | CmpOp::Eq
                        if right.is_none_literal_expr() || left.is_none_literal_expr() =>
                    {
                        let left = if left.is_none_literal_expr() {
                            right
                        } else {
                            &**left
                        };
                        if let Some((key, item)) = self.get_call(left) {
                            return Some(make(GuardKind::GetIsNone, key, Some(item)));
                        }
                        let key = self.lazy_state(left)?;
                        Some(make(GuardKind::NoneCheck, key, None))
                    }
                    _ => None,
                }
            }
            Expr::UnaryOp(ast::ExprUnaryOp {
                op: UnaryOp::Not,
                operand,
                ..
            }) => {
                if let Some((key, item)) = self.get_call(operand) {
                    return Some(make(GuardKind::GetIsNone, key, Some(item)));
                }
                if let Some(key) = self.hasattr_state(operand) {
                    return Some(make(GuardKind::NoneCheck, key, None));
                }
                let key = self.lazy_state(operand)?;
                Some(make(GuardKind::NoneCheck, key, None))
            }
            _ => None,
        }
    }

    /// A statement that leaves the suite when the state is already there, guarding the rest of
    /// the suite like the body of `if k not in D:`: `if k in D: return D[k]`, `if X is not
    /// None: return X`, `try: return D[k] except KeyError: pass`.
    pub(super) fn early_exit_guard(
        &self,
        stmt: &'a Stmt,
        earlier: &'a [Stmt],
        rest: &'a [Stmt],
    ) -> Option<ActiveGuard<'a>> {
        // At the end of a `with` block the exit still guards what follows the block.
        let span = TextRange::new(stmt.start(), rest.last().map_or(stmt.end(), Ranged::end));
        let mut guard = match stmt {
            Stmt::If(ast::StmtIf {
                test,
                body,
                elif_else_clauses,
                ..
            }) if elif_else_clauses.is_empty() && ends_leaving_suite(body) => {
                let mut guard = self.present_test(test, earlier, span)?;
                guard.guard.check = test.range();
                guard.guard.rejects = matches!(body.last(), Some(Stmt::Raise(_)));
                guard
            }
            // The handlers fall through to the rest of the suite (`pass`, a miss counter).
            Stmt::Try(try_stmt)
                if ends_leaving_suite(&try_stmt.body)
                    && try_stmt.handlers.iter().all(|handler| {
                        let ast::ExceptHandler::ExceptHandler(handler) = handler;
                        !ends_leaving_suite(&handler.body)
                    }) =>
            {
                let mut guard = self.try_lookup_guard(try_stmt)?;
                guard.guard.stmt = span;
                guard
            }
            _ => return None,
        };
        guard.guard.work = super::branch_work::branch_work(rest);
        Some(guard)
    }

    /// A test that the state is already present (`k in D`, `X is not None`, `X`,
    /// `D.get(k) is not None`), as the guard its negation would be.
    pub(super) fn present_test(
        &self,
        test: &'a Expr,
        earlier: &'a [Stmt],
        span: TextRange,
    ) -> Option<ActiveGuard<'a>> {
        let make = |kind, key, item: Option<String>| ActiveGuard {
            key,
            item,
            guard: Guard {
                kind,
                check: test.range(),
                stmt: span,
                locks: self.locks_now(),
                work: BranchWork::Effects,
                rejects: false,
            },
        };
        match test {
            Expr::BoolOp(ast::ExprBoolOp {
                op: ast::BoolOp::And,
                values,
                ..
            }) => {
                // `if self._lazy and k in self._cache: return …`: the membership test is the
                // check the store after it depends on, whatever flag comes with it.
                let (compares, others): (Vec<&Expr>, Vec<&Expr>) =
                    values.iter().partition(|value| value.is_compare_expr());
                compares
                    .into_iter()
                    .chain(others)
                    .find_map(|value| self.present_test(value, earlier, span))
            }
            Expr::Compare(ast::ExprCompare {
                left,
                ops,
                comparators,
                ..
            }) if ops.len() == 1 => {
                let right = &comparators[0];
                match ops[0] {
                    CmpOp::In => {
                        let key = self.membership_state(right)?;
                        Some(make(
                            GuardKind::NotIn,
                            key,
                            Some(self.text(left.range()).to_string()),
                        ))
                    }
                    CmpOp::IsNot if right.is_none_literal_expr() => {
                        if let Some((key, item)) = self.get_call(left) {
                            return Some(make(GuardKind::GetIsNone, key, Some(item)));
                        }
                        let key = self.lazy_state(left)?;
                        Some(make(GuardKind::NoneCheck, key, None))
                    }
                    _ => None,
                }
            }
            Expr::Name(_) | Expr::Attribute(_) => {
                let key = self.lazy_state(test).or_else(|| {
                    let Expr::Name(name) = test else { return None };
                    self.lazy_state(local_copy_source(name.id.as_str(), earlier)?)
                })?;
                Some(make(GuardKind::NoneCheck, key, None))
            }
            _ => None,
        }
    }

    /// Whether a test reads shared state (`k in D`, `D.get(k) is not None`, `X is not None`,
    /// `not X`): a re-check of it under a lock makes the act after it double-checked locking.
    pub(super) fn tests_shared_state(&self, test: &'a Expr) -> bool {
        match test {
            Expr::BoolOp(ast::ExprBoolOp { values, .. }) => {
                values.iter().any(|value| self.tests_shared_state(value))
            }
            Expr::UnaryOp(ast::ExprUnaryOp { operand, .. }) => self.tests_shared_state(operand),
            Expr::Compare(ast::ExprCompare {
                left, comparators, ..
            }) => std::iter::once(&**left)
                .chain(comparators.iter())
                .any(|side| self.state_key_of(side).is_some() || self.get_call(side).is_some()),
            Expr::Name(_) | Expr::Attribute(_) => self.lazy_state(test).is_some(),
            _ => false,
        }
    }

    /// Whether a test reads a local name last assigned, earlier in the same suite, from shared
    /// state: `complete = cls.complete` … `if complete and not force: return`.
    pub(super) fn tests_local_copy_of_state(&self, test: &'a Expr, earlier: &'a [Stmt]) -> bool {
        let mut names = Vec::new();
        collect_tested_names(test, &mut names);
        names.iter().any(|name| {
            local_copy_source(name, earlier).is_some_and(|value| {
                self.tests_shared_state(value) || self.state_key_of(value).is_some()
            })
        })
    }

    /// `hasattr(owner, "attr")`: the state `owner.attr` when it is shared (another module's
    /// name, a function's attribute used as a cache, a class attribute).
    fn hasattr_state(&self, expr: &'a Expr) -> Option<StateKey<'a>> {
        let Expr::Call(ast::ExprCall {
            func, arguments, ..
        }) = expr
        else {
            return None;
        };
        if !matches!(&**func, Expr::Name(name) if name.id.as_str() == "hasattr") {
            return None;
        }
        let [Expr::Name(owner), Expr::StringLiteral(attr)] = arguments.args.as_ref() else {
            return None;
        };
        let owner = owner.id.as_str();
        let attr = attr.value.to_str();
        self.module_class(owner)
            .map(|class| StateKey::ClassAttr(class, attr))
            .or_else(|| self.object_attribute(owner, attr))
    }

    /// `D.get(k)` on a module-level or class-level mapping: the mapping and `k`.
    fn get_call(&self, expr: &'a Expr) -> Option<(StateKey<'a>, String)> {
        let Expr::Call(ast::ExprCall {
            func, arguments, ..
        }) = expr
        else {
            return None;
        };
        let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &**func else {
            return None;
        };
        if attr.as_str() != "get" || arguments.args.is_empty() {
            return None;
        }
        let key = self.state_key_of(value)?;
        if matches!(key, StateKey::InstanceAttr(..)) {
            return None;
        }
        Some((key, self.text(arguments.args[0].range()).to_string()))
    }

    /// State that a lazy initialisation checks: a `global` name, a class attribute, or an
    /// attribute of the object (`if self._loop is None:`, which NG104 leaves alone but which
    /// tells NG107 and NG108 that a locked write is a check-then-set).
    fn lazy_state(&self, expr: &'a Expr) -> Option<StateKey<'a>> {
        match expr {
            // `global X` or `nonlocal x`: a name the function rebinds.
            Expr::Name(ast::ExprName { id, .. }) => self.rebind_key(id.as_str()),
            Expr::Attribute(_) => match self.state_key_of(expr)? {
                key @ (StateKey::ClassAttr(..)
                | StateKey::InstanceAttr(..)
                | StateKey::ObjectAttr(..)) => Some(key),
                _ => None,
            },
            _ => None,
        }
    }

    /// `try: … D[k] … except KeyError:` — the mapping and key looked up in the `try` body.
    pub(super) fn try_lookup_guard(&self, stmt: &'a ast::StmtTry) -> Option<ActiveGuard<'a>> {
        let catches_key_error = stmt.handlers.iter().any(|handler| {
            let ast::ExceptHandler::ExceptHandler(handler) = handler;
            handler.type_.as_deref().is_some_and(|type_| {
                let names: Vec<&Expr> = match type_ {
                    Expr::Tuple(tuple) => tuple.elts.iter().collect(),
                    other => vec![other],
                };
                names.iter().any(|name| {
                    matches!(
                        self.qualified_name(name).as_deref(),
                        Some("builtins.KeyError" | "builtins.LookupError")
                    )
                })
            })
        });
        if !catches_key_error {
            return None;
        }
        let mut found = None;
        let mut lookup_locks = self.locks_now();
        for body_stmt in stmt.body.iter().take(3) {
            let mut finder = SubscriptLoadFinder::default();
            finder.visit_stmt(body_stmt);
            for subscript in finder.found {
                if let Some(key) = self.state_key_of(&subscript.value) {
                    if matches!(key, StateKey::InstanceAttr(..)) {
                        continue;
                    }
                    found = Some((key, subscript));
                    break;
                }
            }
            if found.is_some() {
                // `try: with lock: value = D[k]`: the lookup holds the lock.
                if let ast::Stmt::With(with) = body_stmt {
                    for item in &with.items {
                        if let Some(lock) = self.lock_key(&item.context_expr)
                            && !lookup_locks.contains(&lock)
                        {
                            lookup_locks.push(lock);
                        }
                    }
                }
                break;
            }
        }
        let (key, subscript) = found?;
        Some(ActiveGuard {
            key,
            item: Some(self.text(subscript.slice.range()).to_string()),
            guard: Guard {
                kind: GuardKind::TryKeyError,
                check: subscript.range,
                stmt: stmt.range,
                locks: lookup_locks,
                work: BranchWork::Effects,
                rejects: false,
            },
        })
    }
}

/// `"NAME" not in globals()`: lazy initialization of a global by its name.
fn global_name_check<'a>(left: &'a Expr, right: &'a Expr) -> Option<&'a str> {
    let Expr::Call(ast::ExprCall {
        func, arguments, ..
    }) = right
    else {
        return None;
    };
    let calls_globals = matches!(&**func, Expr::Name(name) if name.id.as_str() == "globals")
        && arguments.is_empty();
    match left {
        Expr::StringLiteral(literal) if calls_globals => Some(literal.value.to_str()),
        _ => None,
    }
}

/// The bare names a test reads: `a`, `not a`, `a and not b`, `a is None`.
fn collect_tested_names<'a>(test: &'a Expr, names: &mut Vec<&'a str>) {
    match test {
        Expr::Name(name) => names.push(name.id.as_str()),
        Expr::BoolOp(ast::ExprBoolOp { values, .. }) => {
            for value in values {
                collect_tested_names(value, names);
            }
        }
        Expr::UnaryOp(ast::ExprUnaryOp { operand, .. }) => collect_tested_names(operand, names),
        Expr::Compare(ast::ExprCompare { left, .. }) => collect_tested_names(left, names),
        _ => {}
    }
}

/// The value a local name was last given by a plain assignment among `earlier` statements.
fn local_copy_source<'a>(name: &str, earlier: &'a [Stmt]) -> Option<&'a Expr> {
    earlier.iter().rev().find_map(|stmt| match stmt {
        Stmt::Assign(ast::StmtAssign { targets, value, .. })
            if matches!(targets.as_slice(), [Expr::Name(target)] if target.id.as_str() == name) =>
        {
            Some(&**value)
        }
        _ => None,
    })
}
