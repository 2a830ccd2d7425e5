//! Suppression comments: `# noqa`, `# noqa: NG101, NG102` on the reported line, and
//! `# nogil-lint: noqa` / `# nogil-lint: noqa: CODES` anywhere in a file. Parsing follows
//! flake8: any case, codes separated by commas or spaces, the directive may follow another
//! comment (`# type: ignore  # noqa: NG101`).
//!
//! The rule's documentation is `rules/NG100.md` (`nogil-lint rule NG100` prints it).

use ruff_python_ast::token::TokenKind;
use ruff_text_size::{Ranged, TextRange, TextSize};
use rustc_hash::FxHashMap;

use crate::diagnostic::{Diagnostic, Edit, FixApplicability, Severity};
use crate::registry::Rule;

/// One `# noqa` directive on a line.
#[derive(Debug, Clone)]
pub struct LineDirective {
    /// `None` is a blanket `# noqa`.
    pub codes: Option<Vec<(String, TextRange)>>,
    /// The whole `# noqa…` text, and the comment it is in.
    pub range: TextRange,
    pub comment: TextRange,
}

/// The suppression comments of one file.
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    /// By 1-based line.
    pub lines: FxHashMap<usize, LineDirective>,
    /// `# nogil-lint: noqa` (every code) for the file.
    pub file_all: bool,
    /// `# nogil-lint: noqa: CODES` for the file.
    pub file_codes: Vec<String>,
}

/// The codes of a `noqa:` list (`NG101, NG102` or `NG101 NG102`) with their ranges.
fn parse_codes(text: &str, base: usize) -> Vec<(String, TextRange)> {
    let mut codes = Vec::new();
    let mut start = None;
    for (index, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        let is_code_char = c.is_ascii_alphanumeric();
        match (start, is_code_char) {
            (None, true) => start = Some(index),
            (Some(begin), false) => {
                let code = &text[begin..index];
                // A code is letters then digits (NG101, E501); stop at anything else.
                let valid = code.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && code.chars().any(|c| c.is_ascii_digit());
                if !valid {
                    break;
                }
                codes.push((
                    code.to_ascii_uppercase(),
                    TextRange::new(
                        TextSize::try_from(base + begin).unwrap_or_default(),
                        TextSize::try_from(base + index).unwrap_or_default(),
                    ),
                ));
                start = None;
                if !matches!(c, ',' | ' ' | '\t') {
                    break;
                }
            }
            _ => {}
        }
    }
    codes
}

impl Suppressions {
    /// Reads the directives from the comment tokens of a parsed file.
    pub fn from_tokens(source: &str, tokens: &[ruff_python_ast::token::Token]) -> Self {
        let mut suppressions = Suppressions::default();
        // Most files hold no directive at all: one pass over the bytes finds that, where the
        // walk over the tokens below would visit every token.
        if !mentions_noqa(source.as_bytes()) {
            return suppressions;
        }
        // Comments come in source order: count line breaks incrementally, once over the file.
        let mut line = 1;
        let mut counted_to = 0;
        let mut line_of = |offset: usize| {
            line += crate::lines::count_breaks(source, counted_to, offset);
            counted_to = offset;
            line
        };
        for token in tokens
            .iter()
            .filter(|token| token.kind() == TokenKind::Comment)
        {
            let range = token.range();
            let comment = &source[range];
            // Most comments hold no directive: look for "noqa" before building anything.
            if !mentions_noqa(comment.as_bytes()) {
                continue;
            }
            let lower = comment.to_ascii_lowercase();
            let comment_start = usize::from(range.start());
            if let Some(at) = lower.find("nogil-lint: noqa") {
                let rest = &comment[at + "nogil-lint: noqa".len()..];
                match rest.trim_start().strip_prefix(':') {
                    Some(list) => {
                        let offset = comment_start + comment.len() - list.len();
                        suppressions
                            .file_codes
                            .extend(parse_codes(list, offset).into_iter().map(|(code, _)| code));
                    }
                    None => suppressions.file_all = true,
                }
                continue;
            }
            // `# noqa` must start a comment (possibly after another comment: `# x  # noqa`).
            let Some(at) = lower
                .match_indices("noqa")
                .map(|(at, _)| at)
                .find(|&at| lower[..at].trim_end().ends_with('#'))
            else {
                continue;
            };
            let hash = lower[..at].rfind('#').unwrap_or(0);
            let after = &comment[at + 4..];
            let (codes, end) = match after
                .strip_prefix(':')
                .or_else(|| after.trim_start().strip_prefix(':'))
            {
                Some(list) => {
                    let offset = comment_start + comment.len() - list.len();
                    let codes = parse_codes(list, offset);
                    let end = codes
                        .last()
                        .map_or(comment_start + at + 4, |(_, r)| usize::from(r.end()));
                    (Some(codes), end)
                }
                None => (None, comment_start + at + 4),
            };
            suppressions.lines.insert(
                line_of(comment_start),
                LineDirective {
                    codes,
                    range: TextRange::new(
                        TextSize::try_from(comment_start + hash).unwrap_or_default(),
                        TextSize::try_from(end).unwrap_or_default(),
                    ),
                    comment: range,
                },
            );
        }
        suppressions
    }

