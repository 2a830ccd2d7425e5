//! Calls and other references to this module's functions: recorded as pending references
//! during the walk (a function may be defined further down) and resolved to functions, through
//! nested scopes, `self`/`cls` and class bases, once every function is known.

use ruff_python_ast::{self as ast, Expr};

use super::{Builder, PendingCall, PendingRef};
use crate::semantic::values::ValueKind;
use crate::semantic::{ClassId, FunctionId};

impl<'a> Builder<'a> {
    pub(super) fn record_call(&mut self, callee: &'a Expr) {
        // `Cls(…)` runs `Cls.__init__`: what calls it calls the constructor (so a class made
        // only at import, or only by a metaclass, is constructed only at import).
        if let Expr::Name(name) = callee
            && self.callable_names.may_contain(name.id.as_str())
            && !self.function_names.contains(name.id.as_str())
            && self.module_class(name.id.as_str()).is_some()
            && !(self.current_function().is_some() && self.is_enclosing_local(name.id.as_str()))
        {
            let reference = PendingRef {
                instantiates: true,
                ..self.pending_ref(callee)
            };
            let locks = self.locks_now();
            self.pending_calls.push(PendingCall { reference, locks });
            return;
        }
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

    /// Whether an expression can resolve to one of this module's functions: a module-level
    /// `def`, a nested `def` (a local of an enclosing scope), or a method through `self`/`cls`
    /// or a class of this module. Everything else is skipped before resolution.
    pub(super) fn may_denote_function(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Name(ast::ExprName { id, .. }) => {
                self.callable_names.may_contain(id.as_str())
                    && self.function_names.contains(id.as_str())
            }
            Expr::Attribute(ast::ExprAttribute { value, .. }) => match &**value {
                Expr::Name(base) => {
                    let base = base.id.as_str();
                    matches!(base, "self" | "cls")
                        || (self.callable_names.may_contain(base)
                            && (self.class_index.contains_key(base)
                                || self.singletons.contains_key(base)))
                }
                _ => false,
            },
            _ => false,
        }
    }

    pub(super) fn pending_ref(&self, expr: &'a Expr) -> PendingRef<'a> {
        PendingRef {
            expr,
            scope: self.current_function(),
            class: self.current_class(),
            instantiates: false,
            invokes: None,
        }
    }

    /// The `__new__` a class creation also runs (`Sentinel()` runs `Sentinel.__new__` before
    /// `__init__`), when the class or a base of this module defines one.
    pub(super) fn resolve_allocator(&self, reference: &PendingRef<'a>) -> Option<FunctionId> {
        if !reference.instantiates {
            return None;
        }
        let Expr::Name(name) = reference.expr else {
            return None;
        };
        let class = self.module_class(name.id.as_str())?;
        self.method(class, "__new__")
    }

    pub(super) fn resolve(&self, reference: &PendingRef<'a>) -> Option<FunctionId> {
        if reference.instantiates || reference.invokes.is_some() {
            let Expr::Name(name) = reference.expr else {
                return None;
            };
            let class = self.module_class(name.id.as_str())?;
            return self.method(class, reference.invokes.unwrap_or("__init__"));
        }
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
                if base == "cls" {
                    return self.class_method(reference.class?, attr.as_str());
                }
                let class = if base == "self" {
                    reference.class?
                } else {
                    let local = reference
                        .scope
                        .is_some_and(|scope| self.functions[scope].is_local(base));
                    if local {
                        return None;
                    }
                    // `_default.record()` on the module's instance runs `Tracker.record`.
                    match self.module_class(base) {
                        Some(class) => return self.class_method(class, attr.as_str()),
                        None => *self.singletons.get(base)?,
                    }
                };
                self.method(class, attr.as_str())
            }
            _ => None,
        }
    }

    /// For each class of the module, its subclasses in the module (direct or further down),
    /// found by walking each class's chain of bases once.
    pub(super) fn module_subclasses(&self) -> Vec<Vec<ClassId>> {
        let mut subclasses: Vec<Vec<ClassId>> = vec![Vec::new(); self.classes.len()];
        for id in 0..self.classes.len() {
            let mut ancestors: Vec<ClassId> = Vec::new();
            self.along_bases(id, |ancestor| {
                if ancestor != id && !ancestors.contains(&ancestor) {
                    ancestors.push(ancestor);
                }
                None::<()>
            });
            for ancestor in ancestors {
                subclasses[ancestor].push(id);
            }
        }
        subclasses
    }

    /// The overrides of `method` (a method of this module) in `subclasses` of its class (see
    /// [`Builder::module_subclasses`]): `self.redoc()` in a base's method runs the subclass's
    /// `redoc` on a subclass instance, so each override is called there too.
    pub(super) fn overrides_of(
        &self,
        method: FunctionId,
        subclasses: &[Vec<ClassId>],
    ) -> Vec<FunctionId> {
        let Some(class) = self.functions[method].class else {
            return Vec::new();
        };
        let name = self.functions[method].name;
        subclasses[class]
            .iter()
            .filter_map(|&subclass| {
                self.classes[subclass]
                    .methods
                    .iter()
                    .copied()
                    .find(|&own| self.functions[own].name == name)
            })
            .collect()
    }

    /// A method looked up on the class object itself (`cls.name`, `Cls.name`): the class's
    /// own methods and its bases', then its metaclass's (the class is the metaclass's instance,
    /// so `cls._reset()` in a classmethod runs `Meta._reset`).
    fn class_method(&self, class: ClassId, name: &str) -> Option<FunctionId> {
        self.method(class, name).or_else(|| {
            let metaclass = self.along_bases(class, |id| {
                self.classes[id]
                    .metaclass
                    .as_deref()
                    .and_then(|metaclass| self.class_index.get(metaclass).copied())
                    .filter(|&metaclass| metaclass != id)
            })?;
            self.method(metaclass, name)
        })
    }

    fn method(&self, class: ClassId, name: &str) -> Option<FunctionId> {
        self.along_bases(class, |id| {
            self.classes[id]
                .methods
                .iter()
                .copied()
                .find(|&method| self.functions[method].name == name)
        })
    }

    /// The first answer `find` gives for the class or one of its bases of this module, walking
    /// up the first such base of each (at most 16 levels, so a cycle of names ends).
    fn along_bases<T>(
        &self,
        class: ClassId,
        mut find: impl FnMut(ClassId) -> Option<T>,
    ) -> Option<T> {
        let mut current = Some(class);
        let mut depth = 0;
        while let Some(id) = current {
            if let Some(found) = find(id) {
                return Some(found);
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
}
