//! Findings as the rules produce them and as every output format reads them.

use ruff_text_size::TextRange;
use serde::Serialize;

use crate::registry::Rule;

/// How serious a finding is, from least to most (the order `--min-severity` compares by).
/// Findings reachable from a thread entry are errors: the race can happen as soon as the
/// program runs on a free-threaded interpreter.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A benign race, or an entry in the inventory of shared state.
    Info,
    /// A likely race whose harm is uncertain.
    Warning,
    /// A hazard reached from a thread, or a non-idempotent race in library API.
    Error,
}

impl Severity {
    /// Every level, least severe first.
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Error];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// The level named `name` (`info`, `warning`, `error`), as the configuration spells it.
    pub fn from_name(name: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|severity| severity.as_str() == name)
    }
}

/// What a race does when it happens, which with where the code runs decides the severity.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Harm {
    /// Two threads store equal values, or duplicate work that changes nothing.
    Benign,
    /// A race that may or may not matter: what is lost or duplicated is not known.
    Uncertain,
    /// A lost update, two different objects where one was meant, a half-built object, a crash.
    Hazard,
}

/// Whether a fix may be applied without review.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixApplicability {
    /// Shown only; never applied automatically.
    DisplayOnly,
    /// Applied with `--unsafe-fixes`: correct in the common case, but may change behaviour.
    Unsafe,
    /// Applied with `--fix`.
    Safe,
}

/// One replacement of a byte range of the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub range: TextRange,
    pub content: String,
}

/// A suggested fix: non-overlapping edits, how safe they are, and a one-line message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub applicability: FixApplicability,
    pub message: String,
    pub edits: Vec<Edit>,
}

/// A finding produced by a rule, located by byte range in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: Rule,
    pub message: String,
    pub range: TextRange,
    pub severity: Severity,
    /// Short text for the label under the code frame.
    pub label: Option<String>,
    /// Advice shown as `help:` in the full report.
    pub help: Option<String>,
    pub fix: Option<Fix>,
    /// The functions whose execution the finding is about (for thread reachability across
    /// modules); empty for module-level findings.
    pub functions: Vec<crate::semantic::FunctionId>,
    /// The functions whose run the finding's race needs besides its own code (the mutations a
    /// loop races with): when every one of them runs only while the project is imported,
    /// nothing is left to race with.
    pub racing_with: Vec<crate::semantic::FunctionId>,
    /// For a race, what it does when it happens: only a hazard becomes an error when another
    /// module's thread turns out to reach it.
    pub harm: Option<Harm>,
    /// Other places the finding refers to (the thread entry that reaches the code, the locked
    /// write NG107 compares with): the language server shows them as related information.
    pub related: Vec<Related>,
    /// Findings of one run with the same rule and group are one decision (every import of one
    /// extension package): the run shows the first and lists the others in it.
    pub group: Option<String>,
}

/// A place a finding refers to, with what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    pub message: String,
    pub location: RelatedLocation,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelatedLocation {
    /// A range of the finding's own file.
    Here(TextRange),
    /// A 1-based line of another file of the project (the project phase knows no more of it).
    Line {
        path: std::path::PathBuf,
        line: usize,
    },
}

impl Diagnostic {
    pub fn new(rule: Rule, message: impl Into<String>, range: TextRange) -> Self {
        Diagnostic {
            rule,
            message: message.into(),
            range,
            severity: Severity::Warning,
            label: None,
            help: None,
            fix: None,
            functions: Vec::new(),
            racing_with: Vec::new(),
            harm: None,
            related: Vec::new(),
            group: None,
        }
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_functions(mut self, functions: Vec<crate::semantic::FunctionId>) -> Self {
        self.functions = functions;
        self
    }

    pub fn with_racing_with(mut self, mut functions: Vec<crate::semantic::FunctionId>) -> Self {
        functions.sort_unstable();
        functions.dedup();
        self.racing_with = functions;
        self
    }

    pub fn with_harm(mut self, harm: Harm) -> Self {
        self.harm = Some(harm);
        self
    }

    pub fn with_related(mut self, message: impl Into<String>, location: RelatedLocation) -> Self {
        self.related.push(Related {
            message: message.into(),
            location,
        });
        self
    }

    pub fn with_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    pub fn with_fix(mut self, fix: Option<Fix>) -> Self {
        self.fix = fix;
        self
    }
}

/// A 1-based row and character column.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    pub row: usize,
    pub column: usize,
}

/// An edit located by rows and columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedEdit {
    pub start: Location,
    pub end: Location,
    pub content: String,
}

#[cfg(test)]
mod tests {
    use super::Severity;

    #[test]
    fn severities_order_from_info_to_error() {
        assert!(Severity::Info < Severity::Warning);
        assert!(Severity::Warning < Severity::Error);
        let mut shuffled = [Severity::Error, Severity::Info, Severity::Warning];
        shuffled.sort();
        assert_eq!(shuffled, Severity::ALL);
    }

    #[test]
    fn severities_have_one_name_everywhere() {
        for severity in Severity::ALL {
            let name = severity.as_str();
            assert_eq!(Severity::from_name(name), Some(severity));
            assert_eq!(
                serde_json::to_value(severity).unwrap(),
                serde_json::json!(name)
            );
            let value = clap::ValueEnum::to_possible_value(&severity).unwrap();
            assert_eq!(value.get_name(), name);
        }
        assert_eq!(Severity::Info.as_str(), "info");
        assert_eq!(Severity::from_name("Info"), None);
        assert_eq!(Severity::from_name("note"), None);
    }
}
