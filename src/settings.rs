//! The settings of a run: the rules, the model's options, the excludes and the fix mode, from
//! the configuration file with the command line's overrides on top.

use std::path::{Path, PathBuf};

use miette::{Result, miette};

use crate::checkers::ng203_extension_enables_gil::BuildContext;
use crate::data::TargetVersion;
use crate::diagnostic::{FixApplicability, Severity};
use crate::registry::{Rule, RuleSelector, RuleSet};
use crate::semantic::ModelOptions;

/// What a run needs to know: which rules, how to build the model, which files to skip.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rules: RuleSet,
    /// Gather the facts the project phase links across modules.
    pub collect_facts: bool,
    /// What the semantic model needs from the settings (target version, extra functions).
    pub model: ModelOptions,
    /// The project's build configuration, for the extension-source rule (NG203).
    pub build: BuildContext,
    /// The interpreter whose installed packages NG204 inspects (`--python`).
    pub python: Option<PathBuf>,
    /// Import the project's extension packages in a subprocess (`--import-check`).
    pub import_check: bool,
    /// Set by the pipeline when NG204 will inspect an environment (keeps import positions).
    pub inspect_environment: bool,
    /// Top-level module names of the project itself: its own imports are never third-party
    /// packages (a project named like a listed distribution, such as black checking itself).
    pub project_modules: std::sync::Arc<rustc_hash::FxHashSet<String>>,
    /// The run's test modules (`tests/`, `test_*.py`, … below the project's source roots), set
    /// by the pipeline: their code runs on the test runner's thread unless a test starts one.
    pub test_modules: std::sync::Arc<rustc_hash::FxHashSet<PathBuf>>,
    /// Files that are copies of other projects inside a package (`pkg/_vendor/…`): their
    /// findings are information, for the project they come from to fix.
    pub vendored_modules: std::sync::Arc<rustc_hash::FxHashSet<PathBuf>>,
    /// The configuration file in use, and the directory its globs are relative to.
    pub config_path: Option<PathBuf>,
    pub config_base: PathBuf,
    /// `exclude` and `extend-exclude`.
    pub exclude: globset::GlobSet,
    /// `per-file-ignores`: files matching a glob, and the rules ignored for them.
    pub per_file_ignores: std::sync::Arc<Vec<(globset::GlobSet, RuleSet)>>,
    /// `fix` / `unsafe-fixes` from the configuration or the command line.
    pub fix: bool,
    pub unsafe_fixes: bool,
    /// Apply excludes to files named explicitly (`--force-exclude`).
    pub force_exclude: bool,
    /// The least severe findings shown, counted and fixed (`--min-severity`, `min-severity`).
    pub min_severity: Severity,
}

impl Settings {
    /// The path a glob of the configuration is matched against: relative to the configuration
    /// file's directory when the file is inside it.
    fn relative<'p>(&self, path: &'p Path) -> std::borrow::Cow<'p, Path> {
        let absolute = if path.is_absolute() {
            std::borrow::Cow::Borrowed(path)
        } else {
            match std::env::current_dir() {
                Ok(current) => std::borrow::Cow::Owned(current.join(path)),
                Err(_) => std::borrow::Cow::Borrowed(path),
            }
        };
        match absolute.strip_prefix(&self.config_base) {
            Ok(relative) => std::borrow::Cow::Owned(relative.to_path_buf()),
            Err(_) => std::borrow::Cow::Owned(path.to_path_buf()),
        }
    }

    /// Whether `exclude`/`extend-exclude` exclude a path.
    pub fn is_excluded(&self, path: &Path) -> bool {
        !self.exclude.is_empty() && self.exclude.is_match(self.relative(path).as_ref())
    }

    /// Whether `per-file-ignores` ignores `rule` for a file.
    pub fn ignores_for_file(&self, path: &Path, rule: Rule) -> bool {
        if self.per_file_ignores.is_empty() {
            return false;
        }
        let relative = self.relative(path);
        self.per_file_ignores
            .iter()
            .any(|(globs, rules)| rules.contains(rule) && globs.is_match(relative.as_ref()))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rules: RuleSet::all(),
            collect_facts: false,
            model: ModelOptions::default(),
            build: Default::default(),
            python: None,
            import_check: false,
            inspect_environment: false,
            project_modules: Default::default(),
            test_modules: Default::default(),
            vendored_modules: Default::default(),
            config_path: None,
            config_base: PathBuf::from("."),
            exclude: globset::GlobSet::empty(),
            per_file_ignores: Default::default(),
            fix: false,
            unsafe_fixes: false,
            force_exclude: false,
            min_severity: Severity::Warning,
        }
    }
}

