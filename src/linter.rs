//! Checking one file: decode, parse once, build the semantic model, run the rules, and turn
//! byte ranges into rows and columns.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ruff_python_ast::PySourceType;
use ruff_source_file::LineIndex;
use ruff_text_size::TextSize;

use crate::checkers::{self, ng001_syntax_error};
use crate::diagnostic::{Diagnostic, FixApplicability, Location};
use crate::fix;
use crate::project::ModuleFacts;
use crate::registry::{Rule, RuleSet};
use crate::semantic::{ModelOptions, SemanticModel};

/// What the linter needs to know to check a file.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rules: RuleSet,
    /// Gather the facts the project phase links across modules.
    pub collect_facts: bool,
    /// What the semantic model needs from the settings (target version, extra functions).
    pub model: ModelOptions,
    /// The project's build configuration, for the extension-source rule (NG203).
    pub build: crate::checkers::ng203_extension_enables_gil::BuildContext,
    /// The interpreter whose installed packages NG204 inspects (`--python`).
    pub python: Option<PathBuf>,
    /// Import the project's extension packages in a subprocess (`--import-check`).
    pub import_check: bool,
    /// Set by the pipeline when NG204 will inspect an environment (keeps import positions).
    pub inspect_environment: bool,
    /// Top-level module names of the project itself: its own imports are never third-party
    /// packages (a project named like a listed distribution, such as black checking itself).
    pub project_modules: std::sync::Arc<rustc_hash::FxHashSet<String>>,
    /// The configuration file in use, and the directory its globs are relative to.
    pub config_path: Option<PathBuf>,
    pub config_base: PathBuf,
    /// `exclude` and `extend-exclude`.
    pub exclude: globset::GlobSet,
    /// `per-file-ignores`: files matching a glob, and the rules ignored for them.
    pub per_file_ignores: std::sync::Arc<Vec<(globset::GlobSet, RuleSet)>>,
    /// `fix` / `unsafe-fixes` from the configuration or the command line.
    pub fix: bool,
    pub unsafe_fixes: bool,
    /// Apply excludes to files named explicitly (`--force-exclude`).
    pub force_exclude: bool,
}

impl Settings {
    /// The path a glob of the configuration is matched against: relative to the configuration
    /// file's directory when the file is inside it.
    fn relative<'p>(&self, path: &'p Path) -> std::borrow::Cow<'p, Path> {
        let absolute = if path.is_absolute() {
            std::borrow::Cow::Borrowed(path)
        } else {
            match std::env::current_dir() {
                Ok(current) => std::borrow::Cow::Owned(current.join(path)),
                Err(_) => std::borrow::Cow::Borrowed(path),
            }
        };
        match absolute.strip_prefix(&self.config_base) {
            Ok(relative) => std::borrow::Cow::Owned(relative.to_path_buf()),
            Err(_) => std::borrow::Cow::Owned(path.to_path_buf()),
        }
    }

    /// Whether `exclude`/`extend-exclude` exclude a path.
    pub fn is_excluded(&self, path: &Path) -> bool {
        !self.exclude.is_empty() && self.exclude.is_match(self.relative(path).as_ref())
    }

    /// Whether `per-file-ignores` ignores `rule` for a file.
    pub fn ignores_for_file(&self, path: &Path, rule: Rule) -> bool {
        if self.per_file_ignores.is_empty() {
            return false;
        }
        let relative = self.relative(path);
        self.per_file_ignores
            .iter()
            .any(|(globs, rules)| rules.contains(rule) && globs.is_match(relative.as_ref()))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rules: RuleSet::all(),
            collect_facts: false,
            model: ModelOptions::default(),
            build: Default::default(),
            python: None,
            import_check: false,
            inspect_environment: false,
            project_modules: Default::default(),
            config_path: None,
            config_base: PathBuf::from("."),
            exclude: globset::GlobSet::empty(),
            per_file_ignores: Default::default(),
            fix: false,
            unsafe_fixes: false,
            force_exclude: false,
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

/// How a file's text was encoded, so a fixed file is written back the same way. A UTF-8 byte
/// order mark stays in the text itself.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Latin1,
    Utf16Le,
    Utf16Be,
    /// Another encoding a coding line declares (koi8-r, cp1251, shift_jis, …).
    Declared(&'static encoding_rs::Encoding),
}

impl Encoding {
    /// The bytes of `text` in this encoding, or `None` if it cannot represent the text.
    pub fn encode(self, text: &str) -> Option<Vec<u8>> {
        match self {
            Encoding::Utf8 => Some(text.as_bytes().to_vec()),
            Encoding::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).ok())
                .collect(),
            Encoding::Utf16Le => Some(
                [0xFF, 0xFE]
                    .into_iter()
                    .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
                    .collect(),
            ),
            Encoding::Utf16Be => Some(
                [0xFE, 0xFF]
                    .into_iter()
                    .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
                    .collect(),
            ),
            Encoding::Declared(encoding) => {
                let (bytes, _, unmappable) = encoding.encode(text);
                (!unmappable).then(|| bytes.into_owned())
            }
        }
    }
}

