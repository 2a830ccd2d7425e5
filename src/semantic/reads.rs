//! Whether a function reads, besides updating it, the state one of its writes updates: what
//! tells a counter something decides on (an id handed out, a reference count tested, a quota
//! checked) from a tally that is only reported.

use ruff_text_size::TextRange;

use super::{FunctionId, SemanticModel, StateAccess};

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

impl SemanticModel<'_> {
    /// Whether a function other than `excluded` (and the functions nested in them) mentions
    /// `needle` (`_options`, `config.debug`), or with `attribute` the attribute `.needle` of any
    /// object (`self.debug`, `cls.debug`, `Config.debug`): state other code reads.
    pub fn mentioned_elsewhere(
        &self,
        needle: &str,
        attribute: bool,
        excluded: &[FunctionId],
    ) -> bool {
        let mut excluded: Vec<TextRange> = excluded
            .iter()
            .map(|&function| self.function(function).range)
            .collect();
        excluded.sort_by_key(|range| range.start());
        let found = |text: &str| {
            if attribute {
                mentions_attribute(text, needle)
            } else {
                mentions(text, needle)
            }
        };
        // Outermost functions and methods cover the nested ones; the excluded functions' own
        // text is cut out of them.
        self.functions
            .iter()
            .filter(|function| function.parent.is_none())
            .any(|function| {
                let mut start = function.range.start();
                let mut pieces = Vec::new();
                for range in &excluded {
                    if function.range.contains_range(*range) {
                        pieces.push(TextRange::new(start, range.start().max(start)));
                        start = range.end();
                    }
                }
                pieces.push(TextRange::new(start, function.range.end().max(start)));
                pieces
                    .into_iter()
                    .filter(|piece| piece.start() < piece.end())
                    .any(|piece| found(self.text(piece)))
            })
    }
}

/// Whether `.attr` occurs in `text` as a whole attribute name.
fn mentions_attribute(text: &str, attr: &str) -> bool {
    let needle = format!(".{attr}");
    let is_name_char = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(found) = text[from..].find(&needle) {
        let end = from + found + needle.len();
        if text[end..].chars().next().is_none_or(|c| !is_name_char(c)) {
            return true;
        }
        from = end;
    }
    false
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

    #[test]
    fn attributes_of_any_object() {
        use super::mentions_attribute;
        assert!(mentions_attribute("if self.debug:", "debug"));
        assert!(mentions_attribute("return Config.debug", "debug"));
        assert!(!mentions_attribute("return self.debugger", "debug"));
        assert!(!mentions_attribute("debug = 1", "debug"));
    }
}
