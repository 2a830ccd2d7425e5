//! NG001 syntax-error: a file that does not parse or decode.
//!
//! The rule's documentation is `rules/NG001.md` (`nogil-lint rule NG001` prints it).

use ruff_python_parser::ParseError;
use ruff_text_size::TextRange;

use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::Rule;

/// One NG001 per parse error, at the error's range.
pub fn from_parse_error(error: &ParseError) -> Diagnostic {
    Diagnostic::new(
        Rule::SyntaxError,
        format!("SyntaxError: {}", error.error),
        error.location,
    )
    .with_severity(Severity::Error)
    .with_label("here")
}

/// A file whose bytes are not valid UTF-8: reported at the first invalid byte.
pub fn from_decode_error(valid_up_to: usize, message: &str) -> Diagnostic {
    let offset = ruff_text_size::TextSize::try_from(valid_up_to).unwrap_or_default();
    Diagnostic::new(
        Rule::SyntaxError,
        message.to_string(),
        TextRange::empty(offset),
    )
    .with_severity(Severity::Error)
}
