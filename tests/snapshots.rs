//! Snapshots of every output format over the bundled example and the rule fixtures.

use std::path::Path;

use nogil_lint::diagnostic::Severity;
use nogil_lint::output::{OutputFormat, PrintOptions, print};
use nogil_lint::pipeline::check_path;
use nogil_lint::report::FileReport;
use nogil_lint::settings::Settings;

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

/// The full report of the rule fixtures `fixtures/rules/NG1xx.py` for the numbers given.
fn rule_fixtures_report(numbers: std::ops::RangeInclusive<u32>) -> String {
    let files: Vec<String> = numbers
        .map(|n| format!("fixtures/rules/NG1{n:02}.py"))
        .collect();
    let paths: Vec<&str> = files.iter().map(String::as_str).collect();
    render(&reports(&paths), OutputFormat::Full)
}

#[test]
fn rule_fixtures_full() {
    insta::assert_snapshot!(rule_fixtures_report(1..=8));
}

/// The hazard families' messages (NG109–NG114) name the interleaving and its exception; the
/// snapshot pins them (an eviction by position raises `IndexError`, not `KeyError`).
#[test]
fn hazard_family_fixtures_full() {
    insta::assert_snapshot!(rule_fixtures_report(9..=14));
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

#[test]
fn example_ci_formats() {
    let reports = reports(EXAMPLE);
    insta::assert_snapshot!(
        "example_json_lines",
        render(&reports, OutputFormat::JsonLines)
    );
    insta::assert_snapshot!("example_github", render(&reports, OutputFormat::Github));
    insta::assert_snapshot!("example_grouped", render(&reports, OutputFormat::Grouped));
    insta::assert_snapshot!("example_junit", render(&reports, OutputFormat::Junit));
    let sarif = render(&reports, OutputFormat::Sarif);
    let value: serde_json::Value = serde_json::from_str(&sarif).expect("SARIF is JSON");
    assert_eq!(value["version"], "2.1.0");
    let driver = &value["runs"][0]["tool"]["driver"];
    assert_eq!(
        driver["rules"].as_array().map(Vec::len),
        Some(nogil_lint::registry::Rule::ALL.len())
    );
    for rule in driver["rules"].as_array().unwrap() {
        for key in ["id", "name", "shortDescription", "fullDescription", "help"] {
            assert!(rule.get(key).is_some(), "rule {key}");
        }
        // No link to a home the project does not have yet: the help carries the documentation.
        assert!(rule.get("helpUri").is_none(), "rule helpUri");
    }
    let results = value["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), reports[0].messages.len());
    let region = &results[0]["locations"][0]["physicalLocation"]["region"];
    assert!(region["startLine"].as_u64().unwrap() >= 1);
    assert!(results.iter().any(|result| result.get("fixes").is_some()));
    insta::assert_snapshot!("example_sarif", sarif);
}

#[test]
fn github_escapes_messages_and_properties() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a,b:c.py");
    std::fs::write(&path, "n = 0\n\n\ndef f():\n    global n\n    n += 1\n").unwrap();
    let mut report = check_path(&path, &Settings::default());
    report.filename = "dir/a,b:c.py".into();
    for message in &mut report.messages {
        message.filename = "dir/a,b:c.py".into();
        message.diagnostic.message = "100% sure\r\nsecond line".to_string();
    }
    let out = render(&[report], OutputFormat::Github);
    assert!(out.contains("file=dir/a%2Cb%3Ac.py,"), "{out}");
    assert!(out.contains("::100%25 sure%0D%0Asecond line"), "{out}");
}

/// A small module with a check-then-act (a safe fix) on a shared dict, as a user would see it,
/// but with every finding rated `info`: no rule emits info yet, so the report is built by hand.
fn info_reports() -> Vec<FileReport> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.py");
    std::fs::write(
        &path,
        "cache = {}\n\n\ndef remember(key, value):\n    if key not in cache:\n        cache[key] = value\n",
    )
    .unwrap();
    let mut report = check_path(&path, &Settings::default());
    assert!(!report.messages.is_empty(), "the module has findings");
    report.filename = "inventory.py".into();
    for message in &mut report.messages {
        message.filename = "inventory.py".into();
        message.diagnostic.severity = Severity::Info;
    }
    vec![report]
}

#[test]
fn info_findings_in_every_format() {
    let reports = info_reports();
    let full = render(&reports, OutputFormat::Full);
    // miette's advice marker, not the error (×) or warning (⚠) one.
    assert!(full.contains("  ☞ "), "{full}");
    assert!(!full.contains('×') && !full.contains('⚠'), "{full}");
    insta::assert_snapshot!("info_full", full);
    insta::assert_snapshot!("info_concise", render(&reports, OutputFormat::Concise));
    let json = render(&reports, OutputFormat::Json);
    let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    for entry in value.as_array().unwrap() {
        assert_eq!(entry["severity"], "info");
    }
    insta::assert_snapshot!("info_json", json);
    let lines = render(&reports, OutputFormat::JsonLines);
    for line in lines.lines() {
        let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(entry["severity"], "info");
    }
    insta::assert_snapshot!("info_json_lines", lines);
    let github = render(&reports, OutputFormat::Github);
    assert!(
        github
            .lines()
            .all(|line| line.starts_with("::notice file=")),
        "{github}"
    );
    insta::assert_snapshot!("info_github", github);
    insta::assert_snapshot!("info_grouped", render(&reports, OutputFormat::Grouped));
    insta::assert_snapshot!("info_junit", render(&reports, OutputFormat::Junit));
    let sarif = render(&reports, OutputFormat::Sarif);
    let value: serde_json::Value = serde_json::from_str(&sarif).expect("SARIF is JSON");
    let results = value["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), reports[0].messages.len());
    for result in results {
        assert_eq!(result["level"], "note");
    }
    // The rules' documentation is already in `example_sarif`; only the results here.
    insta::assert_snapshot!(
        "info_sarif_results",
        serde_json::to_string_pretty(&value["runs"][0]["results"]).unwrap()
    );
}

#[test]
fn info_findings_in_colour_use_the_advice_style() {
    let reports = info_reports();
    let mut out = Vec::new();
    let options = PrintOptions {
        format: OutputFormat::Full,
        color: true,
        quiet: true,
        unsafe_fixes: false,
    };
    print(&reports, options, &mut out).expect("prints");
    let coloured = String::from_utf8(out).unwrap();
    let mut as_warning = reports.clone();
    for message in &mut as_warning[0].messages {
        message.diagnostic.severity = Severity::Warning;
    }
    let mut out = Vec::new();
    print(&as_warning, options, &mut out).expect("prints");
    let warning = String::from_utf8(out).unwrap();
    // Cyan (miette's advice style) for the marker and the header, never the warning's yellow.
    assert!(coloured.contains("\u{1b}[36m☞"), "{coloured:?}");
    assert!(
        coloured.contains("\u{1b}[36mNG105 (shared-module-state)"),
        "{coloured:?}"
    );
    assert!(!coloured.contains("\u{1b}[33m⚠"), "{coloured:?}");
    assert!(warning.contains("\u{1b}[33m⚠"), "{warning:?}");
}

#[test]
fn summary_and_statistics_count_info_findings() {
    let reports = info_reports();
    let count = reports[0].messages.len();
    let full = render(&reports, OutputFormat::Full);
    assert!(
        full.contains(&format!(
            "Found {} in 1 file.",
            nogil_lint::output::plural(count, "finding")
        )),
        "{full}"
    );
    let mut out = Vec::new();
    nogil_lint::output::print_statistics(&reports, OutputFormat::Json, &mut out).unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let total: u64 = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, count);
}
