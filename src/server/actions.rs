//! Code actions: each finding's fix (safe ones as preferred quick fixes, unsafe ones labelled),
//! a `# noqa: NGxxx` to silence it, and `source.fixAll.nogil-lint` for every safe fix. The
//! edits come from the same fixes and the same `--add-noqa` code the command line applies.

use std::collections::HashMap;
use std::path::Path;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, TextEdit, Uri, WorkspaceEdit,
};
use ruff_text_size::TextRange;

use crate::diagnostic::FixApplicability;
use crate::report::Message;
use crate::settings::Settings;

use super::diagnostics;
use super::positions::Lines;

/// `source.fixAll` for this server only, as editors configure it on save.
pub const FIX_ALL: &str = "source.fixAll.nogil-lint";

/// The document the actions are for.
pub struct Target<'d> {
    pub uri: &'d Uri,
    pub path: &'d Path,
    pub lines: Lines<'d>,
    pub messages: &'d [Message],
    pub settings: &'d Settings,
}

/// Whether the client asked for actions of `kind` (`only` lists kinds and their parents).
fn wanted(only: Option<&Vec<CodeActionKind>>, kind: &str) -> bool {
    only.is_none_or(|kinds| {
        kinds.iter().any(|asked| {
            let asked = asked.as_str();
            kind == asked || kind.starts_with(&format!("{asked}."))
        })
    })
}

pub fn code_actions(target: &Target<'_>, params: &CodeActionParams) -> Vec<CodeActionOrCommand> {
    let only = params.context.only.as_ref();
    let asked = target.lines.text_range(params.range);
    let mut actions = Vec::new();
    if wanted(only, CodeActionKind::QUICKFIX.as_str()) {
        for message in target.messages {
            if !touches(message.diagnostic.range, asked) {
                continue;
            }
            let diagnostic =
                diagnostics::to_lsp(std::slice::from_ref(message), &target.lines, target.uri);
            let code = message.diagnostic.rule.code();
            if let Some(fix) = &message.diagnostic.fix
                && fix.applicability >= FixApplicability::Unsafe
            {
                let safe = fix.applicability == FixApplicability::Safe;
                let title = if safe {
                    format!("{code}: {}", fix.message)
                } else {
                    format!("{code}: {} (unsafe fix: review the change)", fix.message)
                };
                let edits = text_edits(&target.lines, &fix.edits);
                actions.push(action(
                    title,
                    CodeActionKind::QUICKFIX,
                    target.uri,
                    edits,
                    Some(diagnostic.clone()),
                    safe,
                ));
            }
            let noqa = crate::noqa::noqa_edits(
                target.lines.text,
                target.path,
                &[(message.noqa_row, message.diagnostic.rule)],
            );
            if !noqa.is_empty() {
                let edits = text_edits(&target.lines, &noqa);
                actions.push(action(
                    format!("{code}: silence with `# noqa: {code}`"),
                    CodeActionKind::QUICKFIX,
                    target.uri,
                    edits,
                    Some(diagnostic),
                    false,
                ));
            }
        }
    }
    if wanted(only, FIX_ALL)
        && let Some(edit) = fix_all(target)
    {
        actions.push(action(
            "nogil-lint: apply every safe fix".to_string(),
            CodeActionKind::from(FIX_ALL),
            target.uri,
            vec![edit],
            None,
            false,
        ));
    }
    actions
}

/// One edit that takes the document to the text every safe fix gives (fixed in passes, as
/// `--fix` does), spanning only what changes.
fn fix_all(target: &Target<'_>) -> Option<TextEdit> {
    let has_safe_fix = target.messages.iter().any(|message| {
        message
            .diagnostic
            .fix
            .as_ref()
            .is_some_and(|fix| fix.applicability == FixApplicability::Safe)
    });
    if !has_safe_fix {
        return None;
    }
    let text = target.lines.text;
    let outcome =
        crate::linter::fix_source(text, target.path, target.settings, FixApplicability::Safe);
    if outcome.source == text {
        return None;
    }
    let (range, replacement) = changed_span(text, &outcome.source);
    Some(TextEdit {
        range: target.lines.range(range),
        new_text: replacement.to_string(),
    })
}

/// The range of `before` that differs from `after`, and what replaces it (common prefix and
/// suffix left out, on character boundaries).
fn changed_span<'a>(before: &str, after: &'a str) -> (TextRange, &'a str) {
    let mut prefix = before
        .bytes()
        .zip(after.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !before.is_char_boundary(prefix) || !after.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let limit = before.len().min(after.len()) - prefix;
    let mut suffix = before
        .bytes()
        .rev()
        .zip(after.bytes().rev())
        .take(limit)
        .take_while(|(a, b)| a == b)
        .count();
    while !before.is_char_boundary(before.len() - suffix)
        || !after.is_char_boundary(after.len() - suffix)
    {
        suffix -= 1;
    }
    let start = ruff_text_size::TextSize::try_from(prefix).unwrap_or_default();
    let end = ruff_text_size::TextSize::try_from(before.len() - suffix).unwrap_or_default();
    (
        TextRange::new(start, end),
        &after[prefix..after.len() - suffix],
    )
}

fn touches(range: TextRange, asked: TextRange) -> bool {
    range.start() <= asked.end() && asked.start() <= range.end()
}

fn action(
    title: String,
    kind: CodeActionKind,
    uri: &Uri,
    edits: Vec<TextEdit>,
    diagnostic: Option<Vec<lsp_types::Diagnostic>>,
    preferred: bool,
) -> CodeActionOrCommand {
    // The protocol's map is keyed by URI; a URI's hash is its text, which no cell changes.
    #[allow(clippy::mutable_key_type)]
    let mut changes = HashMap::new();
    changes.insert(uri.clone(), edits);
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(kind),
        diagnostics: diagnostic,
        edit: Some(WorkspaceEdit {
            changes: Some(changes),
            document_changes: None,
            change_annotations: None,
        }),
        command: None,
        is_preferred: preferred.then_some(true),
        disabled: None,
        data: None,
    })
}

/// Our edits as the protocol's, in the client's position encoding.
fn text_edits(lines: &Lines<'_>, edits: &[crate::diagnostic::Edit]) -> Vec<TextEdit> {
    edits
        .iter()
        .map(|edit| TextEdit {
            range: lines.range(edit.range),
            new_text: edit.content.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_changed_span_leaves_out_what_both_share() {
        let (range, replacement) = changed_span("a = 1\nb = 2\nc = 3\n", "a = 1\nb = 22\nc = 3\n");
        assert_eq!((u32::from(range.start()), u32::from(range.end())), (11, 11));
        assert_eq!(replacement, "2");
        let (range, replacement) = changed_span("é", "è");
        assert_eq!((u32::from(range.start()), u32::from(range.end())), (0, 2));
        assert_eq!(replacement, "è");
        let (range, replacement) = changed_span("same", "same");
        assert!(range.is_empty() && replacement.is_empty());
    }
}
