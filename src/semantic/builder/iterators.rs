//! Shared iterators: generators and one-pass iterators bound at module or class level, the
//! places functions advance shared state (`next(it)`, `it.send(v)`, `for x in it`), which of
//! this module's functions are generator functions, and, once the model is built, which bound
//! iterators functions advance ([`shared_iterators`]).

use rustc_hash::FxHashMap as HashMap;

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::syntax::{for_each_statement, self_attribute};
use super::{Builder, PendingRef};
use crate::semantic::values::ValueKind;
use crate::semantic::{
    AdvanceKind, ClassId, FunctionId, IteratorAdvance, IteratorKind, SemanticModel, SharedIterator,
    StateKey,
};

/// A module- or class-level binding whose value may be an iterator, before the module's
/// generator functions are known.
pub(super) struct PendingIterator<'a> {
    class: Option<ClassId>,
    name: &'a str,
    /// The name in the binding.
    range: TextRange,
    value: &'a Expr,
    /// The callee, when the value calls one of this module's functions.
    callee: Option<PendingRef<'a>>,
}

/// `self.<attr> = <value>` in a method, before the module's generator functions are known: an
/// object may keep an iterator that several threads advance.
pub(super) struct PendingInstanceValue<'a> {
    class: ClassId,
    attr: &'a str,
    /// The target.
    range: TextRange,
    value: &'a Expr,
    /// The value is one of the method's parameters (an iterable the caller passed).
    parameter: bool,
    /// The value calls a method of the object (`self._produce()`): its name.
    own_method: Option<&'a str>,
}

/// What the values assigned to one attribute are: the first iterator (its kind and where it
/// was assigned), and whether every value is one.
type AttributeValues = (Option<(IteratorKind, TextRange)>, bool);

/// A resolved iterator binding: the state it is and what it holds.
pub(super) struct IteratorDefinition<'a> {
    state: StateKey<'a>,
    range: TextRange,
    kind: IteratorKind,
}

/// The built-in callables that return a one-pass iterator over their arguments.
const BUILTIN_ITERATORS: &[&str] = &["iter", "map", "zip", "filter", "enumerate", "reversed"];

impl<'a> Builder<'a> {
    /// A `yield` in the current function makes it a generator function.
    pub(super) fn note_yield(&mut self) {
        if let Some(function) = self.current_function()
            && !self.functions[function].is_async
        {
            self.generator_functions.insert(function);
        }
    }

    /// A module-level or class-body assignment of one name to a value that may be an iterator.
    pub(super) fn record_iterator_binding(&mut self, targets: &'a [Expr], value: &'a Expr) {
        let [Expr::Name(target)] = targets else {
            return;
        };
        if self.in_main_guard || self.frames.iter().any(Option::is_some) {
            return;
        }
        let class = if self.frames.is_empty() {
            None
        } else {
            match self.class_stack.last() {
                Some(&class) => Some(class),
                None => return,
            }
        };
        let callee = match value {
            Expr::Generator(_) => None,
            Expr::Call(ast::ExprCall { func, .. }) if self.may_denote_function(func) => {
                Some(self.pending_ref(func))
            }
            Expr::Call(ast::ExprCall { func, .. })
                if matches!(&**func, Expr::Name(name)
                    if BUILTIN_ITERATORS.contains(&name.id.as_str())) =>
            {
                None
            }
            _ => return,
        };
        // A name bound to an iterator; the rest of the module decides whether one is shared.
        let name: &'a str = target.id.as_str();
        self.iterator_bindings.push(PendingIterator {
            class,
            name,
            range: target.range,
            value,
            callee,
        });
    }

    /// Every `self.<attr> = …` of a method, with whether the value is one of its parameters.
    pub(super) fn record_instance_values(
        &mut self,
        class: ClassId,
        self_name: &str,
        def: &'a ast::StmtFunctionDef,
    ) {
        let parameters: Vec<&str> = def
            .parameters
            .iter_non_variadic_params()
            .map(|parameter| parameter.parameter.name.as_str())
            .filter(|name| *name != self_name)
            .collect();
        let mut found = Vec::new();
        for_each_statement(&def.body, &mut |stmt| {
            let (targets, value): (&[Expr], &'a Expr) = match stmt {
                Stmt::Assign(ast::StmtAssign { targets, value, .. }) => (targets, value),
                Stmt::AnnAssign(ast::StmtAnnAssign {
                    target,
                    value: Some(value),
                    ..
                }) => (std::slice::from_ref(&**target), value),
                _ => return,
            };
            for target in targets {
                if let Some(attr) = self_attribute(target, self_name) {
                    let parameter = matches!(value, Expr::Name(name)
                        if parameters.contains(&name.id.as_str()));
                    let own_method = match value {
                        Expr::Call(ast::ExprCall { func, .. }) => match &**func {
                            Expr::Attribute(ast::ExprAttribute { value, attr, .. })
                                if matches!(&**value, Expr::Name(receiver)
                                    if receiver.id.as_str() == self_name) =>
                            {
                                Some(attr.as_str())
                            }
                            _ => None,
                        },
                        _ => None,
                    };
                    found.push(PendingInstanceValue {
                        class,
                        attr,
                        range: target.range(),
                        value,
                        parameter,
                        own_method,
                    });
                }
            }
        });
        self.instance_iterator_values.extend(found);
    }

