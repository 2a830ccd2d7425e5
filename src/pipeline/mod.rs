//! The check pipeline: discovery, the parallel per-file phase, the project phase that links the
//! modules, the environment and requirement checks, the fixes only the project can decide, and
//! the diffs. One entry point, [`run`], takes settings and paths and returns the reports; the
//! command line, `nogil-lint parity` and the tests all go through it.

mod add_noqa;
mod grouped_findings;
mod installed_packages;
mod project_fixes;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

pub use add_noqa::add_noqa;

use crate::diagnostic::Severity;
use crate::discovery::{self, Discovered};
use crate::linter::{self, Origin};
use crate::registry::Rule;
use crate::report::FileReport;
use crate::settings::{FixMode, Settings};

/// Checks (and, as `mode` says, fixes) files, directories and standard input: the parallel
/// per-module phase, then the project phase that links the modules, then the fixes only the
/// project can decide, then the diffs. Call it inside the rayon pool that should do the work.
pub fn run(
    paths: &[PathBuf],
    stdin: Option<(PathBuf, Vec<u8>)>,
    settings: &Settings,
    mode: FixMode,
) -> (Vec<FileReport>, Vec<Discovered>) {
    let (files, errors) = discover_files(paths, settings);
    let mut errors = errors;
    let roots = crate::project::source_roots(paths);
    let (mut settings, module_names) = project_settings(&files, &roots, settings);
    let environment = if settings.rules.contains(Rule::InstalledExtensionEnablesGil) {
        match crate::environment::find_python(settings.python.as_deref(), &roots) {
            Some(python) => match crate::environment::probe(&python) {
                Ok(interpreter) => {
                    settings.inspect_environment = true;
                    Some((python, interpreter))
                }
                Err(message) => {
                    errors.push(Discovered::Error {
                        path: python,
                        message,
                    });
                    None
                }
            },
            None => None,
        }
    } else {
        None
    };
    let settings = &settings;
    let mut reports = Vec::with_capacity(files.len() + 1);
    if let Some((name, bytes)) = stdin {
        let stdin_mode = match mode {
            FixMode::Apply(threshold) => FixMode::ApplyToOutput(threshold),
            other => other,
        };
        let report = crate::isolation::isolated(|| {
            linter::check_and_fix(
                display_name(&name),
                &name,
                Origin::Stdin,
                bytes,
                settings,
                stdin_mode,
            )
        })
        .unwrap_or_else(|description| {
            FileReport::internal_error(display_name(&name), None, description)
        });
        reports.push(report);
    }
    let first_of_files = reports.len();
    // Fixes are applied once the whole project is known (see `recheck_with_thread_locals`).
    let first_mode = match mode {
        FixMode::Apply(_) => FixMode::Report,
        other => other,
    };
    reports.extend(check_files(&files, settings, first_mode));
    recheck_with_thread_locals(&mut reports, first_of_files, &module_names, settings, mode);

    // The project phase: link the modules so that workers started from another module count
    // as reached from a thread, and decide NG301 with every worker in view.
    // A bug in the project phase loses its cross-module findings, not the per-file ones.
    if let Err(description) = crate::isolation::isolated(|| {
        crate::project::link(&mut reports, &module_names, &settings.rules);
    }) {
        reports.push(FileReport::internal_error(
            Arc::from("<project phase>"),
            None,
            description,
        ));
    }
    if let Some((python, interpreter)) = &environment {
        installed_packages::check_environment(&mut reports, python, interpreter, settings);
    }
    if settings.rules.contains(Rule::PinnedBelowFreeThreading) {
        let imported: rustc_hash::FxHashSet<String> = reports
            .iter()
            .filter_map(|report| report.facts.as_ref())
            .flat_map(|facts| facts.imported_modules.iter().cloned())
            .collect();
        let base = std::env::current_dir()
            .and_then(std::fs::canonicalize)
            .unwrap_or_default();
        let mut requirement_reports =
            crate::requirements::check(&roots, &base, &imported, settings.model.target_version);
        if let FixMode::Diff(_) = mode {
            for report in &mut requirement_reports {
                report.diff_base = report
                    .source
                    .as_ref()
                    .map(|text| (text.to_string(), text.to_string()));
            }
        }
        reports.extend(requirement_reports);
        reports.sort_by(|a, b| a.filename.cmp(&b.filename));
    }
    for report in &mut reports {
        report.facts = None;
    }
    project_fixes::apply_project_fixes(&mut reports, mode, settings.min_severity);
    filter_shown(&mut reports, settings);
    grouped_findings::fold_grouped_findings(&mut reports);
    for report in &mut reports {
        if let Some((original, fixed)) = report.diff_base.take()
            && original != fixed
        {
            report.diff = Some(crate::fix::unified_diff(
                &report.filename,
                &original,
                &fixed,
            ));
        }
    }
    (reports, errors)
}

