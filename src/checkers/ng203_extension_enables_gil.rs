//! NG203 extension-enables-gil: the project's own extension sources do not declare that they
//! can run without the GIL, so importing them turns it back on.
//!
//! A lexical scan is enough: every toolchain declares support with a fixed spelling
//! (`Py_mod_gil`, `PyUnstable_Module_SetGIL`, `freethreading_compatible`, `gil_used`,
//! `mod_gil_not_used`, `FREE_THREADED`).
//!
//! The rule's documentation is `rules/NG203.md` (`nogil-lint rule NG203` prints it).

use std::path::Path;

use ruff_text_size::{TextRange, TextSize};

use crate::diagnostic::{Diagnostic, Edit, FixApplicability, Severity};
use crate::registry::Rule;

/// Source files this rule reads, by extension.
pub fn is_extension_source(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|ext| ext.to_str()),
        Some("c" | "cc" | "cpp" | "cxx" | "pyx" | "rs")
    ) || path
        .file_name()
        .is_some_and(|name| name == "CMakeLists.txt")
}

/// Facts about the project's build configuration that change what a source must declare.
#[derive(Debug, Clone, Default)]
pub struct BuildContext {
    /// Some build file passes `freethreading_compatible` to Cython for every module.
    pub cython_directive_in_build: bool,
    /// The PyO3 version the crate depends on (`(major, minor)`), when a Cargo.toml says.
    pub pyo3_version: Option<(u32, u32)>,
    /// Cython sources that another `.pyx` pastes in with `include "name.pyx"`: text of the
    /// including module, not modules of their own, so the including module's directive counts.
    pub included_cython: rustc_hash::FxHashSet<std::path::PathBuf>,
}

/// The `.pyx` files among `files` that another one names in an `include` statement, resolved
/// beside the including file.
pub fn included_cython_sources(
    files: &[std::path::PathBuf],
) -> rustc_hash::FxHashSet<std::path::PathBuf> {
    let mut included = rustc_hash::FxHashSet::default();
    for file in files {
        if file.extension().is_none_or(|ext| ext != "pyx") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let directory = file.parent().unwrap_or(Path::new("."));
        for line in text.lines() {
            let Some(rest) = line.trim_start().strip_prefix("include ") else {
                continue;
            };
            let name = rest.trim().trim_matches(|c| c == '"' || c == '\'');
            if name.ends_with(".pyx") || name.ends_with(".pxi") {
                included.insert(directory.join(name));
            }
        }
    }
    included
}

fn offset(index: usize) -> TextSize {
    TextSize::try_from(index).unwrap_or_default()
}

fn range_of(_text: &str, start: usize, needle: &str) -> TextRange {
    TextRange::new(offset(start), offset(start + needle.len()))
}

/// The text with comments blanked out (same length, line breaks kept), so that a declaration
/// mentioned in a comment does not count. `//` and `/* */` for C, C++ and Rust; `#` for CMake.
fn without_comments(text: &str, hash_comments: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        let line_comment = (!hash_comments && c == b'/' && bytes.get(i + 1) == Some(&b'/'))
            || (hash_comments && c == b'#');
        if line_comment {
            while i < bytes.len() && bytes[i] != b'\n' {
                out[i] = b' ';
                i += 1;
            }
            continue;
        }
        if !hash_comments && c == b'/' && bytes.get(i + 1) == Some(&b'*') {
            while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                if bytes[i] != b'\n' {
                    out[i] = b' ';
                }
                i += 1;
            }
            let end = (i + 2).min(bytes.len());
            out[i..end].fill(b' ');
            i += 2;
            continue;
        }
        if c == b'"' {
            in_string = true;
        }
        i += 1;
    }
    // Only ASCII bytes were replaced (by spaces), so the text stays valid UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// The start of each occurrence of `needle` in (comment-free) text.
fn occurrences<'t>(text: &'t str, needle: &'t str) -> impl Iterator<Item = usize> + 't {
    text.match_indices(needle).map(|(at, _)| at)
}

/// Scans one extension source and returns its findings.
pub fn check_source(path: &Path, text: &str, build: &BuildContext) -> Vec<Diagnostic> {
    let extension = path.extension().and_then(|ext| ext.to_str()).unwrap_or("");
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("");
    match (extension, name) {
        (_, "CMakeLists.txt") => check_cmake(&without_comments(text, true)),
        ("pyx", _) if build.included_cython.contains(path) => Vec::new(),
        ("pyx", _) => check_cython(text, build, path),
        ("rs", _) => check_pyo3(&without_comments(text, false), build),
        _ => check_c(&without_comments(text, false)),
    }
}

