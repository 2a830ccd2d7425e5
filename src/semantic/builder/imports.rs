//! What names mean: the module's imports, the qualified name an expression refers to through
//! them, what kind of value an expression makes, and the module-level bindings — the first,
//! shallow scan of module-level statements (class bodies are scanned by `classes`).

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::Builder;
use super::syntax::last_segment;
use super::syntax::{is_builtin, is_main_guard};
use crate::semantic::values::{
    PoolKind, ValueKind, classify_factory, classify_literal, is_factory_name,
};
use crate::semantic::{ImportRef, ModuleBinding, ModuleRole};

impl<'a> Builder<'a> {
    /// Marks the imports recorded since `handler_from` as fallbacks of those in `tried` when
    /// the handler catches a failed import.
    pub(super) fn mark_import_fallbacks(
        &mut self,
        tried: std::ops::Range<usize>,
        handler_from: usize,
        handler: &ast::ExceptHandlerExceptHandler,
    ) {
        if tried.is_empty() || !catches_import_error(handler.type_.as_deref()) {
            return;
        }
        // `from compression import zstd` tried the module `compression.zstd`.
        let modules: Vec<String> = self.import_refs[tried]
            .iter()
            .map(|import| match import.names.first() {
                Some(name) => format!("{}.{name}", import.module),
                None => import.module.clone(),
            })
            .collect();
        for import in &mut self.import_refs[handler_from..] {
            import.fallback_after.clone_from(&modules);
        }
    }

