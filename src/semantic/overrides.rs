//! Scoped overrides: shared or process-wide state saved, set to a temporary value and restored
//! later (`old = X; X = tmp; try: … finally: X = old`, `__enter__`/`__exit__`, a
//! `@contextmanager` around its `yield`, `with redirect_stdout(…)`). Every other thread sees the
//! temporary value in between (NG110).

use ruff_text_size::TextRange;

use super::{AccessTarget, FunctionId, SemanticModel, StateKey, ValueKind};

/// The state an override changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverriddenState<'a> {
    /// Module or class state: a global (`Whole`), a class attribute (`Whole`), an attribute of a
    /// module-level or imported object (`Attr`), an item of a module-level dict (`Item`), or a
    /// whole dict saved with `dict(D)` and restored with `D.update(saved)` (`Whole`).
    Shared {
        key: StateKey<'a>,
        target: AccessTarget<'a>,
    },
    /// State of the whole process, named as the process-global table names the call or
    /// assignment that changes it (`os.environ`, `os.chdir`, `sys.stdout`, `signal.signal`,
    /// `sys.setrecursionlimit`, …; `sys.path` and other `sys` attributes by their own names),
    /// with the part changed: the key of `os.environ[key]`, the signal number, the locale
    /// category, the path inserted into `sys.path`; empty for all of it.
    Process { name: String, part: String },
}

impl OverriddenState<'_> {
    /// Whether a value saved from `self` holds the value of `other`: the same state, or the
    /// whole of which `other` is a part (`dict(_options)` holds `_options[k]`).
    pub fn covers(&self, other: &Self) -> bool {
        if self == other {
            return true;
        }
        match (self, other) {
            (
                OverriddenState::Shared {
                    key,
                    target: AccessTarget::Whole,
                },
                OverriddenState::Shared { key: other_key, .. },
            ) => key == other_key,
            (
                OverriddenState::Process { name, part },
                OverriddenState::Process {
                    name: other_name, ..
                },
            ) => part.is_empty() && name == other_name,
            _ => false,
        }
    }

    pub fn is_process_wide(&self) -> bool {
        matches!(self, OverriddenState::Process { .. })
    }
}

/// How the temporary value is set and restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverrideShape {
    /// Saved, set and restored in one function: `try`/`finally`, straight-line code, or a
    /// `@contextlib.contextmanager` generator around its `yield`.
    InFunction,
    /// `__enter__` saves (on `self`) and sets, `__exit__` restores.
    EnterExit { exit: FunctionId },
    /// A context manager that swaps process-wide state for its block: `with
    /// contextlib.redirect_stdout(…)`, `redirect_stderr`, `contextlib.chdir`, and
    /// `warnings.catch_warnings` on targets where it is not context-local.
    With,
}

/// A save → set → restore of shared or process-wide state.
#[derive(Debug, Clone)]
pub struct ScopedOverride<'a> {
    pub state: OverriddenState<'a>,
    pub shape: OverrideShape,
    /// The function that sets the temporary value (`__enter__` for [`OverrideShape::EnterExit`]).
    pub function: FunctionId,
    /// The statement that saves the old value, when there is one (`old = sys.stdout`).
    pub save: Option<TextRange>,
    /// The statements that set temporary values, in source order (the first is reported); for
    /// [`OverrideShape::With`], the context manager's call.
    pub sets: Vec<TextRange>,
    /// The statement that restores the old value (or removes the temporary one:
    /// `del os.environ[k]`, `sys.path.remove(p)`); for [`OverrideShape::With`], the whole `with`
    /// statement.
    pub restore: TextRange,
    /// Other statements that belong to the override: `os.environ.clear()` before the restoring
    /// `update`, a `del os.environ[k]` for a key that was not set before.
    pub others: Vec<TextRange>,
    /// For process-wide state, why it is process-wide (from the table).
    pub reason: Option<String>,
}

impl ScopedOverride<'_> {
    /// The functions the override runs in (the setter, and `__exit__`).
    pub fn functions(&self) -> Vec<FunctionId> {
        match self.shape {
            OverrideShape::EnterExit { exit } => vec![self.function, exit],
            _ => vec![self.function],
        }
    }
}

impl SemanticModel<'_> {
    /// Whether one lock shared by every caller is held from the temporary value's setting to
    /// its restoring, so that the overrides take turns: every caller of the function holds it,
    /// one `with lock:` region spans the set and the restore, or `__enter__` acquires a lock of
    /// the class that `__exit__` releases. A lock of the object itself (`self._lock`) does not
    /// count: two objects override the same shared state under two different locks.
    pub fn override_is_locked(&self, item: &ScopedOverride<'_>) -> bool {
        let function = self.function(item.function);
        let own = |lock: &str| {
            function.receiver.is_some_and(|receiver| {
                lock.strip_prefix(receiver)
                    .is_some_and(|rest| rest.starts_with('.'))
            })
        };
        if self
            .inherited_locks(item.function)
            .iter()
            .any(|lock| !own(lock))
        {
            return true;
        }
        match item.shape {
            OverrideShape::EnterExit { .. } => function.class.is_some_and(|class| {
                let class = self.class(class);
                let class_lock = class.context_lock.is_some_and(|lock| {
                    class
                        .attribute(lock)
                        .is_some_and(|attribute| attribute.kind == ValueKind::Lock)
                        && !class.instance_attributes.contains_key(lock)
                });
                // `_LOCK.acquire()` in `__enter__`, released in `__exit__`: one module-level
                // lock for every object, so the overrides take turns.
                let module_lock = class.context_module_lock.is_some_and(|lock| {
                    self.bindings
                        .get(lock)
                        .is_some_and(|binding| binding.kind == ValueKind::Lock)
                });
                class_lock || module_lock
            }),
            OverrideShape::InFunction | OverrideShape::With => {
                let first = item.sets.first().copied().unwrap_or(item.restore);
                self.lock_regions.iter().any(|region| {
                    region.function == Some(item.function)
                        && !own(&region.lock)
                        && region.range.contains_range(first)
                        && region.range.contains_range(item.restore)
                })
            }
        }
    }
}