    /// `next(it)`, `next(it, default)`, `it.__next__()`, `it.send(value)` on shared state.
    pub(super) fn record_iterator_advance(&mut self, call: &'a ast::ExprCall) {
        let (object, kind) = match &*call.func {
            Expr::Name(name)
                if name.id.as_str() == "next"
                    && matches!(call.arguments.args.len(), 1 | 2)
                    && self.is_unshadowed_builtin("next") =>
            {
                (&call.arguments.args[0], AdvanceKind::Next)
            }
            Expr::Attribute(ast::ExprAttribute { value, attr, .. })
                if attr.as_str() == "__next__" && call.arguments.is_empty() =>
            {
                (&**value, AdvanceKind::Next)
            }
            Expr::Attribute(ast::ExprAttribute { value, attr, .. })
                if attr.as_str() == "send" && call.arguments.args.len() == 1 =>
            {
                (&**value, AdvanceKind::Send)
            }
            _ => return,
        };
        self.push_advance(object, kind, call.range());
    }

    /// `for x in it:`, a comprehension over `it`, `yield from it`.
    pub(super) fn record_iterator_loop(&mut self, iter: &'a Expr) {
        if matches!(iter, Expr::Name(_) | Expr::Attribute(_)) {
            self.push_advance(iter, AdvanceKind::Loop, iter.range());
        }
    }

    fn push_advance(&mut self, object: &'a Expr, kind: AdvanceKind, range: TextRange) {
        let Some(function) = self.current_function() else {
            return;
        };
        let Some(key) = self.shared_object_key(object) else {
            return;
        };
        // Containers are iterated afresh by each loop (NG109 is about those); locks and
        // thread-safe objects are not iterators.
        if matches!(key, StateKey::Nonlocal(..))
            || matches!(
                self.state_value_kind(key),
                Some(ValueKind::Container(_) | ValueKind::Lock | ValueKind::ThreadSafe)
            )
        {
            return;
        }
        self.iterator_advances.push(IteratorAdvance {
            key,
            kind,
            range,
            stmt: self.current_stmt,
            simple_statement: self.current_stmt_simple,
            function,
            locks: self.locks_now(),
        });
    }

    /// What each recorded binding holds, now that the generator functions are known.
    pub(super) fn resolve_iterator_bindings(&self) -> Vec<IteratorDefinition<'a>> {
        let mut definitions = Vec::new();
        for pending in &self.iterator_bindings {
            let kind = match pending.value {
                Expr::Generator(_) => IteratorKind::GeneratorExpression,
                Expr::Call(ast::ExprCall { func, .. }) => match &pending.callee {
                    Some(reference) => match self.resolve(reference) {
                        Some(function) if self.generator_functions.contains(&function) => {
                            IteratorKind::GeneratorFunction(function)
                        }
                        _ => continue,
                    },
                    None => {
                        let Expr::Name(name) = &**func else { continue };
                        let Some(builtin) = self.builtin_iterator(name.id.as_str()) else {
                            continue;
                        };
                        IteratorKind::Builtin(builtin)
                    }
                },
                _ => continue,
            };
            let state = match pending.class {
                Some(class) => StateKey::ClassAttr(class, pending.name),
                None => StateKey::Global(pending.name),
            };
            definitions.push(IteratorDefinition {
                state,
                range: pending.range,
                kind,
            });
        }
        definitions.extend(self.resolve_instance_iterators());
        definitions
    }

    /// `iter`, `map`, … when `name` is that builtin here: not imported, bound at module level,
    /// nor a function or class of this module.
    fn builtin_iterator(&self, name: &str) -> Option<&'static str> {
        let builtin = *BUILTIN_ITERATORS.iter().find(|builtin| **builtin == name)?;
        let shadowed = !self.is_unshadowed_builtin(builtin)
            || self.function_names.contains(builtin)
            || self.class_index.contains_key(builtin);
        (!shadowed).then_some(builtin)
    }

    /// The attributes objects keep an iterator in: every value assigned to the attribute is a
    /// generator, a built-in one-pass iterator or a parameter (or `None`). One other value (a
    /// list, an object of a class that locks its own `next()`) and it is not one.
    fn resolve_instance_iterators(&self) -> Vec<IteratorDefinition<'a>> {
        // Generator functions and methods by name, for `self._gen = self._produce()`.
        let mut generators: HashMap<(Option<ClassId>, &str), FunctionId> = HashMap::default();
        for &function in &self.generator_functions {
            let function_data = &self.functions[function];
            generators.insert((function_data.class, function_data.name), function);
        }
        let mut kinds: HashMap<(ClassId, &'a str), AttributeValues> = HashMap::default();
        for pending in &self.instance_iterator_values {
            let kind = match pending.value {
                Expr::NoneLiteral(_) => continue,
                Expr::Generator(_) => Some(IteratorKind::GeneratorExpression),
                Expr::Name(_) if pending.parameter => Some(IteratorKind::Passed),
                Expr::Call(ast::ExprCall { func, .. }) => match &**func {
                    Expr::Name(name) => {
                        let name = name.id.as_str();
                        if let Some(&function) = generators.get(&(None, name)) {
                            Some(IteratorKind::GeneratorFunction(function))
                        } else {
                            self.builtin_iterator(name).map(IteratorKind::Builtin)
                        }
                    }
                    Expr::Attribute(_) => pending.own_method.and_then(|method| {
                        generators
                            .get(&(Some(pending.class), method))
                            .map(|&function| IteratorKind::GeneratorFunction(function))
                    }),
                    _ => None,
                },
                _ => None,
            };
            let entry = kinds
                .entry((pending.class, pending.attr))
                .or_insert((None, true));
            match kind {
                Some(kind) if entry.0.is_none() => entry.0 = Some((kind, pending.range)),
                Some(_) => {}
                None => entry.1 = false,
            }
        }
        let mut definitions: Vec<IteratorDefinition<'a>> = kinds
            .into_iter()
            .filter_map(|((class, attr), (kind, every_value_iterates))| {
                let (kind, range) = kind.filter(|_| every_value_iterates)?;
                Some(IteratorDefinition {
                    state: StateKey::InstanceAttr(class, attr),
                    range,
                    kind,
                })
            })
            .collect();
        definitions.sort_by_key(|definition| definition.range.start());
        definitions
    }
}

