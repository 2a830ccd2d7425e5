//! Stacks of "current" entries: every push (`append`, `insert(0, …)`, `appendleft`), pop
//! (`pop()`, `pop(0)`, `popleft()`, `del S[-1]`) and top read (`S[-1]`, `S[0]`) of shared
//! state inside a function, and, once the model is built, which module- and class-level lists
//! they make stacks ([`shared_stacks`]).

use rustc_hash::FxHashMap as HashMap;

use ruff_python_ast::{self as ast, Expr, UnaryOp};
use ruff_text_size::{Ranged, TextRange};

use super::{Builder, Receiver};
use crate::semantic::values::{ContainerKind, ValueKind};
use crate::semantic::{SemanticModel, SharedStack, StackEnd, StackOp, StackOpKind, StateKey};

impl<'a> Builder<'a> {
    /// The shared state an object expression names: what [`Builder::state_key_of`] knows, and
    /// the class attribute reached through the instance's class (`type(self).x`,
    /// `self.__class__.x`).
    pub(super) fn shared_object_key(&self, expr: &'a Expr) -> Option<StateKey<'a>> {
        if let Some(key) = self.state_key_of(expr) {
            return Some(key);
        }
        let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = expr else {
            return None;
        };
        let (receiver_name, receiver, class) = self.current_receiver()?;
        if receiver != Receiver::Instance {
            return None;
        }
        let through_class = match &**value {
            // `type(self)`
            Expr::Call(ast::ExprCall {
                func, arguments, ..
            }) => {
                matches!(&**func, Expr::Name(name) if name.id.as_str() == "type"
                    && !self.bindings.contains_key("type"))
                    && arguments.keywords.is_empty()
                    && matches!(&*arguments.args, [Expr::Name(arg)] if arg.id.as_str() == receiver_name)
            }
            // `self.__class__`
            Expr::Attribute(ast::ExprAttribute {
                value: inner,
                attr: dunder,
                ..
            }) => {
                dunder.as_str() == "__class__"
                    && matches!(&**inner, Expr::Name(name) if name.id.as_str() == receiver_name)
            }
            _ => false,
        };
        through_class.then_some(StateKey::ClassAttr(class, attr.as_str()))
    }

    /// `S.append(x)`, `S.insert(0, x)`, `S.appendleft(x)`, `S.pop()`, `S.pop(-1)`, `S.pop(0)`,
    /// `S.popleft()` on shared state.
    pub(super) fn record_stack_call(&mut self, call: &'a ast::ExprCall) {
        let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &*call.func else {
            return;
        };
        let args = &*call.arguments.args;
        if !call.arguments.keywords.is_empty() {
            return;
        }
        let (kind, end) = match (attr.as_str(), args) {
            ("append", [_]) => (StackOpKind::Push, StackEnd::Back),
            ("appendleft", [_]) => (StackOpKind::Push, StackEnd::Front),
            ("insert", [index, _]) if index_is(index, 0) => (StackOpKind::Push, StackEnd::Front),
            ("pop" | "popleft", _) => {
                let end = match (attr.as_str(), args) {
                    ("pop", []) => StackEnd::Back,
                    ("pop", [index]) if index_is(index, -1) => StackEnd::Back,
                    ("pop", [index]) if index_is(index, 0) => StackEnd::Front,
                    ("popleft", []) => StackEnd::Front,
                    _ => return,
                };
                // The value of an expression statement is thrown away.
                let discarded = self.current_stmt == call.range();
                (StackOpKind::Pop { discarded }, end)
            }
            _ => return,
        };
        self.push_stack_op(value, kind, end, call.range());
    }

    /// `del S[-1]` / `del S[0]`: a pop whose entry is discarded.
    pub(super) fn record_stack_delete(&mut self, target: &'a Expr) {
        if let Expr::Subscript(ast::ExprSubscript { value, slice, .. }) = target
            && let Some(end) = top_index(slice)
        {
            self.push_stack_op(
                value,
                StackOpKind::Pop { discarded: true },
                end,
                target.range(),
            );
        }
    }

    /// `S[-1]` / `S[0]` read: the top of the stack, "the current entry".
    pub(super) fn record_stack_peek(&mut self, subscript: &'a ast::ExprSubscript) {
        if subscript.ctx == ast::ExprContext::Load
            && let Some(end) = top_index(&subscript.slice)
        {
            self.push_stack_op(&subscript.value, StackOpKind::Peek, end, subscript.range);
        }
    }

    fn push_stack_op(
        &mut self,
        object: &'a Expr,
        kind: StackOpKind,
        end: StackEnd,
        range: TextRange,
    ) {
        let Some(function) = self.current_function() else {
            return;
        };
        let Some(key) = self.shared_object_key(object) else {
            return;
        };
        if matches!(key, StateKey::Nonlocal(..)) {
            return;
        }
        self.stack_ops.push(StackOp {
            key,
            kind,
            end,
            range,
            stmt: self.current_stmt,
            function,
            locks: self.locks_now(),
        });
    }
}

/// Whether an index expression is the integer `value` (`0`, `-1`).
fn index_is(expr: &Expr, value: i64) -> bool {
    match expr {
        Expr::NumberLiteral(ast::ExprNumberLiteral {
            value: ast::Number::Int(int),
            ..
        }) => int.as_i64() == Some(value),
        Expr::UnaryOp(ast::ExprUnaryOp {
            op: UnaryOp::USub,
            operand,
            ..
        }) => value < 0 && index_is(operand, -value),
        _ => false,
    }
}

/// The end of a list an index names: `[-1]` the back, `[0]` the front.
fn top_index(slice: &Expr) -> Option<StackEnd> {
    if index_is(slice, -1) {
        Some(StackEnd::Back)
    } else if index_is(slice, 0) {
        Some(StackEnd::Front)
    } else {
        None
    }
}

/// The module- and class-level lists (and deques) that the recorded operations use as stacks
/// of "current" entries: pushed and popped at the same end, with a popped entry discarded (the
/// scope it stood for ended) or the top read as the current one. A list whose popped items are
/// used and whose top is never read is a work queue: each pop takes a distinct item.
pub(super) fn shared_stacks<'a>(
    model: &SemanticModel<'a>,
    ops: Vec<StackOp<'a>>,
) -> Vec<SharedStack<'a>> {
    let mut by_state: HashMap<StateKey<'a>, Vec<StackOp<'a>>> = HashMap::default();
    for op in ops {
        if let Some(state) = model.class_level_state(op.key) {
            by_state.entry(state).or_default().push(op);
        }
    }
    let mut stacks: Vec<SharedStack<'a>> = Vec::new();
    for (state, ops) in by_state {
        let Some(definition) = list_definition(model, state) else {
            continue;
        };
        for end in [StackEnd::Back, StackEnd::Front] {
            let at_end: Vec<&StackOp<'a>> = ops.iter().filter(|op| op.end == end).collect();
            let pushes = at_end.iter().any(|op| op.kind == StackOpKind::Push);
            let pops = at_end
                .iter()
                .any(|op| matches!(op.kind, StackOpKind::Pop { .. }));
            let scoped = at_end.iter().any(|op| {
                matches!(
                    op.kind,
                    StackOpKind::Pop { discarded: true } | StackOpKind::Peek
                )
            });
            if pushes && pops && scoped {
                let mut ops: Vec<StackOp<'a>> = at_end.into_iter().cloned().collect();
                ops.sort_by_key(|op| op.range.start());
                stacks.push(SharedStack {
                    state,
                    end,
                    definition,
                    ops,
                });
                break;
            }
        }
    }
    stacks.sort_by_key(|stack| stack.definition.start());
    stacks
}

/// Where a module-level or class-level list or deque is defined.
fn list_definition(model: &SemanticModel<'_>, state: StateKey<'_>) -> Option<TextRange> {
    let is_stack_like = |kind: ValueKind| {
        matches!(
            kind,
            ValueKind::Container(ContainerKind::List | ContainerKind::Deque)
        )
    };
    match state {
        StateKey::Global(name) => {
            let binding = model.bindings.get(name)?;
            (is_stack_like(binding.kind) && !model.in_main_guard(binding.range.start()))
                .then_some(binding.range)
        }
        StateKey::ClassAttr(class_id, attr) => {
            let class = model.class(class_id);
            let attribute = class.attribute(attr)?;
            // Annotated fields of dataclasses and model classes are per-instance defaults.
            let per_instance = attribute.annotated
                && !attribute.class_var
                && (class.is_dataclass || !class.bases.is_empty());
            (is_stack_like(attribute.kind) && !per_instance).then_some(attribute.range)
        }
        _ => None,
    }
}
