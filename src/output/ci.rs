//! Formats for CI systems and tools: `json-lines`, `github`, `grouped`, `junit`, `sarif`.

use std::io::{self, Write};

use serde_json::json;

use crate::diagnostic::{FixApplicability, Severity};
use crate::registry::Rule;
use crate::report::FileReport;

/// One JSON object per line (the same objects as `json`).
pub fn json_lines(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    for entry in super::json::entries(reports) {
        serde_json::to_writer(&mut *out, &entry).map_err(super::json_io)?;
        writeln!(out)?;
    }
    Ok(())
}

/// GitHub's escaping of a workflow command's message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's escaping of a workflow command's property value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` annotation per finding.
pub fn github(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    for report in reports {
        if let Some(error) = &report.io_error {
            writeln!(
                out,
                "::error file={},title={}::{}",
                escape_property(&report.filename),
                escape_property("io-error"),
                escape_data(error)
            )?;
        }
        for message in &report.messages {
            let rule = message.diagnostic.rule;
            let level = match message.diagnostic.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            writeln!(
                out,
                "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                escape_property(&message.filename),
                message.start.row,
                message.start.column,
                message.end.row,
                message.end.column,
                escape_property(&format!("{} ({})", rule.code(), rule.name())),
                escape_data(&message.diagnostic.message)
            )?;
        }
    }
    Ok(())
}

/// Findings grouped under their file name.
pub fn grouped(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    for report in reports.iter().filter(|report| !report.messages.is_empty()) {
        writeln!(out, "{}:", report.filename)?;
        for message in &report.messages {
            writeln!(
                out,
                "  {}:{} {} {}",
                message.start.row,
                message.start.column,
                message.diagnostic.rule.code(),
                message.diagnostic.message
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// JUnit XML: a test suite per file, a failing test case per finding.
pub fn junit(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    let total: usize = reports.iter().map(|report| report.messages.len()).sum();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="nogil-lint" tests="{total}" failures="{total}" errors="0">"#
    )?;
    for report in reports.iter().filter(|report| !report.messages.is_empty()) {
        let name = xml_escape(&report.filename);
        let count = report.messages.len();
        writeln!(
            out,
            r#"  <testsuite name="{name}" tests="{count}" failures="{count}" errors="0">"#
        )?;
        for message in &report.messages {
            let rule = message.diagnostic.rule;
            writeln!(
                out,
                r#"    <testcase name="{}:{}:{} {}" classname="{name}">"#,
                name,
                message.start.row,
                message.start.column,
                rule.code()
            )?;
            writeln!(
                out,
                r#"      <failure message="{}" type="{}">line {}, column {}: {}</failure>"#,
                xml_escape(&message.diagnostic.message),
                rule.code(),
                message.start.row,
                message.start.column,
                xml_escape(&message.diagnostic.message)
            )?;
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

/// A file name as the URI reference SARIF's `artifactLocation.uri` must be (RFC 3986): every byte
/// but unreserved characters and `/` percent-encoded, so spaces, `%`, `#`, `?` and non-ASCII names
/// survive, and a `:` in the first segment cannot read as a scheme. A Windows drive path becomes
/// a `file:` URI, since `C:/x` would otherwise mean scheme `C`.
fn artifact_uri(filename: &str) -> String {
    let path = filename.replace('\\', "/");
    let bytes = path.as_bytes();
    let (prefix, rest) = if bytes.len() >= 3
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && bytes[2] == b'/'
    {
        (format!("file:///{}:", &path[..1]), &path[2..])
    } else {
        (String::new(), path.as_str())
    };
    let mut uri = prefix;
    for &byte in rest.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

/// SARIF 2.1.0, for code scanning.
pub fn sarif(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    let rules: Vec<serde_json::Value> = Rule::ALL
        .iter()
        .map(|rule| {
            json!({
                "id": rule.code(),
                "name": rule.name(),
                "shortDescription": { "text": rule.summary() },
                "fullDescription": { "text": rule.summary() },
                // The whole documentation, not a link: the project has no public home yet.
                "help": { "text": rule.documentation(), "markdown": rule.documentation() },
                "properties": { "fix": rule.fix_availability() },
            })
        })
        .collect();
    let mut results = Vec::new();
    for report in reports {
        for message in &report.messages {
            let uri = artifact_uri(&message.filename);
            let rule = message.diagnostic.rule;
            let mut result = json!({
                "ruleId": rule.code(),
                "ruleIndex": Rule::ALL.iter().position(|r| *r == rule).unwrap_or(0),
                "level": match message.diagnostic.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "note",
                },
                "message": { "text": message.diagnostic.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri },
                        "region": {
                            "startLine": message.start.row,
                            "startColumn": message.start.column,
                            "endLine": message.end.row,
                            "endColumn": message.end.column,
                        }
                    }
                }],
            });
            // The schema requires at least one replacement in a fix.
            if let Some(fix) = &message.diagnostic.fix
                && fix.applicability != FixApplicability::DisplayOnly
                && !message.fix_edits.is_empty()
            {
                let replacements: Vec<serde_json::Value> = message
                    .fix_edits
                    .iter()
                    .map(|edit| {
                        json!({
                            "deletedRegion": {
                                "startLine": edit.start.row,
                                "startColumn": edit.start.column,
                                "endLine": edit.end.row,
                                "endColumn": edit.end.column,
                            },
                            "insertedContent": { "text": edit.content },
                        })
                    })
                    .collect();
                result["fixes"] = json!([{
                    "description": { "text": fix.message },
                    "artifactChanges": [{
                        "artifactLocation": { "uri": uri },
                        "replacements": replacements,
                    }],
                }]);
            }
            results.push(result);
        }
    }
    let document = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "nogil-lint",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "results": results,
            // Our columns count characters; SARIF readers otherwise assume UTF-16 code units.
            "columnKind": "unicodeCodePoints",
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &document).map_err(super::json_io)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::artifact_uri;

    #[test]
    fn artifact_uris_are_uri_references() {
        assert_eq!(artifact_uri("src/app.py"), "src/app.py");
        assert_eq!(artifact_uri("./a b/naïve.py"), "./a%20b/na%C3%AFve.py");
        assert_eq!(artifact_uri("50%#?.py"), "50%25%23%3F.py");
        assert_eq!(artifact_uri("c:colon.py"), "c%3Acolon.py");
        assert_eq!(artifact_uri("/tmp/x.py"), "/tmp/x.py");
        assert_eq!(artifact_uri(r"C:\work\a b.py"), "file:///C:/work/a%20b.py");
    }
}
