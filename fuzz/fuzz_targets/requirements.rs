//! Arbitrary text as a `requirements.txt`, `pyproject.toml` or `setup.cfg` (NG202), checked as
//! if the project imported every package the extension table knows.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use nogil_lint::data::{self, TargetVersion};
use rustc_hash::FxHashSet;

const NAMES: [&str; 4] = [
    "requirements.txt",
    "pyproject.toml",
    "setup.cfg",
    "requirements-dev.txt",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(selector) % NAMES.len()];
    let target = if selector & 0x80 != 0 {
        TargetVersion::Py313t
    } else {
        TargetVersion::Py314t
    };
    let imported: FxHashSet<String> = data::extensions()
        .packages
        .iter()
        .flat_map(|package| package.imports.iter().cloned())
        .collect();
    let directory = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(directory.path().join(name), text).expect("writing the requirement file");
    let roots = vec![directory.path().to_path_buf()];
    common::with_big_stack(|| {
        let _ = nogil_lint::requirements::check(&roots, directory.path(), &imported, target);
    });
});
