//! What an expression evaluates to, as far as thread safety is concerned.

use ruff_python_ast::{self as ast, Expr};

/// The last segment of a dotted name (`"os.path.join"` → `"join"`): a byte search from the
/// end, which the builder runs for nearly every call of an imported name, where
/// `rsplit('.')` costs several times as much.
pub fn last_segment(dotted: &str) -> &str {
    match dotted.as_bytes().iter().rposition(|&byte| byte == b'.') {
        Some(dot) => &dotted[dot + 1..],
        None => dotted,
    }
}

/// Whether a qualified name is the standard library's thread-local class.
pub fn is_threading_local(qualified: &str) -> bool {
    matches!(qualified, "threading.local" | "_threading_local.local")
}

/// The kinds of mutable built-in and standard-library containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    List,
    Dict,
    Set,
    DefaultDict,
    Counter,
    Deque,
    OrderedDict,
    ByteArray,
    WeakContainer,
    ChainMap,
}

impl ContainerKind {
    pub fn describe(self) -> &'static str {
        match self {
            ContainerKind::List => "list",
            ContainerKind::Dict => "dict",
            ContainerKind::Set => "set",
            ContainerKind::DefaultDict => "defaultdict",
            ContainerKind::Counter => "Counter",
            ContainerKind::Deque => "deque",
            ContainerKind::OrderedDict => "OrderedDict",
            ContainerKind::ByteArray => "bytearray",
            ContainerKind::WeakContainer => "weak container",
            ContainerKind::ChainMap => "ChainMap",
        }
    }

    /// Mappings support `k in D`, `D.get`, `D.setdefault`.
    pub fn is_mapping(self) -> bool {
        matches!(
            self,
            ContainerKind::Dict
                | ContainerKind::DefaultDict
                | ContainerKind::Counter
                | ContainerKind::OrderedDict
                | ContainerKind::WeakContainer
                | ContainerKind::ChainMap
        )
    }
}

/// Thread pools run their tasks on threads of this process; process pools do not share memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Thread,
    Process,
}

/// What a binding holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Container(ContainerKind),
    /// A lock that excludes other threads (`threading.Lock`, `RLock`, `Condition`, …).
    Lock,
    /// An `asyncio` lock: it does not exclude other threads.
    AsyncLock,
    /// Objects that are safe to share or are per-thread: `threading.local`, `ContextVar`,
    /// `queue.Queue`, events, barriers.
    ThreadSafe,
    Pool(PoolKind),
    None,
    Constant,
    Function,
    Class,
    Import,
    Other,
}

impl ValueKind {
    /// Whether writes through this binding are shared-state writes worth reporting.
    pub fn is_shared_state(self) -> bool {
        !matches!(
            self,
            ValueKind::Lock
                | ValueKind::AsyncLock
                | ValueKind::ThreadSafe
                | ValueKind::Pool(_)
                | ValueKind::Function
                | ValueKind::Class
                | ValueKind::Import
        )
    }
}

/// Classify a call by the qualified name of its callee.
pub fn classify_factory(qualified: &str) -> Option<ValueKind> {
    let kind = match qualified {
        "builtins.list" => ValueKind::Container(ContainerKind::List),
        "builtins.dict" => ValueKind::Container(ContainerKind::Dict),
        "builtins.set" => ValueKind::Container(ContainerKind::Set),
        "builtins.bytearray" => ValueKind::Container(ContainerKind::ByteArray),
        "collections.defaultdict" => ValueKind::Container(ContainerKind::DefaultDict),
        "collections.Counter" => ValueKind::Container(ContainerKind::Counter),
        "collections.deque" => ValueKind::Container(ContainerKind::Deque),
        "collections.OrderedDict" => ValueKind::Container(ContainerKind::OrderedDict),
        "collections.ChainMap" => ValueKind::Container(ContainerKind::ChainMap),
        "weakref.WeakValueDictionary" | "weakref.WeakKeyDictionary" | "weakref.WeakSet" => {
            ValueKind::Container(ContainerKind::WeakContainer)
        }
        "threading.Lock"
        | "threading.RLock"
        | "threading.Condition"
        | "threading.Semaphore"
        | "threading.BoundedSemaphore"
        | "threading._RLock"
        | "_thread.allocate_lock"
        | "_thread.LockType"
        | "_thread.RLock"
        | "multiprocessing.Lock"
        | "multiprocessing.RLock"
        | "multiprocessing.Condition"
        | "multiprocessing.Semaphore"
        | "multiprocessing.BoundedSemaphore"
        | "multiprocessing.synchronize.Lock"
        | "multiprocessing.synchronize.RLock" => ValueKind::Lock,
        "asyncio.Lock"
        | "asyncio.Condition"
        | "asyncio.Semaphore"
        | "asyncio.BoundedSemaphore"
        | "asyncio.locks.Lock" => ValueKind::AsyncLock,
        "threading.local"
        | "_threading_local.local"
        | "contextvars.ContextVar"
        | "queue.Queue"
        | "queue.LifoQueue"
        | "queue.PriorityQueue"
        | "queue.SimpleQueue"
        | "multiprocessing.Queue"
        | "multiprocessing.SimpleQueue"
        | "multiprocessing.JoinableQueue"
        | "threading.Event"
        | "threading.Barrier"
        | "multiprocessing.Event"
        | "multiprocessing.Value"
        | "multiprocessing.Array"
        | "itertools.count" => ValueKind::ThreadSafe,
        "concurrent.futures.ThreadPoolExecutor"
        | "concurrent.futures.thread.ThreadPoolExecutor"
        | "multiprocessing.pool.ThreadPool"
        | "multiprocessing.dummy.Pool" => ValueKind::Pool(PoolKind::Thread),
        "concurrent.futures.ProcessPoolExecutor"
        | "concurrent.futures.process.ProcessPoolExecutor"
        | "multiprocessing.Pool"
        | "multiprocessing.pool.Pool" => ValueKind::Pool(PoolKind::Process),
        "builtins.frozenset" | "builtins.tuple" | "builtins.object" => ValueKind::Constant,
        _ => return None,
    };
    Some(kind)
}

