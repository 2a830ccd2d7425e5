//! Fixes only the project phase can decide (NG301, whose workers may live in other modules;
//! NG202, in requirement files), applied after it.

use std::path::Path;

use crate::diagnostic::Severity;
use crate::linter;
use crate::registry::Rule;
use crate::report::FileReport;
use crate::settings::FixMode;

/// Applies the fixes only the project phase can decide (NG301: the workers may live in other
/// modules). Their edits were computed on the text the first phase analysed, which is the
/// file as the first phase left it. Findings below `min_severity` are not shown, so their
/// fixes are not applied either.
pub(super) fn apply_project_fixes(
    reports: &mut [FileReport],
    mode: FixMode,
    min_severity: Severity,
) {
    let threshold = match mode {
        FixMode::Apply(threshold) | FixMode::Diff(threshold) => threshold,
        FixMode::Report | FixMode::ApplyToOutput(_) => return,
    };
    for report in reports.iter_mut() {
        let fixable: Vec<usize> = report
            .messages
            .iter()
            .enumerate()
            .filter(|(_, message)| {
                matches!(
                    message.diagnostic.rule,
                    Rule::ProcessPoolConvertible | Rule::PinnedBelowFreeThreading
                ) && message.diagnostic.severity >= min_severity
                    && message
                        .diagnostic
                        .fix
                        .as_ref()
                        .is_some_and(|fix| fix.applicability >= threshold)
            })
            .map(|(index, _)| index)
            .collect();
        if fixable.is_empty() {
            continue;
        }
        let fixed_rule = report.messages[fixable[0]].diagnostic.rule;
        let fixes: Vec<&crate::diagnostic::Fix> = fixable
            .iter()
            .filter_map(|&index| report.messages[index].diagnostic.fix.as_ref())
            .collect();
        let Some(path) = report.path.clone() else {
            continue;
        };
        let applied = match mode {
            FixMode::Diff(_) => match &mut report.diff_base {
                Some((_, fixed)) => {
                    let candidate = crate::fix::apply_fixes(fixed, &fixes);
                    let ok = still_valid(&path, &candidate);
                    if ok {
                        *fixed = candidate;
                    }
                    ok
                }
                None => false,
            },
            _ => {
                let result = std::fs::read(&path)
                    .map_err(|error| error.to_string())
                    .and_then(|bytes| match linter::decode(bytes) {
                        linter::Decoded::Text(text, encoding) => Ok((text, encoding)),
                        linter::Decoded::Undecodable(..) => {
                            Err("the file no longer decodes".into())
                        }
                    })
                    .and_then(|(text, encoding)| {
                        let candidate = crate::fix::apply_fixes(&text, &fixes);
                        if !still_valid(&path, &candidate) {
                            return Err("the fix would not parse".to_string());
                        }
                        let bytes = encoding
                            .encode(&candidate)
                            .ok_or_else(|| "the fixed text cannot be encoded".to_string())?;
                        crate::fix::write_atomically(&path, &bytes)
                            .map_err(|error| error.to_string())
                    });
                match result {
                    Ok(()) => true,
                    Err(error) => {
                        report
                            .fix_errors
                            .push(format!("NG301 fix not applied: {error}"));
                        false
                    }
                }
            }
        };
        if applied {
            let count = fixable.len();
            for index in fixable.into_iter().rev() {
                report.messages.remove(index);
            }
            report.fixed.push((fixed_rule, count));
        }
    }
}

/// A fixed text still parses as what the file is: Python, or TOML for `pyproject.toml`.
fn still_valid(path: &Path, text: &str) -> bool {
    match path.extension().and_then(|ext| ext.to_str()) {
        Some("py" | "pyi") => crate::fix::parses(text, path),
        Some("toml") => toml::from_str::<toml::Value>(text).is_ok(),
        _ => true,
    }
}