fn finding(message: String, range: TextRange, help: &str) -> Diagnostic {
    Diagnostic::new(Rule::ExtensionEnablesGil, message, range)
        .with_severity(Severity::Warning)
        .with_label("re-enables the GIL when imported")
        .with_help(help.to_string())
}

fn check_c(text: &str) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let declares_slot = text.contains("Py_mod_gil");
    let declares_call =
        text.contains("PyUnstable_Module_SetGIL") || text.contains("PyModule_ExperimentalSetGIL");
    // Multi-phase initialisation: a slot array without `Py_mod_gil`.
    if !declares_slot && let Some(at) = occurrences(text, "PyModuleDef_Slot").next() {
        diagnostics.push(finding(
                "this module's `PyModuleDef_Slot` array has no `Py_mod_gil` slot, so importing it re-enables the GIL on free-threaded Python".to_string(),
                range_of(text, at, "PyModuleDef_Slot"),
                "add `{Py_mod_gil, Py_MOD_GIL_NOT_USED},` to the slots (inside `#ifdef Py_GIL_DISABLED` when older Pythons must build it) once the module is thread-safe",
            ));
    }
    // Single-phase initialisation.
    if !declares_call && !declares_slot {
        for call in ["PyModule_Create2", "PyModule_Create"] {
            if let Some(at) = occurrences(text, call).next() {
                diagnostics.push(finding(
                    format!("`{call}` creates a single-phase module without `PyUnstable_Module_SetGIL`, so importing it re-enables the GIL on free-threaded Python"),
                    range_of(text, at, call),
                    "after creating the module, call `PyUnstable_Module_SetGIL(module, Py_MOD_GIL_NOT_USED);` inside `#ifdef Py_GIL_DISABLED`, once it is thread-safe",
                ));
                break;
            }
        }
    }
    // pybind11
    for at in occurrences(text, "PYBIND11_MODULE(") {
        let rest = &text[at..];
        let end = rest.find(')').map_or(rest.len(), |i| i + 1);
        if !rest[..end].contains("mod_gil_not_used") {
            diagnostics.push(finding(
                "`PYBIND11_MODULE` does not pass `py::mod_gil_not_used()`, so importing the module re-enables the GIL on free-threaded Python".to_string(),
                range_of(text, at, "PYBIND11_MODULE"),
                "write `PYBIND11_MODULE(name, m, py::mod_gil_not_used())` (pybind11 >= 2.13) once the module is thread-safe",
            ));
        }
    }
    diagnostics
}

fn check_cmake(text: &str) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for at in occurrences(text, "nanobind_add_module(") {
        let rest = &text[at..];
        let end = rest.find(')').map_or(rest.len(), |i| i + 1);
        if !rest[..end].contains("FREE_THREADED") {
            diagnostics.push(finding(
                "`nanobind_add_module` without `FREE_THREADED` builds a module that re-enables the GIL on free-threaded Python".to_string(),
                range_of(text, at, "nanobind_add_module"),
                "add `FREE_THREADED` to `nanobind_add_module(...)` (nanobind >= 2.2) once the module is thread-safe",
            ));
        }
    }
    diagnostics
}

