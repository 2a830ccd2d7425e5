//! NG202 pinned-below-free-threading: declared requirements that only allow releases older
//! than the first free-threaded release of an extension package the project imports.
//!
//! Requirements are read from `pyproject.toml` (`[project]` dependencies and optional
//! dependencies), `requirements*.txt` (following `-r`/`-c` includes) and `setup.cfg`
//! (`install_requires`), at the source roots. Each requirement is parsed as PEP 508 and its
//! version specifiers as PEP 440.
//!
//! The rule's documentation is `rules/NG202.md` (`nogil-lint rule NG202` prints it).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use pep508_rs::Requirement;
use ruff_source_file::LineIndex;
use ruff_text_size::{TextRange, TextSize};
use rustc_hash::FxHashSet;

use crate::data::{self, TargetVersion};
use crate::report::{FileReport, resolve_positions};

mod finding;
pub mod pep440;

use finding::finding;

/// One requirement string and where it is written.
#[derive(Debug, Clone)]
pub(crate) struct Declared {
    pub(crate) text: String,
    pub(crate) range: TextRange,
}

/// The requirement strings of a `requirements.txt`, following `-r`/`-c` includes.
fn requirements_txt(
    path: &Path,
    seen: &mut FxHashSet<PathBuf>,
    out: &mut Vec<(PathBuf, String, Vec<Declared>)>,
) {
    let Ok(canonical) = std::fs::canonicalize(path) else {
        return;
    };
    // Only regular files: an include naming `/dev/zero` would be read until memory runs out,
    // and one naming a FIFO or `/dev/stdin` would block the run.
    if !std::fs::metadata(&canonical).is_ok_and(|metadata| metadata.is_file()) {
        return;
    }
    if !seen.insert(canonical) {
        return;
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let mut declared = Vec::new();
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let content = line.split(" #").next().unwrap_or(line).trim_end();
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(rest) = trimmed
            .strip_prefix("-r ")
            .or_else(|| trimmed.strip_prefix("--requirement "))
            .or_else(|| trimmed.strip_prefix("-c "))
            .or_else(|| trimmed.strip_prefix("--constraint "))
        {
            let include = path.parent().unwrap_or(Path::new(".")).join(rest.trim());
            requirements_txt(&include, seen, out);
            continue;
        }
        if trimmed.starts_with('-') {
            continue;
        }
        let leading = content.len() - trimmed.len();
        let begin = start + leading;
        declared.push(Declared {
            text: trimmed.to_string(),
            range: TextRange::new(
                TextSize::try_from(begin).unwrap_or_default(),
                TextSize::try_from(begin + trimmed.len()).unwrap_or_default(),
            ),
        });
    }
    out.push((path.to_path_buf(), text, declared));
}

/// Quoted requirement strings in the dependency arrays of a `pyproject.toml`.
fn pyproject(path: &Path, out: &mut Vec<(PathBuf, String, Vec<Declared>)>) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let Ok(value) = toml::from_str::<toml::Value>(&text) else {
        return;
    };
    let Some(project) = value.get("project") else {
        return;
    };
    let mut strings: Vec<String> = Vec::new();
    if let Some(dependencies) = project.get("dependencies").and_then(toml::Value::as_array) {
        strings.extend(
            dependencies
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string)),
        );
    }
    if let Some(optional) = project
        .get("optional-dependencies")
        .and_then(toml::Value::as_table)
    {
        for group in optional.values().filter_map(toml::Value::as_array) {
            strings.extend(group.iter().filter_map(|v| v.as_str().map(str::to_string)));
        }
    }
    let declared = locate_quoted(&text, &strings);
    out.push((path.to_path_buf(), text, declared));
}

/// `install_requires` in `setup.cfg` (one requirement per continuation line).
fn setup_cfg(path: &Path, out: &mut Vec<(PathBuf, String, Vec<Declared>)>) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let mut declared = Vec::new();
    let mut offset = 0usize;
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let content = line.trim_end();
        if content.trim_start().starts_with("install_requires") {
            inside = true;
            let value = content
                .split_once('=')
                .map_or("", |(_, value)| value)
                .trim();
            if !value.is_empty() {
                let begin = start + content.rfind(value).unwrap_or(0);
                declared.push(Declared {
                    text: value.to_string(),
                    range: TextRange::new(
                        TextSize::try_from(begin).unwrap_or_default(),
                        TextSize::try_from(begin + value.len()).unwrap_or_default(),
                    ),
                });
            }
            continue;
        }
        if inside {
            let is_continuation = line.starts_with([' ', '\t']) && !content.trim().is_empty();
            if !is_continuation {
                inside = false;
                continue;
            }
            let trimmed = content.trim();
            if trimmed.starts_with('#') {
                continue;
            }
            let begin = start + (content.len() - content.trim_start().len());
            declared.push(Declared {
                text: trimmed.to_string(),
                range: TextRange::new(
                    TextSize::try_from(begin).unwrap_or_default(),
                    TextSize::try_from(begin + trimmed.len()).unwrap_or_default(),
                ),
            });
        }
    }
    out.push((path.to_path_buf(), text, declared));
}

