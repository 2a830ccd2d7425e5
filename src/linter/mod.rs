//! Checking one file: decode, parse once, build the semantic model, run the rules, and turn
//! byte ranges into rows and columns.

mod decode;

use std::path::Path;
use std::sync::Arc;

use ruff_python_ast::PySourceType;
use ruff_source_file::LineIndex;
use ruff_text_size::TextSize;

pub use decode::{Decoded, Encoding, decode};

use crate::checkers::{self, ng001_syntax_error};
use crate::diagnostic::{Diagnostic, FixApplicability, ResolvedEdit};
use crate::facts::ModuleFacts;
use crate::fix::{self, FixOutcome};
use crate::registry::Rule;
use crate::report::{FileReport, location, resolve_positions};
use crate::semantic::{ModuleRole, SemanticModel};
use crate::settings::{FixMode, Settings};

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
    // A type stub (`.pyi`) describes a module to type checkers and never runs: nothing in it
    // can race or load an extension (its syntax errors are still reported above).
    if source_type == PySourceType::Stub {
        return (Vec::new(), None);
    }
    // The pipeline knows the project's test directories; a file checked on its own (standard
    // input, a direct call) is judged by its name.
    let role = match ModuleRole::of_file_name(path) {
        ModuleRole::Library if settings.test_modules.contains(path) => ModuleRole::Test,
        role => role,
    };
    let mut model = SemanticModel::build_with(
        parsed.syntax(),
        source,
        &settings.model,
        role,
        crate::semantic::is_async_package_path(path),
    );
    model.command_line_module = crate::semantic::is_command_line_file(path);
    model.vendored = settings.vendored_modules.contains(path);
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

/// Applies every fix at least as safe as `threshold`, pass after pass, linting again after
/// each pass. A source that does not parse is returned untouched. Only the fixes of findings
/// at or above `settings.min_severity` (as this file alone rates them) are applied: hidden
/// findings are not fixed.
pub fn fix_source(
    source: &str,
    path: &Path,
    settings: &Settings,
    threshold: FixApplicability,
) -> FixOutcome {
    // A fix that locks some writes of a state leaves its other writes NG107 findings, which
    // are information where no thread is in view: those the fixes made are fixed too, so the
    // file ends with one lock discipline. NG107 findings the file had before are not (they
    // stay hidden, and unfixed). A finding is known by the text of its statement (its
    // position moves as fixes insert lines).
    let mut first_pass = true;
    let mut before_fixes: rustc_hash::FxHashSet<String> = rustc_hash::FxHashSet::default();
    fix::fix_in_passes(source, path, threshold, |text| {
        let mut diagnostics = lint_source(text, path, settings);
        let statement = |diagnostic: &Diagnostic| &text[diagnostic.range];
        if first_pass {
            first_pass = false;
            before_fixes.extend(
                diagnostics
                    .iter()
                    .filter(|diagnostic| diagnostic.rule == Rule::InconsistentLocking)
                    .map(|diagnostic| statement(diagnostic).to_string()),
            );
        }
        diagnostics.retain(|diagnostic| {
            diagnostic.severity >= settings.min_severity
                || (diagnostic.rule == Rule::InconsistentLocking
                    && !before_fixes.contains(statement(diagnostic)))
        });
        diagnostics
    })
}

/// Where a file's bytes came from, and where fixed text goes.
pub enum Origin<'p> {
    File(&'p Path),
    Stdin,
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
            .filter(|diagnostic| diagnostic.severity >= settings.min_severity)
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
                    let outcome = fix_source(&text, path, settings, threshold);
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
                vec![*diagnostic]
            } else {
                Vec::new()
            };
            (lossy, diagnostics)
        }
    };
    // Most files have no finding and nothing to place: the line index is built on first use.
    let line_index = std::cell::OnceCell::new();
    let index = || line_index.get_or_init(|| LineIndex::from_source_text(&source));
    let messages = if diagnostics.is_empty() {
        Vec::new()
    } else {
        resolve_positions(&filename, &source, index(), diagnostics)
    };
    if let Some(facts) = &mut facts {
        for fact in &mut facts.process_global {
            fact.start = location(index(), &source, fact.range.start());
            fact.end = location(index(), &source, fact.range.end());
        }
        // Imports are placed only for the installed-package check, which reports at them.
        if settings.inspect_environment {
            for import in &mut facts.imports_at {
                import.start = location(index(), &source, import.range.start());
                import.end = location(index(), &source, import.range.end());
            }
        }
        for pool in &mut facts.pools {
            pool.start = location(index(), &source, pool.range.start());
            pool.end = location(index(), &source, pool.range.end());
            pool.fix_edits = pool
                .fix
                .iter()
                .flat_map(|fix| &fix.edits)
                .map(|edit| ResolvedEdit {
                    start: location(index(), &source, edit.range.start()),
                    end: location(index(), &source, edit.range.end()),
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
