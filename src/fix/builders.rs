//! Edits shared by the rules' fixes: finding or creating the lock that guards a piece of state,
//! wrapping statements in `with lock:`, double-checked locking, and imports.

use ruff_text_size::{TextRange, TextSize};

use crate::diagnostic::Edit;
use crate::semantic::{FunctionId, Guard, SemanticModel, StateKey, ValueKind};

use super::{Locator, Stylist};

/// Builds the edits of fixes for one module.
pub struct FixBuilder<'m, 'a> {
    pub model: &'m SemanticModel<'a>,
    pub locator: Locator<'a>,
    pub stylist: Stylist,
}

/// A lock to hold, and the edits that create it when it does not exist yet.
#[derive(Debug, Clone)]
pub struct LockPlan {
    pub text: String,
    pub edits: Vec<Edit>,
}

impl<'m, 'a> FixBuilder<'m, 'a> {
    pub fn new(model: &'m SemanticModel<'a>) -> Self {
        FixBuilder {
            model,
            locator: Locator::new(model.source),
            stylist: Stylist::from_source(model.source),
        }
    }

    fn insert_at_header(&self, content: String) -> Edit {
        let at = self.model.header_end;
        let source = self.model.source;
        // A file that ends right after its imports has no line break to insert after.
        let needs_break = usize::from(at) == source.len()
            && !source.is_empty()
            && !source.ends_with(['\n', '\r']);
        let content = if needs_break {
            format!("{}{content}", self.stylist.newline)
        } else {
            content
        };
        Edit {
            range: TextRange::empty(at),
            content,
        }
    }

