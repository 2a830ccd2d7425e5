//! The rule catalog: every code nogil-lint knows, its name and its documentation, and the
//! selection logic behind `--select`, `--ignore` and `--extend-select`.
//!
//! Codes are stable (see DESIGN.md): a rule is never renumbered. The documentation of each rule
//! lives in `rules/<CODE>.md` and is compiled into the binary here, so `nogil-lint rule CODE`
//! and the rule cannot drift apart. The catalogue knows nothing of the checkers: they use it,
//! and `checkers::check_module` (with the phases `pipeline` runs) maps each rule to its check.

use std::collections::BTreeSet;
use std::fmt;

/// One lint rule.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    SyntaxError,
    UnusedNoqa,
    UnlockedGlobalRmw,
    UnlockedContainerRmw,
    CheckThenAct,
    RacyLazyInit,
    SharedModuleState,
    SharedClassState,
    InconsistentLocking,
    SharedLockDefault,
    IterationDuringMutation,
    ScopedOverride,
    SharedStack,
    SharedIterator,
    EvictionRace,
    PublishBeforeFill,
    ExtensionWithoutFreeThreading,
    PinnedBelowFreeThreading,
    ExtensionEnablesGil,
    InstalledExtensionEnablesGil,
    ProcessPoolConvertible,
    ProcessGlobalStateInThread,
    GilAssumption,
}

