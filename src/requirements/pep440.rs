//! NG202's decision, with PEP 440 semantics: does a requirement's specifier set admit any
//! release at or after the first one with free-threaded wheels for the target?
//!
//! "Any release" means the releases the table knows to have such wheels, the versions the
//! specifiers name themselves (a lock file pins releases newer than the table), and releases
//! newer than the table's newest one. Pre-releases count only when a specifier names one, as
//! installers do (PEP 440, "Handling of pre-releases").

use pep508_rs::pep440_rs::{Operator, Version, VersionSpecifiers};

/// The releases of one distribution that matter for one target.
#[derive(Debug, Clone)]
pub struct Releases {
    /// The first release with free-threaded wheels for the target.
    pub first: Version,
    /// Known releases at or after `first` with such wheels (may be empty: then `first` is the
    /// only one known).
    pub with_wheels: Vec<Version>,
    /// Known final releases after `first` without them.
    pub without_wheels: Vec<Version>,
    /// The newest release the table knows: later ones are assumed to keep the wheels.
    pub latest: Option<Version>,
}

/// What a specifier set allows, for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// It admits a release with free-threaded wheels.
    Admits,
    /// It admits only releases older than the first one with free-threaded wheels; `pin` is the
    /// version of an exact pin (`==1.2.3`, `===1.2.3`).
    OnlyOlder { pin: Option<Version> },
    /// It admits releases at or after the first, but only ones known to lack the wheels.
    OnlyWithoutWheels {
        pin: Option<Version>,
        /// The next known release with wheels after the pin, for an exact pin.
        next: Option<Version>,
    },
}

/// The version of an exact pin: a single `==X` (no wildcard) or `===X`.
pub fn exact_pin(specifiers: &VersionSpecifiers) -> Option<Version> {
    let mut pins = specifiers
        .iter()
        .filter(|specifier| matches!(specifier.operator(), Operator::Equal | Operator::ExactEqual));
    let pin = pins.next()?;
    pins.next().is_none().then(|| pin.version().clone())
}

/// Whether the specifier set admits `version`, pre-releases only when a specifier names one.
fn admits(specifiers: &VersionSpecifiers, version: &Version, allow_pre: bool) -> bool {
    (allow_pre || !version.any_prerelease()) && specifiers.contains(version)
}

/// Versions beyond the newest known release that the specifiers could admit: the interval
/// ends of a specifier set are the versions it names, so it admits a version past `floor` iff
/// it admits one of: a named version, just past one (`>46` admits 46.0.1), or the next minor
/// or major release after one.
fn future_candidates(specifiers: &VersionSpecifiers, floor: &Version) -> Vec<Version> {
    let mut candidates = Vec::new();
    let named = specifiers
        .iter()
        .map(|specifier| specifier.version().clone());
    for version in std::iter::once(floor.clone()).chain(named) {
        let release = version.release().to_vec();
        let major = release.first().copied().unwrap_or(0);
        let minor = release.get(1).copied().unwrap_or(0);
        let patch = release.get(2).copied().unwrap_or(0);
        candidates.push(Version::new(release.iter().copied()));
        candidates.push(Version::new(release.iter().copied().chain([1])));
        candidates.push(Version::new([major, minor, patch + 1]));
        candidates.push(Version::new([major, minor + 1]));
        candidates.push(Version::new([major + 1]));
        candidates.push(version);
    }
    candidates.retain(|candidate| candidate > floor);
    candidates
}

