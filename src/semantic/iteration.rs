//! Loops over shared state: the `for` loops, comprehensions and consuming calls (`sum(…)`,
//! `min(…)`, `",".join(…)`) that walk a shared container, `sys.modules` or `os.environ` item by
//! item, so that another thread's change in the middle raises `RuntimeError` or skips items.
//!
//! Copies that free-threaded CPython makes atomic (`list(D)`, `D.copy()`, `sorted(D)` of a
//! dict, set or list) are snapshots, not iterations: the builder does not record them.

use ruff_text_size::TextRange;

use super::{ContainerKind, FunctionId, LockKey, StateKey};

/// How the code walks the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IterationKind<'a> {
    /// A `for` statement.
    Loop,
    /// A list, set or dict comprehension, or a generator expression.
    Comprehension,
    /// A call that consumes the iterable item by item: `sum`, `min`, `max`, `any`, `all`,
    /// `tuple`, `",".join`, and the snapshot builders (`list`, `sorted`, `set`, `dict`) where
    /// they do not copy atomically (a deque, an `OrderedDict`, a `defaultdict`'s keys).
    Call(&'a str),
}

impl IterationKind<'_> {
    /// "the loop", "the comprehension", "`sum(…)`", for messages.
    pub fn describe(self) -> String {
        match self {
            IterationKind::Loop => "the loop".to_string(),
            IterationKind::Comprehension => "the comprehension".to_string(),
            IterationKind::Call("join") => "`str.join(…)`".to_string(),
            IterationKind::Call(name) => format!("`{name}(…)`"),
        }
    }
}

/// A loop or comprehension over shared state in a function (`for k in D`, `for v in
/// D.values()`, `sum(D.values())`): another thread's mutation during it raises `RuntimeError`
/// or skips items.
#[derive(Debug, Clone)]
pub struct StateIteration<'a> {
    pub key: StateKey<'a>,
    /// What the state holds.
    pub container: ContainerKind,
    /// The iterated expression (`D`, `D.items()`).
    pub range: TextRange,
    /// The state itself within it (`D` of `D.items()`).
    pub object: TextRange,
    /// The view iterated: `items`, `keys` or `values`, or `None` for the container itself.
    pub view: Option<&'a str>,
    pub kind: IterationKind<'a>,
    /// The whole loop: the `for` statement, the comprehension, or the consuming call.
    pub stmt: TextRange,
    pub function: FunctionId,
    /// Locks held around the loop.
    pub locks: Vec<LockKey>,
}

/// A process-wide mapping that the interpreter or other threads change at any time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessMapping {
    /// `sys.modules`: every import, on any thread, adds to it.
    SysModules,
    /// `os.environ`: changed by any code that sets or deletes a variable.
    Environ,
}

impl ProcessMapping {
    pub fn name(self) -> &'static str {
        match self {
            ProcessMapping::SysModules => "sys.modules",
            ProcessMapping::Environ => "os.environ",
        }
    }
}

/// A loop over `sys.modules` or over `os.environ`'s items or values, in a function.
#[derive(Debug, Clone)]
pub struct MappingIteration<'a> {
    pub mapping: ProcessMapping,
    /// The iterated expression (`sys.modules`, `sys.modules.items()`).
    pub range: TextRange,
    /// The view iterated, as for [`StateIteration::view`].
    pub view: Option<&'a str>,
    pub kind: IterationKind<'a>,
    pub stmt: TextRange,
    pub function: FunctionId,
    pub locks: Vec<LockKey>,
}
