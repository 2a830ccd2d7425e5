//! Shared iterators (NG112): a generator object or a one-pass iterator created once at module
//! or class level and advanced from functions. Two threads advancing one generator raise
//! `ValueError: generator already executing` with a GIL and can crash a free-threaded 3.13 or
//! 3.14 interpreter; a shared list or `map` iterator hands two threads the same item.

use ruff_text_size::TextRange;

use super::{FunctionId, LockKey, StateKey};

/// What a shared iterator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IteratorKind {
    /// `(x for x in …)`.
    GeneratorExpression,
    /// A call of one of this module's generator functions.
    GeneratorFunction(FunctionId),
    /// A built-in one-pass iterator: `iter(…)`, `map(…)`, `zip(…)`, `filter(…)`,
    /// `enumerate(…)`, `reversed(…)`.
    Builtin(&'static str),
    /// An iterable a caller passed in and an object keeps (`self._it = iterable`): a generator
    /// or another one-pass iterator, since the code calls `next()` on it.
    Passed,
}

impl IteratorKind {
    /// Whether it is a generator (whose frame two threads cannot run at once).
    pub fn is_generator(self) -> bool {
        matches!(
            self,
            IteratorKind::GeneratorExpression | IteratorKind::GeneratorFunction(_)
        )
    }
}

/// How a function advances an iterator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvanceKind {
    /// `next(it)`, `next(it, default)`, `it.__next__()`.
    Next,
    /// `gen.send(value)`.
    Send,
    /// `for x in it:`, a comprehension over it, `yield from it`.
    Loop,
}

/// One place a function advances shared state that may be an iterator.
#[derive(Debug, Clone)]
pub struct IteratorAdvance<'a> {
    /// The state as the code reaches it.
    pub key: StateKey<'a>,
    pub kind: AdvanceKind,
    /// The call (`next(it)`) or the iterated expression of a loop.
    pub range: TextRange,
    /// The statement containing it.
    pub stmt: TextRange,
    /// The statement is a simple one (`x = next(it)`, `return next(it)`), which a lock can
    /// wrap without holding it over a block.
    pub simple_statement: bool,
    pub function: FunctionId,
    /// Locks held there inside the function.
    pub locks: Vec<LockKey>,
}

/// A generator or iterator created once, at module or class level, and advanced from
/// functions.
#[derive(Debug, Clone)]
pub struct SharedIterator<'a> {
    /// `Global(name)`, or `ClassAttr(defining class, attr)`.
    pub state: StateKey<'a>,
    pub kind: IteratorKind,
    /// The name in its binding.
    pub definition: TextRange,
    /// Every place a function advances it, in source order.
    pub advances: Vec<IteratorAdvance<'a>>,
    /// For an iterator an object keeps (`InstanceAttr`), the lock attribute of its class that
    /// shows its objects are shared between threads (`_lock` of `self._lock = Lock()`).
    pub object_lock: Option<&'a str>,
}