fn check_cython(text: &str, build: &BuildContext, path: &Path) -> Vec<Diagnostic> {
    // The directive lives in the `# cython:` header comments (or a build file).
    let declared = text
        .lines()
        .take_while(|line| line.trim().is_empty() || line.trim_start().starts_with('#'))
        .any(|line| line.contains("cython:") && line.contains("freethreading_compatible"));
    if build.cython_directive_in_build || declared || directive_in_enclosing_build(path) {
        return Vec::new();
    }
    // The fix adds the directive to the header comment block (or a new first line). Offsets
    // come from the lines with their breaks: a `\r\n` is two bytes.
    let existing = text
        .split_inclusive('\n')
        .take_while(|line| line.trim().is_empty() || line.trim_start().starts_with('#'))
        .scan(0usize, |position, line| {
            let start = *position;
            *position += line.len();
            Some((start, line))
        })
        .find(|(_, line)| line.trim_start().starts_with("# cython:"));
    let edit = match existing {
        Some((start, line)) => Edit {
            range: TextRange::empty(offset(start + line.trim_end().len())),
            content: ", freethreading_compatible=True".to_string(),
        },
        None => Edit {
            range: TextRange::empty(offset(0)),
            content: "# cython: freethreading_compatible=True\n".to_string(),
        },
    };
    let fix = crate::fix::fix(
        FixApplicability::Unsafe,
        "Declare `freethreading_compatible=True`".to_string(),
        vec![edit],
    );
    let first_line_end = text.find('\n').unwrap_or(text.len());
    vec![finding(
        "this Cython module does not set the `freethreading_compatible` directive (in the file or the build), so importing it re-enables the GIL on free-threaded Python".to_string(),
        TextRange::new(offset(0), offset(first_line_end)),
        "add `# cython: freethreading_compatible=True` at the top (Cython >= 3.1) once the module is thread-safe",
    )
    .with_fix(Some(fix))]
}

fn check_pyo3(text: &str, build: &BuildContext) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    // Before PyO3 0.28 modules keep the GIL unless they opt out.
    let defaults_to_gil = build.pyo3_version.is_some_and(|version| version < (0, 28));
    for at in occurrences(text, "#[pymodule") {
        let rest = &text[at..];
        let end = rest.find(']').map_or(rest.len(), |i| i + 1);
        let attribute = &rest[..end];
        let explicit_true =
            attribute.contains("gil_used = true") || attribute.contains("gil_used=true");
        let explicit = attribute.contains("gil_used");
        if explicit_true {
            diagnostics.push(finding(
                "`#[pymodule(gil_used = true)]` declares that the module needs the GIL, so importing it re-enables the GIL on free-threaded Python".to_string(),
                range_of(text, at, attribute),
                "use `#[pymodule(gil_used = false)]` once the module is thread-safe",
            ));
        } else if !explicit && defaults_to_gil {
            diagnostics.push(finding(
                "this `#[pymodule]` uses PyO3's default before 0.28 (`gil_used = true`), so importing it re-enables the GIL on free-threaded Python".to_string(),
                range_of(text, at, attribute),
                "write `#[pymodule(gil_used = false)]` (PyO3 >= 0.23), or upgrade to PyO3 >= 0.28 where that is the default",
            ));
        }
    }
    diagnostics
}

/// The build files whose Cython arguments apply to the modules at and below them.
const BUILD_FILES: [&str; 4] = ["setup.py", "pyproject.toml", "meson.build", "setup.cfg"];

/// Whether a build file beside `path` or above it, up to the top of its project, passes
/// `freethreading_compatible`. Meson projects (scikit-learn, numpy.random) set the Cython
/// arguments in the `meson.build` of a package directory, which `build_context` (reading only
/// the linted roots) never sees.
fn directive_in_enclosing_build(path: &Path) -> bool {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    for dir in path.ancestors().skip(1) {
        // A bare file name has no directory to look in (standard input, the unit tests).
        if dir.as_os_str().is_empty() {
            break;
        }
        let mut top = dir.join(".git").exists();
        for name in BUILD_FILES {
            let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
                continue;
            };
            if text.contains("freethreading_compatible") {
                return true;
            }
            top |= name != "meson.build"
                || text
                    .lines()
                    .any(|line| line.trim_start().starts_with("project("));
        }
        if top {
            break;
        }
    }
    false
}

/// Reads the build configuration of the project around `roots`: Cython directives in
/// `setup.py`, `pyproject.toml` or `meson.build`, and the PyO3 version in `Cargo.toml`.
pub fn build_context(roots: &[std::path::PathBuf]) -> BuildContext {
    let mut context = BuildContext::default();
    for root in roots {
        for name in BUILD_FILES {
            if let Ok(text) = std::fs::read_to_string(root.join(name))
                && text.contains("freethreading_compatible")
            {
                context.cython_directive_in_build = true;
            }
        }
        if let Ok(text) = std::fs::read_to_string(root.join("Cargo.toml"))
            && let Some(version) = pyo3_version(&text)
        {
            context.pyo3_version = Some(version);
        }
    }
    context
}

