//! Code only the main thread runs: the body of `if threading.current_thread() is
//! threading.main_thread():` (alone or as one condition of an `and`), and the rest of the
//! suite after `if current_thread() is not main_thread(): return`. One thread runs it, so a
//! check-then-act or read-modify-write there cannot interleave with itself.

use ruff_python_ast::{self as ast, BoolOp, CmpOp, Expr, Stmt};

use super::Builder;
use super::syntax::ends_leaving_suite;
use super::syntax::suite_range;

impl<'a> Builder<'a> {
    /// Records the main-thread-only code when an `if` (followed in its suite by `rest`) tests
    /// whether the current thread is the main thread.
    pub(super) fn record_main_thread_branch(&mut self, branch: &'a ast::StmtIf, rest: &'a [Stmt]) {
        let ast::StmtIf {
            test,
            body,
            elif_else_clauses,
            ..
        } = branch;
        if self.current_function().is_none() {
            return;
        }
        match self.main_thread_test(test) {
            Some(true) => self.main_thread_ranges.push(suite_range(body)),
            Some(false)
                if elif_else_clauses.is_empty() && ends_leaving_suite(body) && !rest.is_empty() =>
            {
                self.main_thread_ranges.push(suite_range(rest));
            }
            _ => {}
        }
    }

    /// `Some(true)` when the test holds only on the main thread (`current_thread() is
    /// main_thread()`, or an `and` with such a condition); `Some(false)` when it holds on every
    /// other thread (`is not`, `!=`).
    fn main_thread_test(&self, test: &Expr) -> Option<bool> {
        match test {
            Expr::BoolOp(ast::ExprBoolOp {
                op: BoolOp::And,
                values,
                ..
            }) => values
                .iter()
                .any(|value| self.main_thread_test(value) == Some(true))
                .then_some(true),
            Expr::Compare(ast::ExprCompare {
                left,
                ops,
                comparators,
                ..
            }) if ops.len() == 1 && comparators.len() == 1 => {
                let sides = [&**left, &comparators[0]];
                let current = sides.iter().any(|side| self.calls(side, "current_thread"));
                let main = sides.iter().any(|side| self.calls(side, "main_thread"));
                if !(current && main) {
                    return None;
                }
                match ops[0] {
                    CmpOp::Is | CmpOp::Eq => Some(true),
                    CmpOp::IsNot | CmpOp::NotEq => Some(false),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Whether `expr` calls `threading.<name>()`.
    fn calls(&self, expr: &Expr, name: &str) -> bool {
        let Expr::Call(call) = expr else {
            return false;
        };
        self.qualified_name(&call.func)
            .is_some_and(|qualified| qualified == format!("threading.{name}"))
    }
}
