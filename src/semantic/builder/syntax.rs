//! Syntax helpers that need no builder state: statement traversal, a function's scope
//! (`global`/`nonlocal` and local names), method receivers, small predicates on expressions, and
//! visitors that collect subscripts and callees.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, CmpOp, Expr, ExprContext, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::Receiver;
use super::visitor::with_stack;

/// Calls every statement of a suite, descending into compound statements but not into nested
/// functions or classes.
pub(super) fn for_each_statement<'a>(suite: &'a [Stmt], f: &mut impl FnMut(&'a Stmt)) {
    for stmt in suite {
        f(stmt);
        match stmt {
            Stmt::If(ast::StmtIf {
                body,
                elif_else_clauses,
                ..
            }) => {
                for_each_statement(body, f);
                for clause in elif_else_clauses {
                    for_each_statement(&clause.body, f);
                }
            }
            Stmt::For(ast::StmtFor { body, orelse, .. })
            | Stmt::While(ast::StmtWhile { body, orelse, .. }) => {
                for_each_statement(body, f);
                for_each_statement(orelse, f);
            }
            Stmt::With(ast::StmtWith { body, .. }) => for_each_statement(body, f),
            Stmt::Try(ast::StmtTry {
                body,
                handlers,
                orelse,
                finalbody,
                ..
            }) => {
                for_each_statement(body, f);
                for handler in handlers {
                    let ast::ExceptHandler::ExceptHandler(handler) = handler;
                    for_each_statement(&handler.body, f);
                }
                for_each_statement(orelse, f);
                for_each_statement(finalbody, f);
            }
            Stmt::Match(ast::StmtMatch { cases, .. }) => {
                for case in cases {
                    for_each_statement(&case.body, f);
                }
            }
            _ => {}
        }
    }
}

pub(super) struct Scope<'a> {
    pub(super) globals: Vec<&'a str>,
    pub(super) nonlocals: Vec<&'a str>,
    pub(super) locals: Vec<&'a str>,
}

/// The names a function declares `global`/`nonlocal` and the names it binds locally.
pub(super) fn scan_scope<'a>(def: &'a ast::StmtFunctionDef) -> Scope<'a> {
    let mut globals: Vec<&'a str> = Vec::new();
    let mut nonlocals: Vec<&'a str> = Vec::new();
    let mut bound: Vec<&'a str> = Vec::new();
    for parameter in def.parameters.iter() {
        bound.push(parameter.name().as_str());
    }
    fn bind_target<'a>(target: &'a Expr, bound: &mut Vec<&'a str>) {
        match target {
            Expr::Name(name) => bound.push(name.id.as_str()),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                for elt in elts {
                    bind_target(elt, bound);
                }
            }
            Expr::Starred(ast::ExprStarred { value, .. }) => bind_target(value, bound),
            _ => {}
        }
    }
    for_each_statement(&def.body, &mut |stmt| match stmt {
        Stmt::Global(ast::StmtGlobal { names, .. }) => {
            globals.extend(names.iter().map(|name| name.as_str()));
        }
        Stmt::Nonlocal(ast::StmtNonlocal { names, .. }) => {
            nonlocals.extend(names.iter().map(|name| name.as_str()));
        }
        Stmt::Assign(ast::StmtAssign { targets, .. }) => {
            for target in targets {
                bind_target(target, &mut bound);
            }
        }
        Stmt::AnnAssign(ast::StmtAnnAssign { target, .. })
        | Stmt::AugAssign(ast::StmtAugAssign { target, .. }) => bind_target(target, &mut bound),
        Stmt::For(ast::StmtFor { target, .. }) => bind_target(target, &mut bound),
        Stmt::With(ast::StmtWith { items, .. }) => {
            for item in items {
                if let Some(vars) = item.optional_vars.as_deref() {
                    bind_target(vars, &mut bound);
                }
            }
        }
        Stmt::Try(ast::StmtTry { handlers, .. }) => {
            for handler in handlers {
                let ast::ExceptHandler::ExceptHandler(handler) = handler;
                if let Some(name) = &handler.name {
                    bound.push(name.as_str());
                }
            }
        }
        Stmt::Import(ast::StmtImport { names, .. }) => {
            for alias in names {
                let local = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                bound.push(local.split('.').next().unwrap_or(local));
            }
        }
        Stmt::ImportFrom(ast::StmtImportFrom { names, .. }) => {
            for alias in names {
                bound.push(alias.asname.as_ref().unwrap_or(&alias.name).as_str());
            }
        }
        Stmt::FunctionDef(inner) => bound.push(inner.name.as_str()),
        Stmt::ClassDef(inner) => bound.push(inner.name.as_str()),
        Stmt::Delete(ast::StmtDelete { targets, .. }) => {
            for target in targets {
                bind_target(target, &mut bound);
            }
        }
        _ => {}
    });
    globals.sort_unstable();
    globals.dedup();
    nonlocals.sort_unstable();
    nonlocals.dedup();
    bound.sort_unstable();
    bound.dedup();
    bound.retain(|name| !globals.contains(name) && !nonlocals.contains(name));
    Scope {
        globals,
        nonlocals,
        locals: bound,
    }
}

