//! Checking one file: decode, parse once, build the semantic model, run the rules, and turn
//! byte ranges into rows and columns.

use std::path::Path;
use std::sync::Arc;

use ruff_python_ast::PySourceType;
use ruff_source_file::LineIndex;
use ruff_text_size::TextSize;

use crate::checkers::{self, ng001_syntax_error};
use crate::diagnostic::{Diagnostic, Location};
use crate::registry::{Rule, RuleSet};
use crate::semantic::SemanticModel;

/// What the linter needs to know to check a file.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rules: RuleSet,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rules: RuleSet::all(),
        }
    }
}

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

/// An edit located by rows and columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedEdit {
    pub start: Location,
    pub end: Location,
    pub content: String,
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
}

impl FileReport {
    pub fn io_error(filename: Arc<str>, error: String) -> Self {
        FileReport {
            filename,
            messages: Vec::new(),
            source: None,
            io_error: Some(error),
        }
    }
}

/// Text decoded from a file's bytes, or the reason it could not be.
pub enum Decoded {
    Text(String),
    /// Not decodable: the lossy text (for the code frame) and the NG001 finding.
    Undecodable(String, Diagnostic),
}

/// Decodes Python source: UTF-8 (with or without BOM), UTF-16 with a BOM, or Latin-1 when a
/// PEP 263 coding line declares it.
pub fn decode(bytes: Vec<u8>) -> Decoded {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return decode_utf16(rest, u16::from_be_bytes);
    }
    match String::from_utf8(bytes) {
        Ok(text) => Decoded::Text(text),
        Err(error) => {
            let bytes = error.into_bytes();
            if declares_latin1(&bytes) {
                return Decoded::Text(bytes.iter().map(|&b| b as char).collect());
            }
            let valid_up_to = match std::str::from_utf8(&bytes) {
                Err(error) => error.valid_up_to(),
                Ok(_) => 0,
            };
            let lossy = String::from_utf8_lossy(&bytes).into_owned();
            let prefix = &lossy[..valid_up_to.min(lossy.len())];
            let line = prefix.matches('\n').count() + 1;
            let column = prefix.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
            let diagnostic = ng001_syntax_error::from_decode_error(
                valid_up_to,
                &format!(
                    "file is not valid UTF-8 (invalid byte at line {line}, column {column}) and declares no other encoding"
                ),
            );
            Decoded::Undecodable(lossy, diagnostic)
        }
    }
}

fn decode_utf16(bytes: &[u8], word: fn([u8; 2]) -> u16) -> Decoded {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|pair| word([pair[0], *pair.get(1).unwrap_or(&0)]))
        .collect();
    match String::from_utf16(&units) {
        Ok(text) => Decoded::Text(text),
        Err(_) => {
            let lossy = String::from_utf16_lossy(&units);
            let diagnostic = ng001_syntax_error::from_decode_error(
                0,
                "file starts with a UTF-16 byte order mark but is not valid UTF-16",
            );
            Decoded::Undecodable(lossy, diagnostic)
        }
    }
}

/// A PEP 263 coding declaration for Latin-1 on one of the first two lines.
fn declares_latin1(bytes: &[u8]) -> bool {
    bytes
        .split(|&b| b == b'\n')
        .take(2)
        .filter_map(|line| std::str::from_utf8(line).ok())
        .filter(|line| line.trim_start().starts_with('#'))
        .filter_map(|line| {
            let at = line.find("coding")?;
            let rest = line[at + 6..].strip_prefix([':', '='])?;
            Some(
                rest.trim_start()
                    .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase()
                    .replace('_', "-"),
            )
        })
        .any(|encoding| {
            matches!(
                encoding.as_str(),
                "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" | "iso-latin-1"
            )
        })
}

/// Runs the enabled rules over decoded source. A file that does not parse yields NG001 for each
/// error and nothing else: the other rules would reason about a tree the interpreter never runs.
pub fn lint_source(source: &str, path: &Path, settings: &Settings) -> Vec<Diagnostic> {
    let source_type = PySourceType::from(path);
    let parsed = ruff_python_parser::parse_unchecked_source(source, source_type);
    if !parsed.errors().is_empty() {
        if !settings.rules.contains(Rule::SyntaxError) {
            return Vec::new();
        }
        return parsed
            .errors()
            .iter()
            .map(ng001_syntax_error::from_parse_error)
            .collect();
    }
    let model = SemanticModel::build(parsed.syntax(), source);
    checkers::check_module(&model, &settings.rules)
}

/// Checks one file's contents and resolves every finding's position.
pub fn check_bytes(
    filename: Arc<str>,
    path: &Path,
    bytes: Vec<u8>,
    settings: &Settings,
) -> FileReport {
    let (source, diagnostics) = match decode(bytes) {
        Decoded::Text(text) => {
            let diagnostics = lint_source(&text, path, settings);
            (text, diagnostics)
        }
        Decoded::Undecodable(lossy, diagnostic) => {
            let diagnostics = if settings.rules.contains(Rule::SyntaxError) {
                vec![diagnostic]
            } else {
                Vec::new()
            };
            (lossy, diagnostics)
        }
    };
    let messages = resolve_positions(&filename, &source, diagnostics);
    FileReport {
        filename,
        source: (!messages.is_empty()).then(|| Arc::from(source)),
        messages,
        io_error: None,
    }
}

/// Turns byte ranges into 1-based rows and character columns, sorted by position.
pub fn resolve_positions(
    filename: &Arc<str>,
    source: &str,
    diagnostics: Vec<Diagnostic>,
) -> Vec<Message> {
    if diagnostics.is_empty() {
        return Vec::new();
    }
    let index = LineIndex::from_source_text(source);
    let clamp = |offset: TextSize| offset.min(TextSize::try_from(source.len()).unwrap_or_default());
    let location = |offset: TextSize| {
        let position = index.line_column(clamp(offset), source);
        Location {
            row: position.line.get(),
            column: position.column.get(),
        }
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_bom_and_latin1() {
        assert!(
            matches!(decode(b"\xEF\xBB\xBFx = 1\n".to_vec()), Decoded::Text(t) if t.ends_with("x = 1\n"))
        );
        assert!(
            matches!(decode(b"# -*- coding: latin-1 -*-\ns = '\xE9'\n".to_vec()), Decoded::Text(t) if t.contains('\u{e9}'))
        );
        assert!(matches!(
            decode(b"s = '\xE9'\n".to_vec()),
            Decoded::Undecodable(..)
        ));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("x = 1\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert!(matches!(decode(utf16), Decoded::Text(t) if t == "x = 1\n"));
    }
}