impl Rule {
    /// Every implemented rule, in code order.
    pub const ALL: &'static [Rule] = &[
        Rule::SyntaxError,
        Rule::UnusedNoqa,
        Rule::UnlockedGlobalRmw,
        Rule::UnlockedContainerRmw,
        Rule::CheckThenAct,
        Rule::RacyLazyInit,
        Rule::SharedModuleState,
        Rule::SharedClassState,
        Rule::InconsistentLocking,
        Rule::SharedLockDefault,
        Rule::IterationDuringMutation,
        Rule::ScopedOverride,
        Rule::SharedStack,
        Rule::SharedIterator,
        Rule::EvictionRace,
        Rule::PublishBeforeFill,
        Rule::ExtensionWithoutFreeThreading,
        Rule::PinnedBelowFreeThreading,
        Rule::ExtensionEnablesGil,
        Rule::InstalledExtensionEnablesGil,
        Rule::ProcessPoolConvertible,
        Rule::ProcessGlobalStateInThread,
        Rule::GilAssumption,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Rule::SyntaxError => "NG001",
            Rule::UnusedNoqa => "NG100",
            Rule::UnlockedGlobalRmw => "NG101",
            Rule::UnlockedContainerRmw => "NG102",
            Rule::CheckThenAct => "NG103",
            Rule::RacyLazyInit => "NG104",
            Rule::SharedModuleState => "NG105",
            Rule::SharedClassState => "NG106",
            Rule::InconsistentLocking => "NG107",
            Rule::SharedLockDefault => "NG108",
            Rule::IterationDuringMutation => "NG109",
            Rule::ScopedOverride => "NG110",
            Rule::SharedStack => "NG111",
            Rule::SharedIterator => "NG112",
            Rule::EvictionRace => "NG113",
            Rule::PublishBeforeFill => "NG114",
            Rule::ExtensionWithoutFreeThreading => "NG201",
            Rule::PinnedBelowFreeThreading => "NG202",
            Rule::ExtensionEnablesGil => "NG203",
            Rule::InstalledExtensionEnablesGil => "NG204",
            Rule::ProcessPoolConvertible => "NG301",
            Rule::ProcessGlobalStateInThread => "NG302",
            Rule::GilAssumption => "NG303",
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Rule::SyntaxError => "syntax-error",
            Rule::UnusedNoqa => "unused-noqa",
            Rule::UnlockedGlobalRmw => "unlocked-global-rmw",
            Rule::UnlockedContainerRmw => "unlocked-container-rmw",
            Rule::CheckThenAct => "check-then-act",
            Rule::RacyLazyInit => "racy-lazy-init",
            Rule::SharedModuleState => "shared-module-state",
            Rule::SharedClassState => "shared-class-state",
            Rule::InconsistentLocking => "inconsistent-locking",
            Rule::SharedLockDefault => "shared-lock-default",
            Rule::IterationDuringMutation => "iteration-during-mutation",
            Rule::ScopedOverride => "scoped-override",
            Rule::SharedStack => "shared-stack",
            Rule::SharedIterator => "shared-iterator",
            Rule::EvictionRace => "eviction-race",
            Rule::PublishBeforeFill => "publish-before-fill",
            Rule::ExtensionWithoutFreeThreading => "extension-without-free-threading",
            Rule::PinnedBelowFreeThreading => "pinned-below-free-threading",
            Rule::ExtensionEnablesGil => "extension-enables-gil",
            Rule::InstalledExtensionEnablesGil => "installed-extension-enables-gil",
            Rule::ProcessPoolConvertible => "process-pool-convertible",
            Rule::ProcessGlobalStateInThread => "process-global-state-in-thread",
            Rule::GilAssumption => "gil-assumption",
        }
    }

    /// The rule's full documentation (Markdown): `rules/<CODE>.md`, compiled in.
    pub const fn documentation(self) -> &'static str {
        match self {
            Rule::SyntaxError => include_str!("../rules/NG001.md"),
            Rule::UnusedNoqa => include_str!("../rules/NG100.md"),
            Rule::UnlockedGlobalRmw => include_str!("../rules/NG101.md"),
            Rule::UnlockedContainerRmw => include_str!("../rules/NG102.md"),
            Rule::CheckThenAct => include_str!("../rules/NG103.md"),
            Rule::RacyLazyInit => include_str!("../rules/NG104.md"),
            Rule::SharedModuleState => include_str!("../rules/NG105.md"),
            Rule::SharedClassState => include_str!("../rules/NG106.md"),
            Rule::InconsistentLocking => include_str!("../rules/NG107.md"),
            Rule::SharedLockDefault => include_str!("../rules/NG108.md"),
            Rule::IterationDuringMutation => include_str!("../rules/NG109.md"),
            Rule::ScopedOverride => include_str!("../rules/NG110.md"),
            Rule::SharedStack => include_str!("../rules/NG111.md"),
            Rule::SharedIterator => include_str!("../rules/NG112.md"),
            Rule::EvictionRace => include_str!("../rules/NG113.md"),
            Rule::PublishBeforeFill => include_str!("../rules/NG114.md"),
            Rule::ExtensionWithoutFreeThreading => include_str!("../rules/NG201.md"),
            Rule::PinnedBelowFreeThreading => include_str!("../rules/NG202.md"),
            Rule::ExtensionEnablesGil => include_str!("../rules/NG203.md"),
            Rule::InstalledExtensionEnablesGil => include_str!("../rules/NG204.md"),
            Rule::ProcessPoolConvertible => include_str!("../rules/NG301.md"),
            Rule::ProcessGlobalStateInThread => include_str!("../rules/NG302.md"),
            Rule::GilAssumption => include_str!("../rules/NG303.md"),
        }
    }

    /// The one-line summary: the first paragraph after the documentation's title.
    pub fn summary(self) -> &'static str {
        self.documentation()
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with('#'))
            .unwrap_or("")
    }

    /// Whether the rule offers an automatic fix: `always`, `sometimes` or `never`.
    pub const fn fix_availability(self) -> &'static str {
        match self {
            Rule::UnusedNoqa => "always",
            Rule::GilAssumption => "sometimes",
            Rule::UnlockedGlobalRmw
            | Rule::UnlockedContainerRmw
            | Rule::CheckThenAct
            | Rule::RacyLazyInit
            | Rule::InconsistentLocking
            | Rule::SharedLockDefault
            | Rule::IterationDuringMutation
            | Rule::SharedIterator
            | Rule::PinnedBelowFreeThreading
            | Rule::ExtensionEnablesGil
            | Rule::ProcessPoolConvertible => "sometimes",
            Rule::SyntaxError
            | Rule::SharedModuleState
            | Rule::SharedClassState
            | Rule::ScopedOverride
            | Rule::SharedStack
            | Rule::EvictionRace
            | Rule::PublishBeforeFill
            | Rule::ExtensionWithoutFreeThreading
            | Rule::InstalledExtensionEnablesGil
            | Rule::ProcessGlobalStateInThread => "never",
        }
    }

    pub fn from_code(code: &str) -> Option<Rule> {
        Rule::ALL
            .iter()
            .copied()
            .find(|rule| rule.code().eq_ignore_ascii_case(code))
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A set of enabled rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSet(BTreeSet<Rule>);

impl RuleSet {
    pub fn all() -> Self {
        RuleSet(Rule::ALL.iter().copied().collect())
    }

    pub fn contains(&self, rule: Rule) -> bool {
        self.0.contains(&rule)
    }

    pub fn iter(&self) -> impl Iterator<Item = Rule> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Resolve `select`, `extend-select` and `ignore` the way Ruff does: start from `select`
    /// (or every rule), add `extend-select`, then remove `ignore`. NG001 cannot be turned off by
    /// a prefix that does not name it, because a file that does not parse must always be reported.
    pub fn from_selectors(
        select: Option<&[RuleSelector]>,
        extend_select: &[RuleSelector],
        ignore: &[RuleSelector],
    ) -> Self {
        let mut rules: BTreeSet<Rule> = match select {
            Some(selectors) => selectors.iter().flat_map(RuleSelector::rules).collect(),
            None => Rule::ALL.iter().copied().collect(),
        };
        rules.extend(extend_select.iter().flat_map(RuleSelector::rules));
        for selector in ignore {
            for rule in selector.rules() {
                rules.remove(&rule);
            }
        }
        RuleSet(rules)
    }
}

/// A code or code prefix given on the command line or in configuration (`NG1`, `NG101`, `ALL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSelector {
    prefix: String,
}

