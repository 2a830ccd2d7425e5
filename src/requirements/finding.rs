//! NG202's finding for one requirement: the decision of `pep440`, in words, with a fix that
//! raises the requirement to a release with free-threaded wheels and never lowers or widens an
//! exact pin into a range.

use std::str::FromStr;

use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{Requirement, VersionOrUrl};

use super::Declared;
use super::pep440::{self, Decision, Releases};
use crate::data::{ExtensionPackage, TargetVersion};
use crate::diagnostic::{Diagnostic, Edit, FixApplicability, Severity};
use crate::registry::Rule;

/// The table's releases of `package` for `target`; `None` when it knows no first release.
fn releases(package: &ExtensionPackage, target: TargetVersion) -> Option<Releases> {
    let parse = |text: &str| Version::from_str(text.split_whitespace().next()?).ok();
    let first = parse(package.first_release(target)?)?;
    let facts = package.facts(target);
    let list = |pick: fn(&crate::data::TargetFacts) -> &Vec<String>| -> Vec<Version> {
        facts
            .map(|facts| pick(facts).iter().filter_map(|text| parse(text)).collect())
            .unwrap_or_default()
    };
    Some(Releases {
        with_wheels: list(|facts| &facts.releases),
        without_wheels: list(|facts| &facts.missing),
        latest: facts.and_then(|facts| facts.latest.as_deref().and_then(parse)),
        first,
    })
}

/// The requirement with `specifier` in place of its version: name, extras and markers kept.
fn rewritten(parsed: &Requirement, declared: &Declared, specifier: &str) -> String {
    let mut replacement = parsed.name.to_string();
    if !parsed.extras.is_empty() {
        let extras: Vec<String> = parsed.extras.iter().map(ToString::to_string).collect();
        replacement.push_str(&format!("[{}]", extras.join(",")));
    }
    replacement.push_str(specifier);
    if let Some((_, marker)) = declared.text.split_once(';') {
        replacement.push_str(&format!("; {}", marker.trim()));
    }
    replacement
}

/// When the table's facts for the target were read, for messages: " (index 2026-11-27)".
fn dated(package: &ExtensionPackage, target: TargetVersion) -> String {
    package
        .facts(target)
        .and_then(|facts| facts.date())
        .map(|date| format!(" (index {date})"))
        .unwrap_or_default()
}

/// Whether the specifiers rule out releases far in the future: an upper bound or a pin.
fn has_upper_bound(specifiers: &VersionSpecifiers) -> bool {
    !specifiers.contains(&Version::new([99999]))
}

