//! Code that never runs on the target interpreter: the body of `if sys.version_info < (3, 8):`
//! (or `if sys.version_info[0] == 2:`, `if six.PY2:`), and the `else` of
//! `if sys.version_info >= (3, 8):`. Compatibility branches for old Pythons are no race on a
//! free-threaded 3.13 or 3.14.

use ruff_python_ast::{self as ast, CmpOp, Expr, Number};
use ruff_text_size::{Ranged, TextRange};

use super::Builder;

impl Builder<'_> {
    /// The part of an `if` statement that the target never runs, if any.
    pub(super) fn dead_on_target(&self, stmt: &ast::StmtIf) -> Option<TextRange> {
        let target = match self.options.target_version {
            crate::data::TargetVersion::Py313t => (3, 13),
            crate::data::TargetVersion::Py314t => (3, 14),
        };
        let suite_range = |suite: &[ast::Stmt]| {
            let first = suite.first()?;
            let last = suite.last()?;
            Some(TextRange::new(first.start(), last.end()))
        };
        match self.version_test(&stmt.test)? {
            // `if sys.version_info < (3, 8):` on a target at or above 3.8.
            VersionTest::Below(version) if target >= version => suite_range(&stmt.body),
            // `if sys.version_info >= (3, 8): … else: …`: the `else` is for older Pythons.
            VersionTest::AtLeast(version) if target >= version => match &*stmt.elif_else_clauses {
                [clause] if clause.test.is_none() => suite_range(&clause.body),
                _ => None,
            },
            _ => None,
        }
    }

    fn version_test(&self, test: &Expr) -> Option<VersionTest> {
        // `six.PY2`, `PY2` imported from six.
        if self.qualified_name(test).as_deref() == Some("six.PY2") {
            return Some(VersionTest::Below((3, 0)));
        }
        let Expr::Compare(ast::ExprCompare {
            left,
            ops,
            comparators,
            ..
        }) = test
        else {
            return None;
        };
        let ([op], [right]) = (&**ops, &**comparators) else {
            return None;
        };
        // `sys.version_info[0]` / `sys.version_info.major` compared with a number.
        let major_of_version = match &**left {
            Expr::Subscript(ast::ExprSubscript { value, slice, .. }) => {
                self.is_version_info(value) && int_literal(slice) == Some(0)
            }
            Expr::Attribute(ast::ExprAttribute { value, attr, .. }) => {
                self.is_version_info(value) && attr.as_str() == "major"
            }
            _ => false,
        };
        if major_of_version {
            let major = int_literal(right)?;
            return match op {
                CmpOp::Lt => Some(VersionTest::Below((major, 0))),
                CmpOp::Eq if major < 3 => Some(VersionTest::Below((3, 0))),
                CmpOp::GtE => Some(VersionTest::AtLeast((major, 0))),
                _ => None,
            };
        }
        // `sys.version_info < (3, 8)`, also `sys.version_info[:2] < (3, 8)`.
        let whole = match &**left {
            Expr::Subscript(ast::ExprSubscript { value, slice, .. }) => {
                self.is_version_info(value) && matches!(&**slice, Expr::Slice(_))
            }
            other => self.is_version_info(other),
        };
        if !whole {
            return None;
        }
        let Expr::Tuple(ast::ExprTuple { elts, .. }) = right else {
            return None;
        };
        let major = int_literal(elts.first()?)?;
        let minor = elts.get(1).map_or(Some(0), int_literal)?;
        match op {
            CmpOp::Lt => Some(VersionTest::Below((major, minor))),
            CmpOp::GtE => Some(VersionTest::AtLeast((major, minor))),
            _ => None,
        }
    }

    fn is_version_info(&self, expr: &Expr) -> bool {
        self.qualified_name(expr).as_deref() == Some("sys.version_info")
    }
}

enum VersionTest {
    /// The test holds on Pythons below this version.
    Below((u32, u32)),
    /// The test holds on this version and later.
    AtLeast((u32, u32)),
}

fn int_literal(expr: &Expr) -> Option<u32> {
    match expr {
        Expr::NumberLiteral(ast::ExprNumberLiteral {
            value: Number::Int(value),
            ..
        }) => value.as_u16().map(u32::from),
        _ => None,
    }
}
