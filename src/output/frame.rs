//! The code frame under a finding: the lines around it, cut to a readable width.
//!
//! The frame is an excerpt, not the whole file: a finding in a 50 MB generated module, or on a
//! line of a million characters, renders as quickly as one in a small file, and the report
//! renderer never sees a line too long to lay out.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// Lines of context above and below the finding, as the report renderer shows.
const CONTEXT_LINES: usize = 1;
/// Characters shown of a long line.
const MAX_LINE_CHARS: usize = 200;
/// Of those, how many come before the finding's column on the line that holds it.
const LEAD_CHARS: usize = 60;
/// A finding spanning more lines is framed by its first lines only.
const MAX_SPAN_LINES: usize = 12;

/// Where every line of a source starts (after `\n`, `\r\n` or a lone `\r`), computed once per
/// file so that framing each finding is a binary search.
pub struct LineStarts(Vec<usize>);

impl LineStarts {
    pub fn new(text: &str) -> Self {
        LineStarts(crate::lines::line_starts(text))
    }

    /// The 0-based line holding `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset) - 1
    }

    /// The line's text without its line break.
    fn line<'t>(&self, text: &'t str, line: usize) -> &'t str {
        let start = self.0[line];
        let end = self.0.get(line + 1).copied().unwrap_or(text.len());
        text[start..end].trim_end_matches(['\n', '\r'])
    }

    fn count(&self) -> usize {
        self.0.len()
    }
}

/// An excerpt of a file around one finding, with the finding's span inside it.
pub struct CodeFrame {
    name: String,
    text: String,
    /// The 0-based line of the file the excerpt starts at.
    first_line: usize,
    /// The 1-based character column of the finding in the file, for the frame's header.
    column: usize,
    pub span: SourceSpan,
}

impl CodeFrame {
    /// Frames the byte range `start..end` of `text` (clamped to the text and to character
    /// boundaries); `column` is the finding's 1-based character column in the file.
    pub fn new(
        name: &str,
        text: &str,
        lines: &LineStarts,
        (start, end): (usize, usize),
        column: usize,
    ) -> Self {
        let start = floor_char_boundary(text, start.min(text.len()));
        let end = floor_char_boundary(text, end.clamp(start, text.len()));
        let start_line = lines.line_of(start);
        let end_line = lines
            .line_of(end.saturating_sub(1).max(start))
            .min(start_line + MAX_SPAN_LINES - 1);
        let first_line = start_line.saturating_sub(CONTEXT_LINES);
        let last_line = (end_line + CONTEXT_LINES).min(lines.count() - 1);

        let mut excerpt = String::new();
        let mut span_start = None;
        let mut span_end = None;
        for line in first_line..=last_line {
            let line_text = lines.line(text, line);
            let line_offset = lines.0[line];
            // Byte offsets of the span on this line, relative to the line.
            let on_line = |offset: usize| {
                (offset >= line_offset && offset <= line_offset + line_text.len())
                    .then(|| offset - line_offset)
            };
            let local_start = on_line(start).filter(|_| line == start_line);
            let local_end = on_line(end).filter(|_| line == end_line);
            let (shown, shown_from) = visible_part(line_text, local_start.or(local_end));
            let base = excerpt.len();
            let prefix = if shown_from > 0 { "…" } else { "" };
            excerpt.push_str(prefix);
            excerpt.push_str(shown);
            let cut_right = shown_from + shown.len() < line_text.len();
            // Map a position on the line into the excerpt, clamped to what is shown.
            let map = |local: usize| {
                base + prefix.len() + local.saturating_sub(shown_from).min(shown.len())
            };
            if line == start_line {
                span_start = Some(map(local_start.unwrap_or(0)));
            }
            if line == end_line {
                span_end = Some(match local_end {
                    Some(local) => map(local),
                    // The span takes in the line break (a syntax error at the end of a line).
                    None if end > line_offset + line_text.len() && !cut_right => {
                        base + prefix.len() + shown.len() + 1
                    }
                    None => map(line_text.len()),
                });
            }
            if cut_right {
                excerpt.push('…');
            }
            excerpt.push('\n');
        }
        let span_start = span_start.unwrap_or(0);
        let span_end = span_end.unwrap_or(span_start).max(span_start);
        CodeFrame {
            name: name.to_string(),
            text: excerpt,
            first_line,
            column,
            span: SourceSpan::new(span_start.into(), span_end - span_start),
        }
    }
}