impl RuleSelector {
    pub fn rules(&self) -> impl Iterator<Item = Rule> + '_ {
        Rule::ALL
            .iter()
            .copied()
            .filter(move |rule| self.prefix == "ALL" || rule.code().starts_with(&self.prefix))
    }

    pub fn as_str(&self) -> &str {
        &self.prefix
    }
}

/// An unknown code, with the closest known one when there is a plausible one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCode {
    pub given: String,
    pub suggestion: Option<&'static str>,
}

impl fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown rule code or prefix `{}`", self.given)?;
        if let Some(suggestion) = self.suggestion {
            write!(f, "; did you mean `{suggestion}`?")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for RuleSelector {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let prefix = s.trim().to_ascii_uppercase();
        let known = prefix == "ALL"
            || (prefix.len() >= 2
                && Rule::ALL
                    .iter()
                    .any(|rule| rule.code().starts_with(&prefix)));
        if known {
            Ok(RuleSelector { prefix })
        } else {
            Err(UnknownCode {
                given: s.to_string(),
                suggestion: closest_code(&prefix),
            })
        }
    }
}

/// The known code closest to `given` by edit distance, if it is close enough to be a typo.
fn closest_code(given: &str) -> Option<&'static str> {
    Rule::ALL
        .iter()
        .map(|rule| (strsim::levenshtein(given, rule.code()), rule.code()))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selectors(codes: &[&str]) -> Vec<RuleSelector> {
        codes.iter().map(|code| code.parse().unwrap()).collect()
    }

    #[test]
    fn prefix_selects_group() {
        let set = RuleSet::from_selectors(Some(&selectors(&["NG1"])), &[], &[]);
        assert!(set.contains(Rule::UnlockedGlobalRmw));
        assert!(set.contains(Rule::SharedLockDefault));
        assert!(!set.contains(Rule::SyntaxError));
    }

    #[test]
    fn ignore_wins_over_select() {
        let set = RuleSet::from_selectors(
            Some(&selectors(&["NG10"])),
            &selectors(&["NG001"]),
            &selectors(&["NG105"]),
        );
        assert!(set.contains(Rule::SyntaxError));
        assert!(!set.contains(Rule::SharedModuleState));
        assert!(set.contains(Rule::SharedClassState));
    }

    #[test]
    fn unknown_code_suggests_closest() {
        let err = "NG119".parse::<RuleSelector>().unwrap_err();
        assert!(err.suggestion.is_some());
        let err = "XYZ123".parse::<RuleSelector>().unwrap_err();
        assert_eq!(err.suggestion, None);
        assert!("ng101".parse::<RuleSelector>().is_ok());
    }

    #[test]
    fn every_rule_has_documentation_with_a_summary() {
        for rule in Rule::ALL {
            let doc = rule.documentation();
            assert!(
                doc.starts_with(&format!("# {}: {}", rule.code(), rule.name())),
                "{rule} documentation title"
            );
            assert!(!rule.summary().is_empty(), "{rule} summary");
        }
    }
}