    /// The local name under which a qualified name is imported (`th` for `threading` after
    /// `import threading as th`).
    fn imported_as(&self, qualified: &str) -> Option<&'a str> {
        let mut names: Vec<&'a str> = self
            .model
            .imports
            .iter()
            .filter(|(_, target)| target.as_str() == qualified)
            .map(|(local, _)| *local)
            .collect();
        names.sort_unstable();
        names.into_iter().next()
    }

    /// How to call `threading.Lock` here, and the import to add when the module has none.
    pub fn lock_factory(&self) -> (String, Option<Edit>) {
        if let Some(module) = self.imported_as("threading") {
            return (format!("{module}.Lock()"), None);
        }
        if let Some(lock) = self.imported_as("threading.Lock") {
            return (format!("{lock}()"), None);
        }
        let import = self.insert_at_header(format!("import threading{}", self.stylist.newline));
        ("threading.Lock()".to_string(), Some(import))
    }

    /// The name of the module lock for a piece of state: `_hits_lock`, `_stats_errors_lock`.
    fn lock_name(&self, key: StateKey<'a>) -> String {
        let base = match key {
            StateKey::Global(name) | StateKey::Nonlocal(_, name) => {
                name.trim_start_matches('_').to_string()
            }
            // `_Tracker` → `_tracker_calls_lock`, never `__tracker…`: a name with two leading
            // underscores used inside a class body is mangled and would not be found.
            StateKey::ClassAttr(class, attr) | StateKey::InstanceAttr(class, attr) => format!(
                "{}_{}",
                self.model
                    .class(class)
                    .name
                    .trim_start_matches('_')
                    .to_ascii_lowercase(),
                attr.trim_start_matches('_')
            ),
            StateKey::ObjectAttr(owner, attr) => format!(
                "{}_{}",
                owner.trim_start_matches('_'),
                attr.trim_start_matches('_')
            ),
        };
        format!("_{base}_lock")
    }

    /// A module-level lock for `key`: the existing one of that name, or a new one (with the
    /// import of `threading` when needed).
    pub fn module_lock(&self, key: StateKey<'a>) -> Option<LockPlan> {
        // Another module's state is written from wherever that module is used: a lock of this
        // module would not exclude them.
        if let StateKey::ObjectAttr(..) = key {
            return None;
        }
        let base = self.lock_name(key);
        let mut name = base.clone();
        for suffix in 2..100 {
            match self.model.bindings.get(name.as_str()) {
                Some(binding) if binding.kind == ValueKind::Lock => {
                    return Some(LockPlan {
                        text: name,
                        edits: Vec::new(),
                    });
                }
                Some(_) => name = format!("{}_{suffix}", base),
                None => break,
            }
        }
        let (factory, import) = self.lock_factory();
        let mut edits: Vec<Edit> = import.into_iter().collect();
        edits.push(self.insert_at_header(format!("{name} = {factory}{}", self.stylist.newline)));
        Some(LockPlan { text: name, edits })
    }

    /// A lock that already guards `key` somewhere in the module and can be named from
    /// `function`: a module lock, a class-level lock, or `self.<lock>` in a method of the class.
    pub fn existing_lock(&self, key: StateKey<'a>, function: FunctionId) -> Option<String> {
        let model = self.model;
        let here = model.function(function);
        for (_, access) in model.accesses_of(key) {
            for lock in model.access_locks(access) {
                // Only a name (`_lock`, `self._lock`, `Cls._lock`) means the same lock here: a
                // call (`self.locks.get(key)`) may name the other function's locals or make a
                // new lock each time.
                if !lock
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
                {
                    continue;
                }
                let module_lock = model
                    .bindings
                    .get(lock.as_str())
                    .is_some_and(|binding| binding.kind == ValueKind::Lock);
                if module_lock {
                    return Some(lock);
                }
                if let Some((owner, _)) = lock.split_once('.') {
                    let is_class_lock = model.class_index.contains_key(owner);
                    if is_class_lock {
                        return Some(lock);
                    }
                    let same_object = here.receiver == Some(owner)
                        && here.class.is_some()
                        && here.class == model.function(access.function).class;
                    if same_object {
                        return Some(lock);
                    }
                }
            }
        }
        None
    }

    /// The lock to wrap a write of `key` in: the one already guarding it, or a module lock.
    pub fn lock_for(&self, key: StateKey<'a>, function: FunctionId) -> Option<LockPlan> {
        match self.existing_lock(key, function) {
            Some(text) => Some(LockPlan {
                text,
                edits: Vec::new(),
            }),
            None => self.module_lock(key),
        }
    }

    /// Lines after the first of a statement, indented one more level. `None` when re-indenting
    /// could change a string (a multi-line string or a backslash continuation).
    fn indent_continuation_lines(&self, text: &str, extra: &str) -> Option<String> {
        if text.contains('\n') || text.contains('\r') {
            let risky = text.contains("\"\"\"")
                || text.contains("'''")
                || text.contains("\\\n")
                || text.contains("\\\r");
            if risky {
                return None;
            }
        }
        let mut out = String::with_capacity(text.len() + 16);
        for (index, line) in crate::lines::split_inclusive(text).enumerate() {
            if index > 0 && !line.trim().is_empty() {
                out.push_str(extra);
            }
            out.push_str(line);
        }
        Some(out)
    }

    /// `stmt` → `with lock:` + `stmt` one level deeper. The statement must be alone on its
    /// lines.
    pub fn wrap_in_lock(&self, range: TextRange, lock: &str) -> Option<Edit> {
        if !self.locator.is_own_lines(range) {
            return None;
        }
        let indent = self.locator.indentation(range.start());
        let unit = &self.stylist.indent;
        let body = self.indent_continuation_lines(self.locator.slice(range), unit)?;
        Some(Edit {
            range,
            content: format!("with {lock}:{}{indent}{unit}{body}", self.stylist.newline),
        })
    }

    /// `if <check>: <body>` → the same check repeated under the lock before the body runs
    /// (double-checked locking). Only for an `if` without `elif`/`else`.
    pub fn double_checked(&self, guard: &Guard, lock: &str) -> Option<Edit> {
        let source = self.model.source;
        if !self.locator.is_own_lines(guard.stmt) {
            return None;
        }
        let header = &source[TextRange::new(guard.stmt.start(), guard.check.start())];
        if header.trim_end() != "if" {
            return None;
        }
        let test = self.locator.slice(guard.check);
        if test.contains(['\n', '\r']) {
            return None;
        }
        // `:` and an optional comment end the header line; the body starts on the next line.
        let header_end = self.locator.full_line_end(guard.check.end());
        let after_test = source[TextRange::new(guard.check.end(), header_end)].trim();
        if !after_test.starts_with(':')
            || !after_test[1..].trim_start().is_empty()
                && !after_test[1..].trim_start().starts_with('#')
        {
            return None;
        }
        if header_end >= guard.stmt.end() {
            return None;
        }
        let if_indent = self.locator.indentation(guard.stmt.start());
        let body = &source[TextRange::new(header_end, guard.stmt.end())];
        // Every body line must be deeper than the `if` (no `elif`/`else` clause).
        let deeper = body.lines().all(|line| {
            line.trim().is_empty()
                || (line.len() - line.trim_start().len() > if_indent.len()
                    && line.starts_with(if_indent))
        });
        if !deeper {
            return None;
        }
        let unit = &self.stylist.indent;
        let nl = self.stylist.newline;
        let mut reindented = String::new();
        for line in crate::lines::split_inclusive(body) {
            if !line.trim().is_empty() {
                reindented.push_str(unit);
                reindented.push_str(unit);
            }
            reindented.push_str(line);
        }
        if body.contains("\"\"\"") || body.contains("'''") || body.contains("\\\n") {
            return None;
        }
        let header_line = &source[TextRange::new(guard.stmt.start(), header_end)];
        Some(Edit {
            range: guard.stmt,
            content: format!(
                "{header_line}{if_indent}{unit}with {lock}:{nl}{if_indent}{unit}{unit}if {test}:{nl}{}",
                reindented.trim_end_matches(['\n', '\r'])
            ),
        })
    }

    /// Removes whole lines (a statement alone on its lines).
    pub fn delete_lines(&self, range: TextRange) -> Option<Edit> {
        if !self.locator.is_own_lines(range) {
            return None;
        }
        let start = self.locator.line_start(range.start());
        let end = self.locator.full_line_end(range.end());
        Some(Edit {
            range: TextRange::new(start, end),
            content: String::new(),
        })
    }

    /// An edit inserting a line of code before the line that contains `offset`, at that line's
    /// indentation.
    pub fn insert_line_before(&self, offset: TextSize, code: &str) -> Edit {
        let start = self.locator.line_start(offset);
        let indent = self.locator.indentation(offset);
        Edit {
            range: TextRange::empty(start),
            content: format!("{indent}{code}{}", self.stylist.newline),
        }
    }

    /// The local name of `module.name` (`ThreadPoolExecutor`), and the import that binds it when
    /// the module has none. `None` when the name is already bound to something else.
    pub fn imported_name(
        &self,
        qualified: &str,
        module: &str,
        name: &str,
    ) -> Option<(String, Option<Edit>)> {
        if let Some(local) = self.imported_as(qualified) {
            return Some((local.to_string(), None));
        }
        if self.model.bindings.contains_key(name) {
            return None;
        }
        let import = self.insert_at_header(format!(
            "from {module} import {name}{}",
            self.stylist.newline
        ));
        Some((name.to_string(), Some(import)))
    }

    /// How to call `dataclasses.field` here, and the import to add when the module has none.
    pub fn field_function(&self) -> Option<(String, Option<Edit>)> {
        if let Some(field) = self.imported_as("dataclasses.field") {
            return Some((field.to_string(), None));
        }
        if let Some(module) = self.imported_as("dataclasses") {
            return Some((format!("{module}.field"), None));
        }
        if self.model.bindings.contains_key("field") {
            return None;
        }
        let import = self.insert_at_header(format!(
            "from dataclasses import field{}",
            self.stylist.newline
        ));
        Some(("field".to_string(), Some(import)))
    }
}
