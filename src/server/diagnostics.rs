//! Findings as protocol diagnostics: the code, the severity, the message, the range in the
//! negotiated encoding, and the related places (the thread entry that reaches the code, the
//! locked write NG107 compares with).

use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position, Range,
    Uri,
};

use crate::diagnostic::{RelatedLocation, Severity};
use crate::report::Message;

use super::positions::{Lines, path_to_uri};

pub const SOURCE: &str = "nogil-lint";

pub fn severity(severity: Severity) -> DiagnosticSeverity {
    match severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Info => DiagnosticSeverity::INFORMATION,
    }
}

/// The diagnostics of a document's findings, in their order.
pub fn to_lsp(messages: &[Message], lines: &Lines<'_>, uri: &Uri) -> Vec<lsp_types::Diagnostic> {
    messages
        .iter()
        .map(|message| {
            let diagnostic = &message.diagnostic;
            let mut text = diagnostic.message.clone();
            if let Some(help) = &diagnostic.help {
                text.push_str(&format!("\nhelp: {help}"));
            }
            let related: Vec<DiagnosticRelatedInformation> = diagnostic
                .related
                .iter()
                .filter_map(|related| {
                    let location = match &related.location {
                        RelatedLocation::Here(range) => Location {
                            uri: uri.clone(),
                            range: lines.range(*range),
                        },
                        // The project phase knows another file's line, not its text: the whole
                        // line is the range.
                        RelatedLocation::Line { path, line } => {
                            let line = u32::try_from(line.saturating_sub(1)).ok()?;
                            Location {
                                uri: path_to_uri(path)?,
                                range: Range::new(
                                    Position::new(line, 0),
                                    Position::new(line + 1, 0),
                                ),
                            }
                        }
                    };
                    Some(DiagnosticRelatedInformation {
                        location,
                        message: related.message.clone(),
                    })
                })
                .collect();
            lsp_types::Diagnostic {
                range: lines.range(diagnostic.range),
                severity: Some(severity(diagnostic.severity)),
                code: Some(NumberOrString::String(diagnostic.rule.code().to_string())),
                code_description: None,
                source: Some(SOURCE.to_string()),
                message: text,
                related_information: (!related.is_empty()).then_some(related),
                tags: None,
                data: None,
            }
        })
        .collect()
}
