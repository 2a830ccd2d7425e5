//! Configuration: `[tool.nogil-lint]` in the nearest `pyproject.toml`, or `nogil-lint.toml` /
//! `.nogil-lint.toml` (searched upward from the first path given), or `--config PATH`.
//! Unknown keys, unknown codes and wrong types are errors that point at the line in the file,
//! with a code frame and a suggestion.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Severity;
use crate::registry::RuleSelector;

/// The keys of the configuration.
pub const KEYS: &[&str] = &[
    "select",
    "ignore",
    "extend-select",
    "per-file-ignores",
    "exclude",
    "extend-exclude",
    "target-version",
    "min-severity",
    "lock-factories",
    "thread-entry-decorators",
    "thread-unsafe-functions",
    "fix",
    "unsafe-fixes",
];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    pub select: Option<Vec<Spanned<String>>>,
    pub ignore: Option<Vec<Spanned<String>>>,
    pub extend_select: Option<Vec<Spanned<String>>>,
    pub per_file_ignores: Option<BTreeMap<String, Vec<Spanned<String>>>>,
    pub exclude: Option<Vec<String>>,
    pub extend_exclude: Option<Vec<String>>,
    pub target_version: Option<Spanned<String>>,
    /// The least severe findings shown: `info`, `warning` (the default) or `error`.
    pub min_severity: Option<Spanned<String>>,
    pub lock_factories: Option<Vec<String>>,
    pub thread_entry_decorators: Option<Vec<String>>,
    pub thread_unsafe_functions: Option<Vec<String>>,
    pub fix: Option<bool>,
    pub unsafe_fixes: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct Pyproject {
    tool: Option<Tool>,
}

#[derive(Debug, Deserialize)]
struct Tool {
    #[serde(rename = "nogil-lint")]
    nogil_lint: Option<Options>,
}

/// A configuration file and what it says.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub options: Options,
}

/// A configuration error, shown with a code frame.
#[derive(Debug)]
pub struct ConfigError {
    pub message: String,
    pub help: Option<String>,
    pub source_code: NamedSource<String>,
    pub span: Option<SourceSpan>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Diagnostic for ConfigError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new("nogil-lint::config"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source_code)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.span.map(|span| {
            Box::new(std::iter::once(LabeledSpan::new_with_span(
                Some("here".into()),
                span,
            ))) as Box<dyn Iterator<Item = LabeledSpan>>
        })
    }
}

fn error(
    path: &Path,
    text: &str,
    message: String,
    help: Option<String>,
    span: Option<std::ops::Range<usize>>,
) -> Box<ConfigError> {
    Box::new(ConfigError {
        message: format!("{}: {message}", path.display()),
        help,
        source_code: NamedSource::new(path.display().to_string(), text.to_string()),
        span: span.map(|range| SourceSpan::new(range.start.into(), range.end - range.start)),
    })
}

/// The closest known key to an unknown one.
fn suggest_key(unknown: &str) -> Option<String> {
    KEYS.iter()
        .map(|key| (strsim::levenshtein(unknown, key), *key))
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, key)| format!("did you mean `{key}`?"))
}

/// Reads one configuration file. `Ok(None)` for a `pyproject.toml` without a
/// `[tool.nogil-lint]` table.
pub fn load(path: &Path) -> Result<Option<Config>, Box<ConfigError>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| error(path, "", format!("cannot read: {e}"), None, None))?;
    let is_pyproject = path
        .file_name()
        .is_some_and(|name| name == "pyproject.toml");
    let parsed: Result<Option<Options>, toml::de::Error> = if is_pyproject {
        toml::from_str::<Pyproject>(&text).map(|p| p.tool.and_then(|t| t.nogil_lint))
    } else {
        toml::from_str::<Options>(&text).map(Some)
    };
    let options = match parsed {
        Ok(Some(options)) => options,
        Ok(None) => return Ok(None),
        Err(failure) => {
            let message = failure.message().to_string();
            let help = message
                .split('`')
                .nth(1)
                .filter(|_| message.starts_with("unknown field"))
                .and_then(suggest_key);
            let message = message.lines().next().unwrap_or("").to_string();
            return Err(error(path, &text, message, help, failure.span()));
        }
    };
    // Codes are checked here, where their position is known.
    let mut code_lists: Vec<&Vec<Spanned<String>>> = Vec::new();
    code_lists.extend(options.select.iter());
    code_lists.extend(options.ignore.iter());
    code_lists.extend(options.extend_select.iter());
    if let Some(table) = &options.per_file_ignores {
        code_lists.extend(table.values());
    }
    for list in code_lists {
        for code in list {
            if let Err(unknown) = code.get_ref().parse::<RuleSelector>() {
                let help = unknown
                    .suggestion
                    .map(|code| format!("did you mean `{code}`?"));
                return Err(error(
                    path,
                    &text,
                    format!("unknown rule code or prefix `{}`", unknown.given),
                    help,
                    Some(code.span()),
                ));
            }
        }
    }
    if let Some(version) = &options.target_version
        && !matches!(version.get_ref().as_str(), "3.13t" | "3.14t")
    {
        return Err(error(
            path,
            &text,
            format!("unknown target-version `{}`", version.get_ref()),
            Some("use \"3.13t\" or \"3.14t\"".to_string()),
            Some(version.span()),
        ));
    }
    if let Some(level) = &options.min_severity
        && Severity::from_name(level.get_ref()).is_none()
    {
        return Err(error(
            path,
            &text,
            format!("unknown min-severity `{}`", level.get_ref()),
            Some("use \"info\", \"warning\" or \"error\"".to_string()),
            Some(level.span()),
        ));
    }
    Ok(Some(Config {
        path: path.to_path_buf(),
        options,
    }))
}

/// The nearest configuration above `start`: `pyproject.toml` with a `[tool.nogil-lint]`
/// table, `nogil-lint.toml` or `.nogil-lint.toml`.
pub fn discover(start: &Path) -> Result<Option<Config>, Box<ConfigError>> {
    let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
    let mut directory = if start.is_dir() {
        Some(start.as_path())
    } else {
        start.parent()
    };
    while let Some(current) = directory {
        for name in [".nogil-lint.toml", "nogil-lint.toml", "pyproject.toml"] {
            let candidate = current.join(name);
            if candidate.is_file()
                && let Some(config) = load(&candidate)?
            {
                return Ok(Some(config));
            }
        }
        directory = current.parent();
    }
    Ok(None)
}

/// Parses a list of codes already validated by [`load`].
pub fn selectors(list: &[Spanned<String>]) -> Vec<RuleSelector> {
    list.iter()
        .filter_map(|code| code.get_ref().parse().ok())
        .collect()
}
