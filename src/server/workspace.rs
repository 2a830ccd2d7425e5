//! The project behind the editor: its configuration, its Python files, each module's report as
//! checked alone (with the facts the project phase links), and the linked findings. A change
//! re-checks one module and links again; nothing else is parsed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::linter::{self, Origin};
use crate::pipeline;
use crate::project::ModuleNames;
use crate::report::{FileReport, Message};
use crate::settings::{ConfigSource, FixMode, Overrides, Settings};

pub struct Workspace {
    /// The workspace folder (canonical when it exists).
    pub root: PathBuf,
    /// The settings modules are checked with (the configuration's, prepared for the project).
    pub settings: Settings,
    roots: Vec<PathBuf>,
    module_names: ModuleNames,
    /// Each module as checked alone, before linking: the cache a keystroke updates one entry of.
    modules: Modules,
    /// The findings to show, per file, after linking.
    linked: FxHashMap<PathBuf, Vec<Message>>,
}

/// What loading or re-checking went through that the user should hear about.
#[derive(Default)]
pub struct Problems {
    /// The configuration could not be read: the defaults are used.
    pub config_error: Option<String>,
    /// Internal errors (caught panics), one line each.
    pub internal_errors: Vec<String>,
}

impl Workspace {
    /// Reads the configuration above `root`, finds the project's Python files and checks them
    /// all (in parallel, on the caller's rayon pool). Without a folder, the configuration is
    /// the one above the working directory and the project is the documents opened.
    pub fn load(folder: Option<&Path>) -> (Workspace, Problems) {
        let root = match folder {
            Some(folder) => folder.to_path_buf(),
            None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        };
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        let mut problems = Problems::default();
        let configured = Settings::resolve(&ConfigSource::Discover(root.clone()), &defaults())
            .or_else(|report| {
                problems.config_error = Some(format!("{report}{}", help_of(&report)));
                Settings::resolve(&ConfigSource::Isolated, &defaults())
            });
        // Resolving without a file reads nothing and cannot fail; stay on the built-in
        // defaults should that ever change.
        let configured = configured.unwrap_or_default();
        let paths = vec![root.clone()];
        let (files, _errors) = match folder {
            Some(_) => pipeline::discover_files(&paths, &configured),
            None => (Vec::new(), Vec::new()),
        };
        let files: Vec<PathBuf> = files
            .into_iter()
            .filter(|file| crate::discovery::is_python_file(file))
            .collect();
        let roots = crate::project::source_roots(&paths);
        let (mut settings, module_names) = pipeline::project_settings(&files, &roots, &configured);
        settings.collect_facts = true;
        let mut workspace = Workspace {
            root,
            settings,
            roots,
            module_names,
            modules: Modules::default(),
            linked: FxHashMap::default(),
        };
        let reports: Vec<FileReport> = files
            .par_iter()
            .filter_map(|path| {
                let bytes = read_regular(path)?;
                Some(workspace.check_bytes(path, bytes))
            })
            .collect();
        let mut reports: Vec<FileReport> = reports
            .into_iter()
            .filter(|report| report.path.is_some())
            .collect();
        reports.sort_by(|a, b| a.path.cmp(&b.path));
        problems
            .internal_errors
            .extend(reports.iter().filter_map(internal_error_of));
        workspace.modules.reports = reports;
        workspace.modules.reindex();
        (workspace, problems)
    }

    /// The name a file is reported under: relative to the workspace folder.
    fn display_name(&self, path: &Path) -> Arc<str> {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        Arc::from(relative.to_string_lossy().as_ref())
    }

    /// Checks one module's text alone; a panic in a check becomes the report's internal error.
    fn check_bytes(&self, path: &Path, bytes: Vec<u8>) -> FileReport {
        let filename = self.display_name(path);
        crate::isolation::isolated(|| {
            linter::check_and_fix(
                filename.clone(),
                path,
                Origin::File(path),
                bytes,
                &self.settings,
                FixMode::Report,
            )
        })
        .unwrap_or_else(|description| {
            FileReport::internal_error(filename.clone(), Some(path.to_path_buf()), description)
        })
    }

    /// Re-checks one module from the editor's text. A file the project did not know (new, or
    /// outside the workspace folder) joins it, and module names are computed again.
    pub fn update(&mut self, path: &Path, text: &str) -> Option<String> {
        if !self.modules.contains(path) {
            self.add_file(path);
        }
        let mut report = self.check_bytes(path, editor_bytes(text));
        self.keep_last_facts(path, &mut report);
        let error = internal_error_of(&report);
        self.modules.insert(path, report);
        error
    }

    /// A module that does not parse (mid-keystroke, most often) links with the facts of its
    /// last text that did, so that the threads it starts keep reaching the other modules and
    /// their diagnostics do not flicker while it is typed. Only what concerns the other modules
    /// is kept: its own project-phase findings would point into the old text.
    fn keep_last_facts(&self, path: &Path, report: &mut FileReport) {
        if report.facts.is_some() || report.internal_error.is_some() {
            return;
        }
        let Some(previous) = self.modules.get(path).and_then(|old| old.facts.as_ref()) else {
            return;
        };
        let mut facts = previous.clone();
        facts.pools.clear();
        facts.process_global.clear();
        facts.imports_at.clear();
        report.facts = Some(facts);
    }

    /// Re-checks one module from disk (a file closed in the editor, or changed outside it);
    /// a file that is gone leaves the project.
    pub fn reload_from_disk(&mut self, path: &Path) -> Option<String> {
        match read_regular(path) {
            Some(bytes) if crate::discovery::is_python_file(path) => {
                if !self.modules.contains(path) {
                    self.add_file(path);
                }
                let report = self.check_bytes(path, bytes);
                let error = internal_error_of(&report);
                self.modules.insert(path, report);
                error
            }
            _ => {
                if self.modules.remove(path) {
                    self.rename_modules();
                }
                None
            }
        }
    }