/// Text decoded from a file's bytes, or the reason it could not be.
pub enum Decoded {
    Text(String, Encoding),
    /// Not decodable: the lossy text (for the code frame) and the NG001 finding.
    Undecodable(String, Diagnostic),
}

/// Decodes Python source as the interpreter would: UTF-16 with a BOM, the encoding a PEP 263
/// coding line declares (when the file has any non-ASCII byte), or UTF-8 (with or without BOM).
pub fn decode(bytes: Vec<u8>) -> Decoded {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16(rest, u16::from_le_bytes, Encoding::Utf16Le);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return decode_utf16(rest, u16::from_be_bytes, Encoding::Utf16Be);
    }
    let declared = if bytes.is_ascii() || bytes.starts_with(b"\xEF\xBB\xBF") {
        None
    } else {
        declared_encoding(&bytes)
    };
    match declared {
        Some(DeclaredEncoding::Latin1) => {
            return Decoded::Text(bytes.iter().map(|&b| b as char).collect(), Encoding::Latin1);
        }
        Some(DeclaredEncoding::Other(encoding)) => {
            if let Some(text) = encoding.decode_without_bom_handling_and_without_replacement(&bytes)
            {
                return Decoded::Text(text.into_owned(), Encoding::Declared(encoding));
            }
            let lossy = encoding.decode_without_bom_handling(&bytes).0.into_owned();
            let diagnostic = ng001_syntax_error::from_decode_error(
                0,
                &format!(
                    "file declares the encoding {} but is not valid in it",
                    encoding.name()
                ),
            );
            return Decoded::Undecodable(lossy, diagnostic);
        }
        Some(DeclaredEncoding::Unknown(name)) => {
            let lossy = String::from_utf8_lossy(&bytes).into_owned();
            let diagnostic = ng001_syntax_error::from_decode_error(
                0,
                &format!("file declares the encoding `{name}`, which nogil-lint cannot decode"),
            );
            return Decoded::Undecodable(lossy, diagnostic);
        }
        Some(DeclaredEncoding::Utf8) | None => {}
    }
    match String::from_utf8(bytes) {
        Ok(text) => Decoded::Text(text, Encoding::Utf8),
        Err(error) => {
            let bytes = error.into_bytes();
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

fn decode_utf16(bytes: &[u8], word: fn([u8; 2]) -> u16, encoding: Encoding) -> Decoded {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|pair| word([pair[0], *pair.get(1).unwrap_or(&0)]))
        .collect();
    match String::from_utf16(&units) {
        Ok(text) => Decoded::Text(text, encoding),
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

/// What a PEP 263 coding line declares.
enum DeclaredEncoding {
    Utf8,
    /// Exactly ISO-8859-1, which every byte decodes in (a web "latin1" label means cp1252).
    Latin1,
    Other(&'static encoding_rs::Encoding),
    Unknown(String),
}

/// The encoding a coding declaration names on one of the first two lines, if any.
fn declared_encoding(bytes: &[u8]) -> Option<DeclaredEncoding> {
    let name = bytes
        .split(|&b| b == b'\n')
        .take(2)
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .filter(|line| line.trim_start().starts_with('#'))
        .find_map(|line| {
            let at = line.find("coding")?;
            let rest = line[at + 6..].strip_prefix([':', '='])?;
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            (!name.is_empty()).then(|| name.to_ascii_lowercase().replace('_', "-"))
        })?;
    Some(match name.as_str() {
        "utf-8" | "utf8" | "utf-8-sig" => DeclaredEncoding::Utf8,
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" | "iso-latin-1" => {
            DeclaredEncoding::Latin1
        }
        _ => match encoding_rs::Encoding::for_label(name.as_bytes()) {
            // UTF-16 without a byte order mark is not a source encoding Python accepts.
            Some(encoding) if encoding.output_encoding() == encoding => {
                DeclaredEncoding::Other(encoding)
            }
            _ => DeclaredEncoding::Unknown(name),
        },
    })
}

/// Runs the enabled rules over decoded source. A file that does not parse yields NG001 for each
/// error and nothing else: the other rules would reason about a tree the interpreter never runs.
pub fn lint_source(source: &str, path: &Path, settings: &Settings) -> Vec<Diagnostic> {
    analyze(source, path, settings, false).0
}

/// Lints a source and, when asked, extracts the facts the project phase links.
pub fn analyze(
    source: &str,
    path: &Path,
    settings: &Settings,
    want_facts: bool,
) -> (Vec<Diagnostic>, Option<ModuleFacts>) {
    let source_type = PySourceType::from(path);
    let parsed = ruff_python_parser::parse_unchecked_source(source, source_type);
    if !parsed.errors().is_empty() {
        if !settings.rules.contains(Rule::SyntaxError) {
            return (Vec::new(), None);
        }
        let diagnostics = parsed
            .errors()
            .iter()
            .map(ng001_syntax_error::from_parse_error)
            .collect();
        return (diagnostics, None);
    }
    let model = SemanticModel::build_with(parsed.syntax(), source, &settings.model);
    crate::isolation::injected_panic(path);
    let diagnostics = checkers::check_module(
        &model,
        &settings.rules,
        settings.model.target_version,
        &settings.project_modules,
    );
    // Suppression comments: read once, applied here and (through the facts) to findings the
    // project phase adds.
    let suppressions = crate::noqa::Suppressions::from_tokens(source, parsed.tokens());
    let diagnostics = if suppressions.lines.is_empty()
        && !suppressions.file_all
        && suppressions.file_codes.is_empty()
    {
        diagnostics
    } else {
        let line_starts = crate::lines::line_starts(source);
        let row_of =
            |offset: TextSize| line_starts.partition_point(|&start| start <= usize::from(offset));
        crate::noqa::apply(
            source,
            &suppressions,
            diagnostics,
            row_of,
            settings.rules.contains(Rule::UnusedNoqa),
        )
    };
    let facts = want_facts.then(|| {
        let mut facts = ModuleFacts::extract(&model);
        facts.suppressions = suppressions;
        facts
    });
    (diagnostics, facts)
}

/// What to do with fixes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FixMode {
    /// Report findings (and their fixes) only.
    Report,
    /// Apply fixes at least this safe and write the file.
    Apply(FixApplicability),
    /// Compute fixes at least this safe and show them as a diff; write nothing.
    Diff(FixApplicability),
    /// Apply fixes to standard input and return the fixed text.
    ApplyToOutput(FixApplicability),
}

/// Where a file's bytes came from, and where fixed text goes.
pub enum Origin<'p> {
    File(&'p Path),
    Stdin,
}

/// Checks one file's contents and resolves every finding's position.
pub fn check_bytes(
    filename: Arc<str>,
    path: &Path,
    bytes: Vec<u8>,
    settings: &Settings,
) -> FileReport {
    check_and_fix(
        filename,
        path,
        Origin::Stdin,
        bytes,
        settings,
        FixMode::Report,
    )
}

/// Checks one C, C++, Cython, Rust or CMake source of the project's own extensions (NG203),
/// applying its fixes when asked (they only add declarations).
pub fn check_extension_source(
    filename: Arc<str>,
    path: &Path,
    bytes: Vec<u8>,
    settings: &Settings,
    mode: FixMode,
) -> FileReport {
    use crate::checkers::ng203_extension_enables_gil;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    let mut diagnostics = ng203_extension_enables_gil::check_source(path, &text, &settings.build);
    let mut fixed = Vec::new();
    let mut diff = None;
    let mut fix_errors = Vec::new();
    let threshold = match mode {
        FixMode::Apply(threshold) | FixMode::Diff(threshold) => Some(threshold),
        _ => None,
    };
    if let Some(threshold) = threshold {
        let fixes: Vec<&crate::diagnostic::Fix> = diagnostics
            .iter()
            .filter_map(|diagnostic| diagnostic.fix.as_ref())
            .filter(|fix| fix.applicability >= threshold)
            .collect();
        if !fixes.is_empty() {
            let new_text = fix::apply_fixes(&text, &fixes);
            let count = fixes.len();
            if let FixMode::Diff(_) = mode {
                diff = Some(fix::unified_diff(&filename, &text, &new_text));
                fixed.push((Rule::ExtensionEnablesGil, count));
            } else if std::str::from_utf8(&bytes).is_ok() {
                match fix::write_atomically(path, new_text.as_bytes()) {
                    Ok(()) => {
                        fixed.push((Rule::ExtensionEnablesGil, count));
                        text = new_text;
                        diagnostics =
                            ng203_extension_enables_gil::check_source(path, &text, &settings.build);
                    }
                    Err(error) => fix_errors.push(format!("cannot write the fixed file: {error}")),
                }
            }
        }
    }
    let index = LineIndex::from_source_text(&text);
    let messages = resolve_positions(&filename, &text, &index, diagnostics);
    FileReport {
        filename,
        source: (!messages.is_empty()).then(|| Arc::from(text)),
        messages,
        io_error: None,
        internal_error: None,
        fixed,
        diff,
        fixed_source: None,
        fix_errors,
        path: Some(path.to_path_buf()),
        facts: None,
        diff_base: None,
    }
}

/// Checks one file, applying fixes first when asked.
pub fn check_and_fix(
    filename: Arc<str>,
    path: &Path,
    origin: Origin<'_>,
    bytes: Vec<u8>,
    settings: &Settings,
    mode: FixMode,
) -> FileReport {
    let mut fixed = Vec::new();
    let diff = None;
    let mut fixed_source = None;
    let mut fix_errors = Vec::new();
    let mut facts: Option<ModuleFacts> = None;
    let mut diff_base: Option<(String, String)> = None;
    let origin_path = match origin {
        Origin::File(file) => Some(file),
        Origin::Stdin => None,
    };
    let (source, diagnostics) = match decode(bytes) {
        Decoded::Text(text, encoding) => {
            let text = match mode {
                FixMode::Report => text,
                FixMode::Apply(threshold)
                | FixMode::Diff(threshold)
                | FixMode::ApplyToOutput(threshold) => {
                    let outcome = fix::fix_source(&text, path, settings, threshold);
                    for (rule, message) in &outcome.refused {
                        fix_errors.push(format!(
                            "{} fix refused: it would not parse ({message})",
                            rule.code()
                        ));
                    }
                    if !outcome.converged {
                        fix_errors.push(format!(
                            "fixes did not converge after {} passes",
                            fix::MAX_PASSES
                        ));
                    }
                    if outcome.source == text {
                        if let FixMode::Diff(_) = mode {
                            diff_base = Some((text.clone(), text.clone()));
                        }
                        text
                    } else {
                        fixed = outcome.applied.clone();
                        match (mode, origin) {
                            (FixMode::Diff(_), _) => {
                                // The diff is made once the project phase has added its fixes.
                                diff_base = Some((text, outcome.source.clone()));
                                outcome.source
                            }
                            (FixMode::ApplyToOutput(_), _) | (_, Origin::Stdin) => {
                                fixed_source = Some(outcome.source.clone());
                                outcome.source
                            }
                            (_, Origin::File(file)) => match encoding
                                .encode(&outcome.source)
                                .ok_or_else(|| {
                                    format!("the fixed text cannot be written as {encoding:?}")
                                })
                                .and_then(|bytes| {
                                    fix::write_atomically(file, &bytes)
                                        .map_err(|error| error.to_string())
                                }) {
                                Ok(()) => outcome.source,
                                Err(error) => {
                                    fixed.clear();
                                    fix_errors
                                        .push(format!("cannot write the fixed file: {error}"));
                                    text
                                }
                            },
                        }
                    }
                }
            };
            let (diagnostics, extracted) = analyze(&text, path, settings, settings.collect_facts);
            facts = extracted;
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
    let index = LineIndex::from_source_text(&source);
    let messages = resolve_positions(&filename, &source, &index, diagnostics);
    if let Some(facts) = &mut facts {
        for fact in &mut facts.process_global {
            fact.start = location(&index, &source, fact.range.start());
            fact.end = location(&index, &source, fact.range.end());
        }
        for import in &mut facts.imports_at {
            import.start = location(&index, &source, import.range.start());
            import.end = location(&index, &source, import.range.end());
        }
        for pool in &mut facts.pools {
            pool.start = location(&index, &source, pool.range.start());
            pool.end = location(&index, &source, pool.range.end());
            pool.fix_edits = pool
                .fix
                .iter()
                .flat_map(|fix| &fix.edits)
                .map(|edit| ResolvedEdit {
                    start: location(&index, &source, edit.range.start()),
                    end: location(&index, &source, edit.range.end()),
                    content: edit.content.clone(),
                })
                .collect();
        }
    }
    // The code frame needs the text when there are findings, or may be findings once the
    // project phase links the modules.
    let keep_source = !messages.is_empty()
        || facts.as_ref().is_some_and(|facts| {
            !facts.process_global.is_empty()
                || !facts.pools.is_empty()
                || (settings.inspect_environment && !facts.imports_at.is_empty())
        });
    FileReport {
        filename,
        source: keep_source.then(|| Arc::from(source)),
        messages,
        io_error: None,
        internal_error: None,
        fixed,
        diff,
        fixed_source,
        fix_errors,
        path: origin_path.map(|path| path.to_path_buf()),
        facts,
        diff_base,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_bom_and_latin1() {
        assert!(
            matches!(decode(b"\xEF\xBB\xBFx = 1\n".to_vec()), Decoded::Text(t, Encoding::Utf8) if t.ends_with("x = 1\n"))
        );
        assert!(
            matches!(decode(b"# -*- coding: latin-1 -*-\ns = '\xE9'\n".to_vec()), Decoded::Text(t, Encoding::Latin1) if t.contains('\u{e9}'))
        );
        assert!(matches!(
            decode(b"s = '\xE9'\n".to_vec()),
            Decoded::Undecodable(..)
        ));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("x = 1\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert!(matches!(decode(utf16), Decoded::Text(t, Encoding::Utf16Le) if t == "x = 1\n"));
    }
}
