//! Output formats. Every format reads the same sorted [`FileReport`]s.

mod full;
mod json;

use std::io::{self, Write};

use crate::linter::FileReport;

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Code frames with labels and help (the default).
    Full,
    /// One line per finding: `path:row:col: CODE message`.
    Concise,
    /// A JSON array in Ruff's shape, for editors and tools.
    Json,
}

/// How to print.
#[derive(Copy, Clone, Debug)]
pub struct PrintOptions {
    pub format: OutputFormat,
    pub color: bool,
    /// Print findings only, without the summary line.
    pub quiet: bool,
}

pub fn print(reports: &[FileReport], options: PrintOptions, out: &mut dyn Write) -> io::Result<()> {
    match options.format {
        OutputFormat::Full => {
            full::print(reports, options.color, out)?;
            if !options.quiet {
                print_summary(reports, out)?;
            }
        }
        OutputFormat::Concise => {
            for report in reports {
                for message in &report.messages {
                    writeln!(
                        out,
                        "{}:{}:{}: {} {}",
                        message.filename,
                        message.start.row,
                        message.start.column,
                        message.diagnostic.rule.code(),
                        message.diagnostic.message
                    )?;
                }
            }
            if !options.quiet {
                print_summary(reports, out)?;
            }
        }
        OutputFormat::Json => json::print(reports, out)?,
    }
    Ok(())
}

/// `Found 12 findings in 4 files.` / `All checks passed.`
pub fn print_summary(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    let findings: usize = reports.iter().map(|report| report.messages.len()).sum();
    let files = reports
        .iter()
        .filter(|report| !report.messages.is_empty())
        .count();
    if findings == 0 {
        writeln!(out, "All checks passed.")
    } else {
        writeln!(
            out,
            "Found {findings} finding{} in {files} file{}.",
            if findings == 1 { "" } else { "s" },
            if files == 1 { "" } else { "s" }
        )
    }
}