pub(crate) fn finding(
    package: &ExtensionPackage,
    parsed: &Requirement,
    declared: &Declared,
    target: TargetVersion,
) -> Option<Diagnostic> {
    let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &parsed.version_or_url else {
        return None;
    };
    if specifiers.is_empty() {
        return None;
    }
    let Some(releases) = releases(package, target) else {
        // No first release: either the index shows none (NG201 reports the import), or the
        // table has no facts for this target, which is said rather than guessed.
        if package.facts(target).is_some() || !has_upper_bound(specifiers) {
            return None;
        }
        return Some(
            Diagnostic::new(
                Rule::PinnedBelowFreeThreading,
                format!(
                    "the extension table has no {} facts for `{}`: cannot tell whether `{}` allows a release with free-threaded wheels",
                    target.as_str(),
                    package.name,
                    declared.text
                ),
                declared.range,
            )
            .with_severity(Severity::Info)
            .with_label("no facts for this target")
            .with_help("check the package's files on the index, or run scripts/refresh-extensions.py"),
        );
    };
    let first = &releases.first;
    let target_name = target.as_str();
    let when = dated(package, target);
    let name = &package.name;
    let (message, label, specifier) = match pep440::decide(specifiers, &releases) {
        Decision::Admits => return None,
        Decision::OnlyOlder { pin: Some(pin) } => (
            format!(
                "`{}` pins {name} {pin}, older than {first}, its first release with free-threaded wheels for {target_name}{when}",
                declared.text
            ),
            format!("pins {name} {pin} < {first}"),
            Some(format!("=={first}")),
        ),
        Decision::OnlyOlder { pin: None } => (
            format!(
                "`{}` allows only releases of `{name}` older than {first}, its first release with free-threaded wheels for {target_name}{when}",
                declared.text
            ),
            format!("excludes {name} >= {first}"),
            Some(format!(">={first}")),
        ),
        Decision::OnlyWithoutWheels { pin, next } => (
            format!(
                "`{}` allows only releases of `{name}` without free-threaded wheels for {target_name} (they exist since {first}, but not for {}){when}",
                declared.text,
                pin.map_or_else(
                    || "the releases it allows".to_string(),
                    |pin| pin.to_string()
                )
            ),
            format!("no {target_name} wheels for the allowed releases"),
            next.map(|next| format!("=={next}")),
        ),
    };
    let mut diagnostic = Diagnostic::new(Rule::PinnedBelowFreeThreading, message, declared.range)
        .with_severity(Severity::Warning)
        .with_label(label);
    match specifier {
        Some(specifier) => {
            let replacement = rewritten(parsed, declared, &specifier);
            diagnostic = diagnostic
                .with_help(format!("require `{replacement}`"))
                .with_fix(Some(crate::fix::fix(
                    FixApplicability::Unsafe,
                    format!("Require `{replacement}`"),
                    vec![Edit {
                        range: declared.range,
                        content: replacement,
                    }],
                )));
        }
        None => {
            diagnostic = diagnostic.with_help(format!(
                "allow a release of {name} with free-threaded wheels for {target_name}"
            ));
        }
    }
    Some(diagnostic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::TargetFacts;
    use ruff_text_size::{TextRange, TextSize};

    fn package(py314t: Option<TargetFacts>) -> ExtensionPackage {
        ExtensionPackage {
            name: "cryptography".to_string(),
            imports: vec!["cryptography".to_string()],
            has_extension: true,
            pure_python_fallback: false,
            status: crate::data::ExtensionStatus::Supported,
            cp313t: None,
            cp314t: py314t.as_ref().and_then(|facts| facts.first.clone()),
            gil_free_since: None,
            alternative: None,
            compiled_modules: Vec::new(),
            source: String::new(),
            py313t: None,
            py314t,
        }
    }

    fn facts() -> TargetFacts {
        TargetFacts {
            first: Some("46.0.0".to_string()),
            releases: ["46.0.0", "47.0.0", "48.0.0", "50.0.2"]
                .map(str::to_string)
                .to_vec(),
            missing: vec!["47.0.1".to_string()],
            latest: Some("50.0.2".to_string()),
            latest_has_wheels: true,
            files: "index 2026-11-27".to_string(),
            ..TargetFacts::default()
        }
    }

    /// The message and the fix's replacement text for one requirement line.
    fn check(package: &ExtensionPackage, text: &str) -> Option<(String, Option<String>)> {
        let parsed = Requirement::<pep508_rs::VerbatimUrl>::from_str(text).ok()?;
        let declared = Declared {
            text: text.to_string(),
            range: TextRange::new(TextSize::new(0), TextSize::of(text)),
        };
        let diagnostic = finding(package, &parsed, &declared, TargetVersion::Py314t)?;
        let replacement = diagnostic
            .fix
            .as_ref()
            .and_then(|fix| fix.edits.first())
            .map(|edit| edit.content.clone());
        Some((diagnostic.message, replacement))
    }

    #[test]
    fn exact_pins_of_current_releases_are_not_flagged() {
        let package = package(Some(facts()));
        assert_eq!(check(&package, "cryptography==50.0.2"), None);
        assert_eq!(check(&package, "cryptography===50.0.2"), None);
        assert_eq!(check(&package, "cryptography==51.0.0"), None);
        assert_eq!(check(&package, "cryptography>=40"), None);
    }

    #[test]
    fn an_exact_pin_below_is_raised_to_the_first_release_as_a_pin() {
        let package = package(Some(facts()));
        let (message, fix) = check(
            &package,
            "cryptography[ssh]==45.0.7; python_version >= '3.13'",
        )
        .expect("a finding");
        assert!(
            message.contains("pins cryptography 45.0.7, older than 46.0.0"),
            "{message}"
        );
        assert!(message.contains("(index 2026-11-27)"), "{message}");
        assert_eq!(
            fix.as_deref(),
            Some("cryptography[ssh]==46.0.0; python_version >= '3.13'")
        );
        let (_, fix) = check(&package, "cryptography===41.0.0").expect("a finding");
        assert_eq!(fix.as_deref(), Some("cryptography==46.0.0"));
    }

    #[test]
    fn an_upper_bound_below_is_raised_to_a_lower_bound() {
        let package = package(Some(facts()));
        let (message, fix) = check(&package, "cryptography>=40,<46").expect("a finding");
        assert!(message.contains("allows only releases of `cryptography` older than 46.0.0"));
        assert_eq!(fix.as_deref(), Some("cryptography>=46.0.0"));
        let (_, fix) = check(&package, "cryptography~=45.0").expect("a finding");
        assert_eq!(fix.as_deref(), Some("cryptography>=46.0.0"));
    }

    #[test]
    fn a_pin_of_a_release_without_wheels_moves_up_never_down() {
        let package = package(Some(facts()));
        let (message, fix) = check(&package, "cryptography==47.0.1").expect("a finding");
        assert!(
            message.contains("without free-threaded wheels"),
            "{message}"
        );
        assert_eq!(fix.as_deref(), Some("cryptography==48.0.0"));
    }

    #[test]
    fn a_target_without_facts_is_said_not_guessed() {
        let package = package(None);
        let (message, fix) = check(&package, "cryptography<46").expect("an info finding");
        assert!(message.contains("no 3.14t facts"), "{message}");
        assert_eq!(fix, None);
        // A requirement with no upper bound cannot exclude the releases: nothing to say.
        assert_eq!(check(&package, "cryptography>=40"), None);
    }

    #[test]
    fn no_free_threaded_release_at_all_is_left_to_ng201() {
        let mut facts = facts();
        facts.first = None;
        facts.releases.clear();
        let package = package(Some(facts));
        assert_eq!(check(&package, "cryptography<46"), None);
    }
}
