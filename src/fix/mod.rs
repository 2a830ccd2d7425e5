//! The fix engine: applying suggested fixes in passes, verified by re-parsing.
//!
//! A pass applies every selected fix whose edits do not overlap an edit already taken (edits
//! that are identical, such as the same `import threading` or the same new module lock, are
//! shared). The result must parse; a pass that would introduce a syntax error is retried fix by
//! fix and the offending fixes are refused. Passes repeat until nothing changes, at most
//! [`MAX_PASSES`] times.

pub mod builders;

use std::path::Path;

use ruff_text_size::{TextRange, TextSize};

use crate::diagnostic::{Diagnostic, Edit, Fix, FixApplicability};
use crate::registry::Rule;

/// Fixes are applied in at most this many passes.
pub const MAX_PASSES: usize = 10;

/// How the file writes new lines and indents blocks, so inserted code looks like its neighbours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stylist {
    pub newline: &'static str,
    pub indent: String,
}

impl Stylist {
    pub fn from_source(source: &str) -> Self {
        let newline = match source.find(['\n', '\r']) {
            Some(at) if source[at..].starts_with("\r\n") => "\r\n",
            Some(at) if source[at..].starts_with('\r') => "\r",
            _ => "\n",
        };
        // The indentation of the first line that is more indented than the line opening its
        // block: a tab, or the smallest run of spaces seen.
        let mut indent: Option<String> = None;
        let mut previous_opens_block = false;
        for line in source.lines() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let leading = &line[..line.len() - trimmed.len()];
            if previous_opens_block && !leading.is_empty() {
                if leading.starts_with('\t') {
                    indent = Some("\t".to_string());
                    break;
                }
                let spaces = leading.chars().take_while(|c| *c == ' ').count();
                if spaces > 0 && indent.as_ref().is_none_or(|current| spaces < current.len()) {
                    indent = Some(" ".repeat(spaces));
                }
                if spaces <= 4 {
                    break;
                }
            }
            previous_opens_block = trimmed.trim_end().ends_with(':');
        }
        Stylist {
            newline,
            indent: indent.unwrap_or_else(|| "    ".to_string()),
        }
    }
}

/// Line arithmetic over a source text.
pub struct Locator<'a> {
    pub source: &'a str,
}

impl<'a> Locator<'a> {
    pub fn new(source: &'a str) -> Self {
        Locator { source }
    }

    /// The offset where the line containing `offset` starts.
    pub fn line_start(&self, offset: TextSize) -> TextSize {
        let offset = usize::from(offset).min(self.source.len());
        let start = self.source[..offset]
            .rfind(['\n', '\r'])
            .map_or(0, |at| at + 1);
        TextSize::try_from(start).unwrap_or_default()
    }

    /// The offset just past the line break that ends the line containing `offset`.
    pub fn full_line_end(&self, offset: TextSize) -> TextSize {
        let offset = usize::from(offset).min(self.source.len());
        let rest = &self.source[offset..];
        let end = match rest.find(['\n', '\r']) {
            Some(at) if rest[at..].starts_with("\r\n") => offset + at + 2,
            Some(at) => offset + at + 1,
            None => self.source.len(),
        };
        TextSize::try_from(end).unwrap_or_default()
    }

    /// The whitespace before the first token of the line containing `offset`.
    pub fn indentation(&self, offset: TextSize) -> &'a str {
        let start = usize::from(self.line_start(offset));
        let line = &self.source[start..];
        let width = line.len() - line.trim_start_matches([' ', '\t', '\x0c']).len();
        &line[..width]
    }

    pub fn slice(&self, range: TextRange) -> &'a str {
        &self.source[range]
    }

    /// Whether a range is alone on its lines: only indentation before it, and only a comment
    /// (or nothing) after it. Statements sharing a line (`a = 1; b += 1`, `if x: y += 1`) cannot
    /// be wrapped in a block.
    pub fn is_own_lines(&self, range: TextRange) -> bool {
        let start = self.line_start(range.start());
        let before = &self.source[TextRange::new(start, range.start())];
        if !before.chars().all(|c| matches!(c, ' ' | '\t' | '\x0c')) {
            return false;
        }
        let end = self.full_line_end(range.end());
        let after = self.source[TextRange::new(range.end(), end)].trim();
        after.is_empty() || after.starts_with('#')
    }
}

/// Picks the fixes of a pass: in order, each fix whose edits overlap no edit already taken
/// (identical edits are shared, insertions at the same point are kept in order).
fn select_non_overlapping<'d>(fixes: &[&'d Fix]) -> Vec<&'d Fix> {
    let mut taken: Vec<&Edit> = Vec::new();
    let mut selected = Vec::new();
    'fixes: for fix in fixes {
        for edit in &fix.edits {
            for other in &taken {
                if *other == edit {
                    continue;
                }
                let overlaps = edit.range.start() < other.range.end()
                    && other.range.start() < edit.range.end();
                let same_point_replacement = edit.range == other.range && !edit.range.is_empty();
                if overlaps || same_point_replacement {
                    continue 'fixes;
                }
            }
        }
        taken.extend(fix.edits.iter());
        selected.push(*fix);
    }
    selected
}

