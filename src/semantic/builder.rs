//! Builds the [`SemanticModel`] in two walks and a resolution step.
//!
//! 1. A shallow scan of module-level statements and class bodies: imports, module bindings and
//!    what they hold, class attributes, and the attributes methods assign through `self`.
//! 2. One full walk of the tree that follows scopes, lock regions and check-then-act guards, and
//!    records functions, writes to shared state, call sites and thread entries. References to
//!    functions are kept unresolved until the whole module has been seen, because Python code
//!    routinely calls functions defined further down.
//! 3. Resolution: call sites and thread targets are bound to functions, thread reachability is
//!    propagated over the call graph, and functions called only with a lock held inherit it.

use std::collections::VecDeque;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, CmpOp, Expr, ExprContext, ModModule, Stmt, UnaryOp};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::values::{
    PoolKind, ValueKind, classify_factory, classify_literal, is_lock_like_name, is_mutating_method,
};
use super::{
    AccessKind, AccessTarget, CallSite, Class, ClassAttribute, ClassId, Function, FunctionId,
    GilApiUse, Guard, GuardKind, ImportRef, LockKey, LockRegion, ModelOptions, ModuleBinding,
    ParameterLockDefault, ProcessGlobalUse, SemanticModel, StateAccess, StateKey, ThreadEntry,
    ThreadEntryKind,
};

pub(super) fn build<'a>(
    module: &'a ModModule,
    source: &'a str,
    options: &ModelOptions,
) -> SemanticModel<'a> {
    let mut builder = Builder::new(source, options.clone());
    builder.scan_module_suite(&module.body);
    builder.walk_suite(&module.body);
    let mut model = builder.finish();
    model.header_end = header_end(module, source);
    model
}

/// The start of the line after the module's docstring and leading imports, or after the
/// leading comments (shebang, encoding line) when there are none.
fn header_end(module: &ModModule, source: &str) -> TextSize {
    let mut last: Option<&Stmt> = None;
    for (index, stmt) in module.body.iter().enumerate() {
        let is_docstring = index == 0
            && matches!(stmt, Stmt::Expr(ast::StmtExpr { value, .. }) if value.is_string_literal_expr());
        if is_docstring || matches!(stmt, Stmt::Import(_) | Stmt::ImportFrom(_)) {
            last = Some(stmt);
        } else {
            break;
        }
    }
    let after = match last {
        Some(stmt) => usize::from(stmt.end()),
        None => {
            // Skip the leading comment and blank lines.
            let mut offset = 0;
            for line in source.split_inclusive('\n') {
                let trimmed = line.trim_start_matches('\u{feff}').trim();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    offset += line.len();
                } else {
                    break;
                }
            }
            return TextSize::try_from(offset).unwrap_or_default();
        }
    };
    let rest = &source[after..];
    let line_end = rest.find('\n').map_or(source.len(), |at| after + at + 1);
    TextSize::try_from(line_end).unwrap_or_default()
}

/// How a method reaches its own object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Receiver {
    Instance,
    Class,
}

/// A reference to a function that is resolved once every function is known.
#[derive(Debug)]
struct PendingRef<'a> {
    expr: &'a Expr,
    /// The innermost function the reference appears in.
    scope: Option<FunctionId>,
    /// The class whose methods `self.`/`cls.` refer to at the reference.
    class: Option<ClassId>,
}

#[derive(Debug)]
struct PendingCall<'a> {
    reference: PendingRef<'a>,
    locks: Vec<LockKey>,
}

#[derive(Debug)]
struct PendingEntry<'a> {
    kind: ThreadEntryKind,
    range: TextRange,
    targets: Vec<PendingRef<'a>>,
}

/// Where a write's parts are: the object written into (`D` of `D[k]`) and the assigned value.
#[derive(Debug, Clone, Copy, Default)]
struct WriteSite<'a> {
    object: Option<TextRange>,
    value: Option<&'a Expr>,
}

/// A check-then-act test being walked: its body may contain the act.
#[derive(Debug, Clone)]
struct ActiveGuard<'a> {
    key: StateKey<'a>,
    /// The key text for item checks (`k` in `k not in D`).
    item: Option<String>,
    guard: Guard,
}

struct FunctionFrame<'a> {
    id: FunctionId,
    receiver: Option<(&'a str, Receiver)>,
}