/// The settings every module of a project is checked with: the project's own top-level module
/// names, its test modules and (with NG203) its build configuration. The command line and the
/// language server both prepare a project this way.
pub fn project_settings(
    files: &[PathBuf],
    roots: &[PathBuf],
    settings: &Settings,
) -> (Settings, crate::project::ModuleNames) {
    let mut settings = settings.clone();
    // Source roots and module names are computed once and shared by every phase.
    let module_names = crate::project::ModuleNames::new(files, roots);
    settings.project_modules = Arc::new(module_names.top_level());
    settings.model.project_modules = settings.project_modules.clone();
    let files_where = |keep: fn(&crate::project::ModuleNames, &Path) -> bool| {
        Arc::new(
            files
                .iter()
                .filter(|file| keep(&module_names, file))
                .cloned()
                .collect(),
        )
    };
    settings.test_modules = files_where(crate::project::ModuleNames::is_test);
    settings.vendored_modules = files_where(crate::project::ModuleNames::is_vendored);
    if settings.rules.contains(Rule::ExtensionEnablesGil) {
        settings.build = crate::checkers::ng203_extension_enables_gil::build_context(roots);
        settings.build.included_cython =
            crate::checkers::ng203_extension_enables_gil::included_cython_sources(files);
    }
    (settings, module_names)
}

/// Drops what the run does not show: findings `per-file-ignores` ignores for their file, and
/// (`--min-severity`) those below the least severity shown. Call it once every finding has
/// its final severity: the project phase raises findings reached from another module's thread
/// to errors. `noqa` was applied per file before, so a directive that silences a hidden finding
/// is still used.
pub fn filter_shown(reports: &mut [FileReport], settings: &Settings) {
    if !settings.per_file_ignores.is_empty() {
        for report in reports.iter_mut() {
            // Standard input is matched by its --stdin-filename.
            let path = report
                .path
                .clone()
                .unwrap_or_else(|| PathBuf::from(report.filename.as_ref()));
            report
                .messages
                .retain(|message| !settings.ignores_for_file(&path, message.diagnostic.rule));
        }
    }
    if settings.min_severity > Severity::Info {
        for report in reports.iter_mut() {
            report
                .messages
                .retain(|message| message.diagnostic.severity >= settings.min_severity);
        }
    }
}

/// The files a run checks: Python files (and, with NG203, extension sources) under `paths`,
/// without the excluded ones (a file named explicitly is kept unless `--force-exclude`).
pub fn discover_files(paths: &[PathBuf], settings: &Settings) -> (Vec<PathBuf>, Vec<Discovered>) {
    let with_sources = settings.rules.contains(Rule::ExtensionEnablesGil);
    let (files, errors) = discovery::discover_with(paths, |path| {
        discovery::is_python_file(path)
            || (with_sources
                && crate::checkers::ng203_extension_enables_gil::is_extension_source(path))
    });
    let files = files
        .into_iter()
        .filter(|file| {
            let named = paths.iter().any(|path| path == file);
            (named && !settings.force_exclude) || !settings.is_excluded(file)
        })
        .collect();
    (files, errors)
}