/// `pyo3 = "0.22"` / `pyo3 = { version = "0.22.3", … }` → `(0, 22)`.
fn pyo3_version(cargo_toml: &str) -> Option<(u32, u32)> {
    let value: toml::Value = toml::from_str(cargo_toml).ok()?;
    let dependency = value.get("dependencies")?.get("pyo3")?;
    let version = match dependency {
        toml::Value::String(version) => version.as_str(),
        toml::Value::Table(table) => table.get("version")?.as_str()?,
        _ => return None,
    };
    let version = version.trim_start_matches(['^', '=', '~', '>', ' ']);
    let mut parts = version.split('.').map(|part| part.parse::<u32>().ok());
    Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_slots_and_single_phase() {
        let multi = "static PyModuleDef_Slot slots[] = {{Py_mod_exec, exec}, {0, NULL}};\n";
        assert_eq!(check_c(multi).len(), 1);
        let declared =
            "static PyModuleDef_Slot slots[] = {{Py_mod_gil, Py_MOD_GIL_NOT_USED}, {0, NULL}};\n";
        assert!(check_c(declared).is_empty());
        let single = "PyMODINIT_FUNC PyInit_m(void) { return PyModule_Create(&def); }\n";
        assert_eq!(check_c(single).len(), 1);
        let set = "m = PyModule_Create(&def);\n#ifdef Py_GIL_DISABLED\nPyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED);\n#endif\n";
        assert!(check_c(set).is_empty());
        let commented = "// PyModule_Create(&def) is not used here\n";
        assert!(check_source(Path::new("m.c"), commented, &BuildContext::default()).is_empty());
        let mentioned = "/* no Py_mod_gil here */\nstatic PyModuleDef_Slot s[] = {{0, NULL}};\n";
        assert_eq!(
            check_source(Path::new("m.c"), mentioned, &BuildContext::default()).len(),
            1
        );
    }

    #[test]
    fn pybind11_and_nanobind() {
        assert_eq!(check_c("PYBIND11_MODULE(fast, m) {\n}\n").len(), 1);
        assert!(check_c("PYBIND11_MODULE(fast, m, py::mod_gil_not_used()) {\n}\n").is_empty());
        assert_eq!(
            check_cmake("nanobind_add_module(fast src/fast.cpp)\n").len(),
            1
        );
        assert!(check_cmake("nanobind_add_module(fast FREE_THREADED src/fast.cpp)\n").is_empty());
    }

    #[test]
    fn cython_directive_and_fix() {
        let build = BuildContext::default();
        let found = check_cython(
            "# cython: language_level=3\ndef f():\n    pass\n",
            &build,
            Path::new("fast.pyx"),
        );
        assert_eq!(found.len(), 1);
        let fix = found[0].fix.as_ref().unwrap();
        let fixed =
            crate::fix::apply_fixes("# cython: language_level=3\ndef f():\n    pass\n", &[fix]);
        assert!(fixed.starts_with("# cython: language_level=3, freethreading_compatible=True\n"));
        assert!(
            check_cython(
                "# cython: freethreading_compatible=True\n",
                &build,
                Path::new("fast.pyx")
            )
            .is_empty()
        );
        let configured = BuildContext {
            cython_directive_in_build: true,
            ..BuildContext::default()
        };
        assert!(check_cython("def f(): pass\n", &configured, Path::new("fast.pyx")).is_empty());
    }

    #[test]
    fn pyo3_versions() {
        assert_eq!(
            pyo3_version("[dependencies]\npyo3 = \"0.22.3\"\n"),
            Some((0, 22))
        );
        assert_eq!(
            pyo3_version(
                "[dependencies]\npyo3 = { version = \"0.28\", features = [\"extension-module\"] }\n"
            ),
            Some((0, 28))
        );
        let old = BuildContext {
            pyo3_version: Some((0, 22)),
            ..BuildContext::default()
        };
        assert_eq!(
            check_pyo3("#[pymodule]\nfn fast(m: &Bound<PyModule>) {}\n", &old).len(),
            1
        );
        assert!(check_pyo3("#[pymodule(gil_used = false)]\nfn fast() {}\n", &old).is_empty());
        let new = BuildContext {
            pyo3_version: Some((0, 28)),
            ..BuildContext::default()
        };
        assert!(check_pyo3("#[pymodule]\nfn fast() {}\n", &new).is_empty());
        assert_eq!(
            check_pyo3("#[pymodule(gil_used = true)]\nfn fast() {}\n", &new).len(),
            1
        );
    }
}
