//! NG204: imports of installed packages built for the GIL ABI, or that re-enable the GIL, in
//! the environment the project runs in. Runs after the project phase, over every module's
//! imports.

use std::path::Path;

use rustc_hash::FxHashMap;

use crate::environment::{self, Interpreter};
use crate::registry::Rule;
use crate::report::{FileReport, Message};
use crate::settings::Settings;

/// NG204: imports of installed packages built for the GIL ABI or that re-enable the GIL.
pub(super) fn check_environment(
    reports: &mut [FileReport],
    python: &Path,
    interpreter: &Interpreter,
    settings: &Settings,
) {
    let installed = environment::installed(&interpreter.site_packages);
    if !interpreter.gil_disabled {
        eprintln!(
            "warning: {} (Python {}) is not a free-threaded build: NG204 checks only packages known to re-enable the GIL{}",
            python.display(),
            interpreter.version,
            if settings.import_check {
                " and what --import-check observes"
            } else {
                ""
            }
        );
    }
    let mut by_import: FxHashMap<&str, &environment::InstalledDistribution> = FxHashMap::default();
    for distribution in &installed {
        for name in &distribution.imports {
            by_import.entry(name.as_str()).or_insert(distribution);
        }
    }
    // What to import for --import-check: the top-level modules of imported extension packages.
    let mut imported_tops: Vec<String> = reports
        .iter()
        .filter_map(|report| report.facts.as_ref())
        .flat_map(|facts| facts.imports_at.iter())
        .map(|import| import.module.split('.').next().unwrap_or("").to_string())
        .filter(|top| by_import.contains_key(top.as_str()))
        .collect();
    imported_tops.sort();
    imported_tops.dedup();
    let observed = if settings.import_check {
        environment::import_check(python, &imported_tops)
    } else {
        Default::default()
    };
    let table = crate::data::extensions();
    for report in reports.iter_mut() {
        let Some(facts) = &report.facts else { continue };
        let mut added = Vec::new();
        for import in &facts.imports_at {
            if facts
                .suppressions
                .silences(Rule::InstalledExtensionEnablesGil, import.start.row)
            {
                continue;
            }
            let top = import.module.split('.').next().unwrap_or("");
            let Some(distribution) = by_import.get(top) else {
                continue;
            };
            let gil_abi = distribution.gil_abi_extensions();
            let reason = if interpreter.gil_disabled && !gil_abi.is_empty() {
                Some(format!(
                    "installs extension modules built for the GIL ABI (`{}`), which this free-threaded interpreter cannot load",
                    gil_abi[0].rsplit('/').next().unwrap_or(gil_abi[0])
                ))
            } else if let Some(detail) = observed.get(top) {
                Some(format!("re-enabled the GIL when imported ({detail})"))
            } else {
                table
                    .by_name(&distribution.name)
                    .filter(|package| package.status == crate::data::ExtensionStatus::GilEnabled)
                    .map(|_| "is known to re-enable the GIL when imported".to_string())
            };
            let Some(reason) = reason else { continue };
            let diagnostic = crate::diagnostic::Diagnostic::new(
                Rule::InstalledExtensionEnablesGil,
                format!(
                    "`{}` comes from {} {} installed in {}, which {reason}",
                    import.module,
                    distribution.name,
                    distribution.version,
                    python.display()
                ),
                import.range,
            )
            .with_severity(crate::diagnostic::Severity::Warning)
            .with_label("installed build keeps the GIL")
            .with_help("reinstall it from free-threaded wheels, or upgrade to a release that declares free-threading support");
            added.push(Message {
                filename: report.filename.clone(),
                noqa_row: import.start.row,
                start: import.start,
                end: import.end,
                fix_edits: Vec::new(),
                diagnostic,
            });
        }
        if !added.is_empty() {
            report.messages.extend(added);
            report.sort_messages();
        }
    }
}
