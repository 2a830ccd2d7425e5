//! Shared state and the writes to it: which piece of state (module name, class or instance
//! attribute, `global`/`nonlocal` rebinding) an expression denotes, what it holds, and each
//! assignment, deletion or mutating call recorded as a [`StateAccess`] with the locks held and
//! the guard that checks it.

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange};

use super::syntax::{is_pure, reads_item, reads_name, reads_text};
use super::{Builder, Receiver};
use crate::semantic::values::{ValueKind, is_mutating_method};
use crate::semantic::{
    AccessKind, AccessTarget, ClassId, ContainerKind, StateAccess, StateKey, ValueIdentity,
};

/// Where a write's parts are: the object written into (`D` of `D[k]`) and the assigned value.
#[derive(Debug, Clone, Copy, Default)]
struct WriteSite<'a> {
    object: Option<TextRange>,
    value: Option<&'a Expr>,
}

impl<'a> Builder<'a> {
    /// The state a name rebinds in the current function (`global`/`nonlocal` declarations).
    pub(super) fn rebind_key(&self, name: &'a str) -> Option<StateKey<'a>> {
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
    pub(super) fn state_key_of(&self, expr: &'a Expr) -> Option<StateKey<'a>> {
        match expr {
            Expr::Name(ast::ExprName { id, .. }) => {
                let name = id.as_str();
                let function = self.current_function()?;
                let current = &self.functions[function];
                // A container of an enclosing function, mutated in place by a closure
                // (`cache[k] = v` in a decorator's wrapper), or a parameter of it used so.
                if !current.declares_global(name)
                    && !current.is_local(name)
                    && !current.nonlocals.contains(&name)
                    && let Some(owner) = self.enclosing_owner(function, name)
                {
                    let captured = self.local_containers.contains_key(&(owner, name))
                        || self.functions[owner].parameters.contains(&name);
                    return captured.then_some(StateKey::Nonlocal(owner, name));
                }
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
                // `type(self).x`, `self.__class__.x`: the class's own attribute.
                if let Some(class) = self.class_of_receiver(value) {
                    return Some(StateKey::ClassAttr(class, attr.as_str()));
                }
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
                    .or_else(|| self.object_attribute(base, attr.as_str()))
            }
            _ => None,
        }
    }

    /// `owner.attr` where `owner` is another module of the project (imported) or one of this
    /// module's functions: state that exists once per process. Standard-library and
    /// third-party modules are left to the process-wide state rules.
    pub(super) fn object_attribute(&self, owner: &'a str, attr: &'a str) -> Option<StateKey<'a>> {
        if self.current_function().is_some() && self.is_enclosing_local(owner) {
            return None;
        }
        let binding = self.bindings.get(owner)?;
        let shared = match binding.kind {
            ValueKind::Function => true,
            ValueKind::Import => self.imports.get(owner).is_some_and(|qualified| {
                qualified.starts_with('.')
                    || qualified
                        .split('.')
                        .next()
                        .is_some_and(|top| self.options.project_modules.contains(top))
            }),
            _ => false,
        };
        shared.then_some(StateKey::ObjectAttr(owner, attr))
    }

    /// The class of the current method's object when `expr` is `type(self)` or
    /// `self.__class__` (whatever the instance receiver is named).
    pub(super) fn class_of_receiver(&self, expr: &Expr) -> Option<ClassId> {
        let (receiver_name, receiver, class) = self.current_receiver()?;
        if receiver != Receiver::Instance {
            return None;
        }
        let names_receiver =
            |expr: &Expr| matches!(expr, Expr::Name(name) if name.id.as_str() == receiver_name);
        let matches = match expr {
            Expr::Call(ast::ExprCall {
                func, arguments, ..
            }) => {
                matches!(&**func, Expr::Name(name) if name.id.as_str() == "type")
                    && arguments.keywords.is_empty()
                    && matches!(arguments.args.as_ref(), [only] if names_receiver(only))
            }
            Expr::Attribute(ast::ExprAttribute { value, attr, .. }) => {
                attr.as_str() == "__class__" && names_receiver(value)
            }
            _ => false,
        };
        matches.then_some(class)
    }

    /// The kind of value stored in a piece of state, when known.
    pub(super) fn state_value_kind(&self, key: StateKey<'a>) -> Option<ValueKind> {
        match key {
            StateKey::Global(name) => self.bindings.get(name).map(|binding| binding.kind),
            // A container the enclosing function made; a parameter may be anything.
            StateKey::Nonlocal(owner, name) => match self.local_containers.get(&(owner, name)) {
                Some(kind) => Some(*kind),
                None => self.functions[owner]
                    .parameters
                    .contains(&name)
                    .then_some(ValueKind::Other),
            },
            // Not known, but possibly anything (a dict, a counter, an instance).
            StateKey::ObjectAttr(..) => Some(ValueKind::Other),
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
        // A `threading.local` subclass's attributes are per thread: not shared.
        if let StateKey::InstanceAttr(class, _) = key
            && self.classes[class].is_thread_local
        {
            return;
        }
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
        let value_identity = site
            .value
            .map_or(ValueIdentity::Unknown, |value| self.value_identity(value));
        if value_identity == ValueIdentity::Unknown
            && let Some(callee) = site.value.and_then(|value| self.value_call(value))
        {
            let reference = self.pending_ref(callee);
            self.pending_value_calls
                .push((self.accesses.len(), reference));
        }
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
            value_is_empty_container: site
                .value
                .is_some_and(|value| self.is_empty_container(value)),
            value_identity,
            // Decided once every lock region is known (see `mark_rechecked_under_lock`).
            rechecked_under_lock: false,
            followed_by_exit: self.next_stmt_exits,
        });
    }

    pub(super) fn record_write(
        &mut self,
        target: &'a Expr,
        kind: AccessKind<'a>,
        value: Option<&'a Expr>,
    ) {
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
                // Each thread's own entry (`cache[threading.get_ident()]`) is not shared.
                if self.is_per_thread_key(slice) {
                    return;
                }
                let container_text = self.text(container.range());
                let item = self.text(slice.range()).to_string();
                let rmw = augmented
                    || value
                        .is_some_and(|value| reads_item(value, container_text, &item, self.source));
                let site = WriteSite {
                    object: Some(container.range()),
                    value,
                };
                let index = self.accesses.len();
                self.push_access(key, AccessTarget::Item(item), kind, rmw, *range, site);
                if kind == AccessKind::Delete && self.accesses.len() > index {
                    self.note_removal(index, None);
                }
            }
            Expr::Attribute(ast::ExprAttribute {
                value: object,
                attr,
                range,
                ..
            }) => {
                let attr_name = attr.as_str();
                let own = match &**object {
                    // `type(self).x = …`, `self.__class__.x += 1`: the class's attribute.
                    other if self.class_of_receiver(other).is_some() => self
                        .class_of_receiver(other)
                        .map(|class| StateKey::ClassAttr(class, attr_name)),
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
                let foreign = match &**object {
                    Expr::Name(owner) if own.is_none() => {
                        self.object_attribute(owner.id.as_str(), attr_name)
                    }
                    _ => None,
                };
                if let Some(key) = own.or(foreign) {
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

    pub(super) fn record_mutating_call(&mut self, call: &'a ast::ExprCall) {
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
                    == Some(ValueKind::Container(ContainerKind::DefaultDict))
                && !self.is_per_thread_key(slice)
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
        // can reason about. Another module's attribute (`config.CACHE.update(…)`) is taken at
        // its word: a mutating method's name.
        if !matches!(self.state_value_kind(key), Some(ValueKind::Container(_)))
            && !matches!(key, StateKey::ObjectAttr(..))
        {
            return;
        }
        let index = self.accesses.len();
        self.push_access(
            key,
            AccessTarget::Whole,
            AccessKind::MutatingCall(method),
            false,
            call.range(),
            WriteSite::default(),
        );
        if self.accesses.len() > index {
            self.note_removal(index, Some(call));
        }
    }

    /// A new empty container: `{}`, `[]`, `dict()`, `set()`, `defaultdict(list)`,
    /// `deque(maxlen=n)`, `OrderedDict()`; or a list of placeholders to be filled in by index,
    /// `[0] * n` (`[None] * n`, `n * [0]`).
    fn is_empty_container(&self, value: &Expr) -> bool {
        match value {
            Expr::Dict(dict) => dict.is_empty(),
            Expr::List(list) => list.elts.is_empty(),
            Expr::BinOp(ast::ExprBinOp {
                left,
                op: ast::Operator::Mult,
                right,
                ..
            }) => [left, right].into_iter().any(|side| {
                matches!(&**side, Expr::List(list)
                    if list.elts.len() == 1 && list.elts[0].is_literal_expr())
            }),
            Expr::Call(call) => {
                let ValueKind::Container(container) = self.classify(value) else {
                    return false;
                };
                // A defaultdict's one argument is its factory; a deque's `maxlen` its bound.
                let positional = match container {
                    ContainerKind::DefaultDict => 1,
                    _ => 0,
                };
                call.arguments.args.len() <= positional
                    && call.arguments.keywords.iter().all(|keyword| {
                        container == ContainerKind::Deque
                            && keyword
                                .arg
                                .as_ref()
                                .is_some_and(|arg| arg.as_str() == "maxlen")
                    })
            }
            _ => false,
        }
    }
}
