//! The extension table (`rules/extensions.toml`): what is known about compiled packages on
//! free-threaded CPython, per target, with where and when each fact was established.

use std::sync::OnceLock;

use serde::Deserialize;

use super::TargetVersion;

/// What is known about an extension package's free-threading support.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExtensionStatus {
    /// Free-threaded wheels whose modules declare GIL-free operation.
    Supported,
    /// Free-threaded wheels whose modules re-enable the GIL when imported.
    GilEnabled,
    /// No free-threaded build.
    Unsupported,
    Unknown,
}

/// What importing the compiled modules on a free-threaded interpreter did to the GIL.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GilCheck {
    /// Every compiled module was imported and the GIL stayed disabled.
    Disabled,
    /// Some modules (`gil_enabled_by`) turned the GIL on.
    Enabled,
    NotChecked,
}

/// Facts about one target's ABI (`cp314t`), read from the package index's file lists and, for
/// 3.14t, from importing the wheels on a free-threaded interpreter.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct TargetFacts {
    /// First release with a wheel of this ABI for Linux x86_64 (a final release when any has
    /// one); absent when no release has one.
    pub first: Option<String>,
    /// An earlier release that had such a wheel for another platform only.
    pub first_any_platform: Option<String>,
    /// Every release since `first` that has such a wheel.
    #[serde(default)]
    pub releases: Vec<String>,
    /// Final releases since `first` that lack one.
    #[serde(default)]
    pub missing: Vec<String>,
    /// The newest final release, and whether it has such a wheel.
    pub latest: Option<String>,
    #[serde(default)]
    pub latest_has_wheels: bool,
    /// The newest release publishes a wheel without compiled code.
    #[serde(default)]
    pub pure_python: bool,
    /// Where and when the file facts were read (`index 2026-11-27`).
    #[serde(default)]
    pub files: String,
    pub gil: Option<GilCheck>,
    #[serde(default)]
    pub gil_enabled_by: Vec<String>,
    /// The interpreter, release and date of the import check.
    pub import_check: Option<String>,
}

impl TargetFacts {
    /// The date the facts were read, from `files` (`index 2026-11-27` → `2026-11-27`).
    pub fn date(&self) -> Option<&str> {
        self.files.split_whitespace().last().filter(|date| {
            date.len() == 10 && date.bytes().filter(|byte| *byte == b'-').count() == 2
        })
    }
}

/// One distribution of `rules/extensions.toml`.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct ExtensionPackage {
    pub name: String,
    #[serde(default)]
    pub imports: Vec<String>,
    #[serde(default)]
    pub has_extension: bool,
    /// A pure-Python wheel is published too: a free-threaded interpreter installs that one.
    #[serde(default)]
    pub pure_python_fallback: bool,
    pub status: ExtensionStatus,
    /// First release with free-threaded wheels for 3.13t, or `"none"`.
    pub cp313t: Option<String>,
    pub cp314t: Option<String>,
    pub gil_free_since: Option<String>,
    pub alternative: Option<String>,
    /// Some compiled modules of the newest wheel (`markupsafe._speedups`).
    #[serde(default)]
    pub compiled_modules: Vec<String>,
    #[serde(default)]
    pub source: String,
    pub py313t: Option<TargetFacts>,
    pub py314t: Option<TargetFacts>,
}

/// Why importing a package is a problem on a free-threaded target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionProblem {
    /// No free-threaded build for the target (the interpreter cannot load the GIL build).
    NoBuild,
    /// No free-threaded wheel of the compiled modules, but a pure-Python wheel installs.
    PurePythonOnly,
    /// Free-threaded wheels since an earlier release, but not for the newest one.
    LatestWithoutWheels { latest: String },
    /// Free-threaded wheels exist, but importing these modules turns the GIL back on (empty
    /// when the table does not name them).
    ReenablesGil { modules: Vec<String> },
}

impl ExtensionPackage {
    /// The table's facts for `target`, when the refresh gathered them.
    pub fn facts(&self, target: TargetVersion) -> Option<&TargetFacts> {
        match target {
            TargetVersion::Py313t => self.py313t.as_ref(),
            TargetVersion::Py314t => self.py314t.as_ref(),
        }
    }

    /// The first release with free-threaded wheels for `target`, when known.
    pub fn first_release(&self, target: TargetVersion) -> Option<&str> {
        if let Some(facts) = self.facts(target) {
            return facts.first.as_deref();
        }
        match target {
            TargetVersion::Py313t => self.cp313t.as_deref(),
            TargetVersion::Py314t => self.cp314t.as_deref(),
        }
        .filter(|version| *version != "none")
    }

