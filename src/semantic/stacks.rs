//! Shared lists used as stacks of "current" entries (NG111): pushed on entering a scope,
//! popped on leaving it, the top read as "the current one". Each operation is atomic, but the
//! stack is one for every thread, so threads pop each other's entries.
//!
//! The builder records every push, pop and top read of module-level and class-level state
//! ([`StackOp`]); [`SemanticModel::stack_of`] answers which state is used as such a stack.

use ruff_text_size::TextRange;

use super::{FunctionId, LockKey, SemanticModel, StateKey};

/// Which end of the list is the top of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackEnd {
    /// `append` / `pop()` / `[-1]`.
    Back,
    /// `insert(0, …)` / `appendleft` / `pop(0)` / `popleft()` / `[0]`.
    Front,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackOpKind {
    Push,
    /// A pop; `discarded` when its value is not used (an expression statement, `del S[-1]`):
    /// the entry is removed because the scope it stood for ends.
    Pop {
        discarded: bool,
    },
    /// A read of the top (`S[-1]`): the "current" entry.
    Peek,
}

/// One push, pop or top read of shared state, inside a function.
#[derive(Debug, Clone)]
pub struct StackOp<'a> {
    /// The state as the code reaches it (`self.stack` is an instance attribute key).
    pub key: StateKey<'a>,
    pub kind: StackOpKind,
    pub end: StackEnd,
    /// The call or subscript.
    pub range: TextRange,
    /// The statement containing it.
    pub stmt: TextRange,
    pub function: FunctionId,
    /// Locks held there inside the function.
    pub locks: Vec<LockKey>,
}

/// Module-level or class-level state pushed and popped at the same end, with the popped entry
/// discarded or the top read: a stack of "current" entries.
#[derive(Debug, Clone)]
pub struct SharedStack<'a> {
    /// `Global(name)`, or `ClassAttr(defining class, attr)` however the code reaches it.
    pub state: StateKey<'a>,
    pub end: StackEnd,
    /// Where the state is defined (the name in its binding).
    pub definition: TextRange,
    /// Pushes, pops at the same end and reads of the top, in source order.
    pub ops: Vec<StackOp<'a>>,
}

impl SharedStack<'_> {
    pub fn pushes(&self) -> impl Iterator<Item = &StackOp<'_>> {
        self.ops.iter().filter(|op| op.kind == StackOpKind::Push)
    }
}

impl<'a> SemanticModel<'a> {
    /// The state `key` names, as one key for every way of reaching it: a module name stays
    /// itself; `self.x`, `cls.x`, `Sub.x` become `ClassAttr` of the class that defines `x`,
    /// unless the instance sets its own `x` (then it is per-instance state: `None`).
    pub fn class_level_state(&self, key: StateKey<'a>) -> Option<StateKey<'a>> {
        let state = self.shared_key(key)?;
        // A class attribute that the defining class's own instances shadow is theirs.
        match state {
            StateKey::ClassAttr(defining, attr)
                if self.class(defining).instance_attributes.contains_key(attr) =>
            {
                None
            }
            StateKey::ClassAttr(..)
                if matches!(key, StateKey::ClassAttr(owner, attr)
                if self.class(owner).instance_attributes.contains_key(attr)) =>
            {
                None
            }
            _ => Some(state),
        }
    }

    /// The stack of "current" entries that `key` is, if it is one.
    pub fn stack_of(&self, key: StateKey<'a>) -> Option<&SharedStack<'a>> {
        let state = self.class_level_state(key)?;
        self.shared_stacks.iter().find(|stack| stack.state == state)
    }
}
