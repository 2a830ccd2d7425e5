//! One finding per decision: every import of one extension package across the project is the
//! same decision (upgrade it, replace it, or keep it off the free-threaded path), so a run
//! shows it in one file, the one with its most severe import, and lists the imports of the
//! other files in it.

use crate::diagnostic::{Related, RelatedLocation};
use crate::registry::Rule;
use crate::report::FileReport;

/// How many other places the message names; the rest are counted (all are related locations).
const NAMED: usize = 3;

/// Folds the shown findings that share a rule and a group into the first of the most severe;
/// the others of that finding's file stay (they are in the same frame of the report).
/// Runs after the severity filter, so that what is folded in is what would have been shown.
pub fn fold_grouped_findings(reports: &mut [FileReport]) {
    // (rule, group) -> (report, message) of the finding that stays, and the others.
    let mut groups: rustc_hash::FxHashMap<(Rule, String), Vec<(usize, usize)>> = Default::default();
    for (report_index, report) in reports.iter().enumerate() {
        for (message_index, message) in report.messages.iter().enumerate() {
            if let Some(group) = &message.diagnostic.group {
                groups
                    .entry((message.diagnostic.rule, group.clone()))
                    .or_default()
                    .push((report_index, message_index));
            }
        }
    }
    let mut removed: Vec<(usize, usize)> = Vec::new();
    for places in groups.into_values() {
        if places.iter().all(|&(report, _)| report == places[0].0) {
            continue;
        }
        // The most severe first; among equals, the first file and line (reports are sorted).
        let &(kept_report, kept_message) = places
            .iter()
            .max_by(|a, b| {
                let severity =
                    |(r, m): &(usize, usize)| reports[*r].messages[*m].diagnostic.severity;
                severity(a).cmp(&severity(b)).then(b.cmp(a))
            })
            .unwrap_or(&places[0]);
        let folded = |&&(report, _): &&(usize, usize)| report != kept_report;
        let others: Vec<(String, usize, Option<std::path::PathBuf>)> = places
            .iter()
            .filter(folded)
            .map(|&(r, m)| {
                let report = &reports[r];
                let row = report.messages[m].start.row;
                (report.filename.to_string(), row, report.path.clone())
            })
            .collect();
        let mut named: Vec<String> = others
            .iter()
            .take(NAMED)
            .map(|(file, row, _)| format!("{file}:{row}"))
            .collect();
        if others.len() > NAMED {
            named.push(format!("{} more", others.len() - NAMED));
        }
        let kept = &mut reports[kept_report].messages[kept_message].diagnostic;
        kept.message.push_str(&format!(
            " (also imported in {} other place{}: {})",
            others.len(),
            if others.len() == 1 { "" } else { "s" },
            named.join(", ")
        ));
        for (file, row, path) in &others {
            kept.related.push(Related {
                message: "also imported here".to_string(),
                location: RelatedLocation::Line {
                    path: path.clone().unwrap_or_else(|| file.into()),
                    line: *row,
                },
            });
        }
        removed.extend(places.iter().filter(folded).copied());
    }
    // Remove from the back of each report so that the indexes stay valid.
    removed.sort_unstable_by(|a, b| b.cmp(a));
    for (report, message) in removed {
        reports[report].messages.remove(message);
    }
}
