//! `--output-format json`: one array in Ruff's shape, so tools that read Ruff's JSON read ours.

use std::io::{self, Write};

use serde::Serialize;

use crate::diagnostic::{FixApplicability, Location};
use crate::registry::Rule;
use crate::report::{FileReport, Message};

#[derive(Serialize)]
struct JsonEdit {
    content: String,
    location: Location,
    end_location: Location,
}

#[derive(Serialize)]
struct JsonFix {
    applicability: FixApplicability,
    message: String,
    edits: Vec<JsonEdit>,
}

#[derive(Serialize)]
pub struct JsonMessage<'a> {
    /// `null` for a file that could not be read.
    code: Option<&'a str>,
    name: &'a str,
    severity: &'a str,
    message: &'a str,
    filename: &'a str,
    location: Location,
    end_location: Location,
    fix: Option<JsonFix>,
    noqa_row: Option<usize>,
    url: Option<String>,
}

fn to_json(message: &Message) -> JsonMessage<'_> {
    let rule: Rule = message.diagnostic.rule;
    JsonMessage {
        code: Some(rule.code()),
        name: rule.name(),
        severity: message.diagnostic.severity.as_str(),
        message: &message.diagnostic.message,
        filename: &message.filename,
        location: message.start,
        end_location: message.end,
        fix: message.diagnostic.fix.as_ref().map(|fix| JsonFix {
            applicability: fix.applicability,
            message: fix.message.clone(),
            edits: message
                .fix_edits
                .iter()
                .map(|edit| JsonEdit {
                    content: edit.content.clone(),
                    location: edit.start,
                    end_location: edit.end,
                })
                .collect(),
        }),
        noqa_row: Some(message.noqa_row),
        // Ruff's shape has a documentation link here; the documentation is in the binary
        // (`nogil-lint rule CODE`) until the project has a public home.
        url: None,
    }
}

pub fn print(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    let entries = entries(reports);
    serde_json::to_writer_pretty(&mut *out, &entries).map_err(super::json_io)?;
    writeln!(out)
}

/// The JSON objects of every finding (and unreadable file), in report order.
pub fn entries(reports: &[FileReport]) -> Vec<JsonMessage<'_>> {
    let start = Location { row: 1, column: 1 };
    let mut entries: Vec<JsonMessage<'_>> = Vec::new();
    for report in reports {
        if let Some(error) = &report.io_error {
            entries.push(JsonMessage {
                code: None,
                name: "io-error",
                severity: "error",
                message: error,
                filename: &report.filename,
                location: start,
                end_location: start,
                fix: None,
                noqa_row: None,
                url: None,
            });
        }
        entries.extend(report.messages.iter().map(to_json));
    }
    entries
}
