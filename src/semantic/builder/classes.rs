//! Classes: their bases, what their bodies bind (class attributes, dataclass fields and their
//! defaults), and the attributes their methods assign through `self`.

use rustc_hash::FxHashMap as HashMap;

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use super::syntax::{for_each_statement, is_class_var, method_receiver, self_attribute};
use super::{Builder, Receiver};
use crate::semantic::values::{ValueKind, is_lock_like_name};
use crate::semantic::{Class, ClassAttribute, ClassId};

impl<'a> Builder<'a> {
    /// Records a class: bases, attributes of its body, and what its methods assign via `self`.
    pub(super) fn declare_class(&mut self, def: &'a ast::StmtClassDef) -> ClassId {
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
        let metaclass = def
            .arguments
            .as_deref()
            .and_then(|arguments| arguments.find_keyword("metaclass"))
            .map(|keyword| {
                self.qualified_name(&keyword.value)
                    .unwrap_or_else(|| self.text(keyword.value.range()).to_string())
            });
        // A `Thread` imported from elsewhere is the project's own re-export or subclass of
        // `threading.Thread` (`from circus.fixed_threading import Thread`), except the green
        // threads of eventlet and gevent, which share one hub thread.
        let is_thread_subclass = bases.iter().any(|base| {
            base == "threading.Thread"
                || (base.ends_with(".Thread")
                    && !base.starts_with("eventlet.")
                    && !base.starts_with("gevent."))
                || self
                    .class_index
                    .get(base.as_str())
                    .is_some_and(|&class| self.classes[class].is_thread_subclass)
        });
        // `multiprocessing.Process` (or billiard's copy, or a context's `mp.Process`), or a
        // subclass of one of this module's process classes.
        let is_process_subclass = bases.iter().any(|base| {
            base.rsplit_once('.').is_some_and(|(module, last)| {
                last == "Process"
                    && ["multiprocessing", "billiard", "multiprocess"]
                        .iter()
                        .any(|top| module.split('.').next() == Some(*top))
            }) || self
                .class_index
                .get(base.as_str())
                .is_some_and(|&class| self.classes[class].is_process_subclass)
        });
        let is_thread_local = bases.iter().any(|base| {
            self.is_thread_local_class(base)
                || self
                    .class_index
                    .get(base.as_str())
                    .is_some_and(|&class| self.classes[class].is_thread_local)
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
            metaclass,
            is_dataclass,
            is_thread_subclass,
            is_process_subclass,
            is_thread_local,
            context_lock: None,
            lock_getters: Vec::new(),
            class_assigned_locks: Vec::new(),
            context_module_lock: None,
            singleton: None,
            attributes: Vec::new(),
            methods: Vec::new(),
            instance_attributes: HashMap::default(),
        });
        self.class_by_offset
            .insert(u32::from(def.range.start()), id);
        self.class_index.entry(def.name.as_str()).or_insert(id);
        self.callable_names.insert(def.name.as_str());
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
                    // `uuids: dict = field(default_factory=dict)`: each instance gets its own
                    // value from the factory; the class holds none.
                    if let Some(per_instance) = value
                        .as_deref()
                        .and_then(|value| self.field_factory_kind(value))
                    {
                        self.note_instance_attribute(class, name.id.as_str(), per_instance);
                    }
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
                    if let Some((self_name, _)) = receiver
                        && let Some(attr) = returned_receiver_attribute(self_name, &def.body)
                        && (is_lock_like_name(attr) || is_lock_like_name(def.name.as_str()))
                    {
                        self.classes[class]
                            .lock_getters
                            .push((def.name.as_str(), attr));
                    }
                    if let Some((cls_name, Receiver::Class)) = receiver {
                        self.scan_class_assigned_locks(class, cls_name, &def.body);
                    }
                    if let Some((self_name, Receiver::Instance)) = receiver {
                        self.scan_instance_assignments(class, self_name, &def.body);
                        self.record_instance_values(class, self_name, def);
                        if def.name.as_str() == "__enter__" {
                            self.classes[class].context_lock = acquired_lock(self_name, &def.body);
                            self.classes[class].context_module_lock =
                                acquired_module_lock(&def.body);
                        }
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

    /// For a field declared with a factory (`field(default_factory=dict)`, `attr.ib(factory=
    /// list)`, pydantic's `Field(default_factory=…)`), what each instance's value is: the
    /// factory runs once per instance, so the value is the instance's own.
    fn field_factory_kind(&self, value: &Expr) -> Option<ValueKind> {
        let Expr::Call(call) = value else {
            return None;
        };
        let qualified = self.qualified_name(&call.func)?;
        if !matches!(
            qualified.as_str(),
            "dataclasses.field"
                | "attr.ib"
                | "attr.attrib"
                | "attr.field"
                | "attrs.field"
                | "pydantic.Field"
                | "pydantic.fields.Field"
                | "sqlmodel.Field"
        ) {
            return None;
        }
        let factory = call.arguments.keywords.iter().find(|keyword| {
            keyword
                .arg
                .as_ref()
                .is_some_and(|arg| matches!(arg.as_str(), "default_factory" | "factory"))
        })?;
        let kind = self
            .qualified_name(&factory.value)
            .and_then(|qualified| crate::semantic::values::classify_factory(&qualified))
            .unwrap_or(ValueKind::Other);
        Some(kind)
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

    /// `cls._lock = …` in a classmethod: a lock (by its value or its name) kept on the class.
    fn scan_class_assigned_locks(&mut self, class: ClassId, cls_name: &str, suite: &'a [Stmt]) {
        let mut found = Vec::new();
        for_each_statement(suite, &mut |stmt| {
            if let Stmt::Assign(ast::StmtAssign { targets, value, .. }) = stmt {
                for target in targets {
                    if let Some(attr) = self_attribute(target, cls_name)
                        && (self.classify(value) == ValueKind::Lock || is_lock_like_name(attr))
                    {
                        found.push(attr);
                    }
                }
            }
        });
        self.classes[class].class_assigned_locks.extend(found);
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
                Stmt::AugAssign(ast::StmtAugAssign { target, .. }) => {
                    // `self.S |= {…}` on a class-level container mutates it in place and binds
                    // the same object to the instance: the class's object stays shared.
                    let in_place_on_class_container = self_attribute(target, self_name)
                        .and_then(|attr| self.classes[class].attribute(attr))
                        .is_some_and(|attribute| matches!(attribute.kind, ValueKind::Container(_)));
                    if in_place_on_class_container {
                        return;
                    }
                    (vec![&**target], None)
                }
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
}

impl Builder<'_> {
    /// Whether a qualified class name is per thread: `threading.local`, or a class another
    /// module of the project derives from it (the project phase names those).
    pub(super) fn is_thread_local_class(&self, qualified: &str) -> bool {
        crate::semantic::is_threading_local(qualified)
            || self.options.thread_local_classes.contains(qualified)
    }
}

/// `self.<attr>.acquire(…)` as a statement of `__enter__`: the lock `with obj:` then holds.
/// `_LOCK.acquire()` as a statement of `__enter__`'s body: a module-level name (whether it is a
/// lock is judged where the name's binding is known).
fn acquired_module_lock(body: &[Stmt]) -> Option<&str> {
    body.iter().find_map(|stmt| {
        let Stmt::Expr(ast::StmtExpr { value, .. }) = stmt else {
            return None;
        };
        let Expr::Call(ast::ExprCall { func, .. }) = &**value else {
            return None;
        };
        match &**func {
            Expr::Attribute(ast::ExprAttribute { value, attr, .. })
                if attr.as_str() == "acquire" =>
            {
                match &**value {
                    Expr::Name(name) => Some(name.id.as_str()),
                    _ => None,
                }
            }
            _ => None,
        }
    })
}

/// The one attribute of the receiver that every `return` of a method returns
/// (`return cls._lock`, after creating it on first use), or `None`.
fn returned_receiver_attribute<'a>(receiver: &str, body: &'a [Stmt]) -> Option<&'a str> {
    let mut returns: Vec<Option<&'a Expr>> = Vec::new();
    for_each_statement(body, &mut |stmt| {
        if let Stmt::Return(ast::StmtReturn { value, .. }) = stmt {
            returns.push(value.as_deref());
        }
    });
    let mut attributes = returns.into_iter().map(|value| match value? {
        Expr::Attribute(ast::ExprAttribute { value, attr, .. }) => match &**value {
            Expr::Name(name) if name.id.as_str() == receiver => Some(attr.as_str()),
            _ => None,
        },
        _ => None,
    });
    let first = attributes.next()??;
    attributes.all(|attr| attr == Some(first)).then_some(first)
}

fn acquired_lock<'a>(self_name: &str, body: &'a [Stmt]) -> Option<&'a str> {
    body.iter().find_map(|stmt| {
        let Stmt::Expr(ast::StmtExpr { value, .. }) = stmt else {
            return None;
        };
        let Expr::Call(ast::ExprCall { func, .. }) = &**value else {
            return None;
        };
        let Expr::Attribute(ast::ExprAttribute {
            value: lock, attr, ..
        }) = &**func
        else {
            return None;
        };
        if attr.as_str() != "acquire" {
            return None;
        }
        match &**lock {
            Expr::Attribute(ast::ExprAttribute {
                value: base, attr, ..
            }) => match &**base {
                Expr::Name(name) if name.id.as_str() == self_name => Some(attr.as_str()),
                _ => None,
            },
            _ => None,
        }
    })
}
