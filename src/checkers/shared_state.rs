//! How shared mutable state is used, for the inventory rules (NG105, NG106): compound use
//! that races (a read-modify-write, a check-then-act, a list used as a stack of "current"
//! entries when NG111 does not report it, a loop over it while other code mutates it, an
//! in-place sort), mutations from a thread that are each one atomic operation, or neither (the
//! inventory of shared state).

use crate::diagnostic::Harm;
use crate::semantic::{
    AccessKind, CheckActLocking, ContainerKind, Execution, FunctionId, StateAccess, StateIteration,
};

use super::Context;
use super::race_harm::check_then_act_harm;

/// The most telling use of one piece of shared state.
pub struct StateUse {
    pub harm: Harm,
    /// What the use is, for the message: "`D[k] += 1` at line 12 is a read-modify-write".
    pub what: String,
    /// The functions whose execution decides the severity.
    pub functions: Vec<FunctionId>,
}

/// Judges the runtime mutations and loops of one piece of state (those that may race).
pub fn judge_use(
    context: &Context<'_, '_>,
    container: Option<ContainerKind>,
    mutations: &[&StateAccess<'_>],
    iterations: &[&StateIteration<'_>],
) -> StateUse {
    let model = context.model;
    let line = |range| context.line(range);
    // A read-modify-write or a check-then-act on the state itself.
    for access in mutations {
        if access.read_modify_write
            && model.access_locks(access).is_empty()
            && let (harm, _) = super::lost_update(model, access)
        {
            return StateUse {
                harm,
                what: format!(
                    "`{}` at line {} is a read-modify-write, so concurrent updates are lost",
                    context.snippet(access.stmt),
                    line(access.range)
                ),
                functions: vec![access.function],
            };
        }
        if let Some(guard) = &access.guard
            && model.check_and_act_locking(access) != CheckActLocking::Atomic
            && !access.rechecked_under_lock
        {
            // As harmful as the check-then-act itself: storing equal values twice is not.
            let (harm, consequence) = check_then_act_harm(model, access, guard);
            if harm != Harm::Benign {
                return StateUse {
                    harm,
                    what: format!(
                        "line {} writes it after a check at line {} with no lock held across \
                         both, so two threads can both act on the same check: {consequence}",
                        line(access.range),
                        line(guard.check)
                    ),
                    functions: vec![access.function],
                };
            }
        }
        // A method that is not one atomic step (`rules/atomic_operations.toml`).
        if let AccessKind::MutatingCall(method) = access.kind
            && let Some(container) = container
            && let Some(entry) = crate::data::atomic_operations().find(container.describe(), method)
            && !entry.atomic
            && model.access_locks(access).is_empty()
        {
            return StateUse {
                harm: Harm::Hazard,
                what: format!(
                    "`{}` at line {} is not one atomic operation: {}",
                    context.snippet(access.stmt),
                    line(access.range),
                    entry.note
                ),
                functions: vec![access.function],
            };
        }
    }
    // A stack of "current" entries (`append` on entry, `pop()` on exit): NG111 reports it at
    // the push when it is selected, and then it is not compound use to report again here.
    if let Some(first) = mutations.first()
        && let Some(stack) = model.stack_of(first.key)
        && !context.reported_stacks.contains(&stack.state)
        && let Some(race) = super::ng111_shared_stack::racing(context, stack)
    {
        return StateUse {
            harm: Harm::Hazard,
            what: format!(
                "it is used as a stack (`{}` at line {}, `{}` at line {}), so a thread can pop the \
                 entry another thread pushed",
                super::ng111_shared_stack::operation_name(model, race.push),
                line(race.push.range),
                super::ng111_shared_stack::operation_name(model, race.pop),
                line(race.pop.range)
            ),
            functions: race.functions,
        };
    }
    // A loop over it while another function mutates it, unless NG109 reported that loop.
    for iteration in iterations {
        if context.reported_iterations.contains(&iteration.range)
            || model.in_fork_child(iteration.range)
            || !super::ng109_iteration_during_mutation::walks_live_data(
                iteration.container,
                context.target,
            )
        {
            continue;
        }
        let unguarded = mutations.iter().find(|access| {
            super::ng109_iteration_during_mutation::shifts_under_loop(iteration.container, access)
                && !model
                    .access_locks(access)
                    .iter()
                    .any(|lock| iteration.locks.contains(lock))
        });
        if let Some(mutation) = unguarded {
            // A dict, set or deque detects the change and raises; a list carries on over it.
            let outcome = match container {
                Some(ContainerKind::List | ContainerKind::ByteArray) => "skips or repeats items",
                _ => "raises `RuntimeError`",
            };
            return StateUse {
                harm: Harm::Hazard,
                what: format!(
                    "line {} loops over it while line {} can mutate it from another thread, which \
                     {outcome}",
                    line(iteration.range),
                    line(mutation.range)
                ),
                functions: vec![iteration.function, mutation.function],
            };
        }
    }
    let threaded: Vec<FunctionId> = mutations
        .iter()
        .filter(|access| matches!(model.execution(access.function), Execution::Thread(_)))
        .map(|access| access.function)
        .collect();
    if !threaded.is_empty() {
        return StateUse {
            harm: Harm::Uncertain,
            what: "a thread mutates it; each of these mutations is one atomic operation, but any \
                   compound use elsewhere (a check, then an act; a loop over it) races with it"
                .to_string(),
            functions: threaded,
        };
    }
    StateUse {
        harm: Harm::Benign,
        what: "each mutation is one atomic operation on free-threaded Python".to_string(),
        functions: mutations.iter().map(|access| access.function).collect(),
    }
}
