//! What the branch a check guards does besides its store: whether running it twice (two
//! threads both past the check) only stores twice, also reports twice, or repeats work with
//! effects of its own.

use ruff_python_ast::comparable::ComparableExpr;
use ruff_python_ast::{self as ast, Expr, Stmt};

use crate::semantic::BranchWork;

/// Classifies a guarded branch. Assignments, `return`, `pass`, imports and loops or tests that
/// only fill locals the branch made compute and store; a log or warning call only reports;
/// any other statement (a call for its effect, a store that wraps what is already there) is
/// work that would run twice.
pub(super) fn branch_work(body: &[Stmt]) -> BranchWork {
    let mut walk = BranchWalk::default();
    if !walk.stores_only(body) {
        BranchWork::Effects
    } else if walk.reports {
        // A warn-once flag stores constants; a branch that also computes values through calls
        // and reports on them (`configured = cls._cli(opts)`, `logger.info("configured")`) is
        // a procedure whose calls may do anything.
        if walk.computes_by_call {
            BranchWork::Effects
        } else {
            BranchWork::StoresAndReports
        }
    } else {
        BranchWork::Stores
    }
}

#[derive(Default)]
struct BranchWalk<'a> {
    /// The names the branch has assigned so far: a loop that only fills such a scratch local
    /// (`rules = []`, `for …: rules.append(r)`) computes the value to store, as an assignment
    /// does.
    scratch: Vec<&'a str>,
    /// Attributes and items the branch has read into a name (`saved = mod.f`).
    saved: Vec<&'a Expr>,
    /// A log or warning call was seen.
    reports: bool,
    /// An assigned value calls something.
    computes_by_call: bool,
}

impl<'a> BranchWalk<'a> {
    fn stores_only(&mut self, body: &'a [Stmt]) -> bool {
        body.iter().all(|stmt| self.stores(stmt))
    }

    fn stores(&mut self, stmt: &'a Stmt) -> bool {
        match stmt {
            Stmt::Assign(assign) => {
                // `Template.render = wrap(Template.render)` wraps what is there, and
                // `saved = mod.f` then `mod.f = wrapper` replaces what was saved: run twice,
                // the second run wraps the wrapper (or saves it as the original).
                let wraps = |target: &Expr| {
                    !target.is_name_expr()
                        && (mentions(&assign.value, target)
                            || self.saved.iter().any(|saved| {
                                ComparableExpr::from(*saved) == ComparableExpr::from(target)
                            }))
                };
                if assign.targets.iter().any(wraps) {
                    return false;
                }
                if matches!(&*assign.value, Expr::Attribute(_) | Expr::Subscript(_)) {
                    self.saved.push(&assign.value);
                }
                self.computes_by_call |= contains_call(&assign.value);
                self.scratch
                    .extend(assign.targets.iter().filter_map(|target| match target {
                        Expr::Name(name) => Some(name.id.as_str()),
                        _ => None,
                    }));
                true
            }
            Stmt::AnnAssign(assign) => {
                self.computes_by_call |= assign.value.as_deref().is_some_and(contains_call);
                true
            }
            Stmt::Return(_) | Stmt::Pass(_) | Stmt::Continue(_) => true,
            // `with lock: D[k] = value` stores under a lock: still only a store.
            Stmt::With(with) => self.stores_only(&with.body),
            // Importing twice gives the same module: `try: import x … except ImportError: …`.
            Stmt::Import(_) | Stmt::ImportFrom(_) => true,
            Stmt::Try(try_stmt) => {
                self.stores_only(&try_stmt.body)
                    && self.stores_only(&try_stmt.orelse)
                    && self.stores_only(&try_stmt.finalbody)
                    && try_stmt.handlers.iter().all(|handler| {
                        let ast::ExceptHandler::ExceptHandler(handler) = handler;
                        self.stores_only(&handler.body)
                    })
            }
            // Loops and tests that only build scratch locals.
            Stmt::For(for_stmt) => {
                if let Expr::Name(name) = &*for_stmt.target {
                    self.scratch.push(name.id.as_str());
                }
                self.stores_only(&for_stmt.body) && self.stores_only(&for_stmt.orelse)
            }
            Stmt::If(if_stmt) => {
                self.stores_only(&if_stmt.body)
                    && if_stmt
                        .elif_else_clauses
                        .iter()
                        .all(|clause| self.stores_only(&clause.body))
            }
            Stmt::Expr(ast::StmtExpr { value, .. }) => {
                let Expr::Call(call) = &**value else {
                    return false;
                };
                // `rules.append(r)` on a list the branch made.
                if let Expr::Attribute(attribute) = &*call.func
                    && let Expr::Name(receiver) = &*attribute.value
                    && self.scratch.contains(&receiver.id.as_str())
                    && crate::semantic::values::is_mutating_method(attribute.attr.as_str())
                {
                    return true;
                }
                if is_report(&call.func) {
                    self.reports = true;
                    return true;
                }
                false
            }
            _ => false,
        }
    }
}

