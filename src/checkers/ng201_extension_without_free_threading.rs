//! NG201 extension-without-free-threading: an import of a distribution that has no
//! free-threaded build for the target, or whose extension modules turn the GIL back on.
//!
//! The verdict comes from the table's per-target facts (`rules/extensions.toml`, read from
//! the package index and an import check on a free-threaded interpreter): the message names
//! the modules and the date the facts were gathered, so a reader can tell how fresh they are.
//!
//! The rule's documentation is `rules/NG201.md` (`nogil-lint rule NG201` prints it).

use crate::data::{self, ExtensionPackage, ExtensionProblem, TargetVersion};
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::Rule;
use crate::semantic::ModuleRole;

use super::Context;

/// What to do instead: a release that supports the target, a declaration, or an alternative.
pub fn advice(
    package: &ExtensionPackage,
    problem: &ExtensionProblem,
    target: TargetVersion,
) -> String {
    let mut parts = Vec::new();
    match problem {
        ExtensionProblem::NoBuild | ExtensionProblem::PurePythonOnly => {
            if let Some(version) = package.first_release(target) {
                parts.push(format!("upgrade to {} >= {version}", package.name));
            }
        }
        ExtensionProblem::LatestWithoutWheels { .. } => {
            let newest_with = package
                .facts(target)
                .and_then(|facts| facts.releases.last());
            if let Some(version) = newest_with {
                parts.push(format!(
                    "stay on {} {version}, its newest release with free-threaded wheels, or build from source",
                    package.name
                ));
            }
        }
        ExtensionProblem::ReenablesGil { .. } => {
            if let Some(version) = package.gil_free_since.as_deref() {
                parts.push(format!(
                    "upgrade to {} >= {version}, which declares GIL-free modules",
                    package.name
                ));
            }
        }
    }
    if let Some(alternative) = &package.alternative {
        parts.push(format!("or switch to the `{alternative}` distribution"));
    }
    if parts.is_empty() {
        match problem {
            ExtensionProblem::ReenablesGil { .. } => "no release declares GIL-free modules yet; running with `PYTHON_GIL=0` keeps the GIL off at your own risk".to_string(),
            _ => "no release supports it yet: keep it off the free-threaded path, or find an alternative".to_string(),
        }
    } else {
        parts.join(", ")
    }
}

/// Modules as written in a message: "`a`, `b` and 3 more".
fn modules_in_words(modules: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut words: Vec<String> = modules
        .iter()
        .take(SHOWN)
        .map(|module| format!("`{module}`"))
        .collect();
    if modules.len() > SHOWN {
        words.push(format!("{} more", modules.len() - SHOWN));
    }
    words.join(", ")
}

/// The problem in words: "has no free-threaded wheels for 3.14t (index 2026-11-27); …".
pub fn describe(
    package: &ExtensionPackage,
    problem: &ExtensionProblem,
    target: TargetVersion,
) -> String {
    let facts = package.facts(target);
    let when = facts
        .and_then(|facts| facts.date())
        .map(|date| format!(" (index {date})"))
        .unwrap_or_default();
    let target_name = target.as_str();
    match problem {
        ExtensionProblem::NoBuild => {
            let source_build = if let Some(since) = &package.gil_free_since {
                format!(
                    "a source build (it needs a compiler) declares GIL-free modules since {since}"
                )
            } else if package.compiled_modules.is_empty() {
                "pip builds it from source, which needs a compiler".to_string()
            } else {
                format!(
                    "a source build re-enables the GIL in {}",
                    modules_in_words(&package.compiled_modules)
                )
            };
            format!("has no free-threaded wheels for {target_name}{when}; {source_build}")
        }
        ExtensionProblem::PurePythonOnly => {
            let without = if package.compiled_modules.is_empty() {
                "its compiled accelerator".to_string()
            } else {
                modules_in_words(&package.compiled_modules)
            };
            format!(
                "has no free-threaded wheels for {target_name}{when}: installers fall back to its pure-Python wheel, without {without}"
            )
        }
        ExtensionProblem::LatestWithoutWheels { latest } => format!(
            "has free-threaded wheels for {target_name} since {}, but not for its newest release {latest}{when}: pip builds that one from source",
            package
                .first_release(target)
                .unwrap_or("an earlier release")
        ),
        ExtensionProblem::ReenablesGil { modules } => {
            let checked = facts
                .and_then(|facts| facts.import_check.as_deref())
                .map(|check| format!(" (import check: {check})"))
                .unwrap_or_default();
            if modules.is_empty() {
                format!(
                    "publishes free-threaded wheels, but importing its extension modules re-enables the GIL on {target_name}{checked}"
                )
            } else {
                format!(
                    "publishes free-threaded wheels for {target_name}, but importing {} re-enables the GIL{checked}",
                    modules_in_words(modules)
                )
            }
        }
    }
}

pub fn check(context: &Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    let target = context.target;
    let table = data::extensions();
    // A module that cannot be imported on Python 3 imports nothing there.
    if model.role == ModuleRole::Python2Only {
        return;
    }
    for import in &model.import_refs {
        if context.project_modules.contains(&import.top) {
            continue;
        }
        let Some(package) = table.by_module(&import.module) else {
            continue;
        };
        // `from lxml import etree` imports the module `lxml.etree` too.
        let mut modules = vec![import.module.clone()];
        modules.extend(
            import
                .names
                .iter()
                .map(|name| format!("{}.{name}", import.module)),
        );
        let Some(problem) = package.problem(target, &modules) else {
            continue;
        };
        // The fallback after a free-threaded alternative (`try: import yaml_ft as yaml` /
        // `except ImportError: import yaml`) is the migration done right: it runs only where
        // the alternative is missing.
        let fallback = import.fallback_after.iter().find(|tried| {
            table
                .by_module(tried)
                .is_none_or(|alternative| alternative.name != package.name)
        });
        // A test module's imports run only under the test runner: worth knowing when the test
        // suite moves to the free-threaded build, not a problem of the shipped code.
        let (severity, context_note) = if let Some(tried) = fallback {
            (
                Severity::Info,
                format!(" (the fallback when `{tried}` is missing)"),
            )
        } else if model.role == ModuleRole::Test {
            (Severity::Info, " (in a test module)".to_string())
        } else if problem == ExtensionProblem::PurePythonOnly
            || (problem == ExtensionProblem::NoBuild && package.gil_free_since.is_some())
        {
            // Installers fall back to pure Python, or build from source modules that keep
            // the GIL off: slower or a compiler needed, not a GIL re-enabled.
            (Severity::Info, String::new())
        } else {
            (Severity::Warning, String::new())
        };
        diagnostics.push(
            Diagnostic::new(
                Rule::ExtensionWithoutFreeThreading,
                format!(
                    "`{}` comes from `{}`, which {}{context_note}",
                    import.module,
                    package.name,
                    describe(package, &problem, target)
                ),
                import.range,
            )
            .with_severity(severity)
            .with_label(match problem {
                ExtensionProblem::NoBuild => "no free-threaded build",
                ExtensionProblem::PurePythonOnly => "pure-Python fallback",
                ExtensionProblem::LatestWithoutWheels { .. } => {
                    "newest release has no free-threaded wheels"
                }
                ExtensionProblem::ReenablesGil { .. } => "re-enables the GIL",
            })
            .with_help(advice(package, &problem, target))
            .with_group(package.name.clone()),
        );
    }
}
