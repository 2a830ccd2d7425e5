//! Arbitrary text as one of the project's extension sources (NG203): the lexical scan, its
//! fixes, and what the scan says about the fixed text.

#![no_main]

mod common;

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nogil_lint::checkers::ng203_extension_enables_gil::{BuildContext, check_source};
use nogil_lint::diagnostic::FixApplicability;
use nogil_lint::linter::check_extension_source;
use nogil_lint::settings::FixMode;

const NAMES: [&str; 6] = [
    "ext.c",
    "ext.cpp",
    "ext.pyx",
    "lib.rs",
    "CMakeLists.txt",
    "ext.cc",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(selector) % NAMES.len()];
    let build = BuildContext {
        cython_directive_in_build: selector & 0x80 != 0,
        pyo3_version: (selector & 0x40 != 0).then_some((0, u32::from(selector & 0x3f))),
    };
    common::with_big_stack(|| {
        let mut settings = common::all_rules();
        settings.build = build.clone();
        let path = Path::new(name);
        for mode in [FixMode::Report, FixMode::Diff(FixApplicability::Unsafe)] {
            let _ = check_extension_source(name.into(), path, text.to_vec(), &settings, mode);
        }
        // The fixes only add declarations: once applied, the scan asks for nothing more.
        let text = String::from_utf8_lossy(text);
        let diagnostics = check_source(path, &text, &build);
        let fixes: Vec<_> = diagnostics
            .iter()
            .filter_map(|diagnostic| diagnostic.fix.as_ref())
            .collect();
        if fixes.is_empty() {
            return;
        }
        let fixed = nogil_lint::fix::apply_fixes(&text, &fixes);
        let again = check_source(path, &fixed, &build);
        assert!(
            again.iter().all(|diagnostic| diagnostic.fix.is_none()),
            "fixes left fixable findings: {again:?}"
        );
    });
});