/// `warnings.warn(…)`, `logger.warning(…)`, `self.log.info(…)`, `logging.debug(…)`, `print(…)`:
/// a message for a person, whose only effect when repeated is the message twice.
fn is_report(func: &Expr) -> bool {
    match func {
        Expr::Name(name) => name.id.as_str() == "print",
        Expr::Attribute(ast::ExprAttribute { value, attr, .. }) => {
            let receiver = match &**value {
                Expr::Name(name) => name.id.as_str(),
                Expr::Attribute(attribute) => attribute.attr.as_str(),
                _ => return false,
            };
            match attr.as_str() {
                "warn" if receiver == "warnings" => true,
                "debug" | "info" | "warning" | "warn" | "error" | "exception" | "critical"
                | "log" => {
                    let receiver = receiver.trim_start_matches('_').to_ascii_lowercase();
                    receiver == "logging"
                        || receiver.starts_with("log")
                        || receiver.ends_with("logger")
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether `expr` calls something.
fn contains_call(expr: &Expr) -> bool {
    ruff_python_ast::helpers::any_over_expr(expr, &|expr: &Expr| expr.is_call_expr())
}

/// Whether `expr` is `target` or contains it.
fn mentions(expr: &Expr, target: &Expr) -> bool {
    struct Finder<'t> {
        target: ComparableExpr<'t>,
        found: bool,
    }
    impl<'e> ruff_python_ast::visitor::Visitor<'e> for Finder<'_> {
        fn visit_expr(&mut self, expr: &'e Expr) {
            if self.found {
                return;
            }
            if ComparableExpr::from(expr) == self.target {
                self.found = true;
                return;
            }
            ruff_python_ast::visitor::walk_expr(self, expr);
        }
    }
    let mut finder = Finder {
        target: ComparableExpr::from(target),
        found: false,
    };
    ruff_python_ast::visitor::Visitor::visit_expr(&mut finder, expr);
    finder.found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(source: &str) -> BranchWork {
        let parsed = ruff_python_parser::parse_module(source).expect("valid test source");
        branch_work(&parsed.syntax().body)
    }

    #[test]
    fn stores_reports_and_effects() {
        assert_eq!(work("X = make()\n"), BranchWork::Stores);
        assert_eq!(
            work("rules = []\nfor r in src:\n    rules.append(r)\nX = rules\n"),
            BranchWork::Stores
        );
        assert_eq!(
            work("X = True\nwarnings.warn('old', DeprecationWarning)\n"),
            BranchWork::StoresAndReports
        );
        assert_eq!(
            work("_logger.warning('once %s', m)\nSENT = True\n"),
            BranchWork::StoresAndReports
        );
        assert_eq!(
            work(
                "try:\n    import x\n    X = x\nexcept ImportError:\n    self.log.exception('x')\n"
            ),
            BranchWork::StoresAndReports
        );
        assert_eq!(work("setup_logging(s)\nDONE = True\n"), BranchWork::Effects);
        // Reports about what calls did: a procedure, not a warn-once flag.
        assert_eq!(
            work("DONE = True\nok = cls._cli(opts)\nif ok:\n    logger.info('via cli')\n"),
            BranchWork::Effects
        );
        assert_eq!(
            work("root.addHandler(h)\nlogger.info('x')\n"),
            BranchWork::Effects
        );
        // Wrapping what is there: twice wraps twice.
        assert_eq!(
            work("Template.render = wrap(Template.render)\nPATCHED = True\n"),
            BranchWork::Effects
        );
        assert_eq!(
            work("_orig = sqlite.Binary\nsqlite.Binary = lambda s: _orig(enc(s))\n"),
            BranchWork::Effects
        );
        // A catalog or a dialog is not a logger.
        assert_eq!(work("catalog.info('x')\n"), BranchWork::Effects);
    }
}
