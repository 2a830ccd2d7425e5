//! NG114 publish-before-fill: a new empty container stored in module- or class-level state and
//! then filled in place by the same function (`global TABLE; TABLE = {}; for …: TABLE[k] = v`),
//! so that other threads can read it half-built. The lazy-initialisation form (`if TABLE is
//! None: TABLE = {}; …`) is NG104's.
//!
//! The rule's documentation is `rules/NG114.md` (`nogil-lint rule NG114` prints it).

use ruff_text_size::TextRange;

use crate::diagnostic::{Diagnostic, Harm};
use crate::registry::Rule;
use crate::semantic::{AccessKind, AccessTarget, LockKey, StateAccess, StateKey, StateRead};

use super::Context;

pub fn check(context: &mut Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    for (index, access) in model.accesses.iter().enumerate() {
        if !access.value_is_empty_container
            || access.kind != AccessKind::Assign
            || access.target != AccessTarget::Whole
            // NG104 runs first and claims the lazy initialisations it reports, with the fill.
            || context.claimed.contains(&index)
            || !context.may_race(access)
        {
            continue;
        }
        let Some(shared) = model.shared_key(access.key) else {
            continue;
        };
        let fills = fills_after(context, access);
        let Some(last) = fills.last() else { continue };
        let span = TextRange::new(access.range.start(), last.range.end());
        let publish_locks = locks_across(context, access, &fills);
        let readers: Vec<&StateRead> = model
            .reads_of(shared)
            .iter()
            .filter(|read| {
                context.may_race_in(read.function, access.key)
                    && !(read.function == access.function && span.contains_range(read.range))
                    && !model
                        .locks_held(read.function, &read.locks)
                        .iter()
                        .any(|lock| publish_locks.contains(lock))
            })
            .collect();
        // Built under a lock every reader holds: nobody sees it half-built.
        if !publish_locks.is_empty() && readers.is_empty() {
            continue;
        }
        context.claimed.insert(index);
        let other_reader = readers.iter().find(|read| read.function != access.function);
        let state = match shared {
            StateKey::ClassAttr(class, attr) => {
                format!("the class attribute `{}.{attr}`", model.class(class).name)
            }
            _ => format!("the module global `{}`", context.snippet(access.range)),
        };
        let lines = if fills.len() == 1 {
            format!("line {} fills it", context.line(last.range))
        } else {
            format!(
                "lines {}–{} fill it",
                context.line(fills[0].range),
                context.line(last.range)
            )
        };
        let locking = if publish_locks.is_empty() {
            String::new()
        } else {
            format!(
                " under `{}`, which not every reader holds",
                super::lock_as_written(model, &publish_locks[0])
            )
        };
        let (harm, consequence) = match (other_reader, readers.first()) {
            (Some(read), _) => (
                Harm::Hazard,
                format!(
                    "`{}` reads it at line {} and, on another thread, can see it empty or half-built",
                    model.function(read.function).qualname,
                    context.line(read.range)
                ),
            ),
            (None, Some(read)) if !publish_locks.is_empty() => (
                Harm::Hazard,
                format!(
                    "line {} reads it without the lock and can see it empty or half-built",
                    context.line(read.range)
                ),
            ),
            _ => (
                Harm::Uncertain,
                "another thread reading it in between (through the module or class, from code \
                 not shown here) sees it empty or half-built, and two threads running this at \
                 once fill the same object"
                    .to_string(),
            ),
        };
        let (severity, reached) = context.judge(harm, access.function);
        let value = access
            .value
            .map(|value| context.snippet(value))
            .unwrap_or_default();
        // `[0] * n`: a list of placeholders filled in by index.
        let published = if value.contains('*') {
            "a new list of placeholders"
        } else {
            "a new empty container"
        };
        diagnostics.push(
            Diagnostic::new(
                Rule::PublishBeforeFill,
                format!(
                    "`{} = {value}` publishes {published} in {state}, and {lines} \
                     afterwards{locking}: {consequence}{reached}",
                    context.snippet(access.range),
                ),
                access.range,
            )
            .with_severity(severity)
            .with_harm(harm)
            .with_label("published empty, filled afterwards")
            .with_help(
                "build the new container in a local variable, then publish it with one \
                 assignment (`table = {}`; fill `table`; `TABLE = table`)",
            )
            .with_functions(vec![access.function]),
        );
    }
}

/// The writes that fill the container `publish` stored, in the same function after it: items
/// set (`X[k] = v`, `X[k] += 1`) and filling calls (`append`, `update`, `add`, …), up to the
/// next time the function stores another object there.
fn fills_after<'m, 'a>(
    context: &Context<'m, 'a>,
    publish: &StateAccess<'a>,
) -> Vec<&'m StateAccess<'a>> {
    let mut fills = Vec::new();
    // `D = {}` then `return`: a reset; what fills the container runs in other calls.
    if publish.followed_by_exit {
        return fills;
    }
    for (_, later) in context.model.accesses_of(publish.key) {
        if later.function != publish.function || later.range.start() <= publish.range.end() {
            continue;
        }
        let fills_it = match (&later.target, later.kind) {
            (AccessTarget::Whole, AccessKind::Assign) => break,
            (AccessTarget::Item(_), AccessKind::Assign | AccessKind::AugAssign) => true,
            // `D[k].append(v)` on a defaultdict inserts `k` first.
            (AccessTarget::Item(_), AccessKind::MutatingCall(_)) => true,
            (AccessTarget::Whole, AccessKind::MutatingCall(method)) => matches!(
                method,
                "append"
                    | "extend"
                    | "insert"
                    | "update"
                    | "add"
                    | "setdefault"
                    | "appendleft"
                    | "extendleft"
                    | "__setitem__"
            ),
            _ => false,
        };
        if fills_it {
            fills.push(later);
        }
    }
    fills
}

/// The locks held from the publication through the last fill: held at each of them, in one
/// region (or by every caller of the function).
fn locks_across(
    context: &Context<'_, '_>,
    publish: &StateAccess<'_>,
    fills: &[&StateAccess<'_>],
) -> Vec<LockKey> {
    let model = context.model;
    let Some(last) = fills.last() else {
        return Vec::new();
    };
    let inherited = model.inherited_locks(publish.function);
    model
        .access_locks(publish)
        .into_iter()
        .filter(|lock| {
            fills
                .iter()
                .all(|fill| model.access_locks(fill).contains(lock))
                && (inherited.contains(lock)
                    || model.lock_regions.iter().any(|region| {
                        region.lock == *lock
                            && region.range.contains_range(publish.range)
                            && region.range.contains_range(last.range)
                    }))
        })
        .collect()
}