    pub(super) fn record_import(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(ast::StmtImport { names, .. }) => {
                for alias in names {
                    let full = alias.name.as_str();
                    self.import_refs.push(ImportRef {
                        top: full.split('.').next().unwrap_or(full).to_string(),
                        module: full.to_string(),
                        range: alias.range(),
                        names: Vec::new(),
                        fallback_after: Vec::new(),
                    });
                    match &alias.asname {
                        Some(asname) => {
                            self.imports.insert(asname.as_str(), full.to_string());
                        }
                        None => {
                            let head = full.split('.').next().unwrap_or(full);
                            // `import a.b` binds `a`, which resolves to the package `a`.
                            let head_ref: &'a str = &alias.name.as_str()[..head.len()];
                            self.imports.insert(head_ref, head.to_string());
                        }
                    }
                }
            }
            Stmt::ImportFrom(ast::StmtImportFrom {
                module,
                names,
                level,
                ..
            }) => {
                if let (Some(module), 0) = (module, *level) {
                    let full = module.as_str();
                    self.import_refs.push(ImportRef {
                        top: full.split('.').next().unwrap_or(full).to_string(),
                        module: full.to_string(),
                        range: module.range(),
                        names: names.iter().map(|alias| alias.name.to_string()).collect(),
                        fallback_after: Vec::new(),
                    });
                }
                // The module part, `.`-terminated: `pkg.mod.` (`..mod.`, or `..` for a bare
                // relative import). Each name is appended to it; `format!` here cost more than
                // the rest of the import's handling in modules with many imports.
                let mut base = ".".repeat(*level as usize);
                if let Some(module) = module {
                    base.push_str(module.as_str());
                    base.push('.');
                }
                for alias in names {
                    if alias.name.as_str() == "*" {
                        self.star_imports.push(base.clone());
                        continue;
                    }
                    let local = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                    let mut qualified =
                        String::with_capacity(base.len() + alias.name.as_str().len());
                    qualified.push_str(&base);
                    qualified.push_str(alias.name.as_str());
                    if matches!(qualified.as_str(), "os.environ" | "os.environb") {
                        self.environ_aliases.push(local);
                    }
                    if matches!(alias.name.as_str(), "Pool" | "ProcessPoolExecutor") {
                        self.imports_pool_class = true;
                    }
                    self.imports.insert(local, qualified);
                }
            }
            _ => {}
        }
    }

    /// The dotted name an expression refers to through the module's imports
    /// (`th.Lock` → `threading.Lock`), or `builtins.x` for an unshadowed builtin. The callee
    /// of the call being visited comes from the walk's one-entry cache, filled on first use.
    pub(super) fn qualified_name(&self, expr: &Expr) -> Option<String> {
        if let Some((range, callee)) = &mut *self.current_callee.borrow_mut()
            && *range == expr.range()
        {
            return callee
                .get_or_insert_with(|| self.resolve_qualified_name(expr))
                .clone();
        }
        self.resolve_qualified_name(expr)
    }

    /// Whether the callee's last name (or, for a bare name, the last name of what it was
    /// imported as) is `last`: a filter before resolving the qualified name, which a bare name
    /// that is not imported can only have as a builtin.
    pub(super) fn callee_ends_with(&self, call: &ast::ExprCall, last: &str) -> bool {
        match &*call.func {
            Expr::Attribute(attribute) => attribute.attr.as_str() == last,
            Expr::Name(name) => self
                .imports
                .get(name.id.as_str())
                .is_some_and(|qualified| last_segment(qualified) == last),
            _ => false,
        }
    }

    /// The dotted name `expr` denotes through this module's imports, without the cache.
    pub(super) fn resolve_qualified_name(&self, expr: &Expr) -> Option<String> {
        self.qualified_name_with_room(expr, 0)
    }

    /// [`Builder::resolve_qualified_name`], in a string with `room` more bytes of capacity for
    /// the attributes the caller appends: one allocation for the whole dotted name.
    fn qualified_name_with_room(&self, expr: &Expr, room: usize) -> Option<String> {
        match expr {
            Expr::Name(ast::ExprName { id, .. }) => {
                let id = id.as_str();
                let (prefix, name) = if let Some(qualified) = self.imports.get(id) {
                    ("", qualified.as_str())
                } else if is_builtin(id) && !self.bindings.contains_key(id) {
                    ("builtins.", id)
                } else {
                    return None;
                };
                let mut qualified = String::with_capacity(prefix.len() + name.len() + room);
                qualified.push_str(prefix);
                qualified.push_str(name);
                Some(qualified)
            }
            Expr::Attribute(ast::ExprAttribute { value, attr, .. }) => {
                let attr = attr.as_str();
                let mut qualified = self.qualified_name_with_room(value, room + 1 + attr.len())?;
                qualified.push('.');
                qualified.push_str(attr);
                Some(qualified)
            }
            _ => None,
        }
    }

    /// `_default = Tracker()` at module level, with `Tracker` a class of this module: one
    /// object every caller of the module shares.
    fn scan_singleton(&mut self, target: &'a Expr, value: &'a Expr) {
        let (Expr::Name(name), Expr::Call(ast::ExprCall { func, .. })) = (target, value) else {
            return;
        };
        // An object a demo or script makes under `if __name__ == "__main__":` is not shared by
        // the module's callers: importing the module never makes it.
        if self
            .main_guards
            .iter()
            .any(|guard| guard.contains_range(target.range()))
        {
            return;
        }
        let Expr::Name(callee) = &**func else { return };
        if let Some(class) = self.module_class(callee.id.as_str())
            && !self.classes[class].is_thread_local
        {
            self.singletons.insert(name.id.as_str(), class);
            self.callable_names.insert(name.id.as_str());
            self.classes[class]
                .singleton
                .get_or_insert(name.id.as_str());
        }
    }

    pub(super) fn classify(&self, expr: &Expr) -> ValueKind {
        if let Some(kind) = classify_literal(expr) {
            return kind;
        }
        match expr {
            Expr::Call(ast::ExprCall { func, .. })
                if matches!(&**func, Expr::Name(name)
                if self.module_class(name.id.as_str())
                    .is_some_and(|class| self.classes[class].is_thread_local)
                || (!self.options.thread_local_classes.is_empty()
                    && self.imports.get(name.id.as_str()).is_some_and(|qualified| {
                        self.options.thread_local_classes.contains(qualified)
                    }))) =>
            {
                // An instance of a `threading.local` subclass (of this module or another):
                // per-thread attributes.
                ValueKind::ThreadSafe
            }
            Expr::Call(call @ ast::ExprCall { func, .. }) => {
                // Most calls create nothing the rules track: filter by the callee's last name
                // (or the name it was imported as) before resolving it.
                let last = match &**func {
                    Expr::Name(name) => self
                        .imports
                        .get(name.id.as_str())
                        .map_or(name.id.as_str(), |qualified| last_segment(qualified)),
                    Expr::Attribute(attribute) => attribute.attr.as_str(),
                    _ => return ValueKind::Other,
                };
                if !is_factory_name(last) {
                    // Configured lock factories (`lock-factories`).
                    let configured = !self.options.lock_factories.is_empty()
                        && self.qualified_name(func).is_some_and(|qualified| {
                            self.options.lock_factories.contains(&qualified)
                        });
                    return if configured {
                        ValueKind::Lock
                    } else {
                        ValueKind::Other
                    };
                }
                if let Some(kind) = self
                    .qualified_name(func)
                    .and_then(|qualified| classify_factory(&qualified))
                {
                    return kind;
                }
                if self.process_pool_factory(call).is_some() {
                    return ValueKind::Pool(PoolKind::Process);
                }
                ValueKind::Other
            }
            Expr::Name(ast::ExprName { id, .. }) => match self.bindings.get(id.as_str()) {
                Some(binding)
                    if matches!(
                        binding.kind,
                        ValueKind::Function | ValueKind::Class | ValueKind::Lock
                    ) =>
                {
                    binding.kind
                }
                _ => ValueKind::Other,
            },
            _ => ValueKind::Other,
        }
    }

    fn bind(&mut self, name: &'a str, kind: ValueKind, range: TextRange, stmt_range: TextRange) {
        fn rank(kind: ValueKind) -> u8 {
            match kind {
                ValueKind::Container(_)
                | ValueKind::Lock
                | ValueKind::AsyncLock
                | ValueKind::ThreadSafe
                | ValueKind::Pool(_) => 3,
                ValueKind::Function | ValueKind::Class | ValueKind::Import => 2,
                ValueKind::Other => 1,
                ValueKind::None | ValueKind::Constant => 0,
            }
        }
        let binding = ModuleBinding {
            kind,
            range,
            stmt_range,
        };
        match self.bindings.get(name) {
            Some(existing) if rank(existing.kind) >= rank(kind) => {}
            _ => {
                self.module_names.insert(name);
                self.bindings.insert(name, binding);
            }
        }
    }

    pub(super) fn scan_module_suite(&mut self, suite: &'a [Stmt]) {
        for stmt in suite {
            self.scan_module_stmt(stmt);
        }
    }

    /// Marks the module as one only Python 2 can import when its own top-level suite (not a
    /// `try` or `if` inside it) imports a module Python 3 no longer has.
    pub(super) fn note_python2_only_imports(&mut self, module_body: &[Stmt]) {
        if module_body
            .iter()
            .any(|stmt| self.imports_python2_only_module(stmt))
        {
            self.role = ModuleRole::Python2Only;
        }
    }

    /// `import hotshot` or `from urllib2 import urlopen` at the top of a module, outside any
    /// `try` or `if`: a standard module of Python 2 that Python 3 no longer has, so importing
    /// this module fails on every interpreter free threading exists for (unless the project
    /// has a module of that name itself).
    fn imports_python2_only_module(&self, stmt: &Stmt) -> bool {
        let python2_only = |name: &str| {
            let top = name.split('.').next().unwrap_or(name);
            is_python2_only(top) && !self.options.project_modules.contains(top)
        };
        match stmt {
            Stmt::Import(ast::StmtImport { names, .. }) => {
                names.iter().any(|alias| python2_only(alias.name.as_str()))
            }
            Stmt::ImportFrom(ast::StmtImportFrom {
                module: Some(module),
                level: 0,
                ..
            }) => python2_only(module.as_str()),
            _ => false,
        }
    }

    fn scan_module_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(ast::StmtImport { names, .. }) => {
                self.record_import(stmt);
                for alias in names {
                    let local = alias.asname.as_ref().unwrap_or(&alias.name);
                    let name = local.as_str();
                    let name = name.split('.').next().unwrap_or(name);
                    self.bind(name, ValueKind::Import, local.range(), stmt.range());
                }
            }
            Stmt::ImportFrom(ast::StmtImportFrom { names, .. }) => {
                self.record_import(stmt);
                for alias in names {
                    let local = alias.asname.as_ref().unwrap_or(&alias.name);
                    self.bind(
                        local.as_str(),
                        ValueKind::Import,
                        local.range(),
                        stmt.range(),
                    );
                }
            }
            Stmt::Assign(ast::StmtAssign { targets, value, .. }) => {
                let kind = self.classify(value);
                for target in targets {
                    self.scan_thread_local_binding(target, value);
                    self.scan_module_target(target, kind, stmt.range());
                    if let (Expr::Name(name), ValueKind::Pool(pool)) = (target, kind) {
                        self.pool_names.insert(name.id.to_string(), pool);
                    }
                    self.scan_singleton(target, value);
                }
            }
            Stmt::AnnAssign(ast::StmtAnnAssign {
                target,
                value: Some(value),
                ..
            }) => {
                let kind = self.classify(value);
                self.scan_thread_local_binding(target, value);
                self.scan_module_target(target, kind, stmt.range());
                self.scan_singleton(target, value);
            }
            Stmt::FunctionDef(def) => {
                self.note_function_name(def.name.as_str());
                if let Some(lock) = locking_decorator_lock(def) {
                    self.locking_decorators.insert(def.name.as_str(), lock);
                }
                self.bind(
                    def.name.as_str(),
                    ValueKind::Function,
                    def.name.range(),
                    def.range,
                );
            }
            Stmt::ClassDef(def) => {
                self.bind(
                    def.name.as_str(),
                    ValueKind::Class,
                    def.name.range(),
                    def.range,
                );
                self.declare_class(def);
            }
            Stmt::If(ast::StmtIf {
                test,
                body,
                elif_else_clauses,
                ..
            }) => {
                if is_main_guard(test) {
                    self.main_guards.push(stmt.range());
                }
                let before_body = self.import_refs.len();
                self.scan_module_suite(body);
                // `if TYPE_CHECKING:` imports for annotations only: the names are bound for
                // the checks, but nothing is imported when the program runs.
                if is_type_checking(test) {
                    self.import_refs.truncate(before_body);
                }
                for clause in elif_else_clauses {
                    self.scan_module_suite(&clause.body);
                }
            }
            Stmt::Try(ast::StmtTry {
                body,
                handlers,
                orelse,
                finalbody,
                ..
            }) => {
                let before_body = self.import_refs.len();
                self.scan_module_suite(body);
                let tried_from = before_body..self.import_refs.len();
                for handler in handlers {
                    let ast::ExceptHandler::ExceptHandler(handler) = handler;
                    let before_handler = self.import_refs.len();
                    self.scan_module_suite(&handler.body);
                    self.mark_import_fallbacks(tried_from.clone(), before_handler, handler);
                }
                self.scan_module_suite(orelse);
                self.scan_module_suite(finalbody);
            }
            Stmt::With(ast::StmtWith { items, body, .. }) => {
                for item in items {
                    if let Some(Expr::Name(name)) = item.optional_vars.as_deref() {
                        let kind = self.classify(&item.context_expr);
                        self.bind(name.id.as_str(), kind, name.range, stmt.range());
                    }
                }
                self.scan_module_suite(body);
            }
            Stmt::For(ast::StmtFor { body, orelse, .. })
            | Stmt::While(ast::StmtWhile { body, orelse, .. }) => {
                self.scan_module_suite(body);
                self.scan_module_suite(orelse);
            }
            _ => {}
        }
    }

    fn scan_module_target(&mut self, target: &'a Expr, kind: ValueKind, stmt_range: TextRange) {
        match target {
            Expr::Name(name) => self.bind(name.id.as_str(), kind, name.range, stmt_range),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                for elt in elts {
                    self.scan_module_target(elt, ValueKind::Other, stmt_range);
                }
            }
            Expr::Starred(ast::ExprStarred { value, .. }) => {
                self.scan_module_target(value, ValueKind::Other, stmt_range);
            }
            _ => {}
        }
    }

    /// Whether the leftmost name of `a.b.c` (or the name itself) is an import.
    pub(super) fn imported_head(&self, expr: &Expr) -> bool {
        let mut current = expr;
        loop {
            match current {
                Expr::Name(name) => return self.imports.contains_key(name.id.as_str()),
                Expr::Attribute(attribute) => current = &attribute.value,
                _ => return false,
            }
        }
    }

    /// `importlib.import_module("name")` with a literal (absolute) name.
    pub(super) fn record_dynamic_import(&mut self, call: &'a ast::ExprCall) {
        let Some(Expr::StringLiteral(literal)) = call.arguments.args.first() else {
            return;
        };
        let is_import_module = match &*call.func {
            Expr::Attribute(attribute) => {
                attribute.attr.as_str() == "import_module"
                    && self.qualified_name(&call.func).as_deref() == Some("importlib.import_module")
            }
            Expr::Name(name) => {
                self.imports.get(name.id.as_str()).map(String::as_str)
                    == Some("importlib.import_module")
            }
            _ => false,
        };
        if !is_import_module {
            return;
        }
        let name = literal.value.to_str();
        if name.starts_with('.') || name.is_empty() {
            return;
        }
        self.import_refs.push(ImportRef {
            top: name.split('.').next().unwrap_or(name).to_string(),
            module: name.to_string(),
            range: call.range(),
            names: Vec::new(),
            fallback_after: Vec::new(),
        });
    }
}