    /// The problem importing `modules` of this package causes on `target`, if any: the
    /// module as written, and for `from X import a` also `X.a`.
    pub fn problem(&self, target: TargetVersion, modules: &[String]) -> Option<ExtensionProblem> {
        let Some(facts) = self.facts(target) else {
            return self.problem_from_status(target);
        };
        if facts.first.is_none() {
            return if facts.pure_python && self.compiled_modules.is_empty() {
                // Nothing compiled for this platform (watchdog on Linux): it simply works.
                None
            } else if facts.first_any_platform.is_some() {
                // Free-threaded wheels for other platforms only (mysqlclient, pywinpty): on
                // Linux the package is built from source for every interpreter, which is not
                // a free-threading matter; the table's Linux view cannot judge the others.
                None
            } else if facts.pure_python {
                Some(ExtensionProblem::PurePythonOnly)
            } else if self.has_extension {
                Some(ExtensionProblem::NoBuild)
            } else {
                None
            };
        }
        let gil = facts.gil.unwrap_or(GilCheck::NotChecked);
        if gil == GilCheck::Enabled {
            // Judged module by module: `import lxml` keeps the GIL off, `lxml.etree` does not.
            // A subpackage (`lxml.html`) counts for the culprits below it; a top-level package
            // alone does not, as the check saw it import without them.
            let culprits: Vec<String> = facts
                .gil_enabled_by
                .iter()
                .filter(|culprit| {
                    modules.iter().any(|module| {
                        *culprit == module
                            || (module.contains('.') && culprit.starts_with(&format!("{module}.")))
                    })
                })
                .cloned()
                .collect();
            if culprits.is_empty() {
                return None;
            }
            return Some(ExtensionProblem::ReenablesGil { modules: culprits });
        }
        if gil == GilCheck::NotChecked && self.status == ExtensionStatus::GilEnabled {
            return Some(ExtensionProblem::ReenablesGil {
                modules: Vec::new(),
            });
        }
        match &facts.latest {
            Some(latest) if !facts.latest_has_wheels => {
                Some(ExtensionProblem::LatestWithoutWheels {
                    latest: latest.clone(),
                })
            }
            _ => None,
        }
    }

    /// The verdict of an entry the refresh has not reached, from its status alone.
    fn problem_from_status(&self, target: TargetVersion) -> Option<ExtensionProblem> {
        let field = match target {
            TargetVersion::Py313t => self.cp313t.as_deref(),
            TargetVersion::Py314t => self.cp314t.as_deref(),
        };
        match self.status {
            ExtensionStatus::Unsupported if self.pure_python_fallback => {
                Some(ExtensionProblem::PurePythonOnly)
            }
            ExtensionStatus::Unsupported => Some(ExtensionProblem::NoBuild),
            ExtensionStatus::GilEnabled => Some(ExtensionProblem::ReenablesGil {
                modules: Vec::new(),
            }),
            ExtensionStatus::Supported if field == Some("none") => Some(ExtensionProblem::NoBuild),
            ExtensionStatus::Supported | ExtensionStatus::Unknown => None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ExtensionFile {
    #[serde(default)]
    package: Vec<ExtensionPackage>,
}

/// The extension table, with an index by top-level import name.
#[derive(Debug, Default)]
pub struct ExtensionTable {
    pub packages: Vec<ExtensionPackage>,
    by_import: rustc_hash::FxHashMap<String, usize>,
}

/// Namespace packages that several distributions share: the top-level name alone does not say
/// which distribution a module comes from, so only the dotted names below count.
const NAMESPACE_PACKAGES: &[(&str, &[(&str, &str)])] = &[
    ("google", &[("protobuf", "google.protobuf")]),
    ("zope", &[("zope-interface", "zope.interface")]),
    ("mysql", &[("mysql-connector-python", "mysql.connector")]),
    (
        "snowflake",
        &[("snowflake-connector-python", "snowflake.connector")],
    ),
    ("cuda", &[("cuda-bindings", "cuda.bindings")]),
    ("amazon", &[("amazon-ion", "amazon.ion")]),
    ("mpl_toolkits", &[]),
    ("backports", &[]),
    ("azure", &[]),
];

impl ExtensionTable {
    /// The package an imported module (`numpy.linalg`, `google.protobuf.message`) comes from:
    /// the longest dotted prefix the table knows.
    pub fn by_module(&self, module: &str) -> Option<&ExtensionPackage> {
        let mut candidate = module;
        loop {
            if let Some(&index) = self.by_import.get(candidate) {
                return Some(&self.packages[index]);
            }
            candidate = candidate.rsplit_once('.')?.0;
        }
    }

    /// The package a top-level import name belongs to.
    pub fn by_import(&self, name: &str) -> Option<&ExtensionPackage> {
        self.by_import.get(name).map(|&index| &self.packages[index])
    }

    /// The day the newest facts of the table were gathered (`2026-11-27`), if any were.
    pub fn gathered_on(&self) -> Option<&str> {
        self.packages
            .iter()
            .flat_map(|package| [package.py313t.as_ref(), package.py314t.as_ref()])
            .flatten()
            .filter_map(TargetFacts::date)
            .max()
    }

    /// A package by distribution name (case and `-`/`_`/`.` insensitive).
    pub fn by_name(&self, name: &str) -> Option<&ExtensionPackage> {
        let wanted = normalize_name(name);
        self.packages
            .iter()
            .find(|package| normalize_name(&package.name) == wanted)
    }
}

/// PEP 503 normalization of a distribution name.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut previous_separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !previous_separator {
                out.push('-');
            }
            previous_separator = true;
        } else {
            out.push(c.to_ascii_lowercase());
            previous_separator = false;
        }
    }
    out
}