/// The name through which a method reaches its instance (or class, for classmethods).
pub(super) fn method_receiver(
    def: &ast::StmtFunctionDef,
    qualified: impl Fn(&Expr) -> Option<String>,
) -> Option<(&str, Receiver)> {
    let mut receiver = Receiver::Instance;
    for decorator in &def.decorator_list {
        match qualified(&decorator.expression).as_deref() {
            Some("builtins.staticmethod") => return None,
            Some("builtins.classmethod") => receiver = Receiver::Class,
            _ => {}
        }
    }
    if matches!(
        def.name.as_str(),
        "__new__" | "__init_subclass__" | "__class_getitem__"
    ) {
        receiver = Receiver::Class;
    }
    let first = def
        .parameters
        .posonlyargs
        .first()
        .or_else(|| def.parameters.args.first())?;
    Some((first.parameter.name.as_str(), receiver))
}

pub(super) fn self_attribute<'a>(target: &'a Expr, self_name: &str) -> Option<&'a str> {
    let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = target else {
        return None;
    };
    match &**value {
        Expr::Name(name) if name.id.as_str() == self_name => Some(attr.as_str()),
        _ => None,
    }
}

pub(super) fn is_class_var(annotation: &Expr) -> bool {
    let head = match annotation {
        Expr::Subscript(ast::ExprSubscript { value, .. }) => &**value,
        other => other,
    };
    match head {
        Expr::Name(name) => name.id.as_str() == "ClassVar",
        Expr::Attribute(attribute) => attribute.attr.as_str() == "ClassVar",
        Expr::StringLiteral(string) => string.value.to_str().starts_with("ClassVar"),
        _ => false,
    }
}

/// `if __name__ == "__main__":`
pub(super) fn is_main_guard(test: &Expr) -> bool {
    let Expr::Compare(ast::ExprCompare {
        left,
        ops,
        comparators,
        ..
    }) = test
    else {
        return false;
    };
    if ops.len() != 1 || ops[0] != CmpOp::Eq {
        return false;
    }
    let is_name = |expr: &Expr| matches!(expr, Expr::Name(name) if name.id.as_str() == "__name__");
    let is_main = |expr: &Expr| matches!(expr, Expr::StringLiteral(string) if string.value.to_str() == "__main__");
    (is_name(left) && is_main(&comparators[0])) || (is_main(left) && is_name(&comparators[0]))
}

/// An expression whose evaluation has no side effects and no cost worth mentioning: literals,
/// names, displays of such, and empty `list()`/`dict()`/`set()`/`tuple()` calls.
pub(super) fn is_pure(expr: &Expr) -> bool {
    match expr {
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::BytesLiteral(_)
        | Expr::BooleanLiteral(_)
        | Expr::NoneLiteral(_)
        | Expr::EllipsisLiteral(_)
        | Expr::Name(_) => true,
        Expr::Tuple(ast::ExprTuple { elts, .. })
        | Expr::List(ast::ExprList { elts, .. })
        | Expr::Set(ast::ExprSet { elts, .. }) => elts.iter().all(is_pure),
        Expr::Dict(dict) => dict
            .items
            .iter()
            .all(|item| item.key.as_ref().is_none_or(is_pure) && is_pure(&item.value)),
        Expr::Call(ast::ExprCall {
            func, arguments, ..
        }) => {
            arguments.args.is_empty()
                && arguments.keywords.is_empty()
                && matches!(&**func, Expr::Name(name)
                    if matches!(name.id.as_str(), "list" | "dict" | "set" | "tuple" | "frozenset"))
        }
        _ => false,
    }
}

/// `x + …` / `… * x`: the value reads the name as an operand of a binary operation.
/// Also a value derived from the name itself: a slice or item of it (`x = x[1:]`) or a method
/// call on it (`x = x.strip()`).
pub(super) fn reads_name(value: &Expr, name: &str) -> bool {
    if is_copy(value) {
        return false;
    }
    match value {
        Expr::BinOp(ast::ExprBinOp { left, right, .. }) => {
            reads_name(left, name) || reads_name(right, name)
        }
        Expr::Name(expr_name) => expr_name.id.as_str() == name,
        Expr::Subscript(ast::ExprSubscript { value, .. }) => {
            matches!(&**value, Expr::Name(base) if base.id.as_str() == name)
        }
        Expr::Call(ast::ExprCall { func, .. }) => matches!(&**func,
            Expr::Attribute(ast::ExprAttribute { value, .. })
                if matches!(&**value, Expr::Name(base) if base.id.as_str() == name)),
        _ => false,
    }
}

