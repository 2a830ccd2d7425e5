//! Snapshots of every output format over the bundled example and the rule fixtures.

use std::path::Path;

use nogil_lint::cli::check_path;
use nogil_lint::linter::{FileReport, Settings};
use nogil_lint::output::{OutputFormat, PrintOptions, print};

fn reports(paths: &[&str]) -> Vec<FileReport> {
    let settings = Settings::default();
    paths
        .iter()
        .map(|path| check_path(Path::new(path), &settings))
        .collect()
}

fn render(reports: &[FileReport], format: OutputFormat) -> String {
    let mut out = Vec::new();
    let options = PrintOptions {
        format,
        color: false,
        quiet: false,
        unsafe_fixes: false,
    };
    print(reports, options, &mut out).expect("prints");
    String::from_utf8(out).expect("UTF-8 output")
}

const EXAMPLE: &[&str] = &["fixtures/example/app.py"];

#[test]
fn example_full() {
    insta::assert_snapshot!(render(&reports(EXAMPLE), OutputFormat::Full));
}

#[test]
fn example_concise() {
    insta::assert_snapshot!(render(&reports(EXAMPLE), OutputFormat::Concise));
}

#[test]
fn example_json() {
    let json = render(&reports(EXAMPLE), OutputFormat::Json);
    let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let first = &value[0];
    for key in [
        "code",
        "name",
        "severity",
        "message",
        "filename",
        "location",
        "end_location",
        "fix",
        "noqa_row",
        "url",
    ] {
        assert!(first.get(key).is_some(), "JSON entries carry `{key}`");
    }
    insta::assert_snapshot!(json);
}

#[test]
fn rule_fixtures_full() {
    let files: Vec<String> = (1..=8)
        .map(|n| format!("fixtures/rules/NG10{n}.py"))
        .collect();
    let paths: Vec<&str> = files.iter().map(String::as_str).collect();
    insta::assert_snapshot!(render(&reports(&paths), OutputFormat::Full));
}

#[test]
fn syntax_error_full() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.py");
    std::fs::write(&path, "def f(:\n    return 1\n").unwrap();
    let mut report = check_path(&path, &Settings::default());
    report.filename = "broken.py".into();
    for message in &mut report.messages {
        message.filename = "broken.py".into();
    }
    insta::assert_snapshot!(render(&[report], OutputFormat::Full));
}