/// The part of a line to show: all of it when short, otherwise a window of `MAX_LINE_CHARS`
/// characters starting a little before `focus` (a byte offset on the line). Returns the part
/// and its byte offset on the line.
fn visible_part(line: &str, focus: Option<usize>) -> (&str, usize) {
    if line.len() <= MAX_LINE_CHARS {
        return (line, 0);
    }
    let focus = floor_char_boundary(line, focus.unwrap_or(0).min(line.len()));
    let lead_bytes: usize = line[..focus]
        .chars()
        .rev()
        .take(LEAD_CHARS)
        .map(char::len_utf8)
        .sum();
    let from = focus - lead_bytes;
    let length: usize = line[from..]
        .chars()
        .take(MAX_LINE_CHARS)
        .map(char::len_utf8)
        .sum();
    (&line[from..from + length], from)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

impl SourceCode for CodeFrame {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let contents = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        // Line numbers are the file's, not the excerpt's; so is the column of the finding
        // itself (the renderer reads it without context for the frame's header).
        let column = if context_lines_before == 0 && span.offset() == self.span.offset() {
            self.column.saturating_sub(1)
        } else {
            contents.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            *contents.span(),
            contents.line() + self.first_line,
            column,
            contents.line_count(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str, start: usize, end: usize) -> CodeFrame {
        CodeFrame::new("t.py", text, &LineStarts::new(text), (start, end), 1)
    }

    fn spanned(frame: &CodeFrame) -> &str {
        let start = frame.span.offset();
        &frame.text[start..start + frame.span.len()]
    }

    #[test]
    fn short_lines_are_kept_with_one_line_of_context() {
        let text = "a = 1\nb = 2\nc += 3\nd = 4\ne = 5\n";
        let start = text.find("c += 3").unwrap();
        let framed = frame(text, start, start + 6);
        assert_eq!(framed.text, "b = 2\nc += 3\nd = 4\n");
        assert_eq!(framed.first_line, 1);
        assert_eq!(spanned(&framed), "c += 3");
    }

    #[test]
    fn a_long_line_is_cut_around_the_finding() {
        let text = format!(
            "x = 1; {}n += 1; {}\n",
            "y = 2; ".repeat(50_000),
            "z".repeat(9_999)
        );
        let start = text.find("n += 1").unwrap();
        let framed = frame(&text, start, start + 6);
        let first = framed.text.lines().next().unwrap();
        // The window, and an ellipsis on each side.
        assert_eq!(first.chars().count(), MAX_LINE_CHARS + 2, "{first}");
        assert!(first.starts_with('…') && first.ends_with('…'));
        assert_eq!(spanned(&framed), "n += 1");
    }

    #[test]
    fn lone_carriage_returns_end_lines_and_multibyte_text_is_cut_on_characters() {
        let text = "a = 1\rb = 'é'\rc = 3\r";
        let start = text.find("b").unwrap();
        let framed = frame(text, start, start + 5);
        assert_eq!(framed.text, "a = 1\nb = 'é'\nc = 3\n");
        let wide = format!("s = '{}'\n", "é".repeat(1_000));
        let framed = frame(&wide, 6, 9);
        assert!(framed.text.is_char_boundary(framed.span.offset()));
        assert!(spanned(&framed).starts_with('é'));
    }

    #[test]
    fn a_span_past_the_end_is_clamped() {
        let framed = frame("x = 1", 3, 99);
        assert_eq!(spanned(&framed), " 1");
        let empty = frame("", 0, 0);
        assert_eq!(empty.span.len(), 0);
    }
}
