//! What nogil-lint knows, printed: the rule documentation (`nogil-lint rule`) and the extension
//! table (`nogil-lint extensions`), as text or JSON.

use std::io::{self, Write};

use crate::data::{ExtensionPackage, ExtensionStatus, GilCheck, TargetFacts};
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
        if !package.compiled_modules.is_empty() {
            writeln!(
                out,
                "  compiled modules: {}",
                package.compiled_modules.join(", ")
            )?;
        }
        for (target, facts) in [("3.13t", &package.py313t), ("3.14t", &package.py314t)] {
            match facts {
                Some(facts) => target_facts(target, facts, out)?,
                None => {
                    let first = if target == "3.13t" {
                        &package.cp313t
                    } else {
                        &package.cp314t
                    };
                    match first {
                        Some(first) => writeln!(
                            out,
                            "  {target}: wheels since {first} (gathered data, not checked)"
                        )?,
                        None => writeln!(out, "  {target}: no facts")?,
                    }
                }
            }
        }
        for (label, value) in [
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

/// One target's facts, each with where and when it was established.
fn target_facts(target: &str, facts: &TargetFacts, out: &mut dyn Write) -> io::Result<()> {
    let files = if facts.files.is_empty() {
        String::new()
    } else {
        format!(" [{}]", facts.files)
    };
    match &facts.first {
        Some(first) => {
            write!(out, "  {target}: wheels since {first}")?;
            if let Some(earlier) = &facts.first_any_platform {
                write!(out, " (on other platforms since {earlier})")?;
            }
            match (&facts.latest, facts.latest_has_wheels) {
                (Some(latest), true) => write!(out, "; newest release {latest} has them")?,
                (Some(latest), false) => write!(out, "; newest release {latest} has none")?,
                (None, _) => {}
            }
            writeln!(out, "{files}")?;
            if !facts.missing.is_empty() {
                writeln!(
                    out,
                    "    releases without them: {}",
                    facts.missing.join(", ")
                )?;
            }
        }
        None if facts.pure_python => writeln!(
            out,
            "  {target}: no free-threaded wheels; a pure-Python wheel installs{files}"
        )?,
        None => writeln!(out, "  {target}: no free-threaded wheels{files}")?,
    }
    let check = facts
        .import_check
        .as_deref()
        .map(|check| format!(" [{check}]"))
        .unwrap_or_default();
    match facts.gil {
        Some(GilCheck::Disabled) => {
            writeln!(out, "    import check: the GIL stays disabled{check}")?
        }
        Some(GilCheck::Enabled) => writeln!(
            out,
            "    import check: the GIL is re-enabled by {}{check}",
            facts.gil_enabled_by.join(", ")
        )?,
        Some(GilCheck::NotChecked) | None => {}
    }
    Ok(())
}