/// What to do with fixes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FixMode {
    /// Report findings (and their fixes) only.
    Report,
    /// Apply fixes at least this safe and write the file.
    Apply(FixApplicability),
    /// Compute fixes at least this safe and show them as a diff; write nothing.
    Diff(FixApplicability),
    /// Apply fixes to standard input and return the fixed text.
    ApplyToOutput(FixApplicability),
}

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// No configuration file (`--isolated`).
    Isolated,
    /// This file (`--config PATH`); it must have a `[tool.nogil-lint]` table.
    File(PathBuf),
    /// The nearest configuration file above this path.
    Discover(PathBuf),
}

/// What the command line asks for on top of the configuration file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--select`: replaces the configuration's `select`.
    pub select: Option<Vec<String>>,
    /// `--extend-select` and `--ignore`: extend the configuration's lists.
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    pub target_version: Option<TargetVersion>,
    pub python: Option<PathBuf>,
    pub import_check: bool,
    pub fix: bool,
    pub unsafe_fixes: bool,
    pub force_exclude: bool,
    /// `--min-severity`: replaces the configuration's `min-severity`.
    pub min_severity: Option<Severity>,
}

impl Settings {
    /// The settings of a run: the configuration `source` names, with `overrides` on top.
    pub fn resolve(source: &ConfigSource, overrides: &Overrides) -> Result<Settings> {
        let config = match source {
            ConfigSource::Isolated => None,
            ConfigSource::File(path) => {
                match crate::config::load(path).map_err(|error| miette::Report::new(*error))? {
                    Some(config) => Some(config),
                    None => {
                        return Err(miette!("{} has no [tool.nogil-lint] table", path.display()));
                    }
                }
            }
            ConfigSource::Discover(start) => {
                crate::config::discover(start).map_err(|error| miette::Report::new(*error))?
            }
        };
        let options = config
            .as_ref()
            .map(|config| config.options.clone())
            .unwrap_or_default();

        let cli_select = overrides
            .select
            .as_deref()
            .map(|values| parse_selectors(values, "--select"))
            .transpose()?;
        let select = cli_select.or_else(|| options.select.as_deref().map(crate::config::selectors));
        // The configuration's lists, extended by the command line's.
        let merged =
            |configured: Option<&[toml::Spanned<String>]>, given: &[String], flag: &str| {
                let mut selectors = configured.map(crate::config::selectors).unwrap_or_default();
                selectors.extend(parse_selectors(given, flag)?);
                Ok::<_, miette::Report>(selectors)
            };
        let extend_select = merged(
            options.extend_select.as_deref(),
            &overrides.extend_select,
            "--extend-select",
        )?;
        let ignore = merged(options.ignore.as_deref(), &overrides.ignore, "--ignore")?;
        let rules = RuleSet::from_selectors(select.as_deref(), &extend_select, &ignore);

        let target_version = overrides.target_version.unwrap_or_else(|| {
            match options
                .target_version
                .as_ref()
                .map(|version| version.get_ref().as_str())
            {
                Some("3.13t") => TargetVersion::Py313t,
                _ => TargetVersion::Py314t,
            }
        });
        // The configuration's value was validated by `config::load`.
        let min_severity = overrides
            .min_severity
            .or_else(|| {
                options
                    .min_severity
                    .as_ref()
                    .and_then(|level| Severity::from_name(level.get_ref()))
            })
            .unwrap_or(Severity::Warning);
        let base = config
            .as_ref()
            .and_then(|config| config.path.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."));
        let base = std::fs::canonicalize(&base).unwrap_or(base);
        let mut excludes: Vec<String> = options.exclude.clone().unwrap_or_default();
        excludes.extend(options.extend_exclude.clone().unwrap_or_default());
        let exclude = build_globs(&excludes)?;
        let mut per_file_ignores = Vec::new();
        for (pattern, codes) in options.per_file_ignores.clone().unwrap_or_default() {
            let matcher = build_globs(std::slice::from_ref(&pattern))?;
            let ignored =
                RuleSet::from_selectors(Some(&crate::config::selectors(&codes)), &[], &[]);
            per_file_ignores.push((matcher, ignored));
        }
        Ok(Settings {
            rules,
            collect_facts: true,
            model: ModelOptions {
                target_version,
                thread_unsafe_functions: options
                    .thread_unsafe_functions
                    .clone()
                    .unwrap_or_default(),
                lock_factories: options.lock_factories.clone().unwrap_or_default(),
                project_modules: Default::default(),
                thread_local_classes: Default::default(),
                thread_entry_decorators: options
                    .thread_entry_decorators
                    .clone()
                    .unwrap_or_default(),
            },
            build: Default::default(),
            python: overrides.python.clone(),
            import_check: overrides.import_check,
            inspect_environment: false,
            project_modules: Default::default(),
            test_modules: Default::default(),
            vendored_modules: Default::default(),
            config_path: config.as_ref().map(|config| config.path.clone()),
            config_base: base,
            exclude,
            per_file_ignores: std::sync::Arc::new(per_file_ignores),
            fix: overrides.fix || options.fix.unwrap_or(false),
            unsafe_fixes: overrides.unsafe_fixes || options.unsafe_fixes.unwrap_or(false),
            force_exclude: overrides.force_exclude,
            min_severity,
        })
    }

    /// What `--show-settings` prints.
    pub fn describe(&self, mode: FixMode) -> String {
        let settings = self;
        let rules: Vec<&str> = settings.rules.iter().map(|rule| rule.code()).collect();
        let lines = [
            format!(
                "configuration: {}",
                settings
                    .config_path
                    .as_ref()
                    .map_or("none (defaults)".to_string(), |path| path
                        .display()
                        .to_string())
            ),
            format!("rules: {}", rules.join(", ")),
            format!("target-version: {}", settings.model.target_version.as_str()),
            format!("min-severity: {}", settings.min_severity.as_str()),
            format!("fix: {mode:?}"),
            format!("exclude: {} patterns", settings.exclude.len() / 2),
            format!(
                "per-file-ignores: {} patterns",
                settings.per_file_ignores.len()
            ),
            format!("lock-factories: {:?}", settings.model.lock_factories),
            format!(
                "thread-entry-decorators: {:?}",
                settings.model.thread_entry_decorators
            ),
            format!(
                "thread-unsafe-functions: {:?}",
                settings.model.thread_unsafe_functions
            ),
        ];
        lines.join("\n")
    }
}

fn parse_selectors(values: &[String], flag: &str) -> Result<Vec<RuleSelector>> {
    values
        .iter()
        .filter(|value| !value.trim().is_empty())
        .map(|value| {
            value
                .parse::<RuleSelector>()
                .map_err(|error| miette!("{error} (in {flag})"))
        })
        .collect()
}

/// A glob set; a pattern without a `/` matches a file or directory name at any depth.
fn build_globs(patterns: &[String]) -> Result<globset::GlobSet> {
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in patterns {
        let anchored = if pattern.contains('/') {
            pattern.trim_start_matches("./").to_string()
        } else {
            format!("**/{pattern}")
        };
        for variant in [anchored.clone(), format!("{anchored}/**")] {
            let glob = globset::Glob::new(&variant)
                .map_err(|error| miette!("invalid glob `{pattern}`: {error}"))?;
            builder.add(glob);
        }
    }
    builder
        .build()
        .map_err(|error| miette!("invalid globs: {error}"))
}
