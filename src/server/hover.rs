//! Hover on a flagged range: the rule's documentation, the text `nogil-lint rule NGxxx` prints.

use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};

use crate::report::Message;

use super::positions::Lines;

/// The documentation of every rule flagged at `position` (each once), or nothing there.
pub fn hover(messages: &[Message], lines: &Lines<'_>, position: Position) -> Option<Hover> {
    let offset = lines.offset(position);
    let here: Vec<&Message> = messages
        .iter()
        .filter(|message| {
            let range = message.diagnostic.range;
            range.start() <= offset && offset <= range.end()
        })
        .collect();
    let first = here.first()?;
    let mut rules: Vec<crate::registry::Rule> =
        here.iter().map(|message| message.diagnostic.rule).collect();
    rules.dedup();
    let text = rules
        .iter()
        .map(|rule| rule.documentation().trim_end())
        .collect::<Vec<_>>()
        .join("\n\n---\n\n");
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(lines.range(first.diagnostic.range)),
    })
}
