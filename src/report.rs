//! What checking one file produced: its findings with rows and columns, the fixes applied,
//! and what went wrong. Every later stage (the project phase, the output formats, the command
//! line) reads these reports.

use std::path::PathBuf;
use std::sync::Arc;

use ruff_source_file::LineIndex;
use ruff_text_size::TextSize;

use crate::diagnostic::{Diagnostic, Location, ResolvedEdit};
use crate::facts::ModuleFacts;
use crate::registry::Rule;

/// A finding with its position resolved, as every output format reads it.
#[derive(Debug, Clone)]
pub struct Message {
    pub diagnostic: Diagnostic,
    pub filename: Arc<str>,
    pub start: Location,
    pub end: Location,
    /// The line a `# noqa` comment must be on to silence the finding.
    pub noqa_row: usize,
    /// The fix's edits with resolved positions, in the fix's order.
    pub fix_edits: Vec<ResolvedEdit>,
}

/// The outcome of checking one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub filename: Arc<str>,
    pub messages: Vec<Message>,
    /// The decoded source, kept only when there are findings to show in a code frame.
    pub source: Option<Arc<str>>,
    /// The file could not be read at all (permission, not a regular file, …).
    pub io_error: Option<String>,
    /// Checking the file hit a bug in nogil-lint (a caught panic), described here.
    pub internal_error: Option<String>,
    /// Fixes applied (or, with `--diff`, that would be), per rule.
    pub fixed: Vec<(Rule, usize)>,
    /// With `--diff`: the unified diff of the fixes.
    pub diff: Option<String>,
    /// The fixed text, for standard input (printed instead of written).
    pub fixed_source: Option<String>,
    /// Problems while fixing: refused fixes, no convergence, a failed write.
    pub fix_errors: Vec<String>,
    /// The file on disk (`None` for standard input).
    pub path: Option<PathBuf>,
    /// What the project phase needs, when the run links modules.
    pub facts: Option<ModuleFacts>,
    /// With `--diff`: the original text and the fixed one, until the diff is made.
    pub diff_base: Option<(String, String)>,
}

impl FileReport {
    /// Sorts messages by position, as every output expects.
    pub fn sort_messages(&mut self) {
        self.messages.sort_by(|a, b| {
            (a.start, a.diagnostic.rule, &a.diagnostic.message).cmp(&(
                b.start,
                b.diagnostic.rule,
                &b.diagnostic.message,
            ))
        });
    }
}

impl FileReport {
    /// A report with no findings and nothing else to say yet.
    fn empty(filename: Arc<str>) -> Self {
        FileReport {
            filename,
            messages: Vec::new(),
            source: None,
            io_error: None,
            internal_error: None,
            fixed: Vec::new(),
            diff: None,
            fixed_source: None,
            fix_errors: Vec::new(),
            path: None,
            facts: None,
            diff_base: None,
        }
    }

    pub fn io_error(filename: Arc<str>, error: String) -> Self {
        FileReport {
            io_error: Some(error),
            ..FileReport::empty(filename)
        }
    }

    /// A file whose check hit a bug in nogil-lint: no findings, the bug described.
    pub fn internal_error(filename: Arc<str>, path: Option<PathBuf>, description: String) -> Self {
        FileReport {
            internal_error: Some(description),
            path,
            ..FileReport::empty(filename)
        }
    }
}

/// A 1-based row and character column for a byte offset (clamped to the text).
pub fn location(index: &LineIndex, source: &str, offset: TextSize) -> Location {
    let offset = offset.min(TextSize::try_from(source.len()).unwrap_or_default());
    let position = index.line_column(offset, source);
    Location {
        row: position.line.get(),
        column: position.column.get(),
    }
}

/// Turns byte ranges into 1-based rows and character columns, sorted by position.
pub fn resolve_positions(
    filename: &Arc<str>,
    source: &str,
    index: &LineIndex,
    diagnostics: Vec<Diagnostic>,
) -> Vec<Message> {
    if diagnostics.is_empty() {
        return Vec::new();
    }
    let location = |offset: TextSize| location(index, source, offset);
    let mut messages: Vec<Message> = diagnostics
        .into_iter()
        .map(|diagnostic| {
            let start = location(diagnostic.range.start());
            let end = location(diagnostic.range.end());
            let fix_edits = diagnostic
                .fix
                .iter()
                .flat_map(|fix| &fix.edits)
                .map(|edit| ResolvedEdit {
                    start: location(edit.range.start()),
                    end: location(edit.range.end()),
                    content: edit.content.clone(),
                })
                .collect();
            Message {
                filename: filename.clone(),
                noqa_row: start.row,
                start,
                end,
                fix_edits,
                diagnostic,
            }
        })
        .collect();
    messages.sort_by(|a, b| {
        (a.start, a.diagnostic.rule, &a.diagnostic.message).cmp(&(
            b.start,
            b.diagnostic.rule,
            &b.diagnostic.message,
        ))
    });
    messages.dedup_by(|a, b| {
        a.start == b.start && a.diagnostic.rule == b.diagnostic.rule && a.end == b.end
    });
    messages
}