/// Applies a set of fixes: shared identical edits once, insertions at one point in fix order.
pub fn apply_fixes(source: &str, fixes: &[&Fix]) -> String {
    let mut edits: Vec<(usize, usize, &Edit)> = Vec::new();
    for (fix_index, fix) in fixes.iter().enumerate() {
        for (edit_index, edit) in fix.edits.iter().enumerate() {
            if edits.iter().any(|(_, _, existing)| *existing == edit) {
                continue;
            }
            edits.push((fix_index, edit_index, edit));
        }
    }
    // Stable: by position, then (for insertions at one point) imports before the code that
    // uses them, then fix order.
    edits.sort_by_key(|(fix_index, edit_index, edit)| {
        let is_import = edit.content.trim_start().starts_with("import ")
            || edit.content.trim_start().starts_with("from ");
        (
            edit.range.start(),
            edit.range.end(),
            !is_import,
            *fix_index,
            *edit_index,
        )
    });
    let mut out = String::with_capacity(source.len() + 256);
    let mut last = 0usize;
    for (_, _, edit) in edits {
        let start = usize::from(edit.range.start());
        let end = usize::from(edit.range.end());
        if start < last {
            continue;
        }
        out.push_str(&source[last..start]);
        out.push_str(&edit.content);
        last = end;
    }
    out.push_str(&source[last..]);
    out
}

/// The outcome of fixing one source text.
#[derive(Debug, Clone, Default)]
pub struct FixOutcome {
    /// The fixed source (equal to the input when nothing applied).
    pub source: String,
    /// Fixes applied, per rule.
    pub applied: Vec<(Rule, usize)>,
    /// Fixes refused because the result would not parse.
    pub refused: Vec<(Rule, String)>,
    /// Fixes were still available after the last pass.
    pub converged: bool,
}

impl FixOutcome {
    pub fn applied_count(&self) -> usize {
        self.applied.iter().map(|(_, count)| count).sum()
    }

    fn record(&mut self, rule: Rule) {
        match self.applied.iter_mut().find(|(r, _)| *r == rule) {
            Some((_, count)) => *count += 1,
            None => self.applied.push((rule, 1)),
        }
    }
}

pub fn parses(source: &str, path: &Path) -> bool {
    let source_type = ruff_python_ast::PySourceType::from(path);
    ruff_python_parser::parse_unchecked_source(source, source_type)
        .errors()
        .is_empty()
}

/// Applies every fix at least as safe as `threshold`, pass after pass; `lint` finds the
/// diagnostics (and their fixes) of the text each pass starts from. A source that does not
/// parse is returned untouched.
pub fn fix_in_passes(
    source: &str,
    path: &Path,
    threshold: FixApplicability,
    mut lint: impl FnMut(&str) -> Vec<Diagnostic>,
) -> FixOutcome {
    let mut outcome = FixOutcome {
        source: source.to_string(),
        converged: true,
        ..FixOutcome::default()
    };
    if !parses(source, path) {
        return outcome;
    }
    let mut refused_ranges: Vec<(Rule, TextRange, String)> = Vec::new();
    for pass in 0..=MAX_PASSES {
        let diagnostics = lint(&outcome.source);
        let candidates: Vec<&Diagnostic> = diagnostics
            .iter()
            .filter(|diagnostic| {
                diagnostic
                    .fix
                    .as_ref()
                    .is_some_and(|fix| fix.applicability >= threshold)
                    && !refused_ranges.iter().any(|(rule, range, message)| {
                        *rule == diagnostic.rule
                            && *range == diagnostic.range
                            && *message == diagnostic.message
                    })
            })
            .collect();
        if candidates.is_empty() {
            return outcome;
        }
        if pass == MAX_PASSES {
            outcome.converged = false;
            return outcome;
        }
        let fixes: Vec<&Fix> = candidates
            .iter()
            .filter_map(|diagnostic| diagnostic.fix.as_ref())
            .collect();
        let selected = select_non_overlapping(&fixes);
        let fixed = apply_fixes(&outcome.source, &selected);
        if parses(&fixed, path) {
            if fixed == outcome.source {
                return outcome;
            }
            for diagnostic in &candidates {
                if let Some(fix) = &diagnostic.fix
                    && selected.iter().any(|chosen| std::ptr::eq(*chosen, fix))
                {
                    outcome.record(diagnostic.rule);
                }
            }
            outcome.source = fixed;
            continue;
        }
        // The combined pass breaks the syntax: keep the fixes that parse on their own.
        let mut progressed = false;
        for diagnostic in &candidates {
            let Some(fix) = &diagnostic.fix else { continue };
            if !selected.iter().any(|chosen| std::ptr::eq(*chosen, fix)) {
                continue;
            }
            let alone = apply_fixes(&outcome.source, &[fix]);
            if parses(&alone, path) && alone != outcome.source {
                outcome.source = alone;
                outcome.record(diagnostic.rule);
                progressed = true;
                break;
            }
            refused_ranges.push((
                diagnostic.rule,
                diagnostic.range,
                diagnostic.message.clone(),
            ));
            outcome.refused.push((
                diagnostic.rule,
                format!("{}: {}", fix.message, diagnostic.message),
            ));
        }
        if !progressed && refused_ranges.is_empty() {
            return outcome;
        }
    }
    outcome
}