/// `x.copy()` or `x[:]`: a copy of what is there, not an update of it. Storing it back
/// (`cls.settings = cls.settings.copy()`, a subclass taking its own copy of an inherited
/// container) loses nothing when two threads do it: both store equal copies.
fn is_copy(value: &Expr) -> bool {
    match value {
        Expr::Call(ast::ExprCall {
            func, arguments, ..
        }) => {
            arguments.is_empty()
                && matches!(&**func, Expr::Attribute(ast::ExprAttribute { attr, .. })
                    if attr.as_str() == "copy")
        }
        Expr::Subscript(ast::ExprSubscript { slice, .. }) => matches!(
            &**slice,
            Expr::Slice(ast::ExprSlice {
                lower: None,
                upper: None,
                step: None,
                ..
            })
        ),
        _ => false,
    }
}

/// The value reads `container[item]` or `container.get(item, …)` as an operand.
pub(super) fn reads_item(value: &Expr, container: &str, item: &str, source: &str) -> bool {
    match value {
        Expr::BinOp(ast::ExprBinOp { left, right, .. }) => {
            reads_item(left, container, item, source) || reads_item(right, container, item, source)
        }
        Expr::Subscript(ast::ExprSubscript { value, slice, .. }) => {
            &source[value.range()] == container && &source[slice.range()] == item
        }
        Expr::Call(ast::ExprCall {
            func, arguments, ..
        }) => {
            let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &**func else {
                return false;
            };
            attr.as_str() == "get"
                && &source[value.range()] == container
                && arguments
                    .args
                    .first()
                    .is_some_and(|first| &source[first.range()] == item)
        }
        _ => false,
    }
}

/// The value reads the same expression text as an operand (`obj.n = obj.n + 1`), or derives
/// from it (`self.buffer = self.buffer[1:]`, `self.name = self.name.strip()`).
pub(super) fn reads_text(value: &Expr, text: &str, source: &str) -> bool {
    if is_copy(value) {
        return false;
    }
    match value {
        Expr::BinOp(ast::ExprBinOp { left, right, .. }) => {
            reads_text(left, text, source) || reads_text(right, text, source)
        }
        Expr::Subscript(ast::ExprSubscript { value, .. }) => &source[value.range()] == text,
        Expr::Call(ast::ExprCall { func, .. }) => matches!(&**func,
            Expr::Attribute(ast::ExprAttribute { value, .. }) if &source[value.range()] == text),
        other => &source[other.range()] == text,
    }
}

/// The names that follow a `global` keyword anywhere in `source`: a cheap, over-inclusive
/// filter (a `global x` inside a string counts too) for the reads of globals that only a
/// function creates, so that the walk does not look up every other unbound name.
pub(super) fn names_declared_global(source: &str) -> rustc_hash::FxHashSet<&str> {
    let is_name_char = |c: char| c.is_alphanumeric() || c == '_';
    let mut names = rustc_hash::FxHashSet::default();
    for at in memchr::memmem::find_iter(source.as_bytes(), b"global") {
        let before = source[..at].chars().next_back();
        let rest = &source[at + "global".len()..];
        if before.is_some_and(is_name_char) || !rest.starts_with([' ', '\t']) {
            continue;
        }
        let line = rest.split(['\n', ';', '#']).next().unwrap_or_default();
        names.extend(
            line.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|name| !name.is_empty() && name.chars().all(is_name_char)),
        );
    }
    names
}

pub(super) fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "list"
            | "dict"
            | "set"
            | "frozenset"
            | "tuple"
            | "bytearray"
            | "object"
            | "staticmethod"
            | "classmethod"
            | "property"
            | "KeyError"
            | "LookupError"
    )
}

/// Subscript loads in a statement, not descending into nested scopes.
#[derive(Default)]
pub(super) struct SubscriptLoadFinder<'a> {
    pub(super) found: Vec<&'a ast::ExprSubscript>,
}

impl<'a> Visitor<'a> for SubscriptLoadFinder<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
            with_stack(|| visitor::walk_stmt(self, stmt));
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Subscript(subscript) = expr
            && subscript.ctx == ExprContext::Load
        {
            self.found.push(subscript);
        }
        if !matches!(expr, Expr::Lambda(_)) {
            with_stack(|| visitor::walk_expr(self, expr));
        }
    }
}

/// The callees of every call in an expression.
#[derive(Default)]
pub(super) struct CallFinder<'a> {
    pub(super) callees: Vec<&'a Expr>,
}