/// A decorator that runs the decorated method holding one of the object's locks:
/// `def locked(fn): def inner(self, *args): with self._lock: return fn(self, *args)`. The
/// attribute of the lock (`_lock`) when `def_` has that shape.
fn locking_decorator_lock(def: &ast::StmtFunctionDef) -> Option<&str> {
    let [decorated] = def.parameters.args.as_slice() else {
        return None;
    };
    let decorated = decorated.parameter.name.as_str();
    def.body.iter().find_map(|stmt| {
        let Stmt::FunctionDef(inner) = stmt else {
            return None;
        };
        let receiver = inner.parameters.args.first()?.parameter.name.as_str();
        inner.body.iter().find_map(|stmt| {
            let Stmt::With(with) = stmt else { return None };
            let [item] = with.items.as_slice() else {
                return None;
            };
            let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &item.context_expr else {
                return None;
            };
            let holds_receivers_lock =
                matches!(&**value, Expr::Name(name) if name.id.as_str() == receiver);
            // The body calls the decorated function while holding it.
            let calls_decorated = with.body.iter().any(|stmt| {
                let value = match stmt {
                    Stmt::Return(ast::StmtReturn {
                        value: Some(value), ..
                    }) => &**value,
                    Stmt::Expr(ast::StmtExpr { value, .. }) => &**value,
                    Stmt::Assign(ast::StmtAssign { value, .. }) => &**value,
                    _ => return false,
                };
                matches!(value, Expr::Call(ast::ExprCall { func, .. })
                    if matches!(&**func, Expr::Name(name) if name.id.as_str() == decorated))
            });
            (holds_receivers_lock && calls_decorated).then_some(attr.as_str())
        })
    })
}

