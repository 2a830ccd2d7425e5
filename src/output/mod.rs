//! Output formats. Every format reads the same sorted [`FileReport`]s.

pub mod catalogue;
mod ci;
mod frame;
mod full;
mod json;

use std::io::{self, Write};

use crate::diagnostic::FixApplicability;
use crate::report::FileReport;

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Code frames with labels and help (the default).
    Full,
    /// One line per finding: `path:row:col: CODE message`.
    Concise,
    /// A JSON array in Ruff's shape, for editors and tools.
    Json,
    /// One JSON object per line.
    JsonLines,
    /// GitHub Actions workflow annotations.
    Github,
    /// Findings grouped by file.
    Grouped,
    /// JUnit XML.
    Junit,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

/// How to print.
#[derive(Copy, Clone, Debug)]
pub struct PrintOptions {
    pub format: OutputFormat,
    pub color: bool,
    /// Print findings only, without the summary line.
    pub quiet: bool,
    /// Unsafe fixes are enabled (`--unsafe-fixes`): count them as available.
    pub unsafe_fixes: bool,
}

pub fn print(reports: &[FileReport], options: PrintOptions, out: &mut dyn Write) -> io::Result<()> {
    match options.format {
        OutputFormat::Full => {
            full::print(reports, options.color, out)?;
            if !options.quiet {
                print_summary(reports, options.unsafe_fixes, out)?;
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
                print_summary(reports, options.unsafe_fixes, out)?;
            }
        }
        OutputFormat::Json => json::print(reports, out)?,
        OutputFormat::JsonLines => ci::json_lines(reports, out)?,
        OutputFormat::Github => ci::github(reports, out)?,
        OutputFormat::Junit => ci::junit(reports, out)?,
        OutputFormat::Sarif => ci::sarif(reports, out)?,
        OutputFormat::Grouped => {
            ci::grouped(reports, out)?;
            if !options.quiet {
                print_summary(reports, options.unsafe_fixes, out)?;
            }
        }
    }
    Ok(())
}

/// `--statistics`: the number of findings per code, with its name and how many are fixable.
pub fn print_statistics(
    reports: &[FileReport],
    format: OutputFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut counts: std::collections::BTreeMap<crate::registry::Rule, (usize, usize)> =
        std::collections::BTreeMap::new();
    for message in reports.iter().flat_map(|report| &report.messages) {
        let entry = counts.entry(message.diagnostic.rule).or_default();
        entry.0 += 1;
        if message.diagnostic.fix.is_some() {
            entry.1 += 1;
        }
    }
    if format == OutputFormat::Json {
        let rows: Vec<serde_json::Value> = counts
            .iter()
            .map(|(rule, (count, fixable))| {
                serde_json::json!({
                    "code": rule.code(),
                    "name": rule.name(),
                    "count": count,
                    "fixable": fixable,
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &rows).map_err(json_io)?;
        return writeln!(out);
    }
    for (rule, (count, fixable)) in &counts {
        let fixable = if *fixable > 0 {
            format!("{fixable} fixable")
        } else {
            String::new()
        };
        writeln!(
            out,
            "{count:>6}  {}  {:<34} {fixable}",
            rule.code(),
            rule.name()
        )?;
    }
    Ok(())
}

/// Keeps the kind of an I/O error inside a JSON error (a closed pipe stays a closed pipe).
pub(crate) fn json_io(error: serde_json::Error) -> io::Error {
    match error.io_error_kind() {
        Some(kind) => io::Error::new(kind, error),
        None => io::Error::other(error),
    }
}

/// `1 finding`, `2 findings`.
pub fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// `Found 12 findings in 4 files (3 fixed, 9 remaining).` / `All checks passed.`, then how many
/// more `--fix` or `--unsafe-fixes` would fix.
pub fn print_summary(
    reports: &[FileReport],
    unsafe_fixes: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let remaining: usize = reports.iter().map(|report| report.messages.len()).sum();
    let fixed: usize = reports
        .iter()
        .flat_map(|report| &report.fixed)
        .map(|(_, count)| count)
        .sum();
    let files = reports
        .iter()
        .filter(|report| !report.messages.is_empty() || !report.fixed.is_empty())
        .count();
    let fixable = |applicability: FixApplicability| {
        reports
            .iter()
            .flat_map(|report| &report.messages)
            .filter(|message| {
                message
                    .diagnostic
                    .fix
                    .as_ref()
                    .is_some_and(|fix| fix.applicability == applicability)
            })
            .count()
    };
    let (safe, unsafe_only) = (
        fixable(FixApplicability::Safe),
        fixable(FixApplicability::Unsafe),
    );
    let total = remaining + fixed;
    if total == 0 {
        return writeln!(out, "All checks passed.");
    }
    if fixed > 0 {
        writeln!(
            out,
            "Found {} in {} ({fixed} fixed, {remaining} remaining).",
            plural(total, "finding"),
            plural(files, "file")
        )?;
    } else {
        writeln!(
            out,
            "Found {} in {}.",
            plural(total, "finding"),
            plural(files, "file")
        )?;
    }
    let with_fix = if unsafe_fixes {
        safe + unsafe_only
    } else {
        safe
    };
    if with_fix > 0 {
        let flags = if unsafe_fixes {
            "`--fix --unsafe-fixes`"
        } else {
            "`--fix`"
        };
        writeln!(out, "{with_fix} fixable with {flags}.")?;
    }
    if !unsafe_fixes && unsafe_only > 0 {
        writeln!(
            out,
            "{} more with `--fix --unsafe-fixes` (review them: they change behaviour).",
            unsafe_only
        )?;
    }
    Ok(())
}
