//! Declarative tables compiled into the binary from `rules/`.

use std::sync::OnceLock;

use serde::Deserialize;

/// A call or assignment that changes process-wide state (NG302).
#[derive(Debug, Clone, Deserialize)]
pub struct ProcessGlobalEntry {
    pub name: String,
    pub reason: String,
    /// Only a hazard for targets below this version (`"3.14"`).
    pub below: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ProcessGlobalTable {
    #[serde(default)]
    pub call: Vec<ProcessGlobalEntry>,
    #[serde(default)]
    pub assignment: Vec<ProcessGlobalEntry>,
}

/// An API that assumes a GIL or does not exist (NG303).
#[derive(Debug, Clone, Deserialize)]
pub struct GilApiEntry {
    pub name: String,
    pub reason: String,
    pub replacement: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct GilApiTable {
    #[serde(default)]
    pub api: Vec<GilApiEntry>,
}

pub const PROCESS_GLOBAL_TOML: &str = include_str!("../rules/process_global.toml");
pub const GIL_APIS_TOML: &str = include_str!("../rules/gil_apis.toml");

/// The process-global table. The text is part of the binary and a test parses it, so a parse
/// failure cannot reach users; it would yield an empty table rather than a crash.
pub fn process_global() -> &'static ProcessGlobalTable {
    static TABLE: OnceLock<ProcessGlobalTable> = OnceLock::new();
    TABLE.get_or_init(|| toml::from_str(PROCESS_GLOBAL_TOML).unwrap_or_default())
}

pub fn gil_apis() -> &'static GilApiTable {
    static TABLE: OnceLock<GilApiTable> = OnceLock::new();
    TABLE.get_or_init(|| toml::from_str(GIL_APIS_TOML).unwrap_or_default())
}

/// The last dotted segment of every name in the process-global and GIL tables (`chdir`,
/// `_is_gil_disabled`): a cheap filter before resolving a call's qualified name.
pub fn is_listed_last_segment(name: &str) -> bool {
    static SEGMENTS: OnceLock<rustc_hash::FxHashSet<String>> = OnceLock::new();
    SEGMENTS
        .get_or_init(|| {
            let process = process_global();
            process
                .call
                .iter()
                .chain(&process.assignment)
                .map(|entry| &entry.name)
                .chain(gil_apis().api.iter().map(|entry| &entry.name))
                .filter_map(|name| name.rsplit('.').next())
                .map(str::to_string)
                .collect()
        })
        .contains(name)
}

/// The free-threaded interpreter the code is meant for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Default, clap::ValueEnum)]
pub enum TargetVersion {
    #[value(name = "3.13t")]
    Py313t,
    #[default]
    #[value(name = "3.14t")]
    Py314t,
}

impl TargetVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetVersion::Py313t => "3.13t",
            TargetVersion::Py314t => "3.14t",
        }
    }

    /// Whether this target is below a `major.minor` version.
    pub fn is_below(self, version: &str) -> bool {
        let (major, minor) = match self {
            TargetVersion::Py313t => (3, 13),
            TargetVersion::Py314t => (3, 14),
        };
        let mut parts = version
            .split('.')
            .map(|part| part.parse::<u32>().unwrap_or(0));
        let (want_major, want_minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        (major, minor) < (want_major, want_minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse() {
        let table: ProcessGlobalTable = toml::from_str(PROCESS_GLOBAL_TOML).unwrap();
        assert!(table.call.iter().any(|entry| entry.name == "os.chdir"));
        assert!(
            table
                .assignment
                .iter()
                .any(|entry| entry.name == "os.environ")
        );
        let apis: GilApiTable = toml::from_str(GIL_APIS_TOML).unwrap();
        assert!(
            apis.api
                .iter()
                .any(|entry| entry.name == "sys._is_gil_disabled")
        );
    }

    #[test]
    fn versions_compare() {
        assert!(TargetVersion::Py313t.is_below("3.14"));
        assert!(!TargetVersion::Py314t.is_below("3.14"));
    }
}
