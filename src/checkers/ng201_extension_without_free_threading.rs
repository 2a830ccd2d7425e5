//! NG201 extension-without-free-threading: an import of a distribution that has no
//! free-threaded build for the target, or whose extension modules turn the GIL back on.
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
        ExtensionProblem::NoBuild => {
            if let Some(version) = package.first_release(target) {
                parts.push(format!("upgrade to {} >= {version}", package.name));
            }
        }
        ExtensionProblem::ReenablesGil => {
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
            ExtensionProblem::NoBuild => "no release supports it yet: keep it off the free-threaded path, or find an alternative".to_string(),
            ExtensionProblem::ReenablesGil => "no release declares GIL-free modules yet; running with `PYTHON_GIL=0` keeps the GIL off at your own risk".to_string(),
        }
    } else {
        parts.join(", ")
    }
}

/// The problem in words: "has no free-threaded build for 3.14t".
pub fn describe(
    package: &ExtensionPackage,
    problem: &ExtensionProblem,
    target: TargetVersion,
) -> String {
    match problem {
        ExtensionProblem::NoBuild if package.pure_python_fallback => format!(
            "has no free-threaded build of its compiled extensions for {}: installers fall back to its pure-Python wheel, without the speed-up",
            target.as_str()
        ),
        ExtensionProblem::NoBuild => format!("has no free-threaded build for {}", target.as_str()),
        ExtensionProblem::ReenablesGil => format!(
            "publishes free-threaded wheels, but importing its extension modules re-enables the GIL on {}",
            target.as_str()
        ),
    }
}

pub fn check(context: &Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    let target = context.target;
    let table = data::extensions();
    for import in &model.import_refs {
        if context.project_modules.contains(&import.top) {
            continue;
        }
        let Some(package) = table.by_module(&import.module) else {
            continue;
        };
        let Some(problem) = package.problem(target) else {
            continue;
        };
        // A test module's imports run only under the test runner: worth knowing when the test
        // suite moves to the free-threaded build, not a problem of the shipped code.
        let (severity, context_note) = if model.role == ModuleRole::Test {
            (Severity::Info, " (in a test module)")
        } else {
            (Severity::Warning, "")
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
                ExtensionProblem::ReenablesGil => "re-enables the GIL",
            })
            .with_help(advice(package, &problem, target)),
        );
    }
}
