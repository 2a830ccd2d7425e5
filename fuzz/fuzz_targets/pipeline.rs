//! Arbitrary bytes through everything `nogil-lint check` does to one file: decoding, parsing,
//! the semantic model, every rule, noqa handling, fixing (every fix, re-parse verified) and
//! printing, as a `.py` and as a `.pyi`. Then the invariants a user relies on: fixed text
//! parses, a second fix pass finds nothing left to do, and `--add-noqa` output parses and
//! silences what it annotated.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use nogil_lint::linter::{Decoded, decode};
use nogil_lint::settings::FixMode;
use nogil_lint::output::{self, OutputFormat, PrintOptions};
use nogil_lint::registry::Rule;

fn parses(text: &str, name: &str) -> bool {
    nogil_lint::fix::parses(text, std::path::Path::new(name))
}

fn print_all(reports: &[nogil_lint::report::FileReport]) {
    for format in [
        OutputFormat::Full,
        OutputFormat::Concise,
        OutputFormat::Json,
        OutputFormat::JsonLines,
        OutputFormat::Github,
        OutputFormat::Grouped,
        OutputFormat::Junit,
        OutputFormat::Sarif,
    ] {
        let options = PrintOptions {
            format,
            color: false,
            quiet: false,
            unsafe_fixes: true,
        };
        output::print(reports, options, &mut std::io::sink()).expect("writing to a sink");
    }
}

fn check_one(data: &[u8], name: &str) {
    let settings = common::all_rules();

    // Report mode, linked as the project phase links one module, and printed.
    let mut report = common::check(name, data.to_vec(), &settings, FixMode::Report);
    report.sort_messages();
    let mut reports = vec![common::with_path(report, name)];
    let names = nogil_lint::project::ModuleNames::default();
    nogil_lint::project::link(&mut reports, &names, &settings.rules);
    for report in &mut reports {
        report.sort_messages();
    }
    print_all(&reports);
    let report = reports.pop().expect("one report");

    let Decoded::Text(text, _) = decode(data.to_vec()) else {
        return;
    };
    if !parses(&text, name) {
        return;
    }

    // `--add-noqa`: adds comments only, so the text still parses and nothing it annotated is
    // reported again.
    let findings: Vec<(usize, Rule)> = report
        .messages
        .iter()
        .map(|message| (message.noqa_row, message.diagnostic.rule))
        .collect();
    let (annotated, count) =
        nogil_lint::noqa::add_noqa(&text, std::path::Path::new(name), &findings);
    if count > 0 {
        assert!(parses(&annotated, name), "--add-noqa broke the syntax");
        let again = common::check(name, annotated.into_bytes(), &settings, FixMode::Report);
        let left = |report: &nogil_lint::report::FileReport| {
            report
                .messages
                .iter()
                .filter(|message| message.diagnostic.rule != Rule::UnusedNoqa)
                .count()
        };
        assert!(
            left(&again) <= left(&report),
            "--add-noqa added findings: {:?}",
            again.messages
        );
    }

    // Every fix, applied to standard input.
    let fixed = common::check(name, data.to_vec(), &settings, common::APPLY_ALL);
    assert!(
        fixed.fix_errors.is_empty(),
        "first fix pass: {:?}",
        fixed.fix_errors
    );
    print_all(std::slice::from_ref(&fixed));
    let Some(source) = fixed.fixed_source else {
        return;
    };
    assert!(parses(&source, name), "fixed text does not parse");

    // The fixed text is a fixed point: a second pass neither fails nor changes it.
    let second = common::check(
        name,
        source.clone().into_bytes(),
        &settings,
        common::APPLY_ALL,
    );
    assert!(
        second.fix_errors.is_empty(),
        "second fix pass: {:?}",
        second.fix_errors
    );
    assert!(
        second
            .fixed_source
            .as_deref()
            .is_none_or(|again| again == source),
        "a second fix pass changed the fixed text"
    );
}

fuzz_target!(|data: &[u8]| {
    common::with_big_stack(|| {
        check_one(data, "fuzz.py");
        check_one(data, "fuzz.pyi");
    });
});
