//! Evictions: removals from a container that depend on a check of its size or emptiness
//! (`if len(C) > N: C.popitem(last=False)`, `while C: C.popitem()`), or on a `move_to_end`
//! earlier in the function (`C.move_to_end(k)` … `C.popitem()`), recorded as [`Eviction`]s.

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::Builder;
use crate::semantic::values::ValueKind;
use crate::semantic::{
    AccessKind, AccessTarget, Eviction, EvictionTrigger, LockKey, Removal, StateKey,
};

/// An `if` or `while` test of a container's size or emptiness whose body is being walked.
#[derive(Debug, Clone)]
pub(super) struct ActiveSizeCheck<'a> {
    key: StateKey<'a>,
    trigger: EvictionTrigger,
    check: TextRange,
    stmt: TextRange,
    locks: Vec<LockKey>,
}

/// The last `move_to_end` on a container in a function: the call, its statement, the locks
/// held, and which end it moved the entry to (`last=True` by default).
#[derive(Debug, Clone)]
pub(super) struct MoveToEnd {
    call: TextRange,
    stmt: TextRange,
    locks: Vec<LockKey>,
    last: Option<bool>,
}

impl<'a> Builder<'a> {
    /// The size or emptiness check an `if`/`while` test makes on shared state, if any:
    /// `len(C) > N` (either side, also inside `and`/`or`), `C`, `len(C)`.
    pub(super) fn size_check_for_test(
        &self,
        test: &'a Expr,
        stmt: TextRange,
    ) -> Option<ActiveSizeCheck<'a>> {
        self.current_function()?;
        let (key, trigger) = self.size_test(test)?;
        Some(ActiveSizeCheck {
            key,
            trigger,
            check: test.range(),
            stmt,
            locks: self.locks_now(),
        })
    }

    /// `if not C: continue` (or `break`, `return`, `raise`) inside a lock: the rest of the
    /// suite runs only when `C` is not empty, as if inside `if C:`. Only a re-check under a
    /// lock matters here (it protects the pop after it); outside a lock it is only a test.
    pub(super) fn early_exit_size_check(
        &self,
        stmt: &'a Stmt,
        rest: &'a [Stmt],
    ) -> Option<ActiveSizeCheck<'a>> {
        let Stmt::If(ast::StmtIf {
            test,
            body,
            elif_else_clauses,
            ..
        }) = stmt
        else {
            return None;
        };
        if !super::syntax::ends_leaving_suite(body) || !elif_else_clauses.is_empty() {
            return None;
        }
        let Expr::UnaryOp(ast::ExprUnaryOp {
            op: ast::UnaryOp::Not,
            operand,
            ..
        }) = &**test
        else {
            return None;
        };
        let end = rest.last().map_or(stmt.end(), Ranged::end);
        let check = self.size_check_for_test(operand, TextRange::new(stmt.start(), end))?;
        (!check.locks.is_empty()).then_some(check)
    }

    fn size_test(&self, test: &'a Expr) -> Option<(StateKey<'a>, EvictionTrigger)> {
        match test {
            Expr::BoolOp(ast::ExprBoolOp { values, .. }) => values
                .iter()
                .find_map(|value| super::visitor::with_stack(|| self.size_test(value))),
            Expr::Compare(ast::ExprCompare {
                left, comparators, ..
            }) => std::iter::once(&**left)
                .chain(comparators.iter())
                .find_map(|operand| self.length_of(operand))
                .map(|key| (key, EvictionTrigger::SizeCheck)),
            Expr::Call(_) => self
                .length_of(test)
                .map(|key| (key, EvictionTrigger::Emptiness)),
            Expr::Name(_) | Expr::Attribute(_) => {
                let key = self.state_key_of(test)?;
                matches!(self.state_value_kind(key), Some(ValueKind::Container(_)))
                    .then_some((key, EvictionTrigger::Emptiness))
            }
            _ => None,
        }
    }

    /// `len(C)` of shared state `C`.
    fn length_of(&self, expr: &'a Expr) -> Option<StateKey<'a>> {
        let Expr::Call(ast::ExprCall {
            func, arguments, ..
        }) = expr
        else {
            return None;
        };
        let Expr::Name(name) = &**func else {
            return None;
        };
        let [argument] = &*arguments.args else {
            return None;
        };
        let id = name.id.as_str();
        if id != "len"
            || self.imports.contains_key(id)
            || self.bindings.contains_key(id)
            || self.is_enclosing_local(id)
        {
            return None;
        }
        self.state_key_of(argument)
    }

    pub(super) fn push_size_check(&mut self, check: ActiveSizeCheck<'a>) {
        self.size_checks.push(check);
    }

    pub(super) fn pop_size_check(&mut self) {
        self.size_checks.pop();
    }

    /// After the access at `index` was recorded for `call` (a mutating method call on the
    /// whole container) or for a `del C[k]` (no call): records it as an eviction when a size
    /// check of the same state guards it, or when it is a `popitem` taking the entry a
    /// `move_to_end` of this function just moved.
    pub(super) fn note_removal(&mut self, index: usize, call: Option<&'a ast::ExprCall>) {
        let access = &self.accesses[index];
        let (key, function) = (access.key, access.function);
        let method = match (access.kind, &access.target) {
            (AccessKind::MutatingCall(method), AccessTarget::Whole) => method,
            (AccessKind::Delete, AccessTarget::Item(_)) => "del",
            _ => return,
        };
        if method == "move_to_end" {
            if let Some(call) = call {
                let moved = MoveToEnd {
                    call: call.range(),
                    stmt: self.current_stmt,
                    locks: self.locks_now(),
                    last: end_argument(call, 1),
                };
                self.moved_to_end.insert((function, key), moved);
            }
            return;
        }
        let removal = match (method, call) {
            ("popitem", _) => Removal::PopItem,
            ("popleft", _) => Removal::PopEnd,
            ("pop", Some(call)) => match call.arguments.args.len() {
                0 => Removal::PopEnd,
                // `L.pop(0)` on a list used as a queue.
                1 if call.arguments.args[0].is_number_literal_expr() => Removal::PopEnd,
                1 => Removal::PopKey { default: false },
                _ => Removal::PopKey { default: true },
            },
            ("del", _) => Removal::Delete,
            _ => return,
        };
        // The error the removal raises when the entry is gone: `IndexError` from a list's or
        // deque's `pop()`/`popleft()`, `KeyError` from the rest (and from a set's `pop()`).
        let handled =
            self.caught_lookup_errors
                .iter()
                .any(|&(key_error, index_error)| match removal {
                    Removal::PopEnd => index_error || key_error,
                    Removal::PopKey { default: true } => true,
                    _ => key_error,
                });
        let guarding = self.size_checks.iter().rev().find(|check| check.key == key);
        if let Some(check) = guarding {
            self.evictions.push(Eviction {
                trigger: check.trigger,
                check: check.check,
                check_locks: check.locks.clone(),
                stmt: check.stmt,
                access: index,
                removal,
                handled,
            });
            return;
        }
        // `C.move_to_end(k)` … `C.popitem()`: the pop takes the entry at the end it was moved
        // to, unless another thread moves or adds one there in between.
        if method == "popitem"
            && let Some(call) = call
            && let Some(moved) = self.moved_to_end.get(&(function, key))
            && moved.last.unwrap_or(true) == end_argument(call, 0).unwrap_or(true)
        {
            self.evictions.push(Eviction {
                trigger: EvictionTrigger::MoveToEnd,
                check: moved.call,
                check_locks: moved.locks.clone(),
                stmt: moved.stmt,
                access: index,
                removal,
                handled,
            });
        }
    }
}

/// The `last` argument of `move_to_end(key, last)` (`position` 1) or `popitem(last)`
/// (`position` 0), when it is written as a literal; `None` when it is left to its default.
fn end_argument(call: &ast::ExprCall, position: usize) -> Option<bool> {
    let value = call
        .arguments
        .find_keyword("last")
        .map(|keyword| &keyword.value)
        .or_else(|| call.arguments.args.get(position))?;
    match value {
        Expr::BooleanLiteral(literal) => Some(literal.value),
        // Unknown: treated as the default, which is the common case.
        _ => None,
    }
}