    fn add_file(&mut self, path: &Path) {
        // A placeholder until the check replaces it, so that the file gets a module name.
        let placeholder = FileReport::io_error(self.display_name(path), String::new());
        self.modules.insert(path, placeholder);
        self.rename_modules();
    }

    fn rename_modules(&mut self) {
        let files: Vec<PathBuf> = self.modules.paths().cloned().collect();
        self.module_names = ModuleNames::new(&files, &self.roots);
    }

    /// Links the modules (thread reachability across modules, NG301, NG302) and keeps what is
    /// shown. A panic in the project phase keeps each module's own findings.
    pub fn link(&mut self) -> Option<String> {
        // The project phase changes only the reports' messages: it runs on the cached reports
        // themselves (their facts are not copied, which on sympy took longer than the link),
        // and each report gets its own findings back afterwards.
        let reports = &mut self.modules.reports;
        let own: Vec<Vec<Message>> = reports
            .iter()
            .map(|report| report.messages.clone())
            .collect();
        let linked = crate::isolation::isolated(|| {
            crate::project::link(reports, &self.module_names, &self.settings.rules);
        });
        let error = linked
            .err()
            .map(|description| format!("the project phase: {description}"));
        let mut shown: Vec<FileReport> = Vec::new();
        for (report, own) in reports.iter_mut().zip(own) {
            let linked = std::mem::replace(&mut report.messages, own);
            let messages = if error.is_some() {
                report.messages.clone()
            } else {
                linked
            };
            if messages.is_empty() {
                continue;
            }
            shown.push(FileReport {
                messages,
                path: report.path.clone(),
                ..FileReport::io_error(report.filename.clone(), String::new())
            });
        }
        pipeline::filter_shown(&mut shown, &self.settings);
        self.linked = shown
            .into_iter()
            .filter_map(|report| Some((report.path?, report.messages)))
            .collect();
        error
    }

    /// The findings shown for a file, as of the last link.
    pub fn messages(&self, path: &Path) -> &[Message] {
        self.linked.get(path).map_or(&[], Vec::as_slice)
    }

    pub fn module_count(&self) -> usize {
        self.modules.len()
    }

    /// Checks a buffer that is no file of the project (an unsaved one) on its own.
    pub fn check_alone(&self, name: &Path, text: &str) -> Vec<Message> {
        let mut report = self.check_bytes(name, editor_bytes(text));
        report.path = None;
        let mut reports = [report];
        pipeline::filter_shown(&mut reports, &self.settings);
        let [report] = reports;
        report.messages
    }
}

/// The cached reports, in path order (the order the project phase sees modules in, as for
/// `check`), with an index by path.
#[derive(Default)]
struct Modules {
    reports: Vec<FileReport>,
    index: FxHashMap<PathBuf, usize>,
}

impl Modules {
    fn contains(&self, path: &Path) -> bool {
        self.index.contains_key(path)
    }

    fn get(&self, path: &Path) -> Option<&FileReport> {
        self.index.get(path).map(|&at| &self.reports[at])
    }

    fn len(&self) -> usize {
        self.reports.len()
    }

    fn paths(&self) -> impl Iterator<Item = &PathBuf> {
        self.reports
            .iter()
            .filter_map(|report| report.path.as_ref())
    }

    /// Replaces a module's report, or adds a new module in its place in path order.
    fn insert(&mut self, path: &Path, mut report: FileReport) {
        report.path = Some(path.to_path_buf());
        if let Some(&at) = self.index.get(path) {
            self.reports[at] = report;
            return;
        }
        let at = self
            .reports
            .partition_point(|other| other.path.as_deref() < Some(path));
        self.reports.insert(at, report);
        self.reindex();
    }

    fn remove(&mut self, path: &Path) -> bool {
        let Some(at) = self.index.get(path).copied() else {
            return false;
        };
        self.reports.remove(at);
        self.reindex();
        true
    }

    fn reindex(&mut self) {
        self.index = self
            .reports
            .iter()
            .enumerate()
            .filter_map(|(at, report)| Some((report.path.clone()?, at)))
            .collect();
    }
}

fn defaults() -> Overrides {
    Overrides::default()
}

/// The help line of a configuration error (`did you mean …?`), when it has one.
fn help_of(report: &miette::Report) -> String {
    report
        .help()
        .map(|help| format!(" ({help})"))
        .unwrap_or_default()
}

/// The bytes that decode to the editor's text. The checks decode a file as its coding line
/// says; a buffer of a file declaring `latin-1` holds that text already decoded, so it is
/// encoded back, and the positions of the findings are those of the editor's text.
fn editor_bytes(text: &str) -> Vec<u8> {
    if text.is_ascii() {
        return text.as_bytes().to_vec();
    }
    match linter::decode(text.as_bytes().to_vec()) {
        linter::Decoded::Text(decoded, _) if decoded == text => text.as_bytes().to_vec(),
        linter::Decoded::Text(_, encoding) => encoding
            .encode(text)
            .unwrap_or_else(|| text.as_bytes().to_vec()),
        linter::Decoded::Undecodable(..) => text.as_bytes().to_vec(),
    }
}

fn internal_error_of(report: &FileReport) -> Option<String> {
    report
        .internal_error
        .as_ref()
        .map(|description| format!("{}: {description}", report.filename))
}

/// A regular file's bytes: a FIFO or a device in the tree cannot block the server.
fn read_regular(path: &Path) -> Option<Vec<u8>> {
    let metadata = std::fs::metadata(path).ok()?;
    if !metadata.is_file() {
        return None;
    }
    std::fs::read(path).ok()
}
