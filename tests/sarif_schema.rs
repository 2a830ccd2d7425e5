//! `--output-format sarif` against the OASIS SARIF 2.1.0 schema, plus the parts code-scanning
//! services rely on that the schema leaves optional.
//!
//! The schema is not in the repository: `scripts/fetch-sarif-schema.sh` brings it, pinned by
//! hash, into Cargo's test scratch directory the first time this runs. `NOGIL_LINT_SARIF_SCHEMA`
//! names a schema file to use instead (for offline machines). Under `CI` a schema that cannot be
//! had fails every test here; elsewhere they are skipped with a message on standard error, so an
//! offline laptop can still run the rest of the suite.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use jsonschema::{Draft, Validator};
use serde_json::Value;

/// The identifier of the errata 01 schema, the last OASIS revision of SARIF 2.1.0.
const SCHEMA_ID: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

fn schema_path() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("NOGIL_LINT_SARIF_SCHEMA") {
        return Ok(PathBuf::from(path));
    }
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sarif-schema-2.1.0.json");
    if path.is_file() {
        return Ok(path);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fetch-sarif-schema.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg(&path)
        .output()
        .map_err(|error| format!("could not run {}: {error}", script.display()))?;
    if !output.status.success() || !path.is_file() {
        return Err(format!(
            "{} failed ({}):\n{}{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(path)
}

fn load_validator() -> Result<Validator, String> {
    let path = schema_path()?;
    let text = std::fs::read_to_string(&path)
        .map_err(|error| format!("could not read {}: {error}", path.display()))?;
    let schema: Value = serde_json::from_str(&text)
        .map_err(|error| format!("{} is not JSON: {error}", path.display()))?;
    // A wrong file (an older draft, a schema for SARIF 2.2) would test the wrong promise.
    if schema["id"] != SCHEMA_ID {
        return Err(format!(
            "{} is not the OASIS SARIF 2.1.0 errata 01 schema (id {})",
            path.display(),
            schema["id"]
        ));
    }
    jsonschema::options()
        .with_draft(Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|error| format!("the schema in {} does not compile: {error}", path.display()))
}

/// The validator, or `None` (after saying so loudly) on a machine that cannot get the schema.
fn validator() -> Option<&'static Validator> {
    static VALIDATOR: OnceLock<Result<Validator, String>> = OnceLock::new();
    match VALIDATOR.get_or_init(load_validator) {
        Ok(validator) => Some(validator),
        Err(reason) if in_ci() => panic!("SARIF schema unavailable under CI: {reason}"),
        Err(reason) => {
            // Straight to the process's standard error: the test harness would hide `eprintln!`
            // output of a test that passes, and a skip must not go unnoticed.
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!!!!! SKIPPING SARIF SCHEMA VALIDATION !!!!!!!!\n{reason}\n\
                 Set NOGIL_LINT_SARIF_SCHEMA to a copy of sarif-schema-2.1.0.json to run it.\n"
            );
            None
        }
    }
}

/// Runs `nogil-lint check --output-format sarif` with `args` in `dir`.
fn sarif(dir: &Path, args: &[&str], expected_code: i32) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_nogil-lint"))
        .current_dir(dir)
        .env_remove("NOGIL_LINT_OUTPUT_FORMAT")
        .args(["check", "--output-format", "sarif"])
        .args(args)
        .output()
        .expect("run nogil-lint");
    assert_eq!(
        output.status.code(),
        Some(expected_code),
        "exit code of check {args:?}; stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("SARIF is UTF-8")
}

/// Validates `document` against the schema, listing every error with where it is.
fn assert_valid(validator: &Validator, name: &str, document: &str) -> Value {
    let value: Value = serde_json::from_str(document)
        .unwrap_or_else(|error| panic!("{name}: not JSON ({error}):\n{document}"));
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|error| {
            format!(
                "  at {:?} (schema {:?}): {error}",
                error.instance_path().as_str(),
                error.schema_path().as_str()
            )
        })
        .collect();
    assert!(
        errors.is_empty(),
        "{name}: {} SARIF schema violation(s):\n{}",
        errors.len(),
        errors.join("\n")
    );
    check_consumer_expectations(name, &value);
    value
}