/// Whether a statement is a simple one (no body of its own).
pub(super) fn is_simple_statement(stmt: &Stmt) -> bool {
    !matches!(
        stmt,
        Stmt::If(_)
            | Stmt::For(_)
            | Stmt::While(_)
            | Stmt::With(_)
            | Stmt::Try(_)
            | Stmt::Match(_)
            | Stmt::FunctionDef(_)
            | Stmt::ClassDef(_)
    )
}

/// The iterators bound at module or class level that functions advance. A name bound more than
/// once at module level counts only when every binding is an iterator.
pub(super) fn shared_iterators<'a>(
    model: &SemanticModel<'a>,
    definitions: Vec<IteratorDefinition<'a>>,
    advances: Vec<IteratorAdvance<'a>>,
) -> Vec<SharedIterator<'a>> {
    let mut by_state: HashMap<StateKey<'a>, Vec<IteratorAdvance<'a>>> = HashMap::default();
    for advance in advances {
        // Through `self`, a class-level iterator, or else the object's own.
        let state = model.class_level_state(advance.key).or(match advance.key {
            StateKey::InstanceAttr(..) => Some(advance.key),
            _ => None,
        });
        if let Some(state) = state {
            by_state.entry(state).or_default().push(advance);
        }
    }
    let mut iterators: Vec<SharedIterator<'a>> = Vec::new();
    for definition in definitions {
        let object_lock = match definition.state {
            StateKey::InstanceAttr(class, _) => object_lock(model, class),
            _ => None,
        };
        // The binding the rest of the module sees must be this kind of value: a container or
        // a lock of the same name elsewhere wins.
        let consistent = match definition.state {
            StateKey::Global(name) => model
                .bindings
                .get(name)
                .is_some_and(|binding| binding.kind == ValueKind::Other),
            StateKey::ClassAttr(class, attr) => model
                .class(class)
                .attribute(attr)
                .is_some_and(|attribute| attribute.kind == ValueKind::Other),
            StateKey::InstanceAttr(..) => object_lock.is_some(),
            _ => false,
        };
        if !consistent || iterators.iter().any(|it| it.state == definition.state) {
            continue;
        }
        let Some(mut advances) = by_state.remove(&definition.state) else {
            continue;
        };
        // An iterable the caller passed is known to be an iterator only where the code calls
        // `next()` on it: a loop over it may be over a list.
        // `.send(data)` on a passed-in object is a channel or a socket, not a generator.
        if definition.kind == IteratorKind::Passed {
            advances.retain(|advance| advance.kind != AdvanceKind::Send);
            if advances
                .iter()
                .all(|advance| advance.kind == AdvanceKind::Loop)
            {
                continue;
            }
        }
        advances.sort_by_key(|advance| advance.range.start());
        iterators.push(SharedIterator {
            state: definition.state,
            kind: definition.kind,
            definition: definition.range,
            advances,
            object_lock,
        });
    }
    iterators.sort_by_key(|iterator| iterator.definition.start());
    iterators
}

/// The lock a class keeps on each object (`self._lock = threading.Lock()`), the first by name:
/// a class that locks its objects' state expects them to be shared between threads, so an
/// iterator an object keeps is advanced by every thread that uses the object.
fn object_lock<'a>(model: &SemanticModel<'a>, class: ClassId) -> Option<&'a str> {
    let class = model.class(class);
    let mut locks: Vec<&'a str> = class
        .instance_attributes
        .iter()
        .filter(|(_, kind)| **kind == ValueKind::Lock)
        .map(|(name, _)| *name)
        .collect();
    locks.sort_unstable();
    locks.first().copied()
}
