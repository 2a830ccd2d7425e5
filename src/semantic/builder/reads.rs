//! Reads of module- and class-level state inside functions: the index behind
//! [`crate::semantic::SemanticModel::reads_of`], which tells whether other code can see a
//! container while one function fills it.

use ruff_python_ast::Expr;
use ruff_text_size::{Ranged, TextRange};

use super::{Builder, Receiver};
use crate::semantic::values::ValueKind;
use crate::semantic::{ClassId, StateKey, StateRead};

impl<'a> Builder<'a> {
    /// A name or attribute loaded in a function that denotes module- or class-level state
    /// which may hold a container (a container, `None`, or a value of unknown kind).
    pub(super) fn record_state_read(&mut self, expr: &'a Expr) {
        let Some(function) = self.current_function() else {
            return;
        };
        let key = match expr {
            Expr::Name(name) => {
                // Cheap filters first: most names are locals, builtins, functions or imports,
                // and most are no module-level name at all (the filter says so without a
                // hash lookup).
                let module_level = self.module_names.may_contain(name.id.as_str());
                let binding = module_level
                    .then(|| self.bindings.get(name.id.as_str()))
                    .flatten();
                let interesting = match binding {
                    Some(binding) => may_hold_container(binding.kind),
                    None if self.functions[function].declares_global(name.id.as_str()) => true,
                    None => {
                        // A global only a function creates, read where it is not declared
                        // (`p = _factor[k]`): kept until the module's declarations are known.
                        if module_level
                            && self.declared_global_names.contains(name.id.as_str())
                            && !self.is_enclosing_local(name.id.as_str())
                        {
                            let locks = self.locks_now();
                            self.undeclared_global_reads.push((
                                name.id.as_str(),
                                StateRead {
                                    function,
                                    range: expr.range(),
                                    locks,
                                },
                            ));
                        }
                        false
                    }
                };
                if !interesting {
                    return;
                }
                match self.state_key_of(expr) {
                    Some(key @ StateKey::Global(_)) => key,
                    _ => return,
                }
            }
            Expr::Attribute(attribute) => {
                let Expr::Name(base) = &*attribute.value else {
                    return;
                };
                let attr = attribute.attr.as_str();
                // `self.x` is per-instance unless only the class defines `x`.
                let class = match self.current_receiver() {
                    Some((receiver, kind, class)) if receiver == base.id.as_str() => {
                        if kind == Receiver::Instance
                            && self.classes[class].instance_attributes.contains_key(attr)
                        {
                            return;
                        }
                        class
                    }
                    _ => match self.module_class(base.id.as_str()) {
                        Some(class) if !self.is_enclosing_local(base.id.as_str()) => class,
                        _ => return,
                    },
                };
                match self.defining_class(class, attr) {
                    Some((defining, kind)) if may_hold_container(kind) => {
                        StateKey::ClassAttr(defining, attr)
                    }
                    _ => return,
                }
            }
            _ => return,
        };
        let locks = self.locks_now();
        let reads = self.reads.entry(key).or_default();
        // Consecutive reads in one function under the same locks are one span: the index
        // stays small in functions that use the state on every line.
        if let Some(last) = reads.last_mut()
            && last.function == function
            && last.locks == locks
        {
            // The walk visits a value before its target: not always in source order.
            last.range = TextRange::new(
                last.range.start().min(expr.start()),
                last.range.end().max(expr.end()),
            );
            return;
        }
        reads.push(StateRead {
            function,
            range: expr.range(),
            locks,
        });
    }

    /// Adds the reads of globals that some function of the module declares (`global T`) and
    /// no module-level statement binds, now that every function is known.
    pub(super) fn resolve_undeclared_global_reads(&mut self) {
        if self.undeclared_global_reads.is_empty() {
            return;
        }
        let declared: rustc_hash::FxHashSet<&'a str> = self
            .functions
            .iter()
            .flat_map(|function| function.globals.iter().copied())
            .collect();
        for (name, read) in std::mem::take(&mut self.undeclared_global_reads) {
            if declared.contains(name) {
                let reads = self.reads.entry(StateKey::Global(name)).or_default();
                let at =
                    reads.partition_point(|earlier| earlier.range.start() <= read.range.start());
                reads.insert(at, read);
            }
        }
    }

    /// The class (of `class` and its bases in this module) whose body assigns `attr`, and what
    /// it assigns.
    fn defining_class(&self, class: ClassId, attr: &str) -> Option<(ClassId, ValueKind)> {
        let mut current = Some(class);
        for _ in 0..16 {
            let id = current?;
            let class = &self.classes[id];
            if let Some(attribute) = class.attribute(attr) {
                return Some((id, attribute.kind));
            }
            current = class
                .bases
                .iter()
                .find_map(|base| self.class_index.get(base.as_str()).copied());
        }
        None
    }
}

/// Whether state bound to a value of this kind may hold a container at run time.
fn may_hold_container(kind: ValueKind) -> bool {
    matches!(
        kind,
        ValueKind::Container(_) | ValueKind::None | ValueKind::Other
    )
}