pub const EXTENSIONS_TOML: &str = include_str!("../../rules/extensions.toml");

pub fn extensions() -> &'static ExtensionTable {
    static TABLE: OnceLock<ExtensionTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let file: ExtensionFile = toml::from_str(EXTENSIONS_TOML).unwrap_or_default();
        let mut by_import = rustc_hash::FxHashMap::default();
        for (index, package) in file.package.iter().enumerate() {
            for name in &package.imports {
                match NAMESPACE_PACKAGES.iter().find(|(top, _)| top == name) {
                    Some((_, dotted)) => {
                        for (distribution, module) in *dotted {
                            if normalize_name(&package.name) == *distribution {
                                by_import.entry((*module).to_string()).or_insert(index);
                            }
                        }
                    }
                    None => {
                        // A module several distributions ship (`cupy` from `cupy`, `cupy-cuda12x`,
                        // `cupy-cuda13x`): the one with a free-threaded build answers, since a
                        // user can install that one.
                        let entry = by_import.entry(name.clone()).or_insert(index);
                        if file.package[*entry].status != ExtensionStatus::Supported
                            && package.status == ExtensionStatus::Supported
                        {
                            *entry = index;
                        }
                    }
                }
            }
        }
        ExtensionTable {
            packages: file.package,
            by_import,
        }
    })
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian calendar), for the age
/// of the table's facts; `None` when the text is not such a date.
pub fn days_since_epoch(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Howard Hinnant's days_from_civil: March-based years make leap days the last of a year.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_several_distributions_ship_is_answered_by_one_with_a_free_threaded_build() {
        let table = extensions();
        // `cupy` (a source distribution) and the CUDA builds all ship `cupy`.
        assert_eq!(
            table.by_name("cupy").map(|package| package.status),
            Some(ExtensionStatus::Unsupported)
        );
        let answer = table.by_import("cupy").map(|package| package.name.as_str());
        assert!(
            matches!(answer, Some("cupy-cuda12x" | "cupy-cuda13x")),
            "{answer:?}"
        );
    }

    #[test]
    fn extension_table_parses_and_indexes_imports() {
        let file: ExtensionFile = toml::from_str(EXTENSIONS_TOML).unwrap();
        assert!(!file.package.is_empty());
        let table = extensions();
        assert!(table.by_import("yaml").is_some());
        assert_eq!(normalize_name("PyYAML"), "pyyaml");
        // A namespace package's top-level name alone does not pick a distribution.
        assert!(table.by_module("google.cloud.storage").is_none());
        assert_eq!(
            table
                .by_module("google.protobuf.message")
                .map(|p| p.name.as_str()),
            Some("protobuf")
        );
        assert_eq!(
            table.by_module("numpy.linalg").map(|p| p.name.as_str()),
            Some("numpy")
        );
        assert_eq!(normalize_name("ruamel.yaml__clib"), "ruamel-yaml-clib");
    }

    #[test]
    fn dates_count_days() {
        assert_eq!(days_since_epoch("1970-01-01"), Some(0));
        assert_eq!(days_since_epoch("2000-03-01"), Some(11_017));
        assert_eq!(days_since_epoch("2026-11-27"), Some(20_784));
        assert_eq!(days_since_epoch("2026-13-01"), None);
        assert_eq!(days_since_epoch("soon"), None);
    }
}
