//! Reads of shared state: where functions read module- and class-level state (the index
//! [`SemanticModel::reads_of`] answers from), and whether a function reads, besides updating
//! it, the state one of its writes updates: what tells a counter something decides on (an id
//! handed out, a reference count tested, a quota checked) from a tally that is only reported.

use ruff_text_size::{TextRange, TextSize};
use rustc_hash::FxHashMap;

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
            StateKey::Nonlocal(..) | StateKey::ObjectAttr(..) => None,
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
            StateKey::ObjectAttr(object, attr) => format!("the {what} `{object}.{attr}`"),
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

/// Every identifier of a module's source and where it occurs (its offset, and whether a `.`
/// comes right before it), built in one scan for rules that ask where many names are
/// mentioned. Strings and comments count too: the question is whether other code may read it.
pub struct NameIndex<'s> {
    names: FxHashMap<&'s str, Vec<(TextSize, bool)>>,
    /// The ranges of the outermost functions and methods, sorted.
    outermost: Vec<TextRange>,
}

impl<'a> SemanticModel<'a> {
    pub fn name_index(&self) -> NameIndex<'a> {
        let source: &'a str = self.source;
        let is_name_char = |c: char| c.is_alphanumeric() || c == '_';
        let mut names: FxHashMap<&'a str, Vec<(TextSize, bool)>> = FxHashMap::default();
        let mut start: Option<usize> = None;
        let mut previous: Option<char> = None;
        let mut before_name: Option<char> = None;
        for (at, c) in source
            .char_indices()
            .chain(std::iter::once((source.len(), ' ')))
        {
            match start {
                Some(first) if !is_name_char(c) => {
                    if let Ok(offset) = TextSize::try_from(first) {
                        names
                            .entry(&source[first..at])
                            .or_default()
                            .push((offset, before_name == Some('.')));
                    }
                    start = None;
                }
                None if is_name_char(c) && !c.is_ascii_digit() => {
                    start = Some(at);
                    before_name = previous;
                }
                _ => {}
            }
            previous = Some(c);
        }
        let mut outermost: Vec<TextRange> = self
            .functions
            .iter()
            .filter(|function| function.parent.is_none())
            .map(|function| function.range)
            .collect();
        outermost.sort_by_key(|range| range.start());
        NameIndex { names, outermost }
    }

    /// Where code inside functions mentions `needle`: a name (`_options`), a name's attribute
    /// (`config.debug`), or with `attribute` the attribute `.needle` of any object
    /// (`self.debug`, `cls.debug`, `Config.debug`). `global`/`nonlocal` declarations do not
    /// count.
    pub fn mentions_in_functions(
        &self,
        index: &NameIndex<'_>,
        needle: &str,
        attribute: bool,
    ) -> Vec<TextSize> {
        let outermost = &index.outermost;
        let source = self.source;
        let (name, rest) = match needle.split_once('.') {
            Some((name, attr)) if !attribute => (name, Some(attr)),
            _ => (needle, None),
        };
        let Some(occurrences) = index.names.get(name) else {
            return Vec::new();
        };
        let is_name_char = |c: char| c.is_alphanumeric() || c == '_';
        occurrences
            .iter()
            .filter(|&&(_, after_dot)| after_dot == attribute)
            .filter(|&&(offset, _)| {
                // `config.debug`: the name, then exactly that attribute.
                let Some(attr) = rest else { return true };
                let end = usize::from(offset) + name.len();
                source[end..]
                    .strip_prefix('.')
                    .and_then(|after| after.strip_prefix(attr))
                    .is_some_and(|after| after.chars().next().is_none_or(|c| !is_name_char(c)))
            })
            .filter(|&&(offset, _)| {
                let start = usize::from(offset);
                let line_start = source[..start].rfind('\n').map_or(0, |at| at + 1);
                let line = source[line_start..start].trim_start();
                !line.starts_with("global ") && !line.starts_with("nonlocal ")
            })
            .filter(|&&(offset, _)| {
                let inside = outermost.partition_point(|range| range.start() <= offset);
                inside > 0 && outermost[inside - 1].contains(offset)
            })
            .map(|&(offset, _)| offset)
            .collect()
    }

    /// Whether one of `mentions` lies outside the `excluded` functions (and the functions
    /// nested in them): other code reads the state.
    pub fn mentioned_outside(&self, mentions: &[TextSize], excluded: &[FunctionId]) -> bool {
        mentions.iter().any(|&offset| {
            !excluded
                .iter()
                .any(|&function| self.function(function).range.contains(offset))
        })
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
        if before_ok && after_ok && !is_store_target(&text[end..]) {
            return true;
        }
        from = end;
    }
    false
}

/// Whether what follows a mention makes it the target of a store (`x += n`, `x = 0`, not
/// `x == 0`): another update of a tally, or its reset, does not read the value.
fn is_store_target(rest: &str) -> bool {
    let rest = rest.trim_start();
    let operator_end = rest
        .find(|c: char| !matches!(c, '+' | '-' | '*' | '/' | '%' | '|' | '&' | '^' | '<' | '>'))
        .unwrap_or(rest.len());
    let (operator, rest) = rest.split_at(operator_end);
    // `<=`, `>=` compare; `<<=`, `>>=` store.
    if operator == "<" || operator == ">" {
        return false;
    }
    rest.starts_with('=') && !rest.starts_with("==")
}

#[cfg(test)]
mod tests {
    use super::{is_store_target, mentions};

    #[test]
    fn stores_are_not_reads() {
        assert!(is_store_target(" += 1"));
        assert!(is_store_target(" = 0"));
        assert!(is_store_target(" <<= 2"));
        assert!(!is_store_target(" == 0"));
        assert!(!is_store_target(" <= 3"));
        assert!(!is_store_target(" >= 3"));
        assert!(!is_store_target(")"));
        assert!(mentions("return self.n + 1", "self.n"));
        assert!(!mentions("self.n += len(rest)", "self.n"));
        assert!(mentions("if self.n >= limit:", "self.n"));
    }

    #[test]
    fn names_attributes_and_their_places() {
        let source = "X = 1\n\ndef f(config):\n    global X\n    return X, config.debug, self.debugger, \"X\"\n";
        let parsed = ruff_python_parser::parse_module(source).unwrap();
        let model = crate::semantic::SemanticModel::build(parsed.syntax(), source);
        let index = model.name_index();
        // Inside the function, not on the `global` line, not at module level.
        let at = |needle: &str| source.find(needle).unwrap();
        let names: Vec<usize> = model
            .mentions_in_functions(&index, "X", false)
            .into_iter()
            .map(usize::from)
            .collect();
        assert_eq!(names, [at("X, config"), at("X\"")]);
        assert_eq!(
            model
                .mentions_in_functions(&index, "config.debug", false)
                .len(),
            1
        );
        assert_eq!(model.mentions_in_functions(&index, "debug", true).len(), 1);
        assert!(
            model
                .mentions_in_functions(&index, "debugger", false)
                .is_empty()
        );
    }

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