/// Whether a callee's last name is the last name of one of the factories
/// [`classify_factory`] knows (or of a process pool), so that other calls skip resolution.
pub fn is_factory_name(name: &str) -> bool {
    matches!(
        name,
        "list"
            | "dict"
            | "set"
            | "bytearray"
            | "defaultdict"
            | "Counter"
            | "deque"
            | "OrderedDict"
            | "ChainMap"
            | "WeakValueDictionary"
            | "WeakKeyDictionary"
            | "WeakSet"
            | "Lock"
            | "RLock"
            | "_RLock"
            | "Condition"
            | "Semaphore"
            | "BoundedSemaphore"
            | "allocate_lock"
            | "LockType"
            | "local"
            | "ContextVar"
            | "Queue"
            | "LifoQueue"
            | "PriorityQueue"
            | "SimpleQueue"
            | "JoinableQueue"
            | "Event"
            | "Barrier"
            | "Value"
            | "Array"
            | "count"
            | "ThreadPoolExecutor"
            | "ProcessPoolExecutor"
            | "ThreadPool"
            | "Pool"
            | "frozenset"
            | "tuple"
            | "object"
    )
}

/// Classify an expression without name resolution (literals and displays).
pub fn classify_literal(expr: &Expr) -> Option<ValueKind> {
    let kind = match expr {
        Expr::List(_) | Expr::ListComp(_) => ValueKind::Container(ContainerKind::List),
        Expr::Dict(_) | Expr::DictComp(_) => ValueKind::Container(ContainerKind::Dict),
        Expr::Set(_) | Expr::SetComp(_) => ValueKind::Container(ContainerKind::Set),
        Expr::NoneLiteral(_) => ValueKind::None,
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::BytesLiteral(_)
        | Expr::BooleanLiteral(_)
        | Expr::EllipsisLiteral(_)
        | Expr::FString(_) => ValueKind::Constant,
        Expr::Tuple(ast::ExprTuple { elts, .. }) => {
            if elts.iter().all(|elt| {
                matches!(
                    classify_literal(elt),
                    Some(ValueKind::Constant | ValueKind::None)
                )
            }) {
                ValueKind::Constant
            } else {
                ValueKind::Other
            }
        }
        Expr::Lambda(_) => ValueKind::Function,
        _ => return None,
    };
    Some(kind)
}

/// Whether a name reads like a lock (`_lock`, `mutex`, `self._state_cv`), for lock objects whose
/// creation this module cannot see (a parameter, a base class in another module).
pub fn is_lock_like_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if let Some(pos) = lower.find("lock") {
        // `block`, `clock`, `unlock`, `deadlock` are not locks.
        let before = lower[..pos].chars().last();
        let is_other_word = matches!(before, Some('b' | 'c'))
            || lower[..pos].ends_with("un")
            || lower[..pos].ends_with("dead");
        if !is_other_word {
            return true;
        }
    }
    lower.contains("mutex")
        || lower.contains("semaphore")
        || lower == "cv"
        || lower == "cond"
        || lower == "condition"
        || lower.ends_with("_cv")
        || lower.ends_with("_cond")
        || lower.ends_with("_condition")
        || lower.ends_with("_sem")
}

/// Methods that mutate a container in place.
pub fn is_mutating_method(name: &str) -> bool {
    matches!(
        name,
        "append"
            | "extend"
            | "insert"
            | "pop"
            | "remove"
            | "clear"
            | "update"
            | "setdefault"
            | "add"
            | "discard"
            | "popitem"
            | "appendleft"
            | "popleft"
            | "extendleft"
            | "rotate"
            | "sort"
            | "reverse"
            | "difference_update"
            | "intersection_update"
            | "symmetric_difference_update"
            | "move_to_end"
            | "subtract"
            | "__setitem__"
            | "__delitem__"
    )
}

/// The `deque` methods documented as atomic.
pub fn is_atomic_deque_method(name: &str) -> bool {
    matches!(
        name,
        "append" | "appendleft" | "pop" | "popleft" | "extend" | "extendleft"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_like_names() {
        for name in [
            "_lock",
            "lock",
            "self_lock",
            "RLock",
            "_mutex",
            "cv",
            "_state_cond",
            "write_lock",
        ] {
            assert!(is_lock_like_name(name), "{name}");
        }
        for name in [
            "block", "clock", "unlock", "deadlock", "blocks", "value", "condense",
        ] {
            assert!(!is_lock_like_name(name), "{name}");
        }
    }
}