impl<'a> Visitor<'a> for CallFinder<'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            self.callees.push(&call.func);
        }
        with_stack(|| visitor::walk_expr(self, expr));
    }
}

/// Whether a function's docstring, or the comment lines right above it (and its decorators),
/// say it exists for tests: "Used only for testing.", "for tests only", "meant for use in
/// tests", "test-only helper".
pub(super) fn says_for_tests(source: &str, def: &ast::StmtFunctionDef) -> bool {
    let start = first_line_of_definition(&def.decorator_list, def.start());
    documented_for_tests(source, start, &def.body, false)
}

/// Whether a class's docstring summary or the comment above it says it exists for tests ("A
/// test utility which tracks connections"): its methods are test helpers the library never
/// runs. Only the summary (the first paragraph) is read: a class's docstring documents its
/// whole API, and saying how to test something is not being for tests.
pub(super) fn class_says_for_tests(source: &str, def: &ast::StmtClassDef) -> bool {
    let start = first_line_of_definition(&def.decorator_list, def.start());
    documented_for_tests(source, start, &def.body, true)
}

/// Where a definition starts for the comments above it: at its first decorator, if any.
fn first_line_of_definition(decorators: &[ast::Decorator], start: TextSize) -> TextSize {
    decorators.first().map_or(start, Ranged::start)
}

/// The docstring of `body` or the comment block ending on the line before `start`.
fn documented_for_tests(source: &str, start: TextSize, body: &[Stmt], summary_only: bool) -> bool {
    let docstring = match body.first() {
        Some(Stmt::Expr(ast::StmtExpr { value, .. })) => match &**value {
            Expr::StringLiteral(literal) => Some(literal.value.to_str()),
            _ => None,
        },
        _ => None,
    };
    let docstring = docstring.map(|text| {
        let text = text.trim_start();
        match text.find("\n\n") {
            Some(end) if summary_only => &text[..end],
            _ => text,
        }
    });
    let before = &source[..usize::from(start)];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    // The comment block ending on the line before the definition.
    let mut comments = String::new();
    for line in before[..line_start].lines().rev() {
        let line = line.trim();
        if !line.starts_with('#') {
            break;
        }
        comments.push_str(line);
        comments.push(' ');
    }
    docstring
        .into_iter()
        .chain(std::iter::once(comments.as_str()))
        .any(names_tests)
}

fn names_tests(text: &str) -> bool {
    // Most docstrings never mention tests: a scan for "test" comes before a lowercase copy,
    // jumping from one `t` to the next (docstrings run to pages in numeric libraries).
    let bytes = text.as_bytes();
    if !memchr::memchr2_iter(b't', b'T', bytes).any(|at| {
        bytes
            .get(at..at + 4)
            .is_some_and(|word| word.eq_ignore_ascii_case(b"test"))
    }) {
        return false;
    }
    let text = text.to_ascii_lowercase();
    [
        "only for testing",
        "only for tests",
        "for testing only",
        "for tests only",
        "testing purposes only",
        "for testing purposes",
        "used only in tests",
        "only used in tests",
        "only used by tests",
        "used only by tests",
        "meant for use in tests",
        "intended for use in tests",
        "test-only",
        "test only helper",
        "test utility",
        "testing utility",
        "test helper",
        "testing helper",
        "for use in tests",
        "for use in unit tests",
    ]
    .iter()
    .any(|phrase| text.contains(phrase))
}

pub(super) use crate::semantic::values::last_segment;

/// The range from a suite's first statement to its last (empty for an empty suite).
pub(super) fn suite_range(suite: &[Stmt]) -> TextRange {
    match (suite.first(), suite.last()) {
        (Some(first), Some(last)) => TextRange::new(first.start(), last.end()),
        _ => TextRange::default(),
    }
}

/// The block ends by leaving the function: its last statement is `return` or `raise`.
pub(super) fn ends_leaving_function(body: &[Stmt]) -> bool {
    matches!(body.last(), Some(Stmt::Return(_) | Stmt::Raise(_)))
}

/// The block ends by leaving the suite around it: the function (`return`, `raise`) or the
/// loop's iteration (`continue`, `break`).
pub(super) fn ends_leaving_suite(body: &[Stmt]) -> bool {
    ends_leaving_function(body) || matches!(body.last(), Some(Stmt::Continue(_) | Stmt::Break(_)))
}

#[cfg(test)]
mod tests {
    use super::names_declared_global;

    #[test]
    fn global_statements_name_their_globals() {
        let source = "def f():\n    global a, b_1  # note\n    global\tc; x = 1\n    globally = 2\n    myglobal d\n";
        let mut names: Vec<_> = names_declared_global(source).into_iter().collect();
        names.sort_unstable();
        assert_eq!(names, ["a", "b_1", "c"]);
    }
}
