//! Scoped overrides, second step: once every function is known, the events
//! [`overrides`](super::overrides) recorded are matched into [`ScopedOverride`]s (a save, the
//! sets after it, the restore of what it saved), within one function or across `__enter__` and
//! `__exit__`, and the process-wide uses they contain are marked as theirs.

use ruff_text_size::Ranged;

use super::Builder;
use super::overrides::{OverrideEvent, RecordedEvent};
use crate::semantic::overrides::{OverriddenState, OverrideShape, ScopedOverride};
use crate::semantic::{FunctionId, ProcessGlobalUse};

/// Saves, sets and restores matched in one sequence of events.
struct Matched {
    save: Option<usize>,
    sets: Vec<usize>,
    restore: usize,
    others: Vec<usize>,
}

/// Pairs each write with the save it restores, then each remaining write (a set) with the
/// latest save of the same state before it and the first restore of that save after it (or,
/// without a save, the first removal of the same part after it). One match per save and
/// restore; the sets between them all belong to it.
fn match_events(events: &[RecordedEvent<'_>]) -> Vec<Matched> {
    let count = events.len();
    let restored_save: Vec<Option<usize>> = (0..count)
        .map(|index| {
            let OverrideEvent::Write {
                state,
                value: Some(value),
                ..
            } = &events[index].event
            else {
                return None;
            };
            (0..index).rev().find(|&earlier| {
                matches!(&events[earlier].event, OverrideEvent::Save { slot, state: saved }
                    if slot == value && saved.covers(state))
            })
        })
        .collect();
    let is_restore = |index: usize| {
        restored_save[index].is_some()
            || matches!(
                events[index].event,
                OverrideEvent::Write {
                    restores_default: true,
                    ..
                }
            )
    };
    let mut used = vec![false; count];
    let mut matched: Vec<Matched> = Vec::new();
    for index in 0..count {
        let OverrideEvent::Write { state, .. } = &events[index].event else {
            continue;
        };
        if used[index] || is_restore(index) {
            continue;
        }
        let set = &events[index];
        let save = (0..index).rev().find(|&earlier| {
            matches!(&events[earlier].event, OverrideEvent::Save { state: saved, .. }
                if saved.covers(state))
        });
        let restore = match save {
            Some(save) => ((index + 1)..count)
                .find(|&later| restored_save[later] == Some(save) && set.ended_by(&events[later])),
            None => None,
        };
        let (save, restore) = match (save, restore) {
            (Some(save), Some(restore)) => (Some(save), restore),
            _ => {
                // Without a saved value: the temporary part removed again, or a stream reset
                // to the interpreter's own.
                let removal = ((index + 1)..count).find(|&later| {
                    set.ended_by(&events[later])
                        && match &events[later].event {
                            OverrideEvent::Remove { state: removed } => {
                                removed == state || removed.covers(state)
                            }
                            OverrideEvent::Write {
                                state: written,
                                restores_default: true,
                                ..
                            } => written == state,
                            _ => false,
                        }
                });
                match removal {
                    Some(removal) => (None, removal),
                    None => continue,
                }
            }
        };
        let scope = match save {
            Some(save) => events[save].event.state().clone(),
            None => state.clone(),
        };
        let mut sets = Vec::new();
        let mut others = Vec::new();
        for between in index..restore {
            if used[between] || !scope.covers(events[between].event.state()) {
                continue;
            }
            match &events[between].event {
                OverrideEvent::Write { .. } if !is_restore(between) => {
                    if !set.excludes(&events[between]) {
                        sets.push(between);
                        used[between] = true;
                    }
                }
                OverrideEvent::Save { .. } => {}
                _ => others.push(between),
            }
        }
        // The rest of the clean-up: `os.environ.clear()` before the restoring update, a `del`
        // for a key that had no value, further restores of the same save.
        for later in restore + 1..count {
            let belongs = match save {
                Some(save) => restored_save[later] == Some(save),
                None => false,
            } || matches!(
                &events[later].event,
                OverrideEvent::Remove { .. } | OverrideEvent::Clear { .. }
            ) && scope.covers(events[later].event.state());
            if belongs && !used[later] {
                others.push(later);
            }
        }
        used[restore] = true;
        matched.push(Matched {
            save,
            sets,
            restore,
            others,
        });
    }
    matched
}

impl<'a> Builder<'a> {
    /// Every scoped override of the module: the `with` statements that swap process-wide state,
    /// the saves, sets and restores of each function, and those that `__enter__` and `__exit__`
    /// share; in source order. Marks the process-wide uses they contain, which NG302 leaves
    /// to NG110.
    pub(super) fn resolve_overrides(&mut self) -> Vec<ScopedOverride<'a>> {
        let mut overrides: Vec<ScopedOverride<'a>> = std::mem::take(&mut self.with_overrides);
        let events_of = |function: FunctionId| {
            self.override_events
                .iter()
                .find(|(id, _)| *id == function)
                .map_or(&[][..], |(_, events)| events.as_slice())
        };
        for (function, events) in &self.override_events {
            for found in match_events(events) {
                overrides.push(self.scoped_override(events, &found, *function, None));
            }
        }
        for class in &self.classes {
            for (enter_name, exit_name) in [("__enter__", "__exit__"), ("__aenter__", "__aexit__")]
            {
                let method = |name: &str| {
                    class
                        .methods
                        .iter()
                        .copied()
                        .find(|&method| self.functions[method].name == name)
                };
                let (Some(enter), Some(exit)) = (method(enter_name), method(exit_name)) else {
                    continue;
                };
                let boundary = events_of(enter).len();
                let events: Vec<RecordedEvent<'a>> = events_of(enter)
                    .iter()
                    .chain(events_of(exit))
                    .cloned()
                    .collect();
                for found in match_events(&events) {
                    let crosses = found.sets.first().is_some_and(|&set| set < boundary)
                        && found.restore >= boundary;
                    if crosses {
                        overrides.push(self.scoped_override(&events, &found, enter, Some(exit)));
                    }
                }
            }
        }
        overrides.sort_by_key(|item| item.sets.first().map(|set| set.start()));
        mark_scoped_uses(&mut self.process_global_uses, &overrides);
        overrides
    }

    fn scoped_override(
        &self,
        events: &[RecordedEvent<'a>],
        found: &Matched,
        function: FunctionId,
        exit: Option<FunctionId>,
    ) -> ScopedOverride<'a> {
        let first_set = found.sets.first().copied().unwrap_or(found.restore);
        let state = match found.save {
            Some(save) => events[save].event.state().clone(),
            None => events[first_set].event.state().clone(),
        };
        let reason = match &state {
            OverriddenState::Process { name, .. } => Some(self.process_reason(name)),
            OverriddenState::Shared { .. } => None,
        };
        ScopedOverride {
            state,
            shape: match exit {
                Some(exit) => OverrideShape::EnterExit { exit },
                None => OverrideShape::InFunction,
            },
            function,
            save: found.save.map(|save| events[save].stmt),
            sets: found.sets.iter().map(|&set| events[set].stmt).collect(),
            restore: events[found.restore].stmt,
            others: found
                .others
                .iter()
                .map(|&other| events[other].stmt)
                .collect(),
            reason,
        }
    }

    /// Why a piece of process-wide state is the whole process's: the table's reason, or ours
    /// for what the table does not list.
    fn process_reason(&self, name: &str) -> String {
        let table = crate::data::process_global();
        if let Some(entry) = table
            .call
            .iter()
            .chain(&table.assignment)
            .find(|entry| entry.name == name)
        {
            return entry.reason.clone();
        }
        match name {
            "sys.path" => "is the module search path of the whole process: an import in another \
                           thread searches the temporary path"
                .to_string(),
            "sys.argv" => "is the command line of the whole process".to_string(),
            _ => "is one value for the whole process".to_string(),
        }
    }
}

/// Marks the process-wide calls and assignments that are part of a scoped override (its sets,
/// restore and clean-up, the `with` call, the warning filters changed inside `catch_warnings`).
fn mark_scoped_uses(uses: &mut [ProcessGlobalUse], overrides: &[ScopedOverride<'_>]) {
    for item in overrides {
        if !item.state.is_process_wide() {
            continue;
        }
        let catch_warnings = matches!(&item.state, OverriddenState::Process { name, .. }
            if name == "warnings.catch_warnings");
        for use_ in uses.iter_mut() {
            let in_statement = match item.shape {
                OverrideShape::With => {
                    item.sets.contains(&use_.range)
                        || (catch_warnings
                            && use_.name.starts_with("warnings.")
                            && item.restore.contains_range(use_.range))
                }
                _ => item
                    .sets
                    .iter()
                    .chain(std::iter::once(&item.restore))
                    .chain(&item.others)
                    .any(|stmt| stmt.contains_range(use_.range)),
            };
            if in_statement {
                use_.scoped = true;
            }
        }
    }
}
