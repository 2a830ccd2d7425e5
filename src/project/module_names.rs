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
    by_path: FxHashMap<PathBuf, ModuleName>,
}

#[derive(Debug, Clone, Default)]
struct ModuleName {
    /// Longest first.
    names: Vec<String>,
    /// A package's `__init__`.
    is_package: bool,
    /// A test module (see [`is_test_path`]).
    is_test: bool,
    /// A copy of another project kept inside a package (see [`is_vendored_path`]).
    is_vendored: bool,
    /// In a directory of example or stand-alone programs (see [`is_program_directory_path`]).
    in_program_directory: bool,
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
                let name = match resolved {
                    Some(path) => module_names(&path, roots, &mut packages),
                    None => ModuleName {
                        is_test: is_test_file_name(file),
                        ..ModuleName::default()
                    },
                };
                (file.clone(), name)
            })
            .collect();
        ModuleNames { by_path }
    }

    /// The dotted names a file can be imported as (longest first), and whether it is a
    /// package's `__init__`; none for a file the run did not discover.
    pub fn of(&self, path: &Path) -> (Vec<String>, bool) {
        self.by_path
            .get(path)
            .map(|name| (name.names.clone(), name.is_package))
            .unwrap_or_default()
    }

    /// Whether a file is a test module: named `test_*.py`, `*_test.py` or `conftest.py`, or
    /// under a `tests`, `test` or `testing` directory of the project. A file the run did not
    /// discover is judged by its name.
    pub fn is_test(&self, path: &Path) -> bool {
        self.by_path
            .get(path)
            .map_or_else(|| is_test_file_name(path), |name| name.is_test)
    }

    /// Whether the file is another project's code copied into a package of this one
    /// (`invoke/vendor/yaml/…`, `pip/_vendor/…`).
    pub fn is_vendored(&self, path: &Path) -> bool {
        self.by_path.get(path).is_some_and(|name| name.is_vendored)
    }

    /// Whether the file sits in a directory of examples or stand-alone programs of the project
    /// (`examples/`, `demos/`, `scripts/`, `benchmarks/`, …).
    pub fn in_program_directory(&self, path: &Path) -> bool {
        self.by_path
            .get(path)
            .is_some_and(|name| name.in_program_directory)
    }

    /// The top-level module names the project's files provide (`black` for `src/black/…`).
    pub fn top_level(&self) -> rustc_hash::FxHashSet<String> {
        self.by_path
            .values()
            .flat_map(|name| name.names.iter())
            .filter_map(|name| name.split('.').next())
            .map(str::to_string)
            .collect()
    }
}

/// A file judged by its name alone (its directories may be anyone's).
fn is_test_file_name(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| is_test_path(Path::new(name), None))
}

/// Whether `relative` (a file's path below `root`, or below the top of its package when there
/// is no root) names a test module: the file is `test_*.py`, `*_test.py` or `conftest.py`, or a
/// directory on the way, the root included, is `tests`, `test` or `testing`. Directories above
/// the root are not the project's and do not count.
fn is_test_path(relative: &Path, root: Option<&Path>) -> bool {
    let is_test_directory =
        |name: &std::ffi::OsStr| matches!(name.to_str(), Some("tests" | "test" | "testing"));
    let stem = relative
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or_default();
    if stem.starts_with("test_") || stem.ends_with("_test") || stem == "conftest" {
        return true;
    }
    let directories = relative.parent().into_iter().flat_map(Path::components);
    root.and_then(Path::file_name)
        .is_some_and(is_test_directory)
        || directories
            .filter_map(|component| match component {
                std::path::Component::Normal(name) => Some(name),
                _ => None,
            })
            .any(is_test_directory)
}

/// The names of the directories on the way to `relative`, top first.
fn directory_names(relative: &Path) -> impl Iterator<Item = &str> {
    relative
        .parent()
        .into_iter()
        .flat_map(Path::components)
        .filter_map(|component| match component {
            std::path::Component::Normal(name) => name.to_str(),
            _ => None,
        })
}

