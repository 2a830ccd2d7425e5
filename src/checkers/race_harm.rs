//! What a check-then-act race does when two threads both pass the check: store equal values
//! (benign), store two different objects where one was meant or lose what one of them filled
//! in (a hazard), or something in between. Shared by NG103 and NG104.

use crate::diagnostic::Harm;
use crate::semantic::{
    AccessKind, AccessTarget, BranchWork, Guard, SemanticModel, StateAccess, ValueIdentity,
};

/// The harm of two threads both running the act, and the clause that says what happens.
pub fn check_then_act_harm(
    model: &SemanticModel<'_>,
    access: &StateAccess<'_>,
    guard: &Guard,
) -> (Harm, String) {
    // `if k in D: raise AlreadyRegistered` then `D[k] = v`: the keys are what callers
    // register (usually objects they own), and only two threads registering the same key at
    // once get past the check together.
    if guard.rejects {
        return (
            Harm::Benign,
            "that takes two threads registering the same key at once: the check meant to refuse \
             the second registration lets both through, and the later store wins instead of \
             raising"
                .to_string(),
        );
    }
    // A cache keyed by what is looked up whose branch also does work (an import, a compile,
    // reading a file): run twice for one key, it computes twice, unless some other code
    // removes keys, when the entry the check saw can be gone by the time it is used.
    if access.target != AccessTarget::Whole
        && guard.work == BranchWork::Effects
        && !matches!(access.value_identity, ValueIdentity::Unique(_))
        && !removes_keys_elsewhere(model, access)
    {
        return (
            Harm::Benign,
            "both may compute the value for the key and run the rest of the branch twice; \
             harmless when both depend only on the key, as a cache's do"
                .to_string(),
        );
    }
    match access.value_identity {
        ValueIdentity::Unique("a new container") => {
            // An empty container that callers then fill: each thread fills its own, and the
            // one stored first is dropped with what was put in it.
            // `D[k] = []` publishes it empty, to be filled through `D[k]`; `D[k] = rules` after
            // filling the local `rules` publishes it complete, and the two threads' containers
            // are equal.
            let filled_in_place = match access.target {
                AccessTarget::Whole => model.accesses_of(access.key).any(|(_, other)| {
                    other.target != AccessTarget::Whole
                        || matches!(other.kind, AccessKind::MutatingCall(_))
                }),
                _ => access.value.is_none() || access.value_is_empty_container,
            };
            if filled_in_place {
                (
                    Harm::Hazard,
                    "each can create its own container and the one stored first is replaced, \
                     losing what was put into it"
                        .to_string(),
                )
            } else {
                benign_or_setup(guard)
            }
        }
        ValueIdentity::Unique(what) => (
            Harm::Hazard,
            format!(
                "each can create {what} and the one stored last replaces the other, so callers \
                 end up holding different objects"
            ),
        ),
        ValueIdentity::Equal => benign_or_setup(guard),
        // A cache keyed by what is looked up (`D[k] = compute(k)`): a result of the key, the
        // same for both threads unless something shows it is not (a unique value above).
        ValueIdentity::Unknown
            if guard.work != BranchWork::Effects && access.target != AccessTarget::Whole =>
        {
            (
                Harm::Benign,
                "both may compute the value for the key and store it; harmless when it depends \
                 only on the key, as a cache's does"
                    .to_string(),
            )
        }
        ValueIdentity::Unknown if guard.work != BranchWork::Effects => (
            Harm::Uncertain,
            "each can compute the value and the second store replaces the first, which matters \
             unless the two values are interchangeable"
                .to_string(),
        ),
        ValueIdentity::Unknown => (
            Harm::Uncertain,
            "the work in the branch runs twice and the second store replaces the first".to_string(),
        ),
    }
}

/// Whether another function removes keys of the state (`del D[k]`, `D.pop(k)`, `D.clear()`).
fn removes_keys_elsewhere(model: &SemanticModel<'_>, access: &StateAccess<'_>) -> bool {
    model
        .accesses_of(access.key)
        .any(|(_, other)| other.function != access.function && other.removes())
}

/// Equal values: harmless when the branch only stores them (or also logs or warns), uncertain
/// when it also does work that would run twice.
fn benign_or_setup(guard: &Guard) -> (Harm, String) {
    match guard.work {
        BranchWork::Stores => (
            Harm::Benign,
            "both may compute the value and store equal results; the only cost is the duplicate \
             work"
                .to_string(),
        ),
        // `if not _WARNED: _WARNED = True; warnings.warn(…)`: a warn-once flag.
        BranchWork::StoresAndReports => (
            Harm::Benign,
            "both store the same value and the message the branch logs or warns appears twice; \
             nothing else runs twice"
                .to_string(),
        ),
        BranchWork::Effects => (
            Harm::Uncertain,
            "the other work in the branch runs twice, though the stored values are equal"
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::semantic::SemanticModel;

    /// Whether the model sees `D[k] = <value>` as storing a new empty container.
    fn stores_empty(value: &str) -> bool {
        let source = format!(
            "import collections\nfrom collections import OrderedDict\nD = {{}}\n\n\ndef f(k, rules, items, make):\n    D[k] = {value}\n"
        );
        let parsed = ruff_python_parser::parse_unchecked_source(
            &source,
            ruff_python_ast::PySourceType::Python,
        );
        let model = SemanticModel::build(parsed.syntax(), &source);
        model
            .accesses
            .iter()
            .any(|access| access.value_is_empty_container)
    }

    #[test]
    fn empty_containers_are_published_empty() {
        for value in [
            "[]",
            "{}",
            "set()",
            "collections.defaultdict(list)",
            "OrderedDict()",
            "[0] * 8",
        ] {
            assert!(stores_empty(value), "{value}");
        }
        for value in ["rules", "[1, 2]", "set(items)", "dict(a=1)", "make()"] {
            assert!(!stores_empty(value), "{value}");
        }
    }
}
