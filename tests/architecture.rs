//! The shape of the code, checked: the modules form layers that only use the layers below
//! them (no import cycles), and no source file grows past what one reader can hold.
//!
//! The layers are the ones `src/lib.rs` and the README's "How it works" describe. A new
//! top-level module must be placed in one of them here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top to bottom. A module may use modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    &["main"],
    &["cli"],
    &["parity", "server"],
    &["pipeline"],
    &["linter", "project", "requirements", "output"],
    &["settings"],
    &["config", "report"],
    &["facts"],
    &["checkers", "noqa"],
    &["fix"],
    &["diagnostic"],
    &["semantic", "registry"],
    &["data", "lines", "discovery", "environment", "isolation"],
];

/// Longest source file allowed under `src/`.
const MAX_LINES: usize = 900;

fn rust_files(directory: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/checkers/ng101.rs` → `checkers`.
fn top_module(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("a file under src/");
    let first = relative
        .components()
        .next()
        .expect("a path component")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules a file names with `crate::`, outside comments.
fn used_modules(text: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                used.insert(name);
            }
            rest = after;
        }
    }
    used
}

fn sources() -> (PathBuf, Vec<PathBuf>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    (src, files)
}

#[test]
fn modules_use_only_lower_layers() {
    let layer_of: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(layer, modules)| modules.iter().map(move |module| (*module, layer)))
        .collect();
    let (src, files) = sources();
    let mut violations = Vec::new();
    for file in &files {
        let module = top_module(&src, file);
        if module == "lib" {
            continue;
        }
        let Some(&layer) = layer_of.get(module.as_str()) else {
            violations.push(format!(
                "{}: module `{module}` is in no layer of tests/architecture.rs",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for used in used_modules(&text) {
            if used == module {
                continue;
            }
            match layer_of.get(used.as_str()) {
                Some(&used_layer) if used_layer > layer => {}
                Some(_) => violations.push(format!(
                    "{}: `{module}` uses `crate::{used}`, which is not in a lower layer",
                    file.display()
                )),
                None => violations.push(format!(
                    "{}: `crate::{used}` is in no layer of tests/architecture.rs",
                    file.display()
                )),
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn source_files_stay_readable() {
    let (_, files) = sources();
    let long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let lines = std::fs::read_to_string(file).ok()?.lines().count();
            (lines > MAX_LINES).then(|| format!("{}: {lines} lines", file.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these by concern (at most {MAX_LINES} lines each):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checker_finds_layer_violations() {
    // The scanner itself: a use in code counts, one in a comment does not.
    let used =
        used_modules("use crate::report::FileReport; // crate::cli\nlet x = crate::fix::fix(a);\n");
    assert_eq!(
        used.into_iter().collect::<Vec<_>>(),
        ["fix".to_string(), "report".to_string()]
    );
}