/// Whether the root or a directory on the way to `relative` (a file's path below `root`, or
/// below the top of its package when there is no root) holds examples, demos, samples,
/// tutorials, benchmarks or scripts: programs a user runs one at a time
/// (`pyqtgraph/examples/scrollingPlots.py`, `ZEO/scripts/…`), not modules a library's users
/// import. Directories above the root are not the project's.
fn is_program_directory_path(relative: &Path, root: Option<&Path>) -> bool {
    let is_program_directory = |name: &str| {
        matches!(
            name,
            "examples"
                | "example"
                | "demo"
                | "demos"
                | "samples"
                | "sample"
                | "tutorial"
                | "tutorials"
                | "benchmarks"
                | "benchmark"
                | "scripts"
                | "script"
        )
    };
    root.and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .is_some_and(is_program_directory)
        || directory_names(relative).any(is_program_directory)
}

/// Whether a path inside a package (relative to the directory above its top package) goes
/// through a package that holds copies of other projects: `vendor`, `_vendor`, `vendored`,
/// `_vendored`, `third_party`, `_third_party`, `externals` or `_externals`. Their races are
/// reported to, and fixed by, the project they come from.
fn is_vendored_path(relative: &Path) -> bool {
    directory_names(relative).any(|name| {
        matches!(
            name.trim_start_matches('_'),
            "vendor" | "vendored" | "third_party" | "externals"
        )
    })
}

/// The dotted names a file (its resolved path) can be imported as, whether it is a package
/// (`__init__`) and whether it is a test module. `packages` caches which directories hold an
/// `__init__.py`.
fn module_names(
    path: &Path,
    roots: &[PathBuf],
    packages: &mut FxHashMap<PathBuf, bool>,
) -> ModuleName {
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
    let mut is_test = false;
    let mut in_program_directory = false;
    let mut names: Vec<String> = roots
        .iter()
        .filter_map(|root| {
            let relative = path.strip_prefix(root).ok()?;
            is_test |= is_test_path(relative, Some(root));
            in_program_directory |= is_program_directory_path(relative, Some(root));
            Some(relative)
        })
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
    let mut is_vendored = false;
    if let Some(top) = top
        && let Ok(relative) = path.strip_prefix(&top)
    {
        is_test |= is_test_path(relative, None);
        is_vendored = is_vendored_path(relative);
        in_program_directory |= is_program_directory_path(relative, None);
        names.extend(dotted(relative));
    }
    names.sort_by_key(|name| std::cmp::Reverse(name.len()));
    names.dedup();
    ModuleName {
        names,
        is_package,
        is_test,
        is_vendored,
        in_program_directory,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_modules_by_name_and_by_directory_below_the_root() {
        let root = Path::new("/home/me/test/project");
        for relative in [
            "tests/helpers.py",
            "pkg/testing/pools.py",
            "pkg/test_pools.py",
            "pkg/pools_test.py",
            "conftest.py",
        ] {
            assert!(is_test_path(Path::new(relative), Some(root)), "{relative}");
        }
        assert!(is_vendored_path(Path::new(
            "invoke/vendor/yaml/resolver.py"
        )));
        assert!(is_vendored_path(Path::new("pip/_vendor/rich/live.py")));
        assert!(!is_vendored_path(Path::new("shop/vendors.py")));
        assert!(!is_vendored_path(Path::new("vendor.py")));
        assert!(is_program_directory_path(
            Path::new("pyqtgraph/examples/relativity/relativity.py"),
            None
        ));
        assert!(is_program_directory_path(
            Path::new("demo.py"),
            Some(Path::new("/src/scripts"))
        ));
        assert!(!is_program_directory_path(
            Path::new("shop/examples.py"),
            None
        ));
        assert!(!is_program_directory_path(
            Path::new("shop/demo.py"),
            Some(root)
        ));
        // `test` above the root is not the project's.
        assert!(!is_test_path(Path::new("pkg/pools.py"), Some(root)));
        assert!(!is_test_path(Path::new("pkg/contest.py"), Some(root)));
        // The root itself counts: `nogil-lint check tests/`.
        assert!(is_test_path(
            Path::new("helpers.py"),
            Some(Path::new("/home/me/project/tests"))
        ));
    }
}