/// What the schema leaves optional but code-scanning services need to show a finding well.
fn check_consumer_expectations(name: &str, document: &Value) {
    let run = &document["runs"][0];
    let rules = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no tool.driver.rules"));
    assert_eq!(rules.len(), nogil_lint::registry::Rule::ALL.len(), "{name}");
    for rule in rules {
        let id = rule["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: rule without id"));
        for key in ["shortDescription", "fullDescription"] {
            let text = rule[key]["text"].as_str().unwrap_or("");
            assert!(!text.trim().is_empty(), "{name}: rule {id} has no {key}");
        }
        // The full documentation travels in the document (there is no public page to link).
        let help = rule["help"]["text"].as_str().unwrap_or("");
        assert!(
            help.starts_with(&format!("# {id}: ")) && help.contains("\n## "),
            "{name}: rule {id} help text {help:?}"
        );
        assert!(rule.get("helpUri").is_none(), "{name}: rule {id} helpUri");
    }
    for (index, result) in run["results"].as_array().unwrap().iter().enumerate() {
        let at = format!("{name}: results[{index}]");
        let rule_id = result["ruleId"]
            .as_str()
            .unwrap_or_else(|| panic!("{at}: no ruleId"));
        let rule_index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[rule_index]["id"], rule_id, "{at}: ruleIndex");
        assert!(
            matches!(result["level"].as_str(), Some("error" | "warning" | "note")),
            "{at}: level {}",
            result["level"]
        );
        assert!(
            !result["message"]["text"].as_str().unwrap_or("").is_empty(),
            "{at}: message"
        );
        let location = &result["locations"][0]["physicalLocation"];
        assert_uri_reference(&at, &location["artifactLocation"]["uri"]);
        assert_region(&at, &location["region"]);
        if let Some(fixes) = result.get("fixes") {
            for fix in fixes.as_array().unwrap() {
                assert!(
                    !fix["description"]["text"].as_str().unwrap_or("").is_empty(),
                    "{at}"
                );
                for change in fix["artifactChanges"].as_array().unwrap() {
                    assert_eq!(
                        change["artifactLocation"]["uri"], location["artifactLocation"]["uri"],
                        "{at}: a fix changes the file of its finding"
                    );
                    for replacement in change["replacements"].as_array().unwrap() {
                        assert_region(&at, &replacement["deletedRegion"]);
                    }
                }
            }
        }
    }
}