/// Where each string stands in the file, quoted.
fn locate_quoted(text: &str, strings: &[String]) -> Vec<Declared> {
    let mut declared = Vec::new();
    let mut from = 0usize;
    for string in strings {
        for quote in ['"', '\''] {
            let needle = format!("{quote}{string}{quote}");
            if let Some(at) = text[from..]
                .find(&needle)
                .map(|at| at + from)
                .or_else(|| text.find(&needle))
            {
                let begin = at + 1;
                declared.push(Declared {
                    text: string.clone(),
                    range: TextRange::new(
                        TextSize::try_from(begin).unwrap_or_default(),
                        TextSize::try_from(begin + string.len()).unwrap_or_default(),
                    ),
                });
                from = begin;
                break;
            }
        }
    }
    declared
}

/// The requirement files at the source roots.
fn requirement_files(roots: &[PathBuf]) -> Vec<(PathBuf, String, Vec<Declared>)> {
    let mut out = Vec::new();
    let mut seen = FxHashSet::default();
    for root in roots {
        let pyproject_path = root.join("pyproject.toml");
        if pyproject_path.is_file() {
            pyproject(&pyproject_path, &mut out);
        }
        let setup_cfg_path = root.join("setup.cfg");
        if setup_cfg_path.is_file() {
            setup_cfg(&setup_cfg_path, &mut out);
        }
        if let Ok(entries) = std::fs::read_dir(root) {
            let mut names: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| {
                    path.file_name()
                        .and_then(|name| name.to_str())
                        .is_some_and(|name| {
                            name.starts_with("requirements") && name.ends_with(".txt")
                        })
                })
                .collect();
            names.sort();
            for path in names {
                requirements_txt(&path, &mut seen, &mut out);
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// Whether the requirement's name ends in `.`, `-` or `_` (`pkg. >=1`): not a valid name, and
/// one that pep508_rs 0.9 panics on (its name check disagrees with its parser) instead of
/// returning an error, when more text follows the name.
fn name_ends_in_separator(requirement: &str) -> bool {
    let text = requirement.trim_start();
    let name_length = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        .unwrap_or(text.len());
    text[..name_length].ends_with(['.', '-', '_'])
}

/// NG202 findings for the requirement files at `roots`, for the packages the project imports.
pub fn check(
    roots: &[PathBuf],
    display_base: &Path,
    imported_modules: &FxHashSet<String>,
    target: TargetVersion,
) -> Vec<FileReport> {
    let table = data::extensions();
    let imported: FxHashSet<String> = imported_modules
        .iter()
        .filter_map(|module| table.by_module(module))
        .map(|package| data::normalize_name(&package.name))
        .collect();
    let mut reports = Vec::new();
    for (path, text, declared) in requirement_files(roots) {
        let mut diagnostics = Vec::new();
        for requirement in declared {
            if name_ends_in_separator(&requirement.text) {
                continue;
            }
            let Ok(parsed) = Requirement::<pep508_rs::VerbatimUrl>::from_str(&requirement.text)
            else {
                continue;
            };
            let name = data::normalize_name(parsed.name.as_ref());
            if !imported.contains(&name) {
                continue;
            }
            let Some(package) = table.by_name(&name) else {
                continue;
            };
            if let Some(diagnostic) = finding(package, &parsed, &requirement, target) {
                diagnostics.push(diagnostic);
            }
        }
        if diagnostics.is_empty() {
            continue;
        }
        let shown = path
            .strip_prefix(display_base)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let filename: Arc<str> = Arc::from(shown.as_str());
        let index = LineIndex::from_source_text(&text);
        let messages = resolve_positions(&filename, &text, &index, diagnostics);
        reports.push(FileReport {
            filename,
            source: Some(Arc::from(text.as_str())),
            messages,
            io_error: None,
            internal_error: None,
            fixed: Vec::new(),
            diff: None,
            fixed_source: None,
            fix_errors: Vec::new(),
            path: Some(path.clone()),
            facts: None,
            diff_base: None,
        });
    }
    reports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_lines_and_includes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("requirements.txt"),
            "-r base.txt\nrequests>=2  # http\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("base.txt"), "numpy<2.1\n").unwrap();
        let files = requirement_files(&[dir.path().to_path_buf()]);
        let texts: Vec<&str> = files
            .iter()
            .flat_map(|(_, _, declared)| declared.iter().map(|d| d.text.as_str()))
            .collect();
        assert!(texts.contains(&"numpy<2.1"));
        assert!(texts.contains(&"requests>=2"));
    }
}
