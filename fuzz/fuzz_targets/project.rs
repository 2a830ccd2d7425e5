//! Arbitrary text as a small project on disk, through the whole `check` pipeline: discovery,
//! the per-file phase, the project phase that links modules, requirement files (NG202) and
//! extension sources (NG203), reported and as a diff of every fix (nothing is written).
//!
//! The input is split at lines starting with `#%%`; the pieces become, in order, the files
//! named in `FILES`.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nogil_lint::diagnostic::FixApplicability;
use nogil_lint::settings::FixMode;
use nogil_lint::registry::{Rule, RuleSelector, RuleSet};

const FILES: [&str; 8] = [
    "pkg/__init__.py",
    "pkg/jobs.py",
    "pkg/main.py",
    "pkg/sub/__init__.py",
    "pkg/sub/work.py",
    "pyproject.toml",
    "requirements.txt",
    "pkg/ext.c",
];

/// One worker with the CLI's stack size (deeply nested code recurses deeply).
fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .stack_size(256 * 1024 * 1024)
            .build()
            .expect("a thread pool")
    })
}

fuzz_target!(|data: &[u8]| {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let root = directory.path();
    let mut start = 0;
    let mut pieces = Vec::new();
    for (at, window) in data.windows(4).enumerate() {
        if window == b"\n#%%" && at + 1 >= start {
            pieces.push(&data[start..at + 1]);
            start = at + 1;
        }
    }
    pieces.push(&data[start..]);
    for (piece, name) in pieces.iter().zip(FILES) {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
        std::fs::write(&path, piece).expect("writing a file");
    }
    // Every rule but NG204, which starts an interpreter to inspect its packages.
    let ignore: RuleSelector = Rule::InstalledExtensionEnablesGil
        .code()
        .parse()
        .expect("a rule code is a selector");
    let settings = nogil_lint::settings::Settings {
        rules: RuleSet::from_selectors(None, &[], &[ignore]),
        collect_facts: true,
        unsafe_fixes: true,
        ..Default::default()
    };
    let paths = vec![root.to_path_buf()];
    pool().install(|| {
        for mode in [FixMode::Report, FixMode::Diff(FixApplicability::Unsafe)] {
            let (reports, _) = nogil_lint::pipeline::run(&paths, None, &settings, mode);
            let options = nogil_lint::output::PrintOptions {
                format: nogil_lint::output::OutputFormat::Full,
                color: false,
                quiet: false,
                unsafe_fixes: true,
            };
            nogil_lint::output::print(&reports, options, &mut std::io::sink()).expect("a sink");
        }
    });
});
