//! Finding the Python files to check.
//!
//! Directories are walked with the `ignore` crate (ripgrep's walker): `.gitignore` and `.ignore`
//! files are respected, virtual environments and build output are skipped, and symbolic links
//! are not followed, so a link loop cannot hang the walk. A file named on the command line is
//! always checked, whatever its name.

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;

/// Directories that never hold the project's own sources.
const SKIPPED_DIRECTORIES: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "__pypackages__",
    ".eggs",
];

/// A file to check, or a problem with a path the user gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovered {
    File(PathBuf),
    /// A path that does not exist or cannot be walked.
    Error {
        path: PathBuf,
        message: String,
    },
}

pub fn is_python_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|ext| ext.to_str()),
        Some("py" | "pyi")
    )
}

/// Every Python file under `paths`, sorted and without duplicates, and the paths that failed.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Discovered>) {
    discover_with(paths, is_python_file)
}

/// Every file under `paths` that `wanted` accepts (a file named explicitly is always taken).
pub fn discover_with(
    paths: &[PathBuf],
    wanted: impl Fn(&Path) -> bool,
) -> (Vec<PathBuf>, Vec<Discovered>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(error) => {
                let message = if error.kind() == std::io::ErrorKind::NotFound {
                    "no such file or directory".to_string()
                } else {
                    error.to_string()
                };
                errors.push(Discovered::Error {
                    path: path.clone(),
                    message,
                });
                continue;
            }
        };
        if !metadata.is_dir() {
            // Named explicitly: always checked (the reader rejects what is not a regular file).
            files.push(path.clone());
            continue;
        }
        let walker = WalkBuilder::new(path)
            .hidden(false)
            .git_ignore(true)
            .git_global(false)
            .git_exclude(true)
            .ignore(true)
            .parents(true)
            .require_git(false)
            .follow_links(false)
            .filter_entry(|entry| {
                let is_dir = entry.file_type().is_some_and(|kind| kind.is_dir());
                !(is_dir
                    && entry.depth() > 0
                    && entry
                        .file_name()
                        .to_str()
                        .is_some_and(|name| SKIPPED_DIRECTORIES.contains(&name)))
            })
            .build();
        for entry in walker {
            match entry {
                Ok(entry) => {
                    let is_file = entry.file_type().is_some_and(|kind| kind.is_file());
                    if is_file && wanted(entry.path()) {
                        files.push(entry.into_path());
                    }
                }
                Err(error) => errors.push(Discovered::Error {
                    path: path.clone(),
                    message: error.to_string(),
                }),
            }
        }
    }
    files.sort();
    files.dedup();
    (files, errors)
}
