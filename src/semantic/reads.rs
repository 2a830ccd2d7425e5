//! Reads of shared state: where functions read module- and class-level state (the index
//! [`SemanticModel::reads_of`] answers from), and whether a function reads, besides updating
//! it, the state one of its writes updates: what tells a counter something decides on (an id
//! handed out, a reference count tested, a quota checked) from a tally that is only reported.

use ruff_text_size::TextRange;

use super::{FunctionId, LockKey, SemanticModel, StateAccess, StateKey};

/// A function's read of module- or class-level state: a global name (`TABLE`, also as the
/// object of `TABLE[k] = v`), or a class attribute however it is reached (`cls.X`, `Class.X`,
/// `self.X` when no instance attribute shadows it, all keyed by the class that defines it).
/// Only state that may hold a container is indexed (not functions, classes, imports, locks
/// or constants).
#[derive(Debug, Clone)]
pub struct StateRead {
    pub function: FunctionId,
    pub range: TextRange,
    /// Locks held at the read inside its own function.
    pub locks: Vec<LockKey>,
}

impl<'a> SemanticModel<'a> {
    /// Every read of `key` in a function, in source order (`key` as the index keys it: a
    /// global, or a class attribute of the class that defines it).
    pub fn reads_of(&self, key: StateKey<'a>) -> &[StateRead] {
        self.reads_by_key.get(&key).map_or(&[], Vec::as_slice)
    }

    /// The module- or class-level state `key` reaches, keyed as [`SemanticModel::reads_of`]
    /// keys it: a global as it is; a class attribute (through `cls.`, the class name, or
    /// `self.` when no instance attribute shadows it) by the class whose body defines it.
    /// `None` for per-instance state and a closure's variables.
    pub fn shared_key(&self, key: StateKey<'a>) -> Option<StateKey<'a>> {
        match key {
            StateKey::Global(_) => Some(key),
            StateKey::Nonlocal(..) => None,
            StateKey::ClassAttr(class, attr) => self
                .class_attribute(class, attr)
                .map(|(defining, _)| StateKey::ClassAttr(defining, attr)),
            StateKey::InstanceAttr(class, attr) => {
                if self.class(class).instance_attributes.contains_key(attr) {
                    return None;
                }
                self.class_attribute(class, attr)
                    .map(|(defining, _)| StateKey::ClassAttr(defining, attr))
            }
        }
    }

    /// "the module-level dict `D`", "the class-level list `Registry.items`", for messages
    /// about a [`SemanticModel::shared_key`].
    pub fn describe_shared(&self, key: StateKey<'a>, what: &str) -> String {
        match key {
            StateKey::Global(name) => format!("the module-level {what} `{name}`"),
            StateKey::ClassAttr(class, attr) | StateKey::InstanceAttr(class, attr) => {
                format!("the class-level {what} `{}.{attr}`", self.class(class).name)
            }
            StateKey::Nonlocal(_, name) => format!("the {what} `{name}`"),
        }
    }
}

impl SemanticModel<'_> {
    /// Whether `access.function` mentions the state `access` writes anywhere outside the
    /// write's own statement (`n += 1; return n`, `if refs == 0`, `ids[k] = counter`).
    pub fn reads_outside_write(&self, access: &StateAccess<'_>) -> bool {
        let function = self.function(access.function);
        // The state as code names it: the written target (`counter`, `self.n`, `hits[path]`);
        // other items of the same container are other counts.
        let needle = self.text(access.range);
        let needle = needle.trim();
        if needle.is_empty() {
            return false;
        }
        let body = function
            .body
            .first()
            .zip(function.body.last())
            .map(|(first, last)| TextRange::new(first.start(), last.end()));
        let Some(body) = body else { return false };
        let before = TextRange::new(body.start(), access.stmt.start().max(body.start()));
        let after = TextRange::new(access.stmt.end().min(body.end()), body.end());
        [before, after]
            .into_iter()
            .filter(|range| range.start() < range.end())
            .any(|range| mentions(self.text(range), needle))
    }
}

/// Whether `needle` occurs in `text` as a whole name (not inside a longer identifier), outside
/// `global`/`nonlocal` declarations, which name the state without reading it.
fn mentions(text: &str, needle: &str) -> bool {
    text.lines()
        .filter(|line| {
            let line = line.trim_start();
            !line.starts_with("global ") && !line.starts_with("nonlocal ")
        })
        .any(|line| mentions_in_line(line, needle))
}

fn mentions_in_line(text: &str, needle: &str) -> bool {
    let is_name_char = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(found) = text[from..].find(needle) {
        let start = from + found;
        let end = start + needle.len();
        let before_ok = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !is_name_char(c) && c != '.');
        let after_ok = text[end..].chars().next().is_none_or(|c| !is_name_char(c));
        if before_ok && after_ok {
            return true;
        }
        from = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn whole_names_only() {
        assert!(mentions("return counter", "counter"));
        assert!(mentions("x = self.n + 1", "self.n"));
        assert!(!mentions("return counters", "counter"));
        assert!(!mentions("return self.nodes", "self.n"));
        assert!(!mentions("other.counter", "counter"));
        assert!(!mentions("global counter\n    nonlocal counter", "counter"));
    }
}
