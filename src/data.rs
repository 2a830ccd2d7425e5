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
    /// Python allows it only in the main thread (`signal.signal` raises `ValueError`
    /// elsewhere): library code calling it is main-thread set-up by construction, so only a
    /// thread that reaches it makes a finding.
    #[serde(default, rename = "main-thread-only")]
    pub main_thread_only: bool,
    /// A context manager that swaps the state for its block and restores it on exit
    /// (`with redirect_stdout(…):`): a scoped override (NG110) when used in `with`.
    #[serde(default)]
    pub scoped: bool,
    /// What to do instead, when it is specific to the API (a library's own context object).
    pub advice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ProcessGlobalTable {
    #[serde(default)]
    pub call: Vec<ProcessGlobalEntry>,
    #[serde(default)]
    pub assignment: Vec<ProcessGlobalEntry>,
    /// The entries of each name, calls and assignments apart: every listed call of a module is
    /// looked up, and `.update(…)` or `.pop(…)` are common.
    #[serde(skip)]
    calls_by_name: rustc_hash::FxHashMap<String, Vec<usize>>,
    #[serde(skip)]
    assignments_by_name: rustc_hash::FxHashMap<String, Vec<usize>>,
}

impl ProcessGlobalTable {
    fn indexed(mut self) -> Self {
        let index = |entries: &[ProcessGlobalEntry]| {
            let mut by_name: rustc_hash::FxHashMap<String, Vec<usize>> = Default::default();
            for (index, entry) in entries.iter().enumerate() {
                by_name.entry(entry.name.clone()).or_default().push(index);
            }
            by_name
        };
        self.calls_by_name = index(&self.call);
        self.assignments_by_name = index(&self.assignment);
        self
    }

    /// The entries for a call (`assignment` false) or an assignment target named `name`.
    pub fn entries(
        &self,
        assignment: bool,
        name: &str,
    ) -> impl Iterator<Item = &ProcessGlobalEntry> {
        let (entries, by_name) = if assignment {
            (&self.assignment, &self.assignments_by_name)
        } else {
            (&self.call, &self.calls_by_name)
        };
        by_name
            .get(name)
            .into_iter()
            .flatten()
            .map(move |&index| &entries[index])
    }
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

/// Whether one call of a container's mutating method is atomic on free-threaded CPython.
#[derive(Debug, Clone, Deserialize)]
pub struct AtomicOperation {
    pub container: String,
    pub method: String,
    pub atomic: bool,
    pub reference: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct AtomicOperationTable {
    #[serde(default)]
    pub operation: Vec<AtomicOperation>,
}

impl AtomicOperationTable {
    /// The entry for `method` on a container of this kind (`"list"`, `"Counter"`), if listed.
    pub fn find(&self, container: &str, method: &str) -> Option<&AtomicOperation> {
        self.operation
            .iter()
            .find(|entry| entry.container == container && entry.method == method)
    }
}

pub const ATOMIC_OPERATIONS_TOML: &str = include_str!("../rules/atomic_operations.toml");

/// The table of single container operations and their atomicity (`rules/atomic_operations.toml`).
pub fn atomic_operations() -> &'static AtomicOperationTable {
    static TABLE: OnceLock<AtomicOperationTable> = OnceLock::new();
    TABLE.get_or_init(|| toml::from_str(ATOMIC_OPERATIONS_TOML).unwrap_or_default())
}

pub const PROCESS_GLOBAL_TOML: &str = include_str!("../rules/process_global.toml");
pub const GIL_APIS_TOML: &str = include_str!("../rules/gil_apis.toml");

/// The process-global table. The text is part of the binary and a test parses it, so a parse
/// failure cannot reach users; it would yield an empty table rather than a crash.
pub fn process_global() -> &'static ProcessGlobalTable {
    static TABLE: OnceLock<ProcessGlobalTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        toml::from_str::<ProcessGlobalTable>(PROCESS_GLOBAL_TOML)
            .unwrap_or_default()
            .indexed()
    })
}

/// Whether the process-global call `name` is allowed only in the main thread.
pub fn is_main_thread_only(name: &str) -> bool {
    process_global()
        .call
        .iter()
        .any(|entry| entry.name == name && entry.main_thread_only)
}

/// Whether the process-global call `name` is a context manager that swaps the state for its
/// block (`contextlib.redirect_stdout`, `mpmath.workprec`).
pub fn is_scoped_context_manager(name: &str) -> bool {
    process_global()
        .call
        .iter()
        .any(|entry| entry.name == name && entry.scoped)
}

/// The table's own advice for the process-global call or assignment `name`, if it has one.
pub fn process_global_advice(name: &str) -> Option<&'static str> {
    let table = process_global();
    table
        .call
        .iter()
        .chain(&table.assignment)
        .find(|entry| entry.name == name)
        .and_then(|entry| entry.advice.as_deref())
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

pub mod extensions;

pub use extensions::{
    ExtensionPackage, ExtensionProblem, ExtensionStatus, ExtensionTable, GilCheck, TargetFacts,
    days_since_epoch, extensions, normalize_name,
};

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
        let atomic: AtomicOperationTable = toml::from_str(ATOMIC_OPERATIONS_TOML).unwrap();
        assert!(
            atomic
                .find("list", "append")
                .is_some_and(|entry| entry.atomic)
        );
        assert!(
            atomic
                .find("list", "sort")
                .is_some_and(|entry| !entry.atomic)
        );
        assert!(
            atomic
                .find("Counter", "update")
                .is_some_and(|entry| !entry.atomic)
        );
        for entry in &atomic.operation {
            assert!(
                entry.reference.starts_with("https://docs.python.org/3/"),
                "{entry:?}"
            );
        }
    }

    #[test]
    fn versions_compare() {
        assert!(TargetVersion::Py313t.is_below("3.14"));
        assert!(!TargetVersion::Py314t.is_below("3.14"));
    }

    #[test]
    fn process_global_table_parses_with_its_flags() {
        // A table that fails to parse would be silently empty: parse it strictly here.
        let table: ProcessGlobalTable = toml::from_str(PROCESS_GLOBAL_TOML).unwrap();
        assert!(table.assignment.iter().all(|entry| !entry.scoped));
        for name in [
            "contextlib.redirect_stdout",
            "contextlib.chdir",
            "warnings.catch_warnings",
            "mpmath.workprec",
            "pandas.option_context",
        ] {
            assert!(is_scoped_context_manager(name), "{name}");
        }
        assert!(!is_scoped_context_manager("os.chdir"));
        assert!(is_main_thread_only("signal.signal"));
        assert!(!is_main_thread_only("os.chdir"));
        assert!(process_global_advice("mpmath.mp.dps").is_some());
        assert!(process_global_advice("os.chdir").is_none());
    }
}
