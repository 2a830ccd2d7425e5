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
