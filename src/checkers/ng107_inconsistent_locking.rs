//! NG107 inconsistent-locking: state written under a lock in one place and without it in
//! another (an "unprotected write").
//!
//! The rule's documentation is `rules/NG107.md` (`nogil-lint rule NG107` prints it).

use std::collections::BTreeMap;

use ruff_text_size::TextRange;

use crate::diagnostic::{Diagnostic, Harm, Severity};
use crate::registry::Rule;
use crate::semantic::{
    AccessKind, AccessTarget, Execution, LockKey, SemanticModel, StateAccess, StateKey,
    ThreadEntryKind,
};

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
/// per-instance state are not counted: the object is not shared yet; nor are writes that
/// cannot run concurrently (at import, in a test no thread runs), state written only on event
/// loops, and an object's state written only by the one thread that object runs.
pub fn unprotected_writes(model: &SemanticModel<'_>) -> Vec<UnprotectedWrite> {
    // An attribute of a shared object (`self.parallel.n_done`) is state of its own: its
    // neighbours (`self.parallel._exception`) may be guarded differently.
    let mut groups: BTreeMap<(StateKey<'_>, Option<&str>), Vec<usize>> = BTreeMap::new();
    for (index, access) in model.accesses.iter().enumerate() {
        if matches!(
            model.execution(access.function),
            Execution::ImportTime
                | Execution::MainScript
                | Execution::Setup
                | Execution::TestOnly
                | Execution::NoThreads
        ) {
            continue;
        }
        if matches!(access.key, StateKey::InstanceAttr(..))
            && model.is_construction(access.function)
        {
            continue;
        }
        // A closure's variables are shared only by a closure run on threads or a decorator's
        // wrapper.
        if let StateKey::Nonlocal(owner, _) = access.key
            && !model.closure_is_shared(access.function, owner)
        {
            continue;
        }
        let attr = match access.target {
            AccessTarget::Attr(attr) => Some(attr),
            _ => None,
        };
        groups.entry((access.key, attr)).or_default().push(index);
    }
    let mut writes = Vec::new();
    for ((key, _), indices) in &groups {
        let executions: Vec<Execution> = indices
            .iter()
            .map(|&index| model.execution(model.accesses[index].function))
            .collect();
        // Coroutines on one event loop do not run in parallel with each other.
        if executions
            .iter()
            .all(|execution| *execution == Execution::EventLoop)
        {
            continue;
        }
        if confined_to_own_thread(model, *key, &executions) {
            continue;
        }
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

/// An object's attribute written only from the one thread the object runs (a `Thread.run`
/// override, or a thread started on one of its own methods): no other thread writes it, so
/// the lock some of those writes hold orders nothing.
fn confined_to_own_thread(
    model: &SemanticModel<'_>,
    key: StateKey<'_>,
    executions: &[Execution],
) -> bool {
    let StateKey::InstanceAttr(..) = key else {
        return false;
    };
    let Some(Execution::Thread(entry)) = executions.first().copied() else {
        return false;
    };
    let per_object_thread = matches!(
        model.thread_entries[entry].kind,
        ThreadEntryKind::RunOverride | ThreadEntryKind::Thread | ThreadEntryKind::Timer
    );
    per_object_thread
        && executions
            .iter()
            .all(|execution| *execution == Execution::Thread(entry))
}

/// What an unprotected write does to the locked ones: a lost update when either side is a
/// read-modify-write or the locked side checks, then acts, or rebinds what the other mutates;
/// nothing worse than an unordered store when every write is a single store.
fn harm_of(
    model: &SemanticModel<'_>,
    access: &StateAccess<'_>,
    locked: &[&StateAccess<'_>],
) -> (Harm, &'static str) {
    // A lost update costs what the value is used for (see `lost_update`).
    let lost = |write: &StateAccess<'_>| super::lost_update(model, write).0;
    if access.read_modify_write {
        let harm = lost(access).max(
            locked
                .iter()
                .map(|other| lost(other))
                .max()
                .unwrap_or(Harm::Benign),
        );
        return (
            harm,
            if harm == Harm::Hazard {
                "the two can interleave, and one of the updates is lost while the value is in use"
            } else {
                "the two can interleave, and one of the updates is lost: a miscount that matters \
                 if anything decides on this value"
            },
        );
    }
    // The locked side checks, then acts: an unlocked store invalidates what it checked.
    if locked.iter().any(|other| other.guard.is_some()) {
        return (
            Harm::Hazard,
            "this write can land between the locked check and act, which then acts on a stale \
             value",
        );
    }
    let compound_locked = locked.iter().any(|other| other.read_modify_write);
    let rebinding = |write: &StateAccess<'_>| {
        write.target == AccessTarget::Whole && !matches!(write.kind, AccessKind::MutatingCall(_))
    };
    let mutation = |write: &StateAccess<'_>| !rebinding(write);
    if compound_locked {
        let harm = locked
            .iter()
            .filter(|other| other.read_modify_write)
            .map(|other| lost(other))
            .max()
            .unwrap_or(Harm::Uncertain);
        return (
            harm,
            "this write can land between the locked read and write, which then overwrites it",
        );
    }
    if (rebinding(access) && locked.iter().any(|other| mutation(other)))
        || (mutation(access) && locked.iter().any(|other| rebinding(other)))
    {
        return (
            Harm::Hazard,
            "a mutation can reach the old object just as the other side replaces it, and is lost",
        );
    }
    if mutation(access) {
        return (
            Harm::Benign,
            "each of these writes is one atomic operation on free-threaded Python, so the lock \
             orders nothing here",
        );
    }
    (
        Harm::Benign,
        "every write of it is a single store, so the lock orders nothing and the last store wins \
         either way",
    )
}

pub fn describe_state(model: &SemanticModel<'_>, access: &StateAccess<'_>) -> String {
    if let AccessTarget::Attr(attr) = access.target {
        let object = match access.key {
            StateKey::Global(name) | StateKey::Nonlocal(_, name) => name.to_string(),
            StateKey::ClassAttr(class, owner) => format!("{}.{owner}", model.class(class).name),
            StateKey::InstanceAttr(_, owner) => format!("self.{owner}"),
            StateKey::ObjectAttr(owner, inner) => format!("{owner}.{inner}"),
        };
        return format!("`{object}.{attr}`");
    }
    let rebinds =
        access.target == AccessTarget::Whole && !matches!(access.kind, AccessKind::MutatingCall(_));
    match access.key {
        StateKey::Global(name) if rebinds => format!("the module global `{name}`"),
        StateKey::Global(name) => format!("the module-level `{name}`"),
        StateKey::Nonlocal(_, name) => format!("the closure variable `{name}`"),
        StateKey::ClassAttr(class, attr) => format!("`{}.{attr}`", model.class(class).name),
        StateKey::InstanceAttr(_, attr) => format!("`self.{attr}`"),
        StateKey::ObjectAttr(owner, attr) => format!("`{owner}.{attr}`"),
    }
}

pub fn check(context: &mut Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    let mut found = Vec::new();
    for write in unprotected_writes(model) {
        if !context.claimed.insert(write.access) {
            continue;
        }
        let access = &model.accesses[write.access];
        let locked: Vec<&StateAccess<'_>> = model
            .accesses_of(access.key)
            .map(|(_, other)| other)
            .filter(|other| {
                attribute_of(other) == attribute_of(access) && !model.access_locks(other).is_empty()
            })
            .collect();
        let (harm, consequence) = harm_of(model, access, &locked);
        let (severity, reached) = context.judge(harm, access.function);
        // Without a thread in view, an unlocked write next to locked ones is nearly always a
        // phase the author knows to be single-threaded (set-up before the threads start, a
        // reset after they are joined, the owner's own thread): in blind reviews of unseen
        // libraries such findings were real 2 times of 34, against 3 of 3 where a thread
        // reached the write. They stay information; a thread, in this module or (found by the
        // project phase) another, restores the judged severity.
        let (severity, reached) =
            if matches!(model.execution(access.function), Execution::Thread(_)) {
                (severity, reached)
            } else {
                (Severity::Info, String::new())
            };
        let statement = context.snippet(access.stmt);
        let state = describe_state(model, access);
        // A lock expression can span lines (`DirectoryLock(root, name,\n    …)`): one line of it.
        let lock_text = super::lock_as_written(model, &write.lock);
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
        found.push((
            (access.key, attribute_of(access)),
            Diagnostic::new(
                Rule::InconsistentLocking,
                format!(
                    "`{statement}` writes {state} without a lock, but line {locked_line} writes it while holding \
                     `{lock_text}`: {consequence}{reached}"
                ),
                access.stmt,
            )
            .with_severity(severity)
            .with_harm(harm)
            .with_label(format!("not holding `{lock_text}`"))
            .with_help(format!("wrap this write in `with {lock_text}:`"))
            .with_fix(fix)
            .with_functions(vec![access.function])
            .with_related(
                format!("written here while holding `{lock_text}`"),
                crate::diagnostic::RelatedLocation::Here(write.locked_write),
            ),
        ));
    }
    // Ten unlocked `self._stats[k] += 1` against one locked write are one decision.
    diagnostics.extend(super::one_finding_per_state(
        context,
        found,
        "the same state is written without the lock in",
    ));
}

/// The attribute of a shared object a write targets (`n` of `self.stats.n = …`), if any.
fn attribute_of<'a>(write: &StateAccess<'a>) -> Option<&'a str> {
    match write.target {
        AccessTarget::Attr(attr) => Some(attr),
        _ => None,
    }
}
