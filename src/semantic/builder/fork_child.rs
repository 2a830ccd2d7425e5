//! Code that runs in the child of `pid = os.fork()`: the body of `if pid == 0:`, or the rest
//! of the suite after `if pid != 0: … return` (or `if os.fork(): return`). Only the forking
//! thread exists in the child, so what it does to the state it inherited races with nothing.

use ruff_python_ast::{self as ast, Expr, Stmt, UnaryOp};
use ruff_text_size::TextRange;

use super::Builder;
use super::syntax::suite_range;
use crate::semantic::{CallSite, FunctionId};

/// Which branch of an `if` on a fork's result runs in the child.
enum ForkTest {
    /// `pid == 0`, `not pid`: the body.
    ChildInBody,
    /// `pid != 0`, `pid > 0`, `pid`: the `else`, and after a body that leaves, the rest.
    ParentInBody,
}

impl<'a> Builder<'a> {
    /// `Process(target=work, …)` (`multiprocessing`, a context's or a wrapper's `Process`):
    /// `work` is the main of a child process, where it runs on that process's only thread.
    pub(super) fn record_process_main(&mut self, call: &'a ast::ExprCall) {
        let last_name = match &*call.func {
            Expr::Name(name) => name.id.as_str(),
            Expr::Attribute(attribute) => attribute.attr.as_str(),
            _ => return,
        };
        if last_name != "Process" {
            return;
        }
        for keyword in &call.arguments.keywords {
            if keyword
                .arg
                .as_ref()
                .is_some_and(|arg| arg.as_str() == "target")
                && self.may_denote_function(&keyword.value)
            {
                let reference = self.pending_ref(&keyword.value);
                self.process_mains.push(reference);
            }
        }
    }

    /// Functions that run only in a child process, on its only thread: the mains of
    /// `Process(target=…)`, and functions every call of which is in a fork's child
    /// (`if pid == 0: _reseed_random()`). Like import-time code, they race with nothing.
    pub(super) fn child_process_functions(
        &self,
        call_sites: &[CallSite],
        fork_child_ranges: &[TextRange],
    ) -> Vec<bool> {
        let mut in_child = vec![false; self.functions.len()];
        // Most modules fork nothing.
        if fork_child_ranges.is_empty() && self.process_mains.is_empty() {
            return in_child;
        }
        let mut called_elsewhere: Vec<bool> = vec![false; self.functions.len()];
        let mut called_in_child: Vec<FunctionId> = Vec::new();
        for site in call_sites {
            if fork_child_ranges
                .iter()
                .any(|child| child.contains_range(site.range))
            {
                called_in_child.push(site.callee);
            } else {
                called_elsewhere[site.callee] = true;
            }
        }
        for callee in called_in_child {
            if !called_elsewhere[callee] && !self.functions[callee].escapes {
                in_child[callee] = true;
            }
        }
        // A process's main that this module also calls directly runs here too.
        for reference in &self.process_mains {
            if let Some(function) = self.resolve(reference)
                && !called_elsewhere[function]
            {
                in_child[function] = true;
            }
        }
        in_child
    }

    /// `pid = os.fork()` in a function: remembers `pid` as the fork's result there.
    pub(super) fn record_fork_result(&mut self, target: &'a Expr, value: &'a Expr) {
        if let (Expr::Name(name), Expr::Call(call), Some(function)) =
            (target, value, self.current_function())
            && self.is_fork_call(call)
        {
            self.fork_results.insert((function, name.id.as_str()));
        }
    }

    /// Records the child's code when an `if` (followed in its suite by `rest`) branches on the
    /// result of a fork.
    pub(super) fn record_fork_child(&mut self, branch: &'a ast::StmtIf, rest: &'a [Stmt]) {
        let ast::StmtIf {
            test,
            body,
            elif_else_clauses,
            ..
        } = branch;
        let Some(test) = self.fork_test(test) else {
            return;
        };
        let else_body = elif_else_clauses
            .iter()
            .find(|clause| clause.test.is_none())
            .map(|clause| clause.body.as_slice());
        match test {
            ForkTest::ChildInBody => self.fork_child_ranges.push(suite_range(body)),
            ForkTest::ParentInBody => {
                if let Some(else_body) = else_body {
                    self.fork_child_ranges.push(suite_range(else_body));
                }
                if body.last().is_some_and(|last| self.leaves(last)) && !rest.is_empty() {
                    self.fork_child_ranges.push(suite_range(rest));
                }
            }
        }
    }

    /// A statement after which the suite does not go on: `return`, `raise`, `os._exit(…)`,
    /// `sys.exit(…)`.
    fn leaves(&self, stmt: &Stmt) -> bool {
        match stmt {
            Stmt::Return(_) | Stmt::Raise(_) => true,
            Stmt::Expr(ast::StmtExpr { value, .. }) => matches!(&**value,
                Expr::Call(ast::ExprCall { func, .. })
                    if matches!(self.qualified_name(func).as_deref(),
                        Some("os._exit" | "sys.exit" | "builtins.exit"))),
            _ => false,
        }
    }

    /// `os.fork()` (the name filter first: most calls are not named `fork`).
    fn is_fork_call(&self, call: &ast::ExprCall) -> bool {
        self.callee_ends_with(call, "fork")
            && self.qualified_name(&call.func).as_deref() == Some("os.fork")
    }

    fn fork_test(&self, test: &Expr) -> Option<ForkTest> {
        let function = self.current_function()?;
        // `pid` bound to `os.fork()` earlier, or the call itself (`if os.fork(): return`, the
        // daemon's double fork).
        let is_result = |expr: &Expr| match expr {
            Expr::Name(name) => self.fork_results.contains(&(function, name.id.as_str())),
            Expr::Call(call) => call.arguments.is_empty() && self.is_fork_call(call),
            _ => false,
        };
        let is_zero = |expr: &Expr| {
            matches!(expr, Expr::NumberLiteral(ast::ExprNumberLiteral {
                value: ast::Number::Int(value), ..
            }) if value.as_u8() == Some(0))
        };
        match test {
            Expr::Name(_) | Expr::Call(_) if is_result(test) => Some(ForkTest::ParentInBody),
            Expr::UnaryOp(ast::ExprUnaryOp {
                op: UnaryOp::Not,
                operand,
                ..
            }) if is_result(operand) => Some(ForkTest::ChildInBody),
            Expr::Compare(ast::ExprCompare {
                left,
                ops,
                comparators,
                ..
            }) if ops.len() == 1 && comparators.len() == 1 => {
                let (left, right) = (&**left, &comparators[0]);
                let result_against_zero =
                    (is_result(left) && is_zero(right)) || (is_zero(left) && is_result(right));
                if !result_against_zero {
                    return None;
                }
                match ops[0] {
                    ast::CmpOp::Eq => Some(ForkTest::ChildInBody),
                    ast::CmpOp::NotEq => Some(ForkTest::ParentInBody),
                    ast::CmpOp::Gt if is_result(left) => Some(ForkTest::ParentInBody),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}
