//! What nogil-lint knows, printed: the rule documentation (`nogil-lint rule`) and the extension
//! table (`nogil-lint extensions`), as text or JSON.

use std::io::{self, Write};

use crate::data::{ExtensionPackage, ExtensionStatus};
use crate::registry::Rule;

/// The rules' documentation: Markdown, or JSON (one object, or an array when `as_array`).
pub fn rules(rules: &[Rule], json: bool, as_array: bool, out: &mut dyn Write) -> io::Result<()> {
    if !json {
        return rules.iter().try_for_each(|rule| {
            writeln!(out, "{}", rule.documentation().trim_end())?;
            writeln!(out)
        });
    }
    let entries: Vec<serde_json::Value> = rules
        .iter()
        .map(|rule| {
            serde_json::json!({
                "code": rule.code(),
                "name": rule.name(),
                "summary": rule.summary(),
                "explanation": rule.documentation(),
                "fix": rule.fix_availability(),
            })
        })
        .collect();
    let value = if as_array {
        serde_json::Value::Array(entries)
    } else {
        entries.into_iter().next().unwrap_or_default()
    };
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    )
}

/// Entries of the extension table: one paragraph each, or a JSON array.
pub fn extensions(
    packages: &[&ExtensionPackage],
    json: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    if json {
        let value = serde_json::to_value(packages).unwrap_or_default();
        return writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    }
    packages.iter().try_for_each(|package| {
        let status = match package.status {
            ExtensionStatus::Supported => "supported",
            ExtensionStatus::GilEnabled => "re-enables the GIL at import",
            ExtensionStatus::Unsupported => "no free-threaded build",
            ExtensionStatus::Unknown => "unknown",
        };
        writeln!(out, "{} ({})", package.name, status)?;
        writeln!(out, "  imports: {}", package.imports.join(", "))?;
        for (label, value) in [
            ("3.13t wheels since", &package.cp313t),
            ("3.14t wheels since", &package.cp314t),
            ("GIL-free since", &package.gil_free_since),
            ("alternative", &package.alternative),
        ] {
            if let Some(value) = value {
                writeln!(out, "  {label}: {value}")?;
            }
        }
        if !package.source.is_empty() {
            writeln!(out, "  source: {}", package.source)?;
        }
        Ok(())
    })
}