/// Checks again, knowing, the files that use another module's `threading.local` subclass
/// (pony's `class Local(localbase)`): their instances' attributes are per thread, which the
/// first, per-file pass could not see. With `--fix`, the first pass only reported, and every
/// file is fixed now, with what the project shows. Files from `first_of_files` on are the
/// files checked from disk (standard input is not checked again).
fn recheck_with_thread_locals(
    reports: &mut [FileReport],
    first_of_files: usize,
    module_names: &crate::project::ModuleNames,
    settings: &Settings,
    mode: FixMode,
) {
    let found = crate::isolation::isolated(|| {
        crate::project::cross_module_thread_locals(reports, module_names)
    })
    .unwrap_or_default();
    let applying = matches!(mode, FixMode::Apply(_));
    if found.is_empty() && !applying {
        return;
    }
    let mut names: rustc_hash::FxHashSet<String> = rustc_hash::FxHashSet::default();
    let mut affected: rustc_hash::FxHashSet<usize> = rustc_hash::FxHashSet::default();
    for (report, thread_locals) in found {
        if report >= first_of_files {
            affected.insert(report);
            names.extend(thread_locals);
        }
    }
    let mut knowing = settings.clone();
    knowing.model.thread_local_classes = Arc::new(names);
    let again: Vec<(usize, PathBuf)> = reports
        .iter()
        .enumerate()
        .skip(first_of_files)
        .filter(|(index, _)| applying || affected.contains(index))
        .filter_map(|(index, report)| report.path.clone().map(|path| (index, path)))
        .collect();
    let rechecked: Vec<(usize, FileReport)> = again
        .par_iter()
        .map(|(index, path)| {
            let settings = if affected.contains(index) {
                &knowing
            } else {
                settings
            };
            let report = crate::isolation::isolated(|| check_path_with(path, settings, mode))
                .unwrap_or_else(|description| {
                    FileReport::internal_error(display_name(path), Some(path.clone()), description)
                });
            (*index, report)
        })
        .collect();
    for (index, report) in rechecked {
        reports[index] = report;
    }
}

fn check_files(files: &[PathBuf], settings: &Settings, mode: FixMode) -> Vec<FileReport> {
    files
        .par_iter()
        .map(|path| {
            crate::isolation::isolated(|| check_path_with(path, settings, mode)).unwrap_or_else(
                |description| {
                    FileReport::internal_error(display_name(path), Some(path.clone()), description)
                },
            )
        })
        .collect()
}

/// Reads and checks one file from disk. Only regular files are opened, so a FIFO or a device
/// among the paths cannot block the run.
pub fn check_path(path: &Path, settings: &Settings) -> FileReport {
    check_path_with(path, settings, FixMode::Report)
}

/// Reads, fixes (as `mode` says) and checks one file from disk.
pub fn check_path_with(path: &Path, settings: &Settings, mode: FixMode) -> FileReport {
    let filename = display_name(path);
    let bytes = match std::fs::metadata(path) {
        Ok(metadata) if !metadata.is_file() => {
            return FileReport::io_error(filename, "not a regular file".to_string());
        }
        Ok(_) => std::fs::read(path),
        Err(error) => Err(error),
    };
    match bytes {
        Ok(bytes)
            if !discovery::is_python_file(path)
                && crate::checkers::ng203_extension_enables_gil::is_extension_source(path) =>
        {
            linter::check_extension_source(filename, path, bytes, settings, mode)
        }
        Ok(bytes) => {
            linter::check_and_fix(filename, path, Origin::File(path), bytes, settings, mode)
        }
        Err(error) => FileReport::io_error(filename, error.to_string()),
    }
}

/// The name a file is reported under: the path as given, without a leading `./`.
pub fn display_name(path: &Path) -> Arc<str> {
    let text = path.to_string_lossy();
    Arc::from(text.strip_prefix("./").unwrap_or(&text))
}
