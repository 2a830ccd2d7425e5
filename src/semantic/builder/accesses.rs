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
    AccessKind, AccessTarget, ContainerKind, StateAccess, StateKey, ValueIdentity,
};

/// Where a write's parts are: the object written into (`D` of `D[k]`) and the assigned value.
#[derive(Debug, Clone, Copy, Default)]
struct WriteSite<'a> {
    object: Option<TextRange>,
    value: Option<&'a Expr>,
}

impl<'a> Builder<'a> {
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
    pub(super) fn state_key_of(&self, expr: &'a Expr) -> Option<StateKey<'a>> {
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
    pub(super) fn state_value_kind(&self, key: StateKey<'a>) -> Option<ValueKind> {
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
    /// `deque(maxlen=n)`, `OrderedDict()`.
    fn is_empty_container(&self, value: &Expr) -> bool {
        match value {
            Expr::Dict(dict) => dict.is_empty(),
            Expr::List(list) => list.elts.is_empty(),
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
