//! NG107 inconsistent-locking: state written under a lock in one place and without it in
//! another (an "unprotected write").
//!
//! The rule's documentation is `rules/NG107.md` (`nogil-lint rule NG107` prints it).

use std::collections::BTreeMap;

use ruff_text_size::TextRange;

use crate::diagnostic::Diagnostic;
use crate::registry::Rule;
use crate::semantic::{AccessKind, AccessTarget, LockKey, SemanticModel, StateAccess, StateKey};

use super::Context;

/// A write without a lock to state that is elsewhere written while holding `lock`.
#[derive(Debug, Clone)]
pub struct UnprotectedWrite {
    /// Index into the model's accesses.
    pub access: usize,
    pub lock: LockKey,
    /// Where the state is written under the lock.
    pub locked_write: TextRange,
}

/// Every unprotected write of the module. Writes during construction (`__init__`, …) of
/// per-instance state are not counted: the object is not shared yet.
pub fn unprotected_writes(model: &SemanticModel<'_>) -> Vec<UnprotectedWrite> {
    let mut groups: BTreeMap<StateKey<'_>, Vec<usize>> = BTreeMap::new();
    for (index, access) in model.accesses.iter().enumerate() {
        if !model.is_runtime_access(access) {
            continue;
        }
        if matches!(access.key, StateKey::InstanceAttr(..))
            && model.is_construction(access.function)
        {
            continue;
        }
        // A closure's variables are shared only once the closure runs on threads.
        if matches!(access.key, StateKey::Nonlocal(..))
            && model.reached_from(access.function).is_none()
        {
            continue;
        }
        groups.entry(access.key).or_default().push(index);
    }
    let mut writes = Vec::new();
    for indices in groups.values() {
        let locked = indices.iter().find_map(|&index| {
            let access = &model.accesses[index];
            let locks = model.access_locks(access);
            locks.first().map(|lock| (lock.clone(), access.range))
        });
        let Some((lock, locked_write)) = locked else {
            continue;
        };
        for &index in indices {
            let access = &model.accesses[index];
            // `if not lock.acquire(False): pending.append(x)`: the author's lock-free fallback
            // for when the lock is busy (possibly held by this very thread, as in
            // multiprocessing.heap); taking the lock there would block or deadlock.
            let fallback = model
                .lock_unavailable
                .iter()
                .any(|(key, range)| *key == lock && range.contains_range(access.range));
            if !fallback && model.access_locks(access).is_empty() {
                writes.push(UnprotectedWrite {
                    access: index,
                    lock: lock.clone(),
                    locked_write,
                });
            }
        }
    }
    writes.sort_by_key(|write| write.access);
    writes
}

pub fn describe_state(model: &SemanticModel<'_>, access: &StateAccess<'_>) -> String {
    let rebinds =
        access.target == AccessTarget::Whole && !matches!(access.kind, AccessKind::MutatingCall(_));
    match access.key {
        StateKey::Global(name) if rebinds => format!("the module global `{name}`"),
        StateKey::Global(name) => format!("the module-level `{name}`"),
        StateKey::Nonlocal(_, name) => format!("the closure variable `{name}`"),
        StateKey::ClassAttr(class, attr) => format!("`{}.{attr}`", model.class(class).name),
        StateKey::InstanceAttr(_, attr) => format!("`self.{attr}`"),
    }
}

pub fn check(context: &mut Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    for write in unprotected_writes(model) {
        if !context.claimed.insert(write.access) {
            continue;
        }
        let access = &model.accesses[write.access];
        let (severity, reached) = context.reach(access.function);
        let statement = context.snippet(access.stmt);
        let state = describe_state(model, access);
        // A lock expression can span lines (`DirectoryLock(root, name,\n    …)`): one line of it.
        let lock_text = super::snippet(model.lock_text(&write.lock).unwrap_or(&write.lock));
        let locked_line = context.line(write.locked_write);
        // Only a lock this code can name: a module or class lock, or the same object's lock.
        let fix = context
            .fixes
            .existing_lock(access.key, access.function)
            .and_then(|lock| {
                let edit = context.fixes.wrap_in_lock(access.stmt, &lock)?;
                Some(crate::fix::fix(
                    crate::diagnostic::FixApplicability::Unsafe,
                    format!("Wrap in `with {lock}:`"),
                    vec![edit],
                ))
            });
        diagnostics.push(
            Diagnostic::new(
                Rule::InconsistentLocking,
                format!(
                    "`{statement}` writes {state} without a lock, but line {locked_line} writes it while holding \
                     `{lock_text}`; the unprotected write races with the locked ones on free-threaded Python{reached}"
                ),
                access.stmt,
            )
            .with_severity(severity)
            .with_label(format!("not holding `{lock_text}`"))
            .with_help(format!("wrap this write in `with {lock_text}:`"))
            .with_fix(fix)
            .with_functions(vec![access.function]),
        );
    }
}
