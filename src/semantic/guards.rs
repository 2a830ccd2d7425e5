//! Check-then-act: the check that guards a write, what its branch does, and how the check and
//! the act are locked.

use ruff_text_size::TextRange;

use super::LockKey;

/// The check in an `if`/`try` that guards a write (check-then-act).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardKind {
    /// `if k not in D:`
    NotIn,
    /// `if D.get(k) is None:` / `if not D.get(k):`
    GetIsNone,
    /// `try: D[k] except KeyError:`
    TryKeyError,
    /// `if X is None:` / `if not X:`
    NoneCheck,
}

/// What a guarded branch does, which decides what two threads both past its check repeat.
/// Ordered from the least work to the most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BranchWork {
    /// Only computes and stores values (assignments, imports, loops that fill locals).
    Stores,
    /// Stores, and logs or warns: repeated, a message appears twice.
    StoresAndReports,
    /// Does work with effects of its own (a call, a store that wraps what is there).
    Effects,
}

#[derive(Debug, Clone)]
pub struct Guard {
    pub kind: GuardKind,
    /// The test (or the `try` body's lookup).
    pub check: TextRange,
    /// The whole `if` or `try` statement.
    pub stmt: TextRange,
    /// Locks held where the check runs (without the ones the function inherits).
    pub locks: Vec<LockKey>,
    /// What the guarded branch does besides the act: running it twice stores the value
    /// twice, and repeats whatever else it does.
    pub work: BranchWork,
    /// The check rejects the key when it is there (`if k in D: raise …` before `D[k] = v`):
    /// a registration that refuses duplicates, not a cache that returns what it has.
    pub rejects: bool,
}

/// How a check-then-act is locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckActLocking {
    /// One lock is held from the check through the act.
    Atomic,
    /// The check and the act each hold this lock, in separate sections: another thread can
    /// act between them.
    SeparateSections(LockKey),
    /// No lock is common to the check and the act.
    Unlocked,
}
