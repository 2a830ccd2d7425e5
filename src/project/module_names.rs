//! Module names: which dotted names each file of a run can be imported as, from the source
//! roots (each directory given, its `src/` when there is one, and the top of the package a
//! file sits in).

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

/// The directories module names are computed from: each directory given (and its `src/`),
/// the parent of each file given.
pub fn source_roots(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for path in paths {
        let Ok(path) = std::fs::canonicalize(path) else {
            continue;
        };
        if path.is_dir() {
            let src = path.join("src");
            if src.is_dir() {
                roots.push(src);
            }
            roots.push(path);
        } else if let Some(parent) = path.parent() {
            roots.push(parent.to_path_buf());
        }
    }
    roots.sort();
    roots.dedup();
    roots
}

/// The dotted names each Python file of a run can be imported as, computed once (module
/// naming reads the file system: canonical paths, `__init__.py` lookups).
#[derive(Debug, Default)]
pub struct ModuleNames {
    by_path: FxHashMap<PathBuf, (Vec<String>, bool)>,
}

impl ModuleNames {
    pub fn new(files: &[PathBuf], roots: &[PathBuf]) -> Self {
        let files: Vec<&PathBuf> = files
            .iter()
            .filter(|file| crate::discovery::is_python_file(file))
            .collect();
        // Resolving each directory once, not each file, saves a realpath (a readlink per path
        // component) per file: on a tree of small modules that was a tenth of the run.
        let directories: rustc_hash::FxHashSet<&Path> =
            files.iter().filter_map(|file| file.parent()).collect();
        let directories: FxHashMap<&Path, Option<PathBuf>> = directories
            .into_iter()
            .map(|directory| {
                let resolved = if directory.as_os_str().is_empty() {
                    std::fs::canonicalize(".")
                } else {
                    std::fs::canonicalize(directory)
                };
                (directory, resolved.ok())
            })
            .collect();
        use rayon::prelude::*;
        let resolved: Vec<Option<PathBuf>> = files
            .par_iter()
            .map(|file| {
                let is_symlink = std::fs::symlink_metadata(file)
                    .map(|metadata| metadata.file_type().is_symlink())
                    .unwrap_or(true);
                match (file.parent(), file.file_name()) {
                    (Some(directory), Some(name)) if !is_symlink => directories
                        .get(directory)
                        .cloned()
                        .flatten()
                        .map(|directory| directory.join(name)),
                    _ => std::fs::canonicalize(file).ok(),
                }
            })
            .collect();
        let mut packages: FxHashMap<PathBuf, bool> = FxHashMap::default();
        let by_path = files
            .into_iter()
            .zip(resolved)
            .map(|(file, resolved)| {
                let names = match resolved {
                    Some(path) => module_names(&path, roots, &mut packages),
                    None => (Vec::new(), false),
                };
                (file.clone(), names)
            })
            .collect();
        ModuleNames { by_path }
    }

    /// The dotted names a file can be imported as (longest first), and whether it is a
    /// package's `__init__`; none for a file the run did not discover.
    pub fn of(&self, path: &Path) -> (Vec<String>, bool) {
        self.by_path.get(path).cloned().unwrap_or_default()
    }

    /// The top-level module names the project's files provide (`black` for `src/black/…`).
    pub fn top_level(&self) -> rustc_hash::FxHashSet<String> {
        self.by_path
            .values()
            .flat_map(|(names, _)| names.iter())
            .filter_map(|name| name.split('.').next())
            .map(str::to_string)
            .collect()
    }
}

/// The dotted names a file (its resolved path) can be imported as, and whether it is a package
/// (`__init__`). `packages` caches which directories hold an `__init__.py`.
fn module_names(
    path: &Path,
    roots: &[PathBuf],
    packages: &mut FxHashMap<PathBuf, bool>,
) -> (Vec<String>, bool) {
    let is_package = path.file_stem().is_some_and(|stem| stem == "__init__");
    let dotted = |relative: &Path| -> Option<String> {
        let mut parts: Vec<String> = relative
            .components()
            .map(|component| component.as_os_str().to_string_lossy().into_owned())
            .collect();
        let last = parts.pop()?;
        let stem = last
            .strip_suffix(".py")
            .or_else(|| last.strip_suffix(".pyi"))
            .unwrap_or(&last)
            .to_string();
        if stem != "__init__" {
            parts.push(stem);
        }
        (!parts.is_empty()).then(|| parts.join("."))
    };
    let mut names: Vec<String> = roots
        .iter()
        .filter_map(|root| path.strip_prefix(root).ok())
        .filter_map(dotted)
        .collect();
    // The top of the package the file sits in (directories with `__init__.py`).
    let mut top = path.parent().map(Path::to_path_buf);
    while let Some(directory) = top.clone() {
        let is_package = *packages
            .entry(directory.clone())
            .or_insert_with(|| directory.join("__init__.py").is_file());
        if is_package {
            top = directory.parent().map(Path::to_path_buf);
        } else {
            break;
        }
    }
    if let Some(top) = top
        && let Some(name) = path.strip_prefix(&top).ok().and_then(dotted)
    {
        names.push(name);
    }
    names.sort_by_key(|name| std::cmp::Reverse(name.len()));
    names.dedup();
    (names, is_package)
}
