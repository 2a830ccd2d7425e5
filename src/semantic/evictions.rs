//! Evictions from bounded caches: a removal (`popitem()`, `pop(oldest)`, `popleft()`,
//! `del C[k]`) that depends on a check of the same container's size (`if len(C) > N:`,
//! `while len(C) > N:`), of its emptiness (`while C:`), or on a `move_to_end` just before it.
//! Between the check and the removal another thread can remove the same entry or add one.

use ruff_text_size::TextRange;

use super::{CheckActLocking, LockKey, SemanticModel};

/// What the eviction depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictionTrigger {
    /// A comparison of `len(C)`: `if len(C) > N:`, `while len(C) >= N:`.
    SizeCheck,
    /// A test of whether it is empty: `while C:`, `if len(C):`.
    Emptiness,
    /// `C.move_to_end(k)` earlier in the function, so that `C.popitem()` removes `k`.
    MoveToEnd,
}

/// How the entry is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// `popitem()`: raises `KeyError` when the container is empty.
    PopItem,
    /// `popleft()` or `pop()` with no key (a deque or list used as a queue): raises
    /// `IndexError` when it is empty.
    PopEnd,
    /// `pop(key)` (`default` when a default is given, so a missing key does not raise).
    PopKey { default: bool },
    /// `del C[key]`: raises `KeyError` when the key is gone.
    Delete,
}

/// A removal from a container that depends on a check of that container.
#[derive(Debug, Clone)]
pub struct Eviction {
    pub trigger: EvictionTrigger,
    /// The test (`len(C) > N`, `C`) or the `move_to_end` call.
    pub check: TextRange,
    /// Locks held at the check inside its own function.
    pub check_locks: Vec<LockKey>,
    /// The `if` or `while` statement, or the `move_to_end` call's statement.
    pub stmt: TextRange,
    /// The removal, as an index into `accesses`.
    pub access: usize,
    pub removal: Removal,
    /// The removal is inside a `try` whose handler catches the error it raises when the entry
    /// is gone (`except IndexError: pass`): the program already expects another thread to get
    /// there first.
    pub handled: bool,
}

impl SemanticModel<'_> {
    /// Whether one lock is held from the check through the removal, each holds it in a section
    /// of its own, or they share no lock.
    pub fn eviction_locking(&self, eviction: &Eviction) -> CheckActLocking {
        self.locking_across(
            &self.accesses[eviction.access],
            eviction.check,
            &eviction.check_locks,
        )
    }
}
