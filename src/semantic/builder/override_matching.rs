//! Scoped overrides, second step: once every function is known, the events
//! [`overrides`](super::overrides) recorded are matched into [`ScopedOverride`]s (a save, the
//! sets after it, the restore of what it saved), within one function or across `__enter__` and
//! `__exit__`, and the process-wide uses they contain are marked as theirs.

use ruff_text_size::{Ranged, TextRange, TextSize};
use rustc_hash::FxHashMap as HashMap;

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

/// How far back a set looks for its save, and forward for a removal, in events of the same
/// kind: overrides are short, and a generated function with thousands of writes must stay
/// linear.
const SEARCH_WINDOW: usize = 64;
/// How many events after the restore may still belong to the override's clean-up.
const CLEAN_UP_WINDOW: usize = 16;

/// Pairs each write with the save it restores, then each remaining write (a set) with the
/// latest save of the same state before it and the first restore of that save after it (or,
/// without a save, the first removal of the same part after it). One match per save and
/// restore; the sets between them all belong to it.
fn match_events(events: &[RecordedEvent<'_>]) -> Vec<Matched> {
    let count = events.len();
    let mut saves: Vec<usize> = Vec::new();
    let mut saves_by_slot: HashMap<&str, Vec<usize>> = HashMap::default();
    let mut restored_save: Vec<Option<usize>> = vec![None; count];
    let mut restores_of: HashMap<usize, Vec<usize>> = HashMap::default();
    // Removals and resets to the interpreter's own stream: ends without a saved value.
    let mut endings: Vec<usize> = Vec::new();
    for (index, recorded) in events.iter().enumerate() {
        match &recorded.event {
            OverrideEvent::Save { slot, .. } => {
                saves.push(index);
                saves_by_slot.entry(slot.as_str()).or_default().push(index);
            }
            OverrideEvent::Write {
                state,
                value,
                restores_default,
            } => {
                let save = value
                    .as_deref()
                    .and_then(|value| saves_by_slot.get(value))
                    .and_then(|candidates| {
                        candidates.iter().rev().take(SEARCH_WINDOW).copied().find(|&save| {
                            matches!(&events[save].event, OverrideEvent::Save { state: saved, .. }
                                if saved.covers(state))
                        })
                    });
                if let Some(save) = save {
                    restored_save[index] = Some(save);
                    restores_of.entry(save).or_default().push(index);
                } else if *restores_default {
                    endings.push(index);
                }
            }
            OverrideEvent::Remove { .. } => endings.push(index),
            OverrideEvent::Clear { .. } => {}
        }
    }
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
        let before = saves.partition_point(|&save| save < index);
        let save = saves[..before]
            .iter()
            .rev()
            .take(SEARCH_WINDOW)
            .copied()
            .find(|&save| events[save].event.state().covers(state));
        let restore = save.and_then(|save| {
            restores_of
                .get(&save)?
                .iter()
                .copied()
                .find(|&later| later > index && !used[later] && set.ended_by(&events[later]))
        });
        let (save, restore) = match (save, restore) {
            (Some(save), Some(restore)) => (Some(save), restore),
            _ => {
                // Without a saved value: the temporary part removed again, or a stream reset
                // to the interpreter's own.
                let after = endings.partition_point(|&ending| ending <= index);
                let removal = endings[after..]
                    .iter()
                    .take(SEARCH_WINDOW)
                    .copied()
                    .find(|&later| {
                        !used[later]
                            && set.ended_by(&events[later])
                            && match &events[later].event {
                                OverrideEvent::Remove { state: removed } => removed.covers(state),
                                OverrideEvent::Write { state: written, .. } => written == state,
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
        for later in (restore + 1..count).take(CLEAN_UP_WINDOW) {
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
                // A context manager may save the old value when it is made (`self._prev =
                // type(self).x` in `__init__`) and set it on entry: the constructor's saves
                // come first, its writes are the object's own set-up.
                let constructor_saves: Vec<RecordedEvent<'a>> = method("__init__")
                    .map(events_of)
                    .unwrap_or_default()
                    .iter()
                    .filter(|recorded| matches!(recorded.event, OverrideEvent::Save { .. }))
                    .cloned()
                    .collect();
                let entry = constructor_saves.len();
                let boundary = entry + events_of(enter).len();
                let events: Vec<RecordedEvent<'a>> = constructor_saves
                    .into_iter()
                    .chain(events_of(enter).iter().cloned())
                    .chain(events_of(exit).iter().cloned())
                    .collect();
                for found in match_events(&events) {
                    let crosses = found
                        .sets
                        .first()
                        .is_some_and(|&set| (entry..boundary).contains(&set))
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
    if uses.is_empty() {
        return;
    }
    // The uses by start, so that each statement finds the uses inside it by binary search.
    let mut by_start: Vec<(TextSize, usize)> = uses
        .iter()
        .enumerate()
        .map(|(index, use_)| (use_.range.start(), index))
        .collect();
    by_start.sort_unstable();
    let inside = |range: TextRange| {
        let first = by_start.partition_point(|(start, _)| *start < range.start());
        by_start[first..]
            .iter()
            .take_while(move |(start, _)| *start < range.end())
            .map(|&(_, index)| index)
    };
    let mut scoped: Vec<usize> = Vec::new();
    for item in overrides {
        let OverriddenState::Process { name, .. } = &item.state else {
            continue;
        };
        match item.shape {
            OverrideShape::With => {
                let call = item.sets[0];
                scoped.extend(inside(call).filter(|&index| uses[index].range == call));
                // The filters changed inside `catch_warnings` are its own.
                if name == "warnings.catch_warnings" {
                    scoped.extend(
                        inside(item.restore)
                            .filter(|&index| uses[index].name.starts_with("warnings.")),
                    );
                }
            }
            _ => {
                for statement in item
                    .sets
                    .iter()
                    .chain(std::iter::once(&item.restore))
                    .chain(&item.others)
                {
                    scoped.extend(
                        inside(*statement)
                            .filter(|&index| statement.contains_range(uses[index].range)),
                    );
                }
            }
        }
    }
    for index in scoped {
        uses[index].scoped = true;
    }
}