    /// Whether a finding of `rule` on `row` is suppressed (for findings added after the first
    /// phase).
    pub fn silences(&self, rule: Rule, row: usize) -> bool {
        self.suppresses(rule, row, &mut FxHashMap::default())
    }

    fn file_suppresses(&self, rule: Rule) -> bool {
        self.file_all || self.file_codes.iter().any(|code| code == rule.code())
    }

    /// Whether a finding on `row` is suppressed, and records which codes were used.
    fn suppresses(&self, rule: Rule, row: usize, used: &mut FxHashMap<usize, Vec<String>>) -> bool {
        if self.file_suppresses(rule) {
            return true;
        }
        let Some(directive) = self.lines.get(&row) else {
            return false;
        };
        match &directive.codes {
            None => true,
            Some(codes) => {
                let hit = codes.iter().any(|(code, _)| code == rule.code());
                if hit {
                    used.entry(row).or_default().push(rule.code().to_string());
                }
                hit
            }
        }
    }
}

/// Removes suppressed findings, and adds NG100 for `# noqa: NGxxx` codes that silenced nothing
/// (other tools' codes, such as `E501`, are left alone). `row_of` gives a finding's line.
pub fn apply(
    source: &str,
    suppressions: &Suppressions,
    diagnostics: Vec<Diagnostic>,
    row_of: impl Fn(TextSize) -> usize,
    report_unused: bool,
) -> Vec<Diagnostic> {
    let mut used: FxHashMap<usize, Vec<String>> = FxHashMap::default();
    let mut kept: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter(|diagnostic| {
            diagnostic.rule == Rule::SyntaxError
                || !suppressions.suppresses(
                    diagnostic.rule,
                    row_of(diagnostic.range.start()),
                    &mut used,
                )
        })
        .collect();
    if !report_unused || suppressions.file_suppresses(Rule::UnusedNoqa) {
        return kept;
    }
    let mut rows: Vec<&usize> = suppressions.lines.keys().collect();
    rows.sort();
    for row in rows {
        let directive = &suppressions.lines[row];
        let Some(codes) = &directive.codes else {
            continue;
        };
        let used_here = used.get(row).cloned().unwrap_or_default();
        let unused: Vec<&(String, TextRange)> = codes
            .iter()
            .filter(|(code, _)| code.starts_with("NG") && !used_here.contains(code))
            .collect();
        if unused.is_empty() {
            continue;
        }
        let names: Vec<&str> = unused.iter().map(|(code, _)| code.as_str()).collect();
        let remaining: Vec<&str> = codes
            .iter()
            .map(|(code, _)| code.as_str())
            .filter(|code| !names.contains(code))
            .collect();
        // Remove the whole directive when nothing is left, else only the unused codes.
        let edit = if remaining.is_empty() {
            let start = usize::from(directive.range.start());
            let line_start = crate::lines::line_start(source, start);
            let before = &source[line_start..start];
            let trimmed_start = if before.trim().is_empty() {
                directive.range.start()
            } else {
                TextSize::try_from(line_start + before.trim_end().len()).unwrap_or_default()
            };
            // Text after the codes (`# noqa: NG104 reviewed`) stays a comment: removing its `#`
            // would turn it into code.
            let rest = &source[TextRange::new(directive.range.end(), directive.comment.end())];
            let content = if rest.trim().is_empty() || rest.trim_start().starts_with('#') {
                ""
            } else if before.trim().is_empty() {
                "#"
            } else {
                "  #"
            };
            Edit {
                range: TextRange::new(trimmed_start, directive.range.end()),
                content: content.to_string(),
            }
        } else {
            let first = codes.first().map(|(_, r)| r.start()).unwrap_or_default();
            let last = codes.last().map(|(_, r)| r.end()).unwrap_or_default();
            Edit {
                range: TextRange::new(first, last),
                content: remaining.join(", "),
            }
        };
        kept.push(
            Diagnostic::new(
                Rule::UnusedNoqa,
                format!(
                    "unused `noqa` directive: `{}` silences nothing on this line",
                    names.join(", ")
                ),
                directive.range,
            )
            .with_severity(Severity::Warning)
            .with_label("nothing to silence")
            .with_fix(Some(crate::fix::fix(
                FixApplicability::Safe,
                "Remove the unused code".to_string(),
                vec![edit],
            ))),
        );
    }
    kept
}