struct Builder<'a> {
    source: &'a str,
    options: ModelOptions,
    process_global_uses: Vec<ProcessGlobalUse>,
    gil_api_uses: Vec<GilApiUse>,
    import_refs: Vec<ImportRef>,
    /// Expressions used directly as conditions (`if`/`while` tests, `not` and `and`/`or`
    /// operands): a `not …` replacement needs no parentheses there.
    condition_slots: Vec<TextRange>,
    imports: HashMap<&'a str, String>,
    bindings: HashMap<&'a str, ModuleBinding>,
    functions: Vec<Function<'a>>,
    classes: Vec<Class<'a>>,
    class_by_offset: HashMap<u32, ClassId>,
    class_index: HashMap<&'a str, ClassId>,
    /// (enclosing function, name) → the plain function (not a method) defined there.
    function_index: HashMap<(Option<FunctionId>, &'a str), FunctionId>,
    /// Names of every `def` seen so far (module-level ones from the first scan), to skip
    /// references that cannot denote a function of this module before resolving them.
    function_names: HashSet<&'a str>,
    lock_regions: Vec<LockRegion>,
    lock_unavailable: Vec<(LockKey, TextRange)>,
    accesses: Vec<StateAccess<'a>>,
    parameter_lock_defaults: Vec<ParameterLockDefault>,
    main_guards: Vec<TextRange>,
    /// Names (as written) bound to thread or process pools anywhere in the module.
    pool_names: HashMap<String, PoolKind>,
    /// Local variables bound to lock factories, by function.
    local_locks: HashSet<(FunctionId, &'a str)>,

    // Walk state.
    frames: Vec<Option<FunctionFrame<'a>>>,
    class_stack: Vec<ClassId>,
    lock_stack: Vec<(LockKey, String)>,
    guard_stack: Vec<ActiveGuard<'a>>,
    current_stmt: TextRange,
    in_main_guard: bool,
    /// Depth of expressions that are a call's callee, so the callee name is not an escape.
    callee_depth: usize,

    pending_calls: Vec<PendingCall<'a>>,
    pending_entries: Vec<PendingEntry<'a>>,
    pending_escapes: Vec<PendingRef<'a>>,
    /// Functions registered to run in a forked child (`os.register_at_fork(after_in_child=f)`).
    pending_fork_child_handlers: Vec<PendingRef<'a>>,
    /// Calls of imported names, resolved against other modules by the project phase.
    external_call_refs: Vec<(Option<FunctionId>, &'a Expr)>,
    pending_pools: Vec<PendingPool<'a>>,
    pending_submissions: Vec<PendingSubmission<'a>>,
    /// Names bound to `multiprocessing.get_context(…)`.
    context_names: HashSet<String>,
    /// Locals bound to `functools.partial(…)`, so a pool's worker can be followed through them.
    partial_bindings: HashMap<(FunctionId, &'a str), &'a Expr>,
    /// Functions decorated with a configured thread-entry decorator, and the decorator.
    decorated_entries: Vec<(FunctionId, TextRange)>,
}

/// A process pool constructor call, before its workers are known.
struct PendingPool<'a> {
    call: &'a ast::ExprCall,
    factory: super::PoolFactory,
    function: Option<FunctionId>,
    /// The names the pool is bound to (`pool` in `with Pool() as pool`, and names it is
    /// passed on to: `with pool as executor`).
    bound: Vec<String>,
    initializer: Option<&'a Expr>,
}

/// Work handed to a process pool (`pool.map(f, …)`, `executor.submit(f)`).
struct PendingSubmission<'a> {
    receiver: &'a Expr,
    worker: Option<&'a Expr>,
    scope: Option<FunctionId>,
    class: Option<ClassId>,
}

impl<'a> Builder<'a> {
    fn new(source: &'a str, options: ModelOptions) -> Self {
        Builder {
            source,
            options,
            process_global_uses: Vec::new(),
            gil_api_uses: Vec::new(),
            import_refs: Vec::new(),
            condition_slots: Vec::new(),
            imports: HashMap::default(),
            bindings: HashMap::default(),
            functions: Vec::new(),
            classes: Vec::new(),
            class_by_offset: HashMap::default(),
            class_index: HashMap::default(),
            function_index: HashMap::default(),
            function_names: HashSet::default(),
            lock_regions: Vec::new(),
            lock_unavailable: Vec::new(),
            accesses: Vec::new(),
            parameter_lock_defaults: Vec::new(),
            main_guards: Vec::new(),
            pool_names: HashMap::default(),
            local_locks: HashSet::default(),
            frames: Vec::new(),
            class_stack: Vec::new(),
            lock_stack: Vec::new(),
            guard_stack: Vec::new(),
            current_stmt: TextRange::default(),
            in_main_guard: false,
            callee_depth: 0,
            pending_calls: Vec::new(),
            pending_entries: Vec::new(),
            pending_escapes: Vec::new(),
            pending_fork_child_handlers: Vec::new(),
            external_call_refs: Vec::new(),
            pending_pools: Vec::new(),
            pending_submissions: Vec::new(),
            context_names: HashSet::default(),
            partial_bindings: HashMap::default(),
            decorated_entries: Vec::new(),
        }
    }

    fn text(&self, range: TextRange) -> &'a str {
        &self.source[range]
    }

    // ----------------------------------------------------------------------------------------
    // Name resolution and value classification
    // ----------------------------------------------------------------------------------------

    fn record_import(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(ast::StmtImport { names, .. }) => {
                for alias in names {
                    let full = alias.name.as_str();
                    self.import_refs.push(ImportRef {
                        top: full.split('.').next().unwrap_or(full).to_string(),
                        module: full.to_string(),
                        range: alias.range(),
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
                    });
                }
                let base = match module {
                    Some(module) if *level == 0 => module.as_str().to_string(),
                    Some(module) => format!("{}{}", ".".repeat(*level as usize), module.as_str()),
                    None => ".".repeat(*level as usize),
                };
                for alias in names {
                    if alias.name.as_str() == "*" {
                        continue;
                    }
                    let local = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                    let qualified = if base.ends_with('.') {
                        format!("{base}{}", alias.name.as_str())
                    } else {
                        format!("{base}.{}", alias.name.as_str())
                    };
                    self.imports.insert(local, qualified);
                }
            }
            _ => {}
        }
    }

    /// The dotted name an expression refers to through the module's imports
    /// (`th.Lock` → `threading.Lock`), or `builtins.x` for an unshadowed builtin.
    /// `os.register_at_fork(after_in_child=f)`: `f` runs in the child right after a fork, when
    /// the forking thread is the only one, so its writes race with nothing.
    fn record_fork_child_handler(&mut self, call: &'a ast::ExprCall) {
        if call.arguments.keywords.is_empty()
            || self.qualified_name(&call.func).as_deref() != Some("os.register_at_fork")
        {
            return;
        }
        for keyword in &call.arguments.keywords {
            if keyword
                .arg
                .as_ref()
                .is_some_and(|arg| arg.as_str() == "after_in_child")
            {
                let handler = self.pending_ref(&keyword.value);
                self.pending_fork_child_handlers.push(handler);
            }
        }
    }

    fn qualified_name(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Name(ast::ExprName { id, .. }) => {
                let id = id.as_str();
                if let Some(qualified) = self.imports.get(id) {
                    Some(qualified.clone())
                } else if is_builtin(id) && !self.bindings.contains_key(id) {
                    Some(format!("builtins.{id}"))
                } else {
                    None
                }
            }
            Expr::Attribute(ast::ExprAttribute { value, attr, .. }) => {
                let base = self.qualified_name(value)?;
                Some(format!("{base}.{}", attr.as_str()))
            }
            _ => None,
        }
    }

    fn classify(&self, expr: &Expr) -> ValueKind {
        if let Some(kind) = classify_literal(expr) {
            return kind;
        }
        match expr {
            Expr::Call(call @ ast::ExprCall { func, .. }) => {
                // Most calls create nothing the rules track: filter by the callee's last name
                // (or the name it was imported as) before resolving it.
                let last = match &**func {
                    Expr::Name(name) => self
                        .imports
                        .get(name.id.as_str())
                        .map_or(name.id.as_str(), |qualified| {
                            qualified.rsplit('.').next().unwrap_or(qualified.as_str())
                        }),
                    Expr::Attribute(attribute) => attribute.attr.as_str(),
                    _ => return ValueKind::Other,
                };
                if !super::values::is_factory_name(last) {
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
                self.bindings.insert(name, binding);
            }
        }
    }

    // ----------------------------------------------------------------------------------------
    // Pass 1: module-level scan
    // ----------------------------------------------------------------------------------------

    fn scan_module_suite(&mut self, suite: &'a [Stmt]) {
        for stmt in suite {
            self.scan_module_stmt(stmt);
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
                    self.scan_module_target(target, kind, stmt.range());
                    if let (Expr::Name(name), ValueKind::Pool(pool)) = (target, kind) {
                        self.pool_names.insert(name.id.to_string(), pool);
                    }
                }
            }
            Stmt::AnnAssign(ast::StmtAnnAssign {
                target,
                value: Some(value),
                ..
            }) => {
                let kind = self.classify(value);
                self.scan_module_target(target, kind, stmt.range());
            }
            Stmt::FunctionDef(def) => {
                self.function_names.insert(def.name.as_str());
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
                self.scan_module_suite(body);
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
                self.scan_module_suite(body);
                for handler in handlers {
                    let ast::ExceptHandler::ExceptHandler(handler) = handler;
                    self.scan_module_suite(&handler.body);
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

    /// Records a class: bases, attributes of its body, and what its methods assign via `self`.
    fn declare_class(&mut self, def: &'a ast::StmtClassDef) -> ClassId {
        if let Some(&id) = self.class_by_offset.get(&u32::from(def.range.start())) {
            return id;
        }
        let bases: Vec<String> = def
            .arguments
            .as_deref()
            .map(|arguments| {
                arguments
                    .args
                    .iter()
                    .map(|base| {
                        self.qualified_name(base)
                            .filter(|q| !q.starts_with("builtins."))
                            .unwrap_or_else(|| self.text(base.range()).to_string())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let is_thread_subclass = bases.iter().any(|base| {
            base == "threading.Thread"
                || self
                    .class_index
                    .get(base.as_str())
                    .is_some_and(|&class| self.classes[class].is_thread_subclass)
        });
        let is_dataclass = def.decorator_list.iter().any(|decorator| {
            let expr = match &decorator.expression {
                Expr::Call(call) => &*call.func,
                other => other,
            };
            matches!(
                self.qualified_name(expr).as_deref(),
                Some(
                    "dataclasses.dataclass"
                        | "attr.s"
                        | "attr.attrs"
                        | "attr.define"
                        | "attr.mutable"
                        | "attr.frozen"
                        | "attrs.define"
                        | "attrs.mutable"
                        | "attrs.frozen"
                        | "pydantic.dataclasses.dataclass"
                )
            )
        });
        let id = self.classes.len();
        self.classes.push(Class {
            name: def.name.as_str(),
            range: def.range,
            name_range: def.name.range(),
            bases,
            is_dataclass,
            is_thread_subclass,
            attributes: Vec::new(),
            methods: Vec::new(),
            instance_attributes: HashMap::default(),
        });
        self.class_by_offset
            .insert(u32::from(def.range.start()), id);
        self.class_index.entry(def.name.as_str()).or_insert(id);
        self.scan_class_body(id, &def.body);
        id
    }

    fn scan_class_body(&mut self, class: ClassId, suite: &'a [Stmt]) {
        for stmt in suite {
            match stmt {
                Stmt::Assign(ast::StmtAssign { targets, value, .. }) => {
                    let kind = self.classify(value);
                    let factory = self.call_factory(value);
                    for target in targets {
                        if let Expr::Name(name) = target {
                            self.classes[class].attributes.push(ClassAttribute {
                                name: name.id.as_str(),
                                kind,
                                range: name.range,
                                stmt_range: stmt.range(),
                                annotated: false,
                                class_var: false,
                                field_default_lock: false,
                                value_range: Some(value.range()),
                                factory: factory.clone(),
                            });
                        }
                    }
                }
                Stmt::AnnAssign(ast::StmtAnnAssign {
                    target,
                    annotation,
                    value,
                    ..
                }) => {
                    let Expr::Name(name) = &**target else {
                        continue;
                    };
                    let kind = value
                        .as_deref()
                        .map_or(ValueKind::Other, |value| self.classify(value));
                    let field_default_lock = value
                        .as_deref()
                        .is_some_and(|value| self.is_field_with_lock_default(value));
                    let class_var = is_class_var(annotation);
                    let factory = value.as_deref().and_then(|value| self.call_factory(value));
                    self.classes[class].attributes.push(ClassAttribute {
                        name: name.id.as_str(),
                        kind,
                        range: name.range,
                        stmt_range: stmt.range(),
                        annotated: true,
                        class_var,
                        field_default_lock,
                        value_range: value.as_deref().map(Ranged::range),
                        factory,
                    });
                }
                Stmt::FunctionDef(def) => {
                    let receiver = method_receiver(def, |expr| self.qualified_name(expr));
                    if let Some((self_name, Receiver::Instance)) = receiver {
                        self.scan_instance_assignments(class, self_name, &def.body);
                    }
                }
                Stmt::ClassDef(def) => {
                    self.declare_class(def);
                }
                Stmt::If(ast::StmtIf {
                    body,
                    elif_else_clauses,
                    ..
                }) => {
                    self.scan_class_body(class, body);
                    for clause in elif_else_clauses {
                        self.scan_class_body(class, &clause.body);
                    }
                }
                Stmt::Try(ast::StmtTry {
                    body,
                    handlers,
                    orelse,
                    finalbody,
                    ..
                }) => {
                    self.scan_class_body(class, body);
                    for handler in handlers {
                        let ast::ExceptHandler::ExceptHandler(handler) = handler;
                        self.scan_class_body(class, &handler.body);
                    }
                    self.scan_class_body(class, orelse);
                    self.scan_class_body(class, finalbody);
                }
                _ => {}
            }
        }
    }

    /// The qualified callee of a call (`threading.RLock` for `th.RLock()`), looking through
    /// `field(default=…)`.
    fn call_factory(&self, value: &Expr) -> Option<String> {
        let Expr::Call(call) = value else {
            return None;
        };
        let qualified = self.qualified_name(&call.func)?;
        if matches!(
            qualified.as_str(),
            "dataclasses.field" | "attr.ib" | "attrs.field" | "attr.field"
        ) {
            let default = call.arguments.keywords.iter().find(|keyword| {
                keyword
                    .arg
                    .as_ref()
                    .is_some_and(|arg| arg.as_str() == "default")
            })?;
            return self.call_factory(&default.value);
        }
        Some(qualified)
    }

    /// `field(default=threading.Lock())`: one lock for every instance.
    fn is_field_with_lock_default(&self, value: &Expr) -> bool {
        let Expr::Call(call) = value else {
            return false;
        };
        let is_field = matches!(
            self.qualified_name(&call.func).as_deref(),
            Some("dataclasses.field" | "attr.ib" | "attrs.field" | "attr.field")
        );
        is_field
            && call.arguments.keywords.iter().any(|keyword| {
                keyword
                    .arg
                    .as_ref()
                    .is_some_and(|arg| arg.as_str() == "default")
                    && self.classify(&keyword.value) == ValueKind::Lock
            })
    }

    fn scan_instance_assignments(&mut self, class: ClassId, self_name: &str, suite: &'a [Stmt]) {
        for_each_statement(suite, &mut |stmt| {
            let (targets, value): (Vec<&'a Expr>, Option<&'a Expr>) = match stmt {
                Stmt::Assign(ast::StmtAssign { targets, value, .. }) => {
                    (targets.iter().collect(), Some(&**value))
                }
                Stmt::AnnAssign(ast::StmtAnnAssign { target, value, .. }) => {
                    (vec![&**target], value.as_deref())
                }
                Stmt::AugAssign(ast::StmtAugAssign { target, .. }) => (vec![&**target], None),
                Stmt::With(ast::StmtWith { items, .. }) => {
                    for item in items {
                        if let Some(target) = item.optional_vars.as_deref()
                            && let Some(attr) = self_attribute(target, self_name)
                        {
                            let kind = self.classify(&item.context_expr);
                            self.note_instance_attribute(class, attr, kind);
                        }
                    }
                    return;
                }
                _ => return,
            };
            for target in targets {
                let Some(attr) = self_attribute(target, self_name) else {
                    continue;
                };
                let kind = value.map_or(ValueKind::Other, |value| self.classify(value));
                self.note_instance_attribute(class, attr, kind);
                if let ValueKind::Pool(pool) = kind {
                    self.pool_names.insert(format!("{self_name}.{attr}"), pool);
                }
            }
        });
    }

    fn note_instance_attribute(&mut self, class: ClassId, attr: &'a str, kind: ValueKind) {
        let attributes = &mut self.classes[class].instance_attributes;
        match attributes.get(attr) {
            Some(existing) if !matches!(existing, ValueKind::Other | ValueKind::None) => {}
            _ => {
                attributes.insert(attr, kind);
            }
        }
    }

    // ----------------------------------------------------------------------------------------
    // Pass 2: the full walk
    // ----------------------------------------------------------------------------------------

    fn current_function(&self) -> Option<FunctionId> {
        self.frames
            .last()
            .and_then(|frame| frame.as_ref().map(|f| f.id))
    }

    /// The receiver (`self`/`cls`) of the nearest enclosing method, and its class.
    fn current_receiver(&self) -> Option<(&'a str, Receiver, ClassId)> {
        for frame in self.frames.iter().rev() {
            let frame = frame.as_ref()?;
            if let Some((name, receiver)) = frame.receiver {
                let class = self.functions[frame.id].class?;
                return Some((name, receiver, class));
            }
        }
        None
    }

    fn current_class(&self) -> Option<ClassId> {
        self.current_receiver()
            .map(|(_, _, class)| class)
            .or_else(|| self.class_stack.last().copied())
    }

    fn locks_now(&self) -> Vec<LockKey> {
        let mut locks: Vec<LockKey> = Vec::new();
        for (lock, _) in &self.lock_stack {
            if !locks.contains(lock) {
                locks.push(lock.clone());
            }
        }
        locks
    }

    /// Whether `name` is a local variable of a function enclosing the current point.
    fn is_enclosing_local(&self, name: &str) -> bool {
        self.frames
            .iter()
            .rev()
            .flatten()
            .any(|frame| self.functions[frame.id].is_local(name))
    }

    fn module_class(&self, name: &str) -> Option<ClassId> {
        match self.bindings.get(name) {
            Some(binding) if binding.kind == ValueKind::Class => {
                self.class_index.get(name).copied()
            }
            _ => None,
        }
    }

    /// The state a name rebinds in the current function (`global`/`nonlocal` declarations).
    fn rebind_key(&self, name: &'a str) -> Option<StateKey<'a>> {
        let function = self.current_function()?;
        let current = &self.functions[function];
        if current.declares_global(name) {
            return Some(StateKey::Global(name));
        }
        if current.nonlocals.contains(&name) {
            let mut parent = current.parent;
            while let Some(id) = parent {
                if self.functions[id].is_local(name) {
                    return Some(StateKey::Nonlocal(id, name));
                }
                parent = self.functions[id].parent;
            }
        }
        None
    }

    /// The shared state an expression denotes when it is mutated in place or through an item or
    /// attribute: a module-level name, `self.attr`, `cls.attr`, `ClassName.attr`.
    fn state_key_of(&self, expr: &'a Expr) -> Option<StateKey<'a>> {
        match expr {
            Expr::Name(ast::ExprName { id, .. }) => {
                let name = id.as_str();
                let function = self.current_function()?;
                let current = &self.functions[function];
                if !current.declares_global(name) && self.is_enclosing_local(name) {
                    return None;
                }
                if current.nonlocals.contains(&name) {
                    return None;
                }
                match self.bindings.get(name) {
                    Some(binding) if binding.kind.is_shared_state() => Some(StateKey::Global(name)),
                    None if current.declares_global(name) => Some(StateKey::Global(name)),
                    _ => None,
                }
            }
            Expr::Attribute(ast::ExprAttribute { value, attr, .. }) => {
                let Expr::Name(base) = &**value else {
                    return None;
                };
                let base = base.id.as_str();
                if let Some((receiver_name, receiver, class)) = self.current_receiver()
                    && base == receiver_name
                {
                    return Some(match receiver {
                        Receiver::Instance => StateKey::InstanceAttr(class, attr.as_str()),
                        Receiver::Class => StateKey::ClassAttr(class, attr.as_str()),
                    });
                }
                if self.current_function().is_some() && self.is_enclosing_local(base) {
                    return None;
                }
                self.module_class(base)
                    .map(|class| StateKey::ClassAttr(class, attr.as_str()))
            }
            _ => None,
        }
    }

    /// The kind of value stored in a piece of state, when known.
    fn state_value_kind(&self, key: StateKey<'a>) -> Option<ValueKind> {
        match key {
            StateKey::Global(name) => self.bindings.get(name).map(|binding| binding.kind),
            StateKey::Nonlocal(..) => None,
            StateKey::ClassAttr(class, attr) => self.classes[class]
                .attribute(attr)
                .map(|attribute| attribute.kind),
            StateKey::InstanceAttr(class, attr) => self.classes[class]
                .instance_attributes
                .get(attr)
                .copied()
                .or_else(|| {
                    self.classes[class]
                        .attribute(attr)
                        .map(|attribute| attribute.kind)
                }),
        }
    }

    /// The lock an expression in `with …:` or `….acquire()` denotes, as a canonical key.
    fn lock_key(&self, expr: &'a Expr) -> Option<LockKey> {
        match expr {
            Expr::Name(ast::ExprName { id, .. }) => {
                let name = id.as_str();
                if let Some(function) = self.current_function()
                    && self.local_locks.contains(&(function, name))
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
                    let class = match self.current_receiver() {
                        Some((receiver_name, _, class)) if receiver_name == base => Some(class),
                        _ if !self.is_enclosing_local(base) => self.module_class(base),
                        _ => None,
                    };
                    if let Some(class) = class {
                        let class_level = self.classes[class]
                            .attribute(attr_name)
                            .filter(|attribute| attribute.kind == ValueKind::Lock)
                            .is_some()
                            && !self.classes[class]
                                .instance_attributes
                                .contains_key(attr_name);
                        if class_level {
                            return Some(format!("{}.{attr_name}", self.classes[class].name));
                        }
                        let kind = self.state_value_kind(StateKey::InstanceAttr(class, attr_name));
                        return match kind {
                            Some(ValueKind::Lock) => Some(format!("{base}.{attr_name}")),
                            Some(ValueKind::AsyncLock) => None,
                            _ => {
                                is_lock_like_name(attr_name).then(|| format!("{base}.{attr_name}"))
                            }
                        };
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

    fn push_lock(&mut self, key: LockKey, text: &str, range: TextRange) {
        self.lock_regions.push(LockRegion {
            lock: key.clone(),
            lock_text: text.to_string(),
            range,
            function: self.current_function(),
        });
        self.lock_stack.push((key, text.to_string()));
    }

    fn walk_suite(&mut self, suite: &'a [Stmt]) {
        // Locks taken with `lock.acquire()` in this suite and not yet released.
        let mut acquired: Vec<(LockKey, TextRange)> = Vec::new();
        for stmt in suite {
            if let Some(lock) = self.lock_call(stmt, "release")
                && let Some(position) = acquired.iter().rposition(|(key, _)| *key == lock)
            {
                let (_, start) = acquired.remove(position);
                self.close_acquired_region(&lock, start, stmt.start());
            }
            self.visit_stmt(stmt);
            if let Some(lock) = self.lock_call(stmt, "acquire") {
                let text = self.lock_call_receiver_text(stmt);
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
        }
        let end = suite.last().map(Ranged::end);
        while let Some((lock, start)) = acquired.pop() {
            self.close_acquired_region(&lock, start, end.unwrap_or(start.start()));
        }
    }

    /// Walks a suite, holding `lock` (if any) for its whole body.
    fn walk_suite_holding(&mut self, suite: &'a [Stmt], lock: Option<(&LockKey, &str)>) {
        match (lock, suite.first(), suite.last()) {
            (Some((key, text)), Some(first), Some(last)) => {
                self.push_lock(key.clone(), text, TextRange::new(first.start(), last.end()));
                self.walk_suite(suite);
                self.lock_stack.pop();
            }
            _ => self.walk_suite(suite),
        }
    }

    /// `lock.acquire(…)` or `not lock.acquire(…)` as an `if` test: the lock, its text, and
    /// whether the test is negated.
    fn acquire_test(&self, test: &'a Expr) -> Option<(LockKey, String, bool)> {
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

    fn lock_call_receiver_text(&self, stmt: &'a Stmt) -> String {
        if let Stmt::Expr(ast::StmtExpr { value, .. }) = stmt
            && let Expr::Call(ast::ExprCall { func, .. }) = &**value
            && let Expr::Attribute(ast::ExprAttribute { value, .. }) = &**func
        {
            return self.text(value.range()).to_string();
        }
        String::new()
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

        self.function_names.insert(def.name.as_str());
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
        let decorated = def.decorator_list.iter().any(|decorator| {
            !matches!(
                self.qualified_name(&decorator.expression).as_deref(),
                Some("builtins.staticmethod" | "builtins.classmethod")
            )
        });
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
            runs_in_fork_child: false,
            in_main_guard: self.in_main_guard,
        });
        // Configured decorators that run the function on a thread (`thread-entry-decorators`).
        if !self.options.thread_entry_decorators.is_empty() {
            for decorator in &def.decorator_list {
                let expression = match &decorator.expression {
                    Expr::Call(call) => &*call.func,
                    other => other,
                };
                let named = self
                    .qualified_name(expression)
                    .unwrap_or_else(|| self.text(expression.range()).to_string());
                if self.options.thread_entry_decorators.contains(&named) {
                    self.decorated_entries.push((id, decorator.range()));
                }
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
        self.frames.push(Some(FunctionFrame { id, receiver }));
        self.walk_suite(&def.body);
        self.frames.pop();
        self.lock_stack = saved_locks;
        self.guard_stack = saved_guards;
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
        self.frames.push(None);
        self.class_stack.push(id);
        self.walk_suite(&def.body);
        self.class_stack.pop();
        self.frames.pop();
        self.lock_stack = saved_locks;
        self.guard_stack = saved_guards;
    }

    fn record_call(&mut self, callee: &'a Expr) {
        if !self.may_denote_function(callee) {
            // A call of an imported name may reach a function of another module.
            if self.imported_head(callee) {
                self.external_call_refs
                    .push((self.current_function(), callee));
            }
            return;
        }
        let reference = self.pending_ref(callee);
        let locks = self.locks_now();
        self.pending_calls.push(PendingCall { reference, locks });
    }

    /// Whether the leftmost name of `a.b.c` (or the name itself) is an import.
    fn imported_head(&self, expr: &Expr) -> bool {
        let mut current = expr;
        loop {
            match current {
                Expr::Name(name) => return self.imports.contains_key(name.id.as_str()),
                Expr::Attribute(attribute) => current = &attribute.value,
                _ => return false,
            }
        }
    }

    /// Whether an expression can resolve to one of this module's functions: a module-level
    /// `def`, a nested `def` (a local of an enclosing scope), or a method through `self`/`cls`
    /// or a class of this module. Everything else is skipped before resolution.
    fn may_denote_function(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Name(ast::ExprName { id, .. }) => self.function_names.contains(id.as_str()),
            Expr::Attribute(ast::ExprAttribute { value, .. }) => match &**value {
                Expr::Name(base) => {
                    let base = base.id.as_str();
                    matches!(base, "self" | "cls") || self.class_index.contains_key(base)
                }
                _ => false,
            },
            _ => false,
        }
    }

    fn pending_ref(&self, expr: &'a Expr) -> PendingRef<'a> {
        PendingRef {
            expr,
            scope: self.current_function(),
            class: self.current_class(),
        }
    }

    // ---- writes ----------------------------------------------------------------------------

    fn push_access(
        &mut self,
        key: StateKey<'a>,
        target: AccessTarget<'a>,
        kind: AccessKind<'a>,
        read_modify_write: bool,
        range: TextRange,
        site: WriteSite<'a>,
    ) {
        let Some(function) = self.current_function() else {
            return;
        };
        let guard = self
            .guard_stack
            .iter()
            .rev()
            .find(|active| {
                active.key == key
                    && match (&active.item, &target) {
                        (Some(item), AccessTarget::Item(written)) => item == written,
                        (None, AccessTarget::Whole) => true,
                        _ => false,
                    }
            })
            .map(|active| active.guard.clone());
        self.accesses.push(StateAccess {
            key,
            target,
            kind,
            read_modify_write,
            range,
            stmt: self.current_stmt,
            function,
            locks: self.locks_now(),
            guard,
            object: site.object,
            value: site.value.map(Ranged::range),
            value_is_pure: site.value.is_some_and(is_pure),
        });
    }

    fn record_write(&mut self, target: &'a Expr, kind: AccessKind<'a>, value: Option<&'a Expr>) {
        self.record_process_global_assignment(target);
        let augmented = matches!(kind, AccessKind::AugAssign);
        match target {
            Expr::Name(ast::ExprName { id, range, .. }) => {
                if let Some(key) = self.rebind_key(id.as_str()) {
                    let rmw =
                        augmented || value.is_some_and(|value| reads_name(value, id.as_str()));
                    let site = WriteSite {
                        object: None,
                        value,
                    };
                    self.push_access(key, AccessTarget::Whole, kind, rmw, *range, site);
                }
            }
            Expr::Subscript(ast::ExprSubscript {
                value: container,
                slice,
                range,
                ..
            }) => {
                let Some(key) = self.state_key_of(container) else {
                    return;
                };
                let container_text = self.text(container.range());
                let item = self.text(slice.range()).to_string();
                let rmw = augmented
                    || value
                        .is_some_and(|value| reads_item(value, container_text, &item, self.source));
                let site = WriteSite {
                    object: Some(container.range()),
                    value,
                };
                self.push_access(key, AccessTarget::Item(item), kind, rmw, *range, site);
            }
            Expr::Attribute(ast::ExprAttribute {
                value: object,
                attr,
                range,
                ..
            }) => {
                let attr_name = attr.as_str();
                let own = match &**object {
                    Expr::Name(base) => match self.current_receiver() {
                        Some((receiver_name, receiver, class))
                            if receiver_name == base.id.as_str() =>
                        {
                            Some(match receiver {
                                Receiver::Instance => StateKey::InstanceAttr(class, attr_name),
                                Receiver::Class => StateKey::ClassAttr(class, attr_name),
                            })
                        }
                        _ if !self.is_enclosing_local(base.id.as_str()) => self
                            .module_class(base.id.as_str())
                            .map(|class| StateKey::ClassAttr(class, attr_name)),
                        _ => None,
                    },
                    _ => None,
                };
                let target_text = self.text(target.range());
                let rmw = augmented
                    || value.is_some_and(|value| reads_text(value, target_text, self.source));
                let site = WriteSite {
                    object: Some(object.range()),
                    value,
                };
                if let Some(key) = own {
                    self.push_access(key, AccessTarget::Whole, kind, rmw, *range, site);
                } else if let Some(key) = self.state_key_of(object) {
                    self.push_access(key, AccessTarget::Attr(attr_name), kind, rmw, *range, site);
                }
            }
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                for elt in elts {
                    self.record_write(elt, kind, None);
                }
            }
            Expr::Starred(ast::ExprStarred { value: inner, .. }) => {
                self.record_write(inner, kind, None);
            }
            _ => {}
        }
    }

    fn record_mutating_call(&mut self, call: &'a ast::ExprCall) {
        let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &*call.func else {
            return;
        };
        let method = attr.as_str();
        if !is_mutating_method(method) {
            return;
        }
        // `D[k].append(x)` on a defaultdict inserts `k` through `__missing__`: two threads can
        // each create a fresh value and one of the appends is lost.
        if let Expr::Subscript(ast::ExprSubscript {
            value: container,
            slice,
            ..
        }) = &**value
        {
            if let Some(key) = self.state_key_of(container)
                && self.state_value_kind(key)
                    == Some(ValueKind::Container(super::ContainerKind::DefaultDict))
            {
                let item = self.text(slice.range()).to_string();
                self.push_access(
                    key,
                    AccessTarget::Item(item),
                    AccessKind::MutatingCall(method),
                    true,
                    call.range(),
                    WriteSite::default(),
                );
            }
            return;
        }
        let Some(key) = self.state_key_of(value) else {
            return;
        };
        // Only containers known as such: `app.update()` on an unknown object is not a write we
        // can reason about.
        if !matches!(self.state_value_kind(key), Some(ValueKind::Container(_))) {
            return;
        }
        self.push_access(
            key,
            AccessTarget::Whole,
            AccessKind::MutatingCall(method),
            false,
            call.range(),
            WriteSite::default(),
        );
    }

    // ---- process-wide state and GIL APIs ----------------------------------------------------

    fn process_global_entry(
        &self,
        table: &'static [crate::data::ProcessGlobalEntry],
        qualified: &str,
    ) -> Option<(String, String)> {
        let target = self.options.target_version;
        if let Some(entry) = table.iter().find(|entry| {
            entry.name == qualified
                && entry
                    .below
                    .as_deref()
                    .is_none_or(|version| target.is_below(version))
        }) {
            return Some((entry.name.clone(), entry.reason.clone()));
        }
        None
    }

    fn record_process_global_call(&mut self, call: &'a ast::ExprCall) {
        // Only dotted or imported names can be on the list.
        let listed = match &*call.func {
            Expr::Attribute(attribute) => {
                crate::data::is_listed_last_segment(attribute.attr.as_str())
                    || !self.options.thread_unsafe_functions.is_empty()
            }
            Expr::Name(name) => self.imports.contains_key(name.id.as_str()),
            _ => false,
        };
        if !listed {
            return;
        }
        let Some(qualified) = self.qualified_name(&call.func) else {
            return;
        };
        let found = self
            .process_global_entry(&crate::data::process_global().call, &qualified)
            .or_else(|| {
                self.options
                    .thread_unsafe_functions.contains(&qualified)
                    .then(|| {
                        (
                            qualified.clone(),
                            "is configured as changing process-wide state (`thread-unsafe-functions`)"
                                .to_string(),
                        )
                    })
            });
        if let Some((name, reason)) = found {
            self.process_global_uses.push(ProcessGlobalUse {
                function: self.current_function(),
                range: call.range(),
                name,
                reason,
            });
        }
    }

    fn record_process_global_assignment(&mut self, target: &'a Expr) {
        let assigned = match target {
            Expr::Attribute(_) => target,
            Expr::Subscript(ast::ExprSubscript { value, .. }) => &**value,
            _ => return,
        };
        let Expr::Attribute(attribute) = assigned else {
            return;
        };
        if !crate::data::is_listed_last_segment(attribute.attr.as_str()) {
            return;
        }
        let Some(qualified) = self.qualified_name(assigned) else {
            return;
        };
        if let Some((name, reason)) =
            self.process_global_entry(&crate::data::process_global().assignment, &qualified)
        {
            self.process_global_uses.push(ProcessGlobalUse {
                function: self.current_function(),
                range: target.range(),
                name,
                reason,
            });
        }
    }

    /// A GIL API called: `sys._is_gil_disabled()`, or `getattr(sys, "_is_gil_disabled", …)()`.
    fn record_gil_api_call(&mut self, call: &'a ast::ExprCall) {
        // Cheap filters first: a `getattr(…)()` call, or a listed attribute name.
        let candidate = match &*call.func {
            Expr::Call(_) => true,
            Expr::Attribute(attribute) => {
                crate::data::is_listed_last_segment(attribute.attr.as_str())
            }
            _ => false,
        };
        if !candidate {
            return;
        }
        let table = &crate::data::gil_apis().api;
        let condition = self.condition_slots.contains(&call.range());
        let wrap = |replacement: &str| {
            if replacement.starts_with("not ") && !condition {
                format!("({replacement})")
            } else {
                replacement.to_string()
            }
        };
        // `getattr(sys, "name", default)()`
        if let Expr::Call(inner) = &*call.func
            && let Some((name, literal)) = self.getattr_of_module(inner)
        {
            let qualified = format!("{name}.{literal}");
            if let Some(entry) = table.iter().find(|entry| entry.name == qualified) {
                let replacement = entry.replacement.as_deref().and_then(|replacement| {
                    // Keep the fallback for interpreters without the real API.
                    let real = replacement
                        .trim_start_matches("not ")
                        .trim_end_matches("()");
                    let (_, attr) = real.rsplit_once('.')?;
                    let module = self.text(inner.arguments.args[0].range());
                    let negated = replacement.starts_with("not ");
                    // Interpreters without the API (before 3.13) always have a GIL.
                    let call_text = format!("getattr({module}, \"{attr}\", lambda: True)()");
                    Some(if negated {
                        wrap(&format!("not {call_text}"))
                    } else {
                        call_text
                    })
                });
                self.gil_api_uses.push(GilApiUse {
                    range: inner.range(),
                    name: entry.name.clone(),
                    reason: entry.reason.clone(),
                    replacement: replacement.map(|text| (call.range(), text)),
                });
            }
            return;
        }
        let Expr::Attribute(attribute) = &*call.func else {
            return;
        };
        if !crate::data::is_listed_last_segment(attribute.attr.as_str()) {
            return;
        }
        let Some(qualified) = self.qualified_name(&call.func) else {
            return;
        };
        if let Some(entry) = table.iter().find(|entry| entry.name == qualified) {
            // Keep the module as this code names it (`import sys as system`).
            let receiver = self.text(attribute.value.range());
            let module = entry.name.rsplit_once('.').map_or("", |(module, _)| module);
            let replacement = entry
                .replacement
                .as_deref()
                .filter(|_| call.arguments.args.is_empty() && call.arguments.keywords.is_empty())
                .map(|replacement| {
                    let renamed =
                        replacement.replace(&format!("{module}."), &format!("{receiver}."));
                    (call.range(), wrap(&renamed))
                });
            self.gil_api_uses.push(GilApiUse {
                range: call.func.range(),
                name: entry.name.clone(),
                reason: entry.reason.clone(),
                replacement,
            });
        }
    }

    /// `sys._is_gil_disabled` referenced without calling it.
    fn record_gil_api_reference(&mut self, expr: &'a Expr) {
        let Expr::Attribute(attribute) = expr else {
            return;
        };
        if !crate::data::is_listed_last_segment(attribute.attr.as_str()) {
            return;
        }
        let Some(qualified) = self.qualified_name(expr) else {
            return;
        };
        if let Some(entry) = crate::data::gil_apis()
            .api
            .iter()
            .find(|entry| entry.name == qualified)
        {
            self.gil_api_uses.push(GilApiUse {
                range: expr.range(),
                name: entry.name.clone(),
                reason: entry.reason.clone(),
                replacement: None,
            });
        }
    }

    /// `importlib.import_module("name")` with a literal (absolute) name.
    fn record_dynamic_import(&mut self, call: &'a ast::ExprCall) {
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
        });
    }

    /// `getattr(<module>, "<literal>", …)`: the module's qualified name and the literal.
    fn getattr_of_module(&self, call: &'a ast::ExprCall) -> Option<(String, String)> {
        let Expr::Name(name) = &*call.func else {
            return None;
        };
        if name.id.as_str() != "getattr" || self.bindings.contains_key("getattr") {
            return None;
        }
        let module = self.qualified_name(call.arguments.args.first()?)?;
        let Expr::StringLiteral(literal) = call.arguments.args.get(1)? else {
            return None;
        };
        Some((module, literal.value.to_str().to_string()))
    }

    // ---- guards ----------------------------------------------------------------------------

    fn guard_for_test(&self, test: &'a Expr, stmt: TextRange) -> Option<ActiveGuard<'a>> {
        let make = |kind, key, item: Option<String>| ActiveGuard {
            key,
            item,
            guard: Guard {
                kind,
                check: test.range(),
                stmt,
                locks: self.locks_now(),
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
                        let key = self.state_key_of(right)?;
                        let kind = self.state_value_kind(key);
                        if !matches!(kind, Some(ValueKind::Container(c)) if c.is_mapping())
                            && !matches!(kind, Some(ValueKind::Other))
                        {
                            return None;
                        }
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
                let key = self.lazy_state(operand)?;
                Some(make(GuardKind::NoneCheck, key, None))
            }
            _ => None,
        }
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

    /// State that a lazy initialisation checks: a `global` name or a class attribute.
    fn lazy_state(&self, expr: &'a Expr) -> Option<StateKey<'a>> {
        match expr {
            Expr::Name(ast::ExprName { id, .. }) => {
                let function = self.current_function()?;
                self.functions[function]
                    .declares_global(id.as_str())
                    .then_some(StateKey::Global(id.as_str()))
            }
            Expr::Attribute(_) => match self.state_key_of(expr)? {
                key @ StateKey::ClassAttr(..) => Some(key),
                _ => None,
            },
            _ => None,
        }
    }

    /// `try: … D[k] … except KeyError:` — the mapping and key looked up in the `try` body.
    fn try_lookup_guard(&self, stmt: &'a ast::StmtTry) -> Option<ActiveGuard<'a>> {
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
                locks: self.locks_now(),
            },
        })
    }

    // ---- thread entries ----------------------------------------------------------------------

    /// A process pool constructor: `ProcessPoolExecutor(…)`, `multiprocessing.Pool(…)`,
    /// `multiprocessing.get_context(…).Pool(…)` (also through a name bound to the context).
    fn process_pool_factory(&self, call: &ast::ExprCall) -> Option<super::PoolFactory> {
        let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &*call.func else {
            // A bare name: only an import of `Pool`/`ProcessPoolExecutor` can be a pool.
            let Expr::Name(name) = &*call.func else {
                return None;
            };
            let imported = self.imports.get(name.id.as_str())?;
            if !matches!(
                imported.rsplit('.').next(),
                Some("Pool" | "ProcessPoolExecutor")
            ) {
                return None;
            }
            return self.process_pool_by_name(&call.func);
        };
        if attr.as_str() == "Pool" {
            let is_context = match &**value {
                Expr::Call(inner) => matches!(
                    self.qualified_name(&inner.func).as_deref(),
                    Some("multiprocessing.get_context")
                ),
                Expr::Name(name) => self.context_names.contains(name.id.as_str()),
                _ => false,
            };
            if is_context {
                return Some(super::PoolFactory::Multiprocessing);
            }
        }
        if matches!(attr.as_str(), "Pool" | "ProcessPoolExecutor") {
            return self.process_pool_by_name(&call.func);
        }
        None
    }

    fn process_pool_by_name(&self, func: &Expr) -> Option<super::PoolFactory> {
        match self.qualified_name(func).as_deref() {
            Some(
                "concurrent.futures.ProcessPoolExecutor"
                | "concurrent.futures.process.ProcessPoolExecutor",
            ) => Some(super::PoolFactory::Executor),
            Some("multiprocessing.Pool" | "multiprocessing.pool.Pool") => {
                Some(super::PoolFactory::Multiprocessing)
            }
            _ => None,
        }
    }

    fn record_process_pool(&mut self, call: &'a ast::ExprCall) {
        let Some(factory) = self.process_pool_factory(call) else {
            return;
        };
        let initializer = call
            .arguments
            .keywords
            .iter()
            .find(|keyword| {
                keyword
                    .arg
                    .as_ref()
                    .is_some_and(|arg| arg.as_str() == "initializer")
            })
            .map(|keyword| &keyword.value);
        self.pending_pools.push(PendingPool {
            call,
            factory,
            function: self.current_function(),
            bound: Vec::new(),
            initializer,
        });
    }

    /// `pool = Pool(…)` / `with Pool(…) as pool`: remembers the name the pool is bound to.
    fn bind_process_pool(&mut self, value: &'a Expr, target: &'a Expr) {
        let text = self.text(target.range()).to_string();
        // `executor = pool` / `with pool as executor`: another name for the same pool.
        if matches!(value, Expr::Name(_) | Expr::Attribute(_)) {
            let source = self.text(value.range());
            if let Some(kind) = self.pool_names.get(source).copied() {
                self.pool_names.insert(text.clone(), kind);
            }
            let function = self.current_function();
            if let Some(pool) = self.pending_pools.iter_mut().rev().find(|pool| {
                pool.function == function && pool.bound.iter().any(|name| name == source)
            }) {
                pool.bound.push(text);
            }
            return;
        }
        let Expr::Call(call) = value else { return };
        if let Some(pool) = self
            .pending_pools
            .iter_mut()
            .rev()
            .find(|pool| pool.call.range() == call.range())
        {
            pool.bound.push(text);
        } else if matches!(
            self.qualified_name(&call.func).as_deref(),
            Some("multiprocessing.get_context")
        ) {
            self.context_names.insert(text);
        }
    }

    fn pool_kind(&self, receiver: &'a Expr) -> Option<PoolKind> {
        if let Expr::Call(_) = receiver
            && let ValueKind::Pool(kind) = self.classify(receiver)
        {
            return Some(kind);
        }
        if let Some(kind) = self.pool_names.get(self.text(receiver.range())) {
            return Some(*kind);
        }
        if let Expr::Name(name) = receiver
            && let Some(ModuleBinding {
                kind: ValueKind::Pool(kind),
                ..
            }) = self.bindings.get(name.id.as_str())
        {
            return Some(*kind);
        }
        None
    }

    fn record_thread_entry(&mut self, call: &'a ast::ExprCall) {
        // Most calls start no thread: decide by the callee's last name before resolving it.
        let last_name = match &*call.func {
            Expr::Name(name) => name.id.as_str(),
            Expr::Attribute(attribute) => attribute.attr.as_str(),
            _ => return,
        };
        // For an imported name, what counts is the name it was imported as.
        let imported_as = match &*call.func {
            Expr::Name(name) => self
                .imports
                .get(name.id.as_str())
                .map(|qualified| qualified.rsplit('.').next().unwrap_or(qualified.as_str())),
            _ => None,
        };
        let last_name = imported_as.unwrap_or(last_name);
        let may_start_thread = matches!(
            last_name,
            "Thread"
                | "Timer"
                | "start_new_thread"
                | "start_new"
                | "_start_new_thread"
                | "to_thread"
                | "ThreadPoolExecutor"
                | "ThreadPool"
                | "Pool"
                | "submit"
                | "run_in_executor"
                | "map"
                | "imap"
                | "imap_unordered"
                | "starmap"
                | "apply_async"
                | "apply"
                | "map_async"
                | "starmap_async"
        ) || matches!(&*call.func, Expr::Name(name) if self.module_class(name.id.as_str()).is_some());
        if !may_start_thread {
            return;
        }
        let arguments = &call.arguments;
        let keyword = |name: &str| {
            arguments
                .keywords
                .iter()
                .find(|keyword| keyword.arg.as_ref().is_some_and(|arg| arg.as_str() == name))
                .map(|keyword| &keyword.value)
        };
        let positional = |index: usize| arguments.args.get(index);
        let qualified = self.qualified_name(&call.func);
        let thread_class = match &*call.func {
            Expr::Name(name) => self
                .module_class(name.id.as_str())
                .is_some_and(|class| self.classes[class].is_thread_subclass),
            _ => false,
        };
        let (kind, target) = match qualified.as_deref() {
            Some("threading.Thread") => {
                (ThreadEntryKind::Thread, keyword("target").or(positional(1)))
            }
            _ if thread_class => (ThreadEntryKind::Thread, keyword("target")),
            Some("threading.Timer") => (
                ThreadEntryKind::Timer,
                keyword("function").or(positional(1)),
            ),
            Some(
                "_thread.start_new_thread" | "_thread.start_new" | "threading._start_new_thread",
            ) => (ThreadEntryKind::StartNewThread, positional(0)),
            Some("asyncio.to_thread") => (ThreadEntryKind::ToThread, positional(0)),
            Some(
                "concurrent.futures.ThreadPoolExecutor"
                | "concurrent.futures.thread.ThreadPoolExecutor"
                | "multiprocessing.pool.ThreadPool"
                | "multiprocessing.dummy.Pool",
            ) => (ThreadEntryKind::Initializer, keyword("initializer")),
            _ => {
                let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &*call.func else {
                    return;
                };
                let pool = self.pool_kind(value);
                if pool == Some(PoolKind::Process) {
                    if matches!(
                        attr.as_str(),
                        "submit"
                            | "map"
                            | "imap"
                            | "imap_unordered"
                            | "starmap"
                            | "apply"
                            | "apply_async"
                            | "map_async"
                            | "starmap_async"
                    ) {
                        self.pending_submissions.push(PendingSubmission {
                            receiver: value,
                            worker: call.arguments.args.first(),
                            scope: self.current_function(),
                            class: self.current_class(),
                        });
                    }
                    return;
                }
                match attr.as_str() {
                    "submit" => (ThreadEntryKind::ExecutorSubmit, positional(0)),
                    "run_in_executor" => {
                        // `loop.run_in_executor(executor, fn, …)`: the executor decides.
                        if let Some(executor) = positional(0)
                            && self.pool_kind(executor) == Some(PoolKind::Process)
                        {
                            self.pending_submissions.push(PendingSubmission {
                                receiver: executor,
                                worker: positional(1),
                                scope: self.current_function(),
                                class: self.current_class(),
                            });
                            return;
                        }
                        (ThreadEntryKind::RunInExecutor, positional(1))
                    }
                    "map" | "imap" | "imap_unordered" | "starmap" | "apply_async" | "apply"
                    | "map_async" | "starmap_async" => {
                        let receiver = self.text(value.range()).to_ascii_lowercase();
                        let looks_like_pool = receiver.contains("executor")
                            || receiver.contains("pool")
                            || receiver.contains("thread");
                        if pool == Some(PoolKind::Thread) || (pool.is_none() && looks_like_pool) {
                            (ThreadEntryKind::PoolMethod, positional(0))
                        } else {
                            return;
                        }
                    }
                    _ => return,
                }
            }
        };
        let Some(target) = target else {
            return;
        };
        let targets = self.callable_targets(target);
        if targets.is_empty() {
            return;
        }
        self.pending_entries.push(PendingEntry {
            kind,
            range: call.range(),
            targets,
        });
    }

    /// The function references a callable expression stands for: a name, a bound method,
    /// `functools.partial(f, …)`, or the calls a lambda makes.
    fn callable_targets(&self, expr: &'a Expr) -> Vec<PendingRef<'a>> {
        match expr {
            Expr::Name(_) | Expr::Attribute(_) => vec![self.pending_ref(expr)],
            Expr::Call(ast::ExprCall {
                func, arguments, ..
            }) => {
                let is_partial = matches!(
                    self.qualified_name(func).as_deref(),
                    Some("functools.partial")
                );
                match (is_partial, arguments.args.first()) {
                    (true, Some(first)) => self.callable_targets(first),
                    _ => Vec::new(),
                }
            }
            Expr::Lambda(ast::ExprLambda { body, .. }) => {
                let mut finder = CallFinder::default();
                finder.visit_expr(body);
                finder
                    .callees
                    .into_iter()
                    .map(|callee| self.pending_ref(callee))
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    // ----------------------------------------------------------------------------------------
    // Resolution
    // ----------------------------------------------------------------------------------------

    fn resolve(&self, reference: &PendingRef<'a>) -> Option<FunctionId> {
        match reference.expr {
            Expr::Name(ast::ExprName { id, .. }) => {
                let name = id.as_str();
                let mut scope = reference.scope;
                while let Some(function) = scope {
                    if self.functions[function].is_local(name) {
                        return self.function_index.get(&(Some(function), name)).copied();
                    }
                    scope = self.functions[function].parent;
                }
                self.function_index.get(&(None, name)).copied().filter(|_| {
                    matches!(
                        self.bindings.get(name).map(|b| b.kind),
                        Some(ValueKind::Function)
                    )
                })
            }
            Expr::Attribute(ast::ExprAttribute { value, attr, .. }) => {
                let Expr::Name(base) = &**value else {
                    return None;
                };
                let base = base.id.as_str();
                let class = if matches!(base, "self" | "cls") {
                    reference.class?
                } else {
                    let local = reference
                        .scope
                        .is_some_and(|scope| self.functions[scope].is_local(base));
                    if local {
                        return None;
                    }
                    self.module_class(base)?
                };
                self.method(class, attr.as_str())
            }
            _ => None,
        }
    }

    /// The function a worker expression denotes: a function of this module, one imported from
    /// another, or `functools.partial` of either. `None` for anything else (a lambda, a
    /// callable object) — NG301 says nothing about pools with such workers.
    fn worker_ref(
        &self,
        worker: &'a Expr,
        scope: Option<FunctionId>,
        class: Option<ClassId>,
    ) -> Option<super::WorkerRef> {
        // `work = functools.partial(f, …)` earlier in the same function.
        if let Expr::Name(name) = worker
            && let Some(scope) = scope
            && let Some(bound) = self.partial_bindings.get(&(scope, name.id.as_str()))
        {
            return self.worker_ref(bound, Some(scope), class);
        }
        match worker {
            Expr::Name(_) | Expr::Attribute(_) => {
                let reference = PendingRef {
                    expr: worker,
                    scope,
                    class,
                };
                if let Some(function) = self.resolve(&reference) {
                    return Some(super::WorkerRef::Local(function));
                }
                if self.imported_head(worker) {
                    return self
                        .qualified_name(worker)
                        .filter(|qualified| !qualified.starts_with("builtins."))
                        .map(super::WorkerRef::External);
                }
                None
            }
            Expr::Call(ast::ExprCall {
                func, arguments, ..
            }) if matches!(
                self.qualified_name(func).as_deref(),
                Some("functools.partial")
            ) =>
            {
                self.worker_ref(arguments.args.first()?, scope, class)
            }
            _ => None,
        }
    }

    fn method(&self, class: ClassId, name: &str) -> Option<FunctionId> {
        let mut current = Some(class);
        let mut depth = 0;
        while let Some(id) = current {
            if let Some(&method) = self.classes[id]
                .methods
                .iter()
                .find(|&&method| self.functions[method].name == name)
            {
                return Some(method);
            }
            depth += 1;
            if depth > 16 {
                return None;
            }
            current = self.classes[id]
                .bases
                .iter()
                .find_map(|base| self.class_index.get(base.as_str()).copied());
        }
        None
    }

    fn finish(mut self) -> SemanticModel<'a> {
        let function_count = self.functions.len();

        // Thread entries, including `run` overrides of `Thread` subclasses.
        let mut thread_entries: Vec<ThreadEntry> = Vec::new();
        for pending in &self.pending_entries {
            let mut targets: Vec<FunctionId> = Vec::new();
            let mut external_targets: Vec<String> = Vec::new();
            for reference in &pending.targets {
                match self.resolve(reference) {
                    Some(target) => targets.push(target),
                    None => {
                        if self.imported_head(reference.expr)
                            && let Some(qualified) = self.qualified_name(reference.expr)
                        {
                            external_targets.push(qualified);
                        }
                    }
                }
            }
            targets.sort_unstable();
            targets.dedup();
            if !targets.is_empty() || !external_targets.is_empty() {
                thread_entries.push(ThreadEntry {
                    kind: pending.kind,
                    range: pending.range,
                    targets,
                    external_targets,
                });
            }
        }
        // Each submission goes to the pool created on the receiver itself, or to the latest pool
        // bound to the receiver's name before it in the same function.
        let owner_of = |submission: &PendingSubmission<'a>| -> Option<usize> {
            let receiver = submission.receiver.range();
            if let Some(index) = self
                .pending_pools
                .iter()
                .position(|pool| pool.call.range() == receiver)
            {
                return Some(index);
            }
            let name = self.text(receiver);
            self.pending_pools
                .iter()
                .enumerate()
                .filter(|(_, pool)| {
                    pool.function == submission.scope
                        && pool.bound.iter().any(|bound| bound == name)
                        && pool.call.range().start() < receiver.start()
                })
                .max_by_key(|(_, pool)| pool.call.range().start())
                .map(|(index, _)| index)
        };
        let owners: Vec<Option<usize>> = self.pending_submissions.iter().map(owner_of).collect();
        let mut process_pools: Vec<super::ProcessPool> = Vec::new();
        for (pool_index, pending) in self.pending_pools.iter().enumerate() {
            let mut workers: Vec<super::WorkerRef> = Vec::new();
            let mut unresolved_worker = false;
            let submitted = self
                .pending_submissions
                .iter()
                .zip(&owners)
                .filter(|(_, owner)| **owner == Some(pool_index))
                .map(|(submission, _)| submission);
            let worker_exprs = submitted
                .map(|submission| (submission.worker, submission.scope, submission.class))
                .chain(
                    pending
                        .initializer
                        .map(|initializer| (Some(initializer), pending.function, None)),
                );
            for (worker, scope, class) in worker_exprs {
                match worker.and_then(|worker| self.worker_ref(worker, scope, class)) {
                    Some(worker) => {
                        if !workers.contains(&worker) {
                            workers.push(worker);
                        }
                    }
                    None => unresolved_worker = true,
                }
            }
            let arguments = &pending.call.arguments;
            let mut ranges: Vec<TextRange> = arguments
                .args
                .iter()
                .map(Ranged::range)
                .chain(arguments.keywords.iter().map(Ranged::range))
                .collect();
            ranges.sort_by_key(|range| range.start());
            process_pools.push(super::ProcessPool {
                range: pending.call.range(),
                callee: pending.call.func.range(),
                factory: pending.factory,
                function: pending.function,
                workers,
                unresolved_worker,
                positional: arguments.args.len(),
                keywords: arguments
                    .keywords
                    .iter()
                    .map(|keyword| {
                        (
                            keyword
                                .arg
                                .as_ref()
                                .map_or_else(|| "**".to_string(), ToString::to_string),
                            keyword.range(),
                        )
                    })
                    .collect(),
                arguments: ranges,
            });
        }
        // One qualified name per distinct (caller, callee text).
        let mut refs: Vec<(Option<FunctionId>, &str, &'a Expr)> = self
            .external_call_refs
            .iter()
            .map(|(caller, expr)| (*caller, self.text(expr.range()), *expr))
            .collect();
        refs.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        refs.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        let mut external_calls: Vec<(Option<FunctionId>, String)> = refs
            .iter()
            .map(|(caller, _, expr)| (caller, expr))
            .filter_map(|(caller, expr)| {
                self.qualified_name(expr)
                    .filter(|qualified| !qualified.starts_with("builtins."))
                    .map(|qualified| (*caller, qualified))
            })
            .collect();
        external_calls.sort();
        external_calls.dedup();
        for class in &self.classes {
            if !class.is_thread_subclass {
                continue;
            }
            for &method in &class.methods {
                if self.functions[method].name == "run" {
                    thread_entries.push(ThreadEntry {
                        kind: ThreadEntryKind::RunOverride,
                        range: self.functions[method].name_range,
                        targets: vec![method],
                        external_targets: Vec::new(),
                    });
                }
            }
        }
        for &(function, range) in &self.decorated_entries {
            thread_entries.push(ThreadEntry {
                kind: ThreadEntryKind::Decorated,
                range,
                targets: vec![function],
                external_targets: Vec::new(),
            });
        }
        thread_entries.sort_by_key(|entry| entry.range.start());

        // Call graph.
        let mut call_sites: Vec<CallSite> = Vec::new();
        for pending in &self.pending_calls {
            if let Some(callee) = self.resolve(&pending.reference) {
                call_sites.push(CallSite {
                    caller: pending.reference.scope,
                    callee,
                    locks: pending.locks.clone(),
                });
            }
        }
        let escaped: Vec<FunctionId> = self
            .pending_escapes
            .iter()
            .filter_map(|reference| self.resolve(reference))
            .collect();
        for function in escaped {
            self.functions[function].escapes = true;
        }
        let fork_child_handlers: Vec<FunctionId> = self
            .pending_fork_child_handlers
            .iter()
            .filter_map(|reference| self.resolve(reference))
            .collect();
        for function in fork_child_handlers {
            self.functions[function].runs_in_fork_child = true;
        }
        let mut entry_targets: HashSet<FunctionId> = HashSet::default();
        for entry in &thread_entries {
            entry_targets.extend(entry.targets.iter().copied());
        }

        let reached_from = propagate_reachability(function_count, &thread_entries, &call_sites);
        let inherited_locks = inherit_locks(
            &self.functions,
            &call_sites,
            &entry_targets,
            function_count,
            None,
        );
        let construction = construction_only(&self.functions, &call_sites, &entry_targets);
        let instance_inherited_locks = inherit_locks(
            &self.functions,
            &call_sites,
            &entry_targets,
            function_count,
            Some(&construction),
        );
        let import_time = import_time_only(&self.functions, &call_sites, &entry_targets);

        let mut accesses_by_key: HashMap<StateKey<'a>, Vec<usize>> = HashMap::default();
        for (index, access) in self.accesses.iter().enumerate() {
            accesses_by_key.entry(access.key).or_default().push(index);
        }

        SemanticModel {
            source: self.source,
            line_starts: std::sync::OnceLock::new(),
            imports: self.imports,
            bindings: self.bindings,
            functions: self.functions,
            classes: self.classes,
            class_index: self.class_index,
            lock_regions: self.lock_regions,
            lock_unavailable: self.lock_unavailable,
            thread_entries,
            accesses: self.accesses,
            accesses_by_key,
            call_sites,
            parameter_lock_defaults: self.parameter_lock_defaults,
            process_global_uses: self.process_global_uses,
            import_refs: self.import_refs,
            process_pools,
            external_calls,
            gil_api_uses: self.gil_api_uses,
            main_guards: self.main_guards,
            header_end: TextSize::default(),
            reached_from,
            inherited_locks,
            instance_inherited_locks,
            construction,
            import_time,
        }
    }
}

/// Below this much free stack, a deeper visit continues on a new stack segment: code nested
/// tens of thousands of levels deep (a generated `1 + 1 + …` of a million terms) must not
/// overflow the thread's stack, whatever its size.
const STACK_RED_ZONE: usize = 256 * 1024;
/// The size of each extra segment.
const STACK_SEGMENT: usize = 8 * 1024 * 1024;

fn with_stack<R>(visit: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, visit)
}

impl<'a> Visitor<'a> for Builder<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        with_stack(|| self.visit_stmt_here(stmt));
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        with_stack(|| self.visit_expr_here(expr));
    }
}

impl<'a> Builder<'a> {
    fn visit_stmt_here(&mut self, stmt: &'a Stmt) {
        // Condition slots only matter inside the statement that recorded them.
        self.condition_slots.clear();
        let saved_stmt = self.current_stmt;
        self.current_stmt = stmt.range();
        match stmt {
            Stmt::FunctionDef(def) => self.enter_function(def),
            Stmt::ClassDef(def) => self.enter_class(def),
            Stmt::Import(_) | Stmt::ImportFrom(_) => {
                if self.current_function().is_some() {
                    self.record_import(stmt);
                }
            }
            Stmt::If(ast::StmtIf {
                test,
                body,
                elif_else_clauses,
                ..
            }) => {
                self.condition_slots.push(test.range());
                self.visit_expr(test);
                let main_guard = self.frames.is_empty() && is_main_guard(test);
                let guard = self.guard_for_test(test, stmt.range());
                let saved_main = self.in_main_guard;
                self.in_main_guard |= main_guard;
                let pushed = guard.is_some();
                if let Some(guard) = guard {
                    self.guard_stack.push(guard);
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
                self.in_main_guard = saved_main;
                for clause in elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.visit_expr(test);
                    }
                    let else_holds = acquired
                        .as_ref()
                        .filter(|(_, _, negated)| *negated && clause.test.is_none());
                    self.walk_suite_holding(
                        &clause.body,
                        else_holds.map(|(key, text, _)| (key, text.as_str())),
                    );
                }
            }
            Stmt::While(ast::StmtWhile {
                test, body, orelse, ..
            }) => {
                self.condition_slots.push(test.range());
                self.visit_expr(test);
                self.walk_suite(body);
                self.walk_suite(orelse);
            }
            Stmt::For(ast::StmtFor {
                target,
                iter,
                body,
                orelse,
                ..
            }) => {
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
                let guard = self.try_lookup_guard(try_stmt);
                self.walk_suite(&try_stmt.body);
                for handler in &try_stmt.handlers {
                    let ast::ExceptHandler::ExceptHandler(handler) = handler;
                    if let Some(type_) = handler.type_.as_deref() {
                        self.visit_expr(type_);
                    }
                    let pushed = guard.is_some();
                    if let Some(guard) = &guard {
                        self.guard_stack.push(guard.clone());
                    }
                    self.walk_suite(&handler.body);
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
                if let [target] = targets.as_slice() {
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
                }
            }
            Stmt::Return(ast::StmtReturn {
                value: Some(value), ..
            }) => {
                // `return not …` needs no parentheses.
                self.condition_slots.push(value.range());
                self.visit_expr(value);
            }
            _ => visitor::walk_stmt(self, stmt),
        }
        self.current_stmt = saved_stmt;
    }

    fn visit_expr_here(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => {
                self.record_call(&call.func);
                self.record_mutating_call(call);
                self.record_thread_entry(call);
                self.record_process_global_call(call);
                self.record_gil_api_call(call);
                self.record_process_pool(call);
                self.record_dynamic_import(call);
                self.record_fork_child_handler(call);
                self.callee_depth += 1;
                self.visit_expr(&call.func);
                self.callee_depth -= 1;
                self.visit_arguments(&call.arguments);
            }
            Expr::Name(ast::ExprName { ctx, .. }) => {
                // Only a name that can denote one of this module's functions can make one escape.
                if *ctx == ExprContext::Load
                    && self.callee_depth == 0
                    && self.may_denote_function(expr)
                {
                    self.pending_escapes.push(self.pending_ref(expr));
                }
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
            _ => {
                let saved = std::mem::take(&mut self.callee_depth);
                visitor::walk_expr(self, expr);
                self.callee_depth = saved;
            }
        }
    }
}

impl<'a> Builder<'a> {
    /// Remembers locals bound to locks or pools, so `with lock:` on them is a lock region.
    fn note_local_binding(&mut self, target: &'a Expr, kind: ValueKind) {
        let Some(function) = self.current_function() else {
            return;
        };
        if let Expr::Name(name) = target {
            match kind {
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

/// Breadth-first propagation over the call graph: each function records the earliest entry
/// (in file order) that reaches it.
fn propagate_reachability(
    function_count: usize,
    entries: &[ThreadEntry],
    call_sites: &[CallSite],
) -> Vec<Option<usize>> {
    let mut callees: Vec<Vec<FunctionId>> = vec![Vec::new(); function_count];
    for site in call_sites {
        if let Some(caller) = site.caller {
            callees[caller].push(site.callee);
        }
    }
    let mut reached: Vec<Option<usize>> = vec![None; function_count];
    for (entry_id, entry) in entries.iter().enumerate() {
        let mut queue: VecDeque<FunctionId> = VecDeque::new();
        for &target in &entry.targets {
            if reached[target].is_none() {
                reached[target] = Some(entry_id);
                queue.push_back(target);
            }
        }
        while let Some(function) = queue.pop_front() {
            for &callee in &callees[function] {
                if reached[callee].is_none() {
                    reached[callee] = Some(entry_id);
                    queue.push_back(callee);
                }
            }
        }
    }
    reached
}

/// The locks every caller holds when it calls a function (a greatest fixpoint over the call
/// graph). Functions that escape, are decorated, start threads or have no call site in this
/// module inherit nothing: someone we cannot see may call them without the lock.
///
/// With `construction`, calls made while an object is constructed do not count: for the
/// object's own attributes a helper that `__init__` calls before the object is shared, and
/// every other method calls under the lock, always writes them under the lock once it matters.
fn inherit_locks(
    functions: &[Function<'_>],
    call_sites: &[CallSite],
    entry_targets: &HashSet<FunctionId>,
    function_count: usize,
    construction: Option<&[bool]>,
) -> Vec<Vec<LockKey>> {
    let mut sites_by_callee: Vec<Vec<&CallSite>> = vec![Vec::new(); function_count];
    for site in call_sites {
        sites_by_callee[site.callee].push(site);
    }
    let from_construction = |site: &&CallSite| {
        construction.is_some_and(|construction| site.caller.is_some_and(|c| construction[c]))
    };
    let eligible: Vec<bool> = (0..function_count)
        .map(|id| {
            let function = &functions[id];
            !function.escapes
                && !function.decorated
                && !entry_targets.contains(&id)
                && !sites_by_callee[id].is_empty()
        })
        .collect();
    // `None` is "every lock" (not yet constrained).
    let mut inherited: Vec<Option<Vec<LockKey>>> = (0..function_count)
        .map(|id| if eligible[id] { None } else { Some(Vec::new()) })
        .collect();
    let mut changed = true;
    let mut rounds = 0;
    while changed && rounds < 64 {
        changed = false;
        rounds += 1;
        for id in 0..function_count {
            if !eligible[id] {
                continue;
            }
            let mut result: Option<Vec<LockKey>> = None;
            for site in sites_by_callee[id]
                .iter()
                .filter(|site| !from_construction(site))
            {
                let held: Option<Vec<LockKey>> = match site.caller {
                    None => Some(site.locks.clone()),
                    Some(caller) => inherited[caller].as_ref().map(|caller_locks| {
                        let mut held = site.locks.clone();
                        for lock in caller_locks {
                            if !held.contains(lock) {
                                held.push(lock.clone());
                            }
                        }
                        held
                    }),
                };
                if let Some(held) = held {
                    result = Some(match result {
                        None => held,
                        Some(previous) => previous
                            .into_iter()
                            .filter(|lock| held.contains(lock))
                            .collect(),
                    });
                }
            }
            if result.is_some() && result != inherited[id] {
                inherited[id] = result;
                changed = true;
            }
        }
    }
    inherited
        .into_iter()
        .map(|locks| locks.unwrap_or_default())
        .collect()
}

/// Functions called only from module-level code (directly or through other such functions):
/// like module-level code they run once, while the module is imported (`def_op(...)` tables,
/// registration helpers applied at import).
fn import_time_only(
    functions: &[Function<'_>],
    call_sites: &[CallSite],
    entry_targets: &HashSet<FunctionId>,
) -> Vec<bool> {
    let mut callers: Vec<Vec<Option<FunctionId>>> = vec![Vec::new(); functions.len()];
    for site in call_sites {
        callers[site.callee].push(site.caller);
    }
    let candidate: Vec<bool> = (0..functions.len())
        .map(|id| !functions[id].escapes && !entry_targets.contains(&id) && !callers[id].is_empty())
        .collect();
    // A fork-child handler runs single-threaded, as import-time code does; so does what only
    // it (or import-time code) calls.
    let mut import_time: Vec<bool> = (0..functions.len())
        .map(|id| {
            functions[id].runs_in_fork_child
                && callers[id].is_empty()
                && !entry_targets.contains(&id)
        })
        .collect();
    let mut changed = true;
    while changed {
        changed = false;
        for id in 0..functions.len() {
            if import_time[id] || !candidate[id] {
                continue;
            }
            let only_at_import = callers[id].iter().all(|caller| match caller {
                None => true,
                Some(caller) => *caller != id && import_time[*caller],
            });
            if only_at_import {
                import_time[id] = true;
                changed = true;
            }
        }
    }
    import_time
}

/// Functions that run only while an object is being constructed: constructors, and helpers
/// called only from them (`self._init()` in `__init__`). The object is not shared yet.
fn construction_only(
    functions: &[Function<'_>],
    call_sites: &[CallSite],
    entry_targets: &HashSet<FunctionId>,
) -> Vec<bool> {
    let mut construction: Vec<bool> = functions.iter().map(Function::is_constructor).collect();
    let mut callers: Vec<Vec<Option<FunctionId>>> = vec![Vec::new(); functions.len()];
    for site in call_sites {
        callers[site.callee].push(site.caller);
    }
    let mut changed = true;
    while changed {
        changed = false;
        for id in 0..functions.len() {
            let function = &functions[id];
            if construction[id]
                || function.escapes
                || function.decorated
                || entry_targets.contains(&id)
                || callers[id].is_empty()
            {
                continue;
            }
            if callers[id]
                .iter()
                .all(|caller| caller.is_some_and(|caller| caller != id && construction[caller]))
            {
                construction[id] = true;
                changed = true;
            }
        }
    }
    construction
}

/// Calls every statement of a suite, descending into compound statements but not into nested
/// functions or classes.
fn for_each_statement<'a>(suite: &'a [Stmt], f: &mut impl FnMut(&'a Stmt)) {
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

struct Scope<'a> {
    globals: Vec<&'a str>,
    nonlocals: Vec<&'a str>,
    locals: Vec<&'a str>,
}

/// The names a function declares `global`/`nonlocal` and the names it binds locally.
fn scan_scope<'a>(def: &'a ast::StmtFunctionDef) -> Scope<'a> {
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
fn method_receiver(
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

fn self_attribute<'a>(target: &'a Expr, self_name: &str) -> Option<&'a str> {
    let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = target else {
        return None;
    };
    match &**value {
        Expr::Name(name) if name.id.as_str() == self_name => Some(attr.as_str()),
        _ => None,
    }
}

fn is_class_var(annotation: &Expr) -> bool {
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
fn is_main_guard(test: &Expr) -> bool {
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
fn is_pure(expr: &Expr) -> bool {
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
fn reads_name(value: &Expr, name: &str) -> bool {
    match value {
        Expr::BinOp(ast::ExprBinOp { left, right, .. }) => {
            reads_name(left, name) || reads_name(right, name)
        }
        Expr::Name(expr_name) => expr_name.id.as_str() == name,
        _ => false,
    }
}

/// The value reads `container[item]` or `container.get(item, …)` as an operand.
fn reads_item(value: &Expr, container: &str, item: &str, source: &str) -> bool {
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

/// The value reads the same expression text as an operand (`obj.n = obj.n + 1`).
fn reads_text(value: &Expr, text: &str, source: &str) -> bool {
    match value {
        Expr::BinOp(ast::ExprBinOp { left, right, .. }) => {
            reads_text(left, text, source) || reads_text(right, text, source)
        }
        other => &source[other.range()] == text,
    }
}

fn is_builtin(name: &str) -> bool {
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
struct SubscriptLoadFinder<'a> {
    found: Vec<&'a ast::ExprSubscript>,
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
struct CallFinder<'a> {
    callees: Vec<&'a Expr>,
}

impl<'a> Visitor<'a> for CallFinder<'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            self.callees.push(&call.func);
        }
        with_stack(|| visitor::walk_expr(self, expr));
    }
}