fn assert_region(at: &str, region: &Value) {
    let number = |key: &str| {
        region[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{at}: {key} in {region}"))
    };
    let (start, end) = (
        (number("startLine"), number("startColumn")),
        (number("endLine"), number("endColumn")),
    );
    assert!(start.0 >= 1 && start.1 >= 1, "{at}: region {region}");
    assert!(start <= end, "{at}: region ends before it starts: {region}");
}

/// SARIF's `uri` properties are URI references (RFC 3986). Draft 4, which the schema is written
/// in, has no `uri-reference` format, so the validator does not look at them: check here.
fn assert_uri_reference(at: &str, uri: &Value) {
    let uri = uri
        .as_str()
        .unwrap_or_else(|| panic!("{at}: artifactLocation.uri {uri}"));
    assert!(!uri.is_empty(), "{at}: empty uri");
    let bytes = uri.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%' {
            assert!(
                bytes.len() > i + 2
                    && bytes[i + 1].is_ascii_hexdigit()
                    && bytes[i + 2].is_ascii_hexdigit(),
                "{at}: bad percent-escape in uri {uri:?}"
            );
            i += 3;
            continue;
        }
        assert!(
            byte.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&byte),
            "{at}: {:?} must be percent-encoded in uri {uri:?}",
            byte as char
        );
        i += 1;
    }
    // A first segment with a colon would read as a scheme ("c:/x" is scheme "c").
    let first_segment = uri.split('/').next().unwrap_or("");
    assert!(
        !first_segment.contains(':') || uri.starts_with("file:"),
        "{at}: uri {uri:?} reads as having a scheme"
    );
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The schema checks what this file relies on it to check, so a pass above means something.
#[test]
fn the_validator_rejects_broken_documents() {
    let Some(validator) = validator() else { return };
    let valid = sarif(repo(), &["fixtures/example"], 1);
    let document: Value = serde_json::from_str(&valid).unwrap();
    type Breakage = (&'static str, fn(&mut Value));
    let breakages: [Breakage; 4] = [
        ("unknown level", |d| {
            d["runs"][0]["results"][0]["level"] = "fatal".into()
        }),
        ("line 0", |d| {
            d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
                0.into();
        }),
        ("no message", |d| {
            d["runs"][0]["results"][0]
                .as_object_mut()
                .unwrap()
                .remove("message");
        }),
        ("stray property", |d| {
            d["runs"][0]["tool"]["driver"]["homepage"] = "x".into()
        }),
    ];
    for (what, break_it) in breakages {
        let mut broken = document.clone();
        break_it(&mut broken);
        assert!(
            !validator.is_valid(&broken),
            "the schema accepted a document with {what}"
        );
    }
}

#[test]
fn example_findings_with_fixes() {
    let Some(validator) = validator() else { return };
    let document = assert_valid(
        validator,
        "fixtures/example",
        &sarif(repo(), &["fixtures/example"], 1),
    );
    let results = document["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(results.iter().any(|result| result.get("fixes").is_some()));
}

#[test]
fn every_rule_fixture() {
    let Some(validator) = validator() else { return };
    let document = assert_valid(
        validator,
        "fixtures/rules",
        &sarif(repo(), &["fixtures/rules"], 1),
    );
    let results = document["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|result| result.get("fixes").is_some()));
    // Every rule that has a fixture shows up, so every shape of result is validated.
    for entry in std::fs::read_dir(repo().join("fixtures/rules")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        // `NG110_twisted_reactor.py` is a second fixture of NG110.
        let Some(code) = name
            .strip_suffix(".py")
            .and_then(|stem| stem.split('_').next())
        else {
            continue;
        };
        assert!(
            results.iter().any(|result| result["ruleId"] == code),
            "no {code} result from fixtures/rules/{name}"
        );
    }
}

#[test]
fn no_findings() {
    let Some(validator) = validator() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.py"), "def f(x):\n    return x + 1\n").unwrap();
    let document = assert_valid(validator, "no findings", &sarif(dir.path(), &["."], 0));
    assert_eq!(document["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn syntax_error() {
    let Some(validator) = validator() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.py"), "def f(:\n    return 1\n").unwrap();
    let document = assert_valid(validator, "syntax error", &sarif(dir.path(), &["."], 1));
    let results = document["runs"][0]["results"].as_array().unwrap();
    assert!(
        results.iter().any(|result| result["ruleId"] == "NG001"),
        "{results:?}"
    );
}

#[test]
fn paths_that_need_escaping_in_a_uri() {
    let Some(validator) = validator() else { return };
    let dir = tempfile::tempdir().unwrap();
    let racy = "counter = 0\n\ndef bump():\n    global counter\n    counter += 1\n";
    for name in [
        "with space.py",
        "per%cent#hash.py",
        "naïve.py",
        "c:colon.py",
    ] {
        std::fs::write(dir.path().join(name), racy).unwrap();
    }
    let document = assert_valid(validator, "escaped paths", &sarif(dir.path(), &["."], 1));
    let uris: Vec<&str> = document["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    for expected in [
        "with%20space.py",
        "per%25cent%23hash.py",
        "na%C3%AFve.py",
        "c%3Acolon.py",
    ] {
        assert!(
            uris.iter().any(|uri| uri.ends_with(expected)),
            "{expected} not among {uris:?}"
        );
    }
}

/// Info findings (no rule emits them yet, so the report is built by hand) are `note` results.
#[test]
fn info_findings_are_notes() {
    let Some(validator) = validator() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.py");
    std::fs::write(
        &path,
        "cache = {}\n\n\ndef remember(key, value):\n    if key not in cache:\n        cache[key] = value\n",
    )
    .unwrap();
    let settings = nogil_lint::settings::Settings::default();
    let mut report = nogil_lint::pipeline::check_path(&path, &settings);
    for message in &mut report.messages {
        message.diagnostic.severity = nogil_lint::diagnostic::Severity::Info;
    }
    let mut out = Vec::new();
    let options = nogil_lint::output::PrintOptions {
        format: nogil_lint::output::OutputFormat::Sarif,
        color: false,
        quiet: false,
        unsafe_fixes: false,
    };
    nogil_lint::output::print(&[report], options, &mut out).unwrap();
    let document = assert_valid(validator, "info", &String::from_utf8(out).unwrap());
    let results = document["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(results.iter().all(|result| result["level"] == "note"));
}