/// Writes `bytes` over `path` through a temporary file in the same directory and a rename, so
/// the file is always either the old or the new content. Permissions are kept; a symbolic link
/// is followed and its target replaced, not the link.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically_with(path, bytes, |file, bytes| {
        use std::io::Write;
        injected_write_failure(path, file, bytes)?;
        file.write_all(bytes)
    })
}

/// As [`write_atomically`], with the bytes written by `write`: whatever `write` does, the
/// target holds either its old content or all of the new one, and no temporary file is left.
fn write_atomically_with(
    path: &Path,
    bytes: &[u8],
    write: impl FnOnce(&mut std::fs::File, &[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let directory = target.parent().unwrap_or_else(|| Path::new("."));
    let permissions = std::fs::metadata(&target)?.permissions();
    // Dropped on any error below, which deletes the temporary file.
    let mut temporary = tempfile::Builder::new()
        .prefix(".nogil-lint-")
        .suffix(".tmp")
        .tempfile_in(directory)?;
    write(temporary.as_file_mut(), bytes)?;
    temporary.as_file().sync_all()?;
    temporary.as_file().set_permissions(permissions)?;
    temporary.persist(&target).map_err(|error| error.error)?;
    Ok(())
}

/// For tests of interrupted writes: a debug build writes half of a file named
/// `NOGIL_LINT_TEST_FAIL_WRITE` and then fails, as a full disk would. Release builds never do.
fn injected_write_failure(
    path: &Path,
    file: &mut std::fs::File,
    bytes: &[u8],
) -> std::io::Result<()> {
    use std::io::Write;
    if cfg!(debug_assertions)
        && let Some(trigger) = std::env::var_os("NOGIL_LINT_TEST_FAIL_WRITE")
        && path.file_name() == Some(trigger.as_os_str())
    {
        file.write_all(&bytes[..bytes.len() / 2])?;
        return Err(std::io::Error::other("injected write failure"));
    }
    Ok(())
}

/// A unified diff between the original and the fixed text.
pub fn unified_diff(filename: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(filename, filename)
        .to_string()
}

/// Convenience for builders: a fix from its parts.
pub fn fix(applicability: FixApplicability, message: impl Into<String>, edits: Vec<Edit>) -> Fix {
    Fix {
        applicability,
        message: message.into(),
        edits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_failing_midway_leaves_the_old_content_and_no_temporary_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("m.py");
        std::fs::write(&path, "old = 1\n").unwrap();
        let error = write_atomically_with(&path, b"new = 2\nmore = 3\n", |file, bytes| {
            use std::io::Write;
            file.write_all(&bytes[..5])?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "disk full");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old = 1\n");
        let names: Vec<_> = std::fs::read_dir(directory.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["m.py"]);
        write_atomically(&path, b"new = 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new = 2\n");
    }

    #[test]
    fn stylist_detects_newlines_and_indentation() {
        let crlf = Stylist::from_source("def f():\r\n  return 1\r\n");
        assert_eq!(crlf.newline, "\r\n");
        assert_eq!(crlf.indent, "  ");
        let tabs = Stylist::from_source("class A:\n\tdef f(self):\n\t\tpass\n");
        assert_eq!(tabs.indent, "\t");
        assert_eq!(Stylist::from_source("x = 1\n").indent, "    ");
    }

    #[test]
    fn identical_edits_apply_once_and_overlaps_wait() {
        let insert = |at: u32, content: &str| Edit {
            range: TextRange::empty(TextSize::new(at)),
            content: content.to_string(),
        };
        let a = fix(
            FixApplicability::Safe,
            "a",
            vec![insert(0, "import x\n"), insert(0, "A\n")],
        );
        let b = fix(
            FixApplicability::Safe,
            "b",
            vec![insert(0, "import x\n"), insert(0, "B\n")],
        );
        let fixes = [&a, &b];
        let selected = select_non_overlapping(&fixes);
        assert_eq!(selected.len(), 2);
        assert_eq!(apply_fixes("body\n", &selected), "import x\nA\nB\nbody\n");
    }

    #[test]
    fn locator_lines() {
        let locator = Locator::new("a = 1\n    b += 1  # c\nc = 2; d += 1\n");
        let b = TextRange::new(TextSize::new(10), TextSize::new(16));
        assert_eq!(locator.slice(b), "b += 1");
        assert!(locator.is_own_lines(b));
        assert_eq!(locator.indentation(b.start()), "    ");
        let d = TextRange::new(TextSize::new(29), TextSize::new(35));
        assert_eq!(locator.slice(d), "d += 1");
        assert!(!locator.is_own_lines(d));
    }
}
