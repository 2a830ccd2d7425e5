//! The default format: a miette graphical report per finding, with the code frame, a label on
//! the exact range and the help text.

use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};

use crate::diagnostic::{FixApplicability, Severity};
use crate::report::{FileReport, Message};

use super::frame::{CodeFrame, LineStarts};

struct Finding<'r> {
    message: &'r Message,
    frame: CodeFrame,
}

impl fmt::Debug for Finding<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finding")
            .field("code", &self.message.diagnostic.rule.code())
            .finish()
    }
}

impl fmt::Display for Finding<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message.diagnostic.message)
    }
}

impl std::error::Error for Finding<'_> {}

impl miette::Diagnostic for Finding<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let rule = self.message.diagnostic.rule;
        Some(Box::new(format!("{} ({})", rule.code(), rule.name())))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.message.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            // Drawn with the advice marker (☞) and colour, so it cannot pass for a warning.
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let diagnostic = &self.message.diagnostic;
        let fix = diagnostic.fix.as_ref().map(|fix| {
            let kind = match fix.applicability {
                FixApplicability::Safe => "fix",
                FixApplicability::Unsafe => "unsafe fix",
                FixApplicability::DisplayOnly => "suggested fix",
            };
            format!("{kind}: {}", fix.message)
        });
        let text = match (&diagnostic.help, fix) {
            (Some(help), Some(fix)) => format!("{help}\n{fix}"),
            (Some(help), None) => help.clone(),
            (None, Some(fix)) => fix,
            (None, None) => return None,
        };
        Some(Box::new(text))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.frame)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.frame.span;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            self.message.diagnostic.label.clone(),
            span,
        ))))
    }
}

pub fn print(reports: &[FileReport], color: bool, out: &mut dyn Write) -> io::Result<()> {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    for report in reports {
        if report.messages.is_empty() {
            continue;
        }
        let text: Arc<str> = report.source.clone().unwrap_or_else(|| Arc::from(""));
        let lines = LineStarts::new(&text);
        for message in &report.messages {
            let range = message.diagnostic.range;
            let finding = Finding {
                message,
                frame: CodeFrame::new(
                    &report.filename,
                    &text,
                    &lines,
                    (usize::from(range.start()), usize::from(range.end())),
                    message.start.column,
                ),
            };
            let mut rendered = String::new();
            handler
                .render_report(&mut rendered, &finding)
                .map_err(io::Error::other)?;
            writeln!(out, "{}", rendered.trim_end())?;
            writeln!(out)?;
        }
    }
    Ok(())
}
