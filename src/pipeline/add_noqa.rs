//! `--add-noqa`: a `# noqa: CODES` comment on every line with findings, written back in the
//! file's own encoding, so a project can adopt nogil-lint and fix its findings gradually.

use crate::discovery;
use crate::linter::{self, Decoded};
use crate::registry::Rule;
use crate::report::FileReport;

/// Adds the directives the reports call for to their files. Returns how many were added and
/// the files that could not be written.
pub fn add_noqa(reports: &[FileReport]) -> (usize, Vec<String>) {
    let mut added = 0;
    let mut errors = Vec::new();
    for report in reports {
        let Some(path) = &report.path else { continue };
        if report.messages.is_empty() || !discovery::is_python_file(path) {
            continue;
        }
        let findings: Vec<(usize, Rule)> = report
            .messages
            .iter()
            .map(|message| (message.noqa_row, message.diagnostic.rule))
            .collect();
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let Decoded::Text(text, encoding) = linter::decode(bytes) else {
            continue;
        };
        let (new_text, count) = crate::noqa::add_noqa(&text, path, &findings);
        if count == 0 || new_text == text {
            continue;
        }
        let written = encoding
            .encode(&new_text)
            .ok_or_else(|| std::io::Error::other("cannot encode"))
            .and_then(|bytes| crate::fix::write_atomically(path, &bytes));
        match written {
            Ok(()) => added += count,
            Err(error) => errors.push(format!("cannot write {}: {error}", path.display())),
        }
    }
    (added, errors)
}