/// Whether an `except` clause catches a failed import: `ImportError`, `ModuleNotFoundError`
/// (alone or in a tuple), `Exception`, or a bare `except:`.
fn catches_import_error(kind: Option<&Expr>) -> bool {
    match kind {
        None => true,
        Some(Expr::Name(name)) => matches!(
            name.id.as_str(),
            "ImportError" | "ModuleNotFoundError" | "Exception" | "BaseException"
        ),
        Some(Expr::Tuple(tuple)) => tuple.elts.iter().any(|elt| catches_import_error(Some(elt))),
        Some(_) => false,
    }
}

/// `TYPE_CHECKING` or `typing.TYPE_CHECKING` (any module prefix): true only for type checkers.
fn is_type_checking(test: &Expr) -> bool {
    match test {
        Expr::Name(name) => name.id.as_str() == "TYPE_CHECKING",
        Expr::Attribute(attribute) => attribute.attr.as_str() == "TYPE_CHECKING",
        _ => false,
    }
}

/// Standard modules of Python 2 that Python 3 removed or renamed (by top-level name), with
/// names no Python 3 package is likely to reuse (not `thread`, `new` or `commands`).
fn is_python2_only(top: &str) -> bool {
    matches!(
        top,
        "hotshot"
            | "urllib2"
            | "urlparse"
            | "cPickle"
            | "cStringIO"
            | "StringIO"
            | "ConfigParser"
            | "Queue"
            | "SocketServer"
            | "SimpleHTTPServer"
            | "BaseHTTPServer"
            | "CGIHTTPServer"
            | "httplib"
            | "cookielib"
            | "Cookie"
            | "xmlrpclib"
            | "SimpleXMLRPCServer"
            | "DocXMLRPCServer"
            | "HTMLParser"
            | "htmlentitydefs"
            | "popen2"
            | "mimetools"
            | "rfc822"
            | "UserDict"
            | "UserList"
            | "UserString"
            | "__builtin__"
            | "copy_reg"
            | "anydbm"
            | "dbhash"
            | "whichdb"
            | "Tkinter"
            | "tkMessageBox"
            | "dummy_thread"
            | "sgmllib"
            | "htmllib"
            | "robotparser"
    )
}