pub fn decide(specifiers: &VersionSpecifiers, releases: &Releases) -> Decision {
    let allow_pre = specifiers
        .iter()
        .any(|specifier| specifier.any_prerelease())
        || releases.first.any_prerelease();
    let pin = exact_pin(specifiers);
    let known_with: Vec<&Version> = if releases.with_wheels.is_empty() {
        vec![&releases.first]
    } else {
        releases.with_wheels.iter().collect()
    };
    if known_with
        .iter()
        .any(|version| **version >= releases.first && admits(specifiers, version, allow_pre))
    {
        return Decision::Admits;
    }
    // A version the specifiers name, at or after the first, that the table does not list as
    // lacking wheels (a release newer than the table, or one it did not record): no evidence
    // against it.
    let named_unknown = specifiers.iter().any(|specifier| {
        let version = specifier.version();
        *version >= releases.first
            && !releases.without_wheels.contains(version)
            && !known_with.contains(&version)
            && admits(specifiers, version, allow_pre)
            && !matches!(
                specifier.operator(),
                Operator::NotEqual | Operator::NotEqualStar | Operator::LessThan
            )
    });
    if named_unknown {
        return Decision::Admits;
    }
    let floor = releases
        .latest
        .iter()
        .chain(known_with.iter().copied())
        .max()
        .cloned()
        .unwrap_or_else(|| releases.first.clone());
    if future_candidates(specifiers, &floor)
        .iter()
        .any(|candidate| admits(specifiers, candidate, allow_pre))
    {
        return Decision::Admits;
    }
    let admitted_without = releases
        .without_wheels
        .iter()
        .any(|version| *version >= releases.first && admits(specifiers, version, allow_pre));
    if admitted_without {
        let next = pin.as_ref().and_then(|pin| {
            known_with
                .iter()
                .filter(|version| *version > &pin && !version.any_prerelease())
                .min()
                .map(|version| (*version).clone())
        });
        return Decision::OnlyWithoutWheels { pin, next };
    }
    Decision::OnlyOlder { pin }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn version(text: &str) -> Version {
        Version::from_str(text).unwrap()
    }

    fn releases(first: &str, with: &[&str], without: &[&str], latest: &str) -> Releases {
        Releases {
            first: version(first),
            with_wheels: with.iter().map(|text| version(text)).collect(),
            without_wheels: without.iter().map(|text| version(text)).collect(),
            latest: Some(version(latest)),
        }
    }

    fn decision(specifiers: &str, releases: &Releases) -> Decision {
        decide(&VersionSpecifiers::from_str(specifiers).unwrap(), releases)
    }

    /// cryptography on 3.14t: first 46.0.0, releases up to 50.0.2, 47.0.1 without wheels.
    fn cryptography() -> Releases {
        releases(
            "46.0.0",
            &[
                "46.0.0",
                "46.0.1",
                "47.0.0",
                "48.0.0",
                "50.0.2",
                "51.0.0rc1",
            ],
            &["47.0.1"],
            "50.0.2",
        )
    }

    fn admitted(specifiers: &str) -> bool {
        decision(specifiers, &cryptography()) == Decision::Admits
    }

    #[test]
    fn exact_pins_above_the_first_release_are_admitted() {
        assert!(admitted("==50.0.2"));
        assert!(admitted("===50.0.2"));
        assert!(admitted("==46.0.0"));
        // Newer than the table knows: no evidence against it.
        assert!(admitted("==52.1.0"));
        assert!(admitted("===52.1.0"));
        // Not listed either way (the table records releases with wheels and the finals
        // without), so not flagged.
        assert!(admitted("==46.0.7"));
    }

    #[test]
    fn exact_pins_below_the_first_release_are_only_older() {
        assert_eq!(
            decision("==45.0.7", &cryptography()),
            Decision::OnlyOlder {
                pin: Some(version("45.0.7"))
            }
        );
        assert_eq!(
            decision("===41.0.0", &cryptography()),
            Decision::OnlyOlder {
                pin: Some(version("41.0.0"))
            }
        );
    }

    #[test]
    fn exact_pin_of_a_release_without_wheels_points_to_the_next_one() {
        assert_eq!(
            decision("==47.0.1", &cryptography()),
            Decision::OnlyWithoutWheels {
                pin: Some(version("47.0.1")),
                next: Some(version("48.0.0"))
            }
        );
    }

    #[test]
    fn wildcards_and_compatible_releases() {
        assert!(!admitted("==45.*"));
        assert!(admitted("==46.*"));
        assert!(admitted("==50.0.*"));
        assert!(!admitted("~=45.0"));
        assert!(!admitted("~=45.0.2"));
        assert!(admitted("~=46.0"));
        assert!(admitted("~=49.0")); // admits 50.0.2
        assert!(admitted("~=50.0.0"));
        assert!(!admitted("!=46.*,<47"));
    }

    #[test]
    fn ranges_and_exclusions() {
        assert!(!admitted("<46"));
        assert!(!admitted("<=45.9.9"));
        assert!(!admitted("<46.0.0"));
        assert!(admitted("<=46.0.0"));
        assert!(admitted(">=40,<47"));
        assert!(admitted(">=40"));
        assert!(admitted(">45"));
        assert!(admitted(">60")); // future releases
        assert!(!admitted(">=40,<46,!=45.0.0"));
        // Only 46.0.0 and 46.0.1 are in range; both excluded.
        assert!(!admitted(">=46,<46.0.2,!=46.0.0,!=46.0.1"));
        assert!(admitted("!=46.0.0"));
        // Only 47.0.1 is in range, and it has no wheels.
        assert_eq!(
            decision(">47.0.0,<47.0.2", &cryptography()),
            Decision::OnlyWithoutWheels {
                pin: None,
                next: None
            }
        );
    }

    #[test]
    fn prereleases_count_only_when_named() {
        let only_pre = releases("2.0.0", &["2.0.0", "2.1.0rc1"], &[], "2.0.0");
        // `>2.0.0` admits 2.1.0rc1 only if pre-releases are asked for; later finals count.
        assert_eq!(
            decision(">2.0.0,<2.1.0", &only_pre),
            Decision::OnlyOlder { pin: None }
        );
        assert_eq!(decision(">=2.1.0rc1,<2.2", &only_pre), Decision::Admits);
        // `<2.1.0` excludes 2.1.0's own pre-releases (PEP 440), even when one is named.
        assert_eq!(
            decision(">=2.1.0rc1,<2.1.0", &only_pre),
            Decision::OnlyOlder { pin: None }
        );
        assert_eq!(decision("==2.1.0rc1", &only_pre), Decision::Admits);
        // A first release that is a pre-release (only pre-releases have the wheels).
        let pre_first = releases("7.0.0a1", &["7.0.0a1", "7.0.0b1"], &[], "6.1.3");
        assert_eq!(
            decision("<7", &pre_first),
            Decision::OnlyOlder { pin: None }
        );
        assert_eq!(decision(">=7.0.0a1", &pre_first), Decision::Admits);
    }

    #[test]
    fn no_known_releases_but_the_first() {
        let sparse = Releases {
            first: version("2.1.0"),
            with_wheels: Vec::new(),
            without_wheels: Vec::new(),
            latest: None,
        };
        assert_eq!(decision("<2.1", &sparse), Decision::OnlyOlder { pin: None });
        assert_eq!(
            decision("==2.0.*", &sparse),
            Decision::OnlyOlder { pin: None }
        );
        assert_eq!(
            decision("~=2.0.0", &sparse),
            Decision::OnlyOlder { pin: None }
        );
        assert_eq!(decision(">=1.20,<2.2", &sparse), Decision::Admits);
        assert_eq!(decision(">2.1,<2.1.1", &sparse), Decision::Admits);
        assert_eq!(decision("~=3.4", &sparse), Decision::Admits);
        assert_eq!(decision("==50.0.2", &sparse), Decision::Admits);
        assert_eq!(
            decision("!=2.1.0,<2.1.0.1", &sparse),
            Decision::OnlyOlder { pin: None }
        );
    }
}