/// `--add-noqa`: the source with `# noqa: CODES` added to each line that has findings (merged
/// into an existing directive). Lines that end inside a multi-line string are left alone,
/// since a comment there would change the string. Returns the new text and how many lines
/// were annotated.
pub fn add_noqa(
    source: &str,
    path: &std::path::Path,
    findings: &[(usize, Rule)],
) -> (String, usize) {
    let edits = noqa_edits(source, path, findings);
    let count = edits.len();
    let fix = crate::fix::fix(FixApplicability::Safe, "add noqa", edits);
    (crate::fix::apply_fixes(source, &[&fix]), count)
}

/// The edits [`add_noqa`] makes, one per annotated line: the language server offers them as
/// a code action instead of writing the file.
pub fn noqa_edits(source: &str, path: &std::path::Path, findings: &[(usize, Rule)]) -> Vec<Edit> {
    let source_type = ruff_python_ast::PySourceType::from(path);
    let parsed = ruff_python_parser::parse_unchecked_source(source, source_type);
    if !parsed.errors().is_empty() {
        return Vec::new();
    }
    let suppressions = Suppressions::from_tokens(source, parsed.tokens());
    let mut by_row: std::collections::BTreeMap<usize, Vec<&'static str>> = Default::default();
    for (row, rule) in findings {
        if *rule == Rule::SyntaxError || *rule == Rule::UnusedNoqa {
            continue;
        }
        let codes = by_row.entry(*row).or_default();
        if !codes.contains(&rule.code()) {
            codes.push(rule.code());
        }
    }
    let mut edits: Vec<Edit> = Vec::new();
    let mut offset = 0usize;
    for (index, line) in crate::lines::split_inclusive(source).enumerate() {
        let row = index + 1;
        let start = offset;
        offset += line.len();
        let Some(codes) = by_row.get(&row) else {
            continue;
        };
        let content_end = start + line.trim_end_matches(['\n', '\r']).len();
        let end = TextSize::try_from(content_end).unwrap_or_default();
        let inside_token = parsed.tokens().iter().any(|token| {
            token.kind() != TokenKind::Comment && token.start() < end && end < token.end()
        });
        if inside_token {
            continue;
        }
        match suppressions.lines.get(&row) {
            Some(LineDirective { codes: None, .. }) => {}
            Some(LineDirective {
                codes: Some(existing),
                ..
            }) => {
                let missing: Vec<&str> = codes
                    .iter()
                    .copied()
                    .filter(|code| !existing.iter().any(|(c, _)| c == code))
                    .collect();
                if let (false, Some((_, last))) = (missing.is_empty(), existing.last()) {
                    edits.push(Edit {
                        range: TextRange::empty(last.end()),
                        content: format!(", {}", missing.join(", ")),
                    });
                }
            }
            None => edits.push(Edit {
                range: TextRange::empty(end),
                content: format!("  # noqa: {}", codes.join(", ")),
            }),
        }
    }
    edits
}

/// Whether `text` contains "noqa" in any case. Found from its `q`, the rarest of its letters
/// in code.
fn mentions_noqa(text: &[u8]) -> bool {
    memchr::memchr2_iter(b'q', b'Q', text).any(|at| {
        at >= 2
            && text
                .get(at - 2..at + 2)
                .is_some_and(|word| word.eq_ignore_ascii_case(b"noqa"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_wide_search_finds_noqa_in_any_case() {
        assert!(mentions_noqa(b"x = 1  # NoQA: NG101"));
        assert!(mentions_noqa(b"noqa"));
        assert!(!mentions_noqa(b"qa = 1  # no q-a here, nor in 'oqa'"));
        assert!(!mentions_noqa(b"q"));
    }

    fn suppressions(source: &str) -> Suppressions {
        let parsed = ruff_python_parser::parse_module(source).unwrap();
        Suppressions::from_tokens(source, parsed.tokens())
    }

    #[test]
    fn parses_flake8_style_directives() {
        let s = suppressions(
            "a = 1  # noqa\nb = 2  # NOQA:NG101,NG102\nc = 3  # type: ignore  # noqa: NG103 trailing words\nd = '# noqa'\n",
        );
        assert!(s.lines[&1].codes.is_none());
        let codes: Vec<&str> = s.lines[&2]
            .codes
            .as_ref()
            .unwrap()
            .iter()
            .map(|(c, _)| c.as_str())
            .collect();
        assert_eq!(codes, ["NG101", "NG102"]);
        let codes: Vec<&str> = s.lines[&3]
            .codes
            .as_ref()
            .unwrap()
            .iter()
            .map(|(c, _)| c.as_str())
            .collect();
        assert_eq!(codes, ["NG103"]);
        assert!(!s.lines.contains_key(&4), "a string is not a comment");
    }

    #[test]
    fn file_level_directives() {
        let s = suppressions("# nogil-lint: noqa: NG105, NG106\nx = 1\n");
        assert_eq!(s.file_codes, ["NG105", "NG106"]);
        assert!(!s.file_all);
        assert!(suppressions("x = 1  # nogil-lint: noqa\n").file_all);
    }
}
