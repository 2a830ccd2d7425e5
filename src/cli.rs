//! The command line: `nogil-lint check` and `nogil-lint rule`.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use miette::{IntoDiagnostic, Result, WrapErr, miette};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::data::TargetVersion;
use crate::diagnostic::FixApplicability;
use crate::discovery::{self, Discovered};
use crate::linter::{self, FileReport, FixMode, Origin, Settings};
use crate::output::{self, OutputFormat, PrintOptions};
use crate::registry::{Rule, RuleSelector, RuleSet};
use crate::semantic::ModelOptions;

const CHECK_EXAMPLES: &str = "\
Examples:
  nogil-lint check src/                         check a tree
  nogil-lint check --select NG1 src/            only the shared-state rules
  nogil-lint check --ignore NG105,NG106 .       everything but two rules
  nogil-lint check --output-format json src/    machine-readable output
  cat app.py | nogil-lint check --stdin-filename app.py -

Exit status: 0 no findings (or --exit-zero), 1 findings, 2 usage, configuration or I/O error.";

/// Finds Python code that races, or stops scaling, on free-threaded CPython (3.13t, 3.14t).
#[derive(Debug, Parser)]
#[command(name = "nogil-lint", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check Python files and directories.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Show the documentation of a rule.
    Rule(RuleArgs),
    /// Show what nogil-lint knows about extension packages and free threading.
    Extensions(ExtensionsArgs),
    /// Run each flagged pattern and its fix on threads of your interpreter, and compare.
    #[command(after_help = PARITY_HELP)]
    Parity(ParityArgs),
}

const PARITY_HELP: &str = "\
Each race workload is a program nogil-lint flags (it checks that it does), and the program its
fix produces; both run serially and on threads, and the outcomes are compared. The scaling
workloads time CPU-bound work serially, on a thread pool and on a process pool.

Exit status: 0 every fixed program has parity, 1 one does not, 2 an error (no interpreter,
a crash, a workload past its timeout).";

#[derive(Debug, Args)]
pub struct ParityArgs {
    /// The interpreter (default: python3.14t, python3.13t, then python3 on PATH).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Threads (and pool workers) to use.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub threads: usize,
    /// Iterations per thread (scale it up for a longer, more telling run).
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    pub iterations: usize,
    /// Run one workload: a rule code (NG101) or `scaling`.
    #[arg(long, value_name = "NAME")]
    pub only: Option<String>,
    /// `text` or `json`.
    #[arg(long, value_enum, default_value_t = RuleFormat::Text)]
    pub output_format: RuleFormat,
}

#[derive(Debug, Args)]
pub struct ExtensionsArgs {
    /// A distribution or import name (all packages when omitted).
    pub name: Option<String>,
    /// `text` or `json`.
    #[arg(long, value_enum, default_value_t = RuleFormat::Text)]
    pub output_format: RuleFormat,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or directories to check; `-` reads standard input.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Rules to enable: codes or prefixes (`NG1` selects the group), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub select: Option<Vec<String>>,
    /// Rules to disable, after --select and --extend-select.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub ignore: Vec<String>,
    /// Rules to enable in addition to --select.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub extend_select: Vec<String>,
    /// How to print findings.
    #[arg(long, value_enum, default_value_t = OutputFormat::Full, env = "NOGIL_LINT_OUTPUT_FORMAT")]
    pub output_format: OutputFormat,
    /// Exit with 0 even when there are findings.
    #[arg(long)]
    pub exit_zero: bool,
    /// Number of threads (default: one per CPU).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print findings only, without the summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// The file name to report (and to pick the source type by) when reading standard input.
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<PathBuf>,
    /// The free-threaded interpreter the code targets (default 3.14t, or the configuration's).
    #[arg(long, value_enum)]
    pub target_version: Option<TargetVersion>,
    /// The configuration file (default: the nearest pyproject.toml with [tool.nogil-lint],
    /// nogil-lint.toml or .nogil-lint.toml above the first path).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Ignore every configuration file.
    #[arg(long, conflicts_with = "config")]
    pub isolated: bool,
    /// Apply excludes to files named on the command line too (for pre-commit).
    #[arg(long)]
    pub force_exclude: bool,
    /// Write the report to a file instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,
    /// Print the number of findings per code (with how many are fixable) instead of each.
    #[arg(long)]
    pub statistics: bool,
    /// Add `# noqa: CODES` to every line with findings (for adopting nogil-lint gradually).
    #[arg(long, conflicts_with_all = ["fix", "diff", "fix_only"])]
    pub add_noqa: bool,
    /// Print the resolved settings and exit.
    #[arg(long)]
    pub show_settings: bool,
    /// Print the files that would be checked and exit.
    #[arg(long)]
    pub show_files: bool,
    /// The interpreter whose installed packages NG204 inspects (default: the project's `.venv`).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// With NG204: also import the project's extension packages in a subprocess to see whether
    /// they re-enable the GIL.
    #[arg(long)]
    pub import_check: bool,
    /// Apply safe fixes, then report what remains.
    #[arg(long)]
    pub fix: bool,
    /// Also apply (or show) fixes that may change behaviour.
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Print the fixes as a unified diff instead of applying them (exit 1 when there are any).
    #[arg(long, conflicts_with_all = ["fix", "fix_only"])]
    pub diff: bool,
    /// Apply fixes without reporting the findings that remain.
    #[arg(long)]
    pub fix_only: bool,
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// The rule's code, e.g. NG101.
    #[arg(required_unless_present = "all")]
    pub code: Option<String>,
    /// Every rule.
    #[arg(long, conflicts_with = "code")]
    pub all: bool,
    /// `text` (Markdown) or `json`.
    #[arg(long, value_enum, default_value_t = RuleFormat::Text)]
    pub output_format: RuleFormat,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RuleFormat {
    Text,
    Json,
}

/// Exit statuses of the output contract.
pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

pub fn main() -> ExitCode {
    crate::isolation::install_panic_hook();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => run_check(args),
        Command::Rule(args) => run_rule(args),
        Command::Extensions(args) => run_extensions(args),
        Command::Parity(args) => run_parity_command(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(EXIT_ERROR)
        }
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

/// The settings the command line asks for.
pub fn settings_from_args(args: &CheckArgs) -> Result<Settings> {
    // Configuration: --config, else the nearest file above the first path (not with --isolated).
    let config = if args.isolated {
        None
    } else if let Some(path) = &args.config {
        match crate::config::load(path).map_err(|error| miette::Report::new(*error))? {
            Some(config) => Some(config),
            None => {
                return Err(miette!("{} has no [tool.nogil-lint] table", path.display()));
            }
        }
    } else {
        // Editors send a buffer on standard input: its configuration is the one above its name.
        let from_stdin = args
            .paths
            .iter()
            .any(|path| path.as_os_str() == "-")
            .then(|| args.stdin_filename.clone())
            .flatten()
            .map(|name| {
                name.parent()
                    .filter(|parent| !parent.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            });
        let start = from_stdin.unwrap_or_else(|| {
            args.paths
                .iter()
                .find(|path| path.as_os_str() != "-")
                .cloned()
                .unwrap_or_else(|| PathBuf::from("."))
        });
        crate::config::discover(&start).map_err(|error| miette::Report::new(*error))?
    };
    let options = config
        .as_ref()
        .map(|config| config.options.clone())
        .unwrap_or_default();

    let cli_select = args
        .select
        .as_deref()
        .map(|values| parse_selectors(values, "--select"))
        .transpose()?;
    let select = cli_select.or_else(|| options.select.as_deref().map(crate::config::selectors));
    // The configuration's lists, extended by the command line's.
    let merged = |configured: Option<&[toml::Spanned<String>]>, given: &[String], flag: &str| {
        let mut selectors = configured.map(crate::config::selectors).unwrap_or_default();
        selectors.extend(parse_selectors(given, flag)?);
        Ok::<_, miette::Report>(selectors)
    };
    let extend_select = merged(
        options.extend_select.as_deref(),
        &args.extend_select,
        "--extend-select",
    )?;
    let ignore = merged(options.ignore.as_deref(), &args.ignore, "--ignore")?;
    let rules = RuleSet::from_selectors(select.as_deref(), &extend_select, &ignore);

    let target_version = args.target_version.unwrap_or_else(|| {
        match options
            .target_version
            .as_ref()
            .map(|version| version.get_ref().as_str())
        {
            Some("3.13t") => TargetVersion::Py313t,
            _ => TargetVersion::Py314t,
        }
    });
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
        let ignored = RuleSet::from_selectors(Some(&crate::config::selectors(&codes)), &[], &[]);
        per_file_ignores.push((matcher, ignored));
    }
    Ok(Settings {
        rules,
        collect_facts: true,
        model: ModelOptions {
            target_version,
            thread_unsafe_functions: options.thread_unsafe_functions.clone().unwrap_or_default(),
            lock_factories: options.lock_factories.clone().unwrap_or_default(),
            thread_entry_decorators: options.thread_entry_decorators.clone().unwrap_or_default(),
        },
        build: Default::default(),
        python: args.python.clone(),
        import_check: args.import_check,
        inspect_environment: false,
        project_modules: Default::default(),
        config_path: config.as_ref().map(|config| config.path.clone()),
        config_base: base,
        exclude,
        per_file_ignores: std::sync::Arc::new(per_file_ignores),
        fix: args.fix || options.fix.unwrap_or(false),
        unsafe_fixes: args.unsafe_fixes || options.unsafe_fixes.unwrap_or(false),
        force_exclude: args.force_exclude,
    })
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

/// The name a file is reported under: the path as given, without a leading `./`.
fn display_name(path: &Path) -> Arc<str> {
    let text = path.to_string_lossy();
    Arc::from(text.strip_prefix("./").unwrap_or(&text))
}

/// Reads and checks one file from disk. Only regular files are opened, so a FIFO or a device
/// among the paths cannot block the run.
pub fn check_path(path: &Path, settings: &Settings) -> FileReport {
    check_path_with(path, settings, FixMode::Report)
}

/// Reads, fixes (as `mode` says) and checks one file from disk.
pub fn check_path_with(path: &Path, settings: &Settings, mode: FixMode) -> FileReport {
    let filename = display_name(path);
    let bytes = match std::fs::metadata(path) {
        Ok(metadata) if !metadata.is_file() => {
            return FileReport::io_error(filename, "not a regular file".to_string());
        }
        Ok(_) => std::fs::read(path),
        Err(error) => Err(error),
    };
    match bytes {
        Ok(bytes)
            if !discovery::is_python_file(path)
                && crate::checkers::ng203_extension_enables_gil::is_extension_source(path) =>
        {
            linter::check_extension_source(filename, path, bytes, settings, mode)
        }
        Ok(bytes) => {
            linter::check_and_fix(filename, path, Origin::File(path), bytes, settings, mode)
        }
        Err(error) => FileReport::io_error(filename, error.to_string()),
    }
}

fn run_check(args: CheckArgs) -> Result<u8> {
    let settings = settings_from_args(&args)?;
    let mut builder = rayon::ThreadPoolBuilder::new()
        // Deeply nested code recurses deeply in the parser and the model.
        .stack_size(256 * 1024 * 1024);
    if let Some(threads) = args.threads {
        if threads == 0 {
            return Err(miette!("--threads must be at least 1"));
        }
        builder = builder.num_threads(threads);
    }
    let pool = builder
        .build()
        .into_diagnostic()
        .wrap_err("cannot start the worker threads")?;

    let read_stdin = args.paths.iter().any(|path| path.as_os_str() == "-");
    let threshold = if settings.unsafe_fixes {
        FixApplicability::Unsafe
    } else {
        FixApplicability::Safe
    };
    let mode = if args.diff {
        FixMode::Diff(threshold)
    } else if settings.fix || args.fix_only {
        FixMode::Apply(threshold)
    } else {
        FixMode::Report
    };
    if args.show_settings {
        println!("{}", describe_settings(&settings, mode));
        return Ok(EXIT_CLEAN);
    }
    // The paths to walk: every argument but `-` (standard input).
    let paths: Vec<PathBuf> = args
        .paths
        .iter()
        .filter(|path| path.as_os_str() != "-")
        .cloned()
        .collect();
    if args.show_files {
        let (files, errors) = discover_files(&paths, &settings);
        for file in &files {
            println!("{}", display_name(file));
        }
        for error in &errors {
            if let Discovered::Error { path, message } = error {
                eprintln!("error: {}: {message}", path.display());
            }
        }
        return Ok(if errors.is_empty() {
            EXIT_CLEAN
        } else {
            EXIT_ERROR
        });
    }
    let stdin = if read_stdin {
        let mut bytes = Vec::new();
        io::stdin()
            .read_to_end(&mut bytes)
            .into_diagnostic()
            .wrap_err("cannot read standard input")?;
        let name = args
            .stdin_filename
            .clone()
            .unwrap_or_else(|| PathBuf::from("-"));
        Some((name, bytes))
    } else {
        None
    };
    let (reports, path_errors) = pool.install(|| run_pipeline(&paths, stdin, &settings, mode));

    for error in &path_errors {
        if let Discovered::Error { path, message } = error {
            eprintln!("error: {}: {message}", path.display());
        }
    }
    for report in &reports {
        if let Some(error) = &report.io_error {
            eprintln!("error: failed to read {}: {error}", report.filename);
        }
        if let Some(description) = &report.internal_error {
            eprintln!(
                "error: internal error while checking {}: {description}\n  \
                 This is a bug in nogil-lint; please report it with the file that triggers it.",
                report.filename
            );
        }
    }

    if args.add_noqa {
        let mut added = 0;
        for report in &reports {
            let Some(path) = &report.path else { continue };
            if report.messages.is_empty() || !discovery::is_python_file(path) {
                continue;
            }
            let findings: Vec<(usize, Rule)> = report
                .messages
                .iter()
                .map(|message| (message.noqa_row, message.diagnostic.rule))
                .collect();
            let Ok(bytes) = std::fs::read(path) else {
                continue;
            };
            let linter::Decoded::Text(text, encoding) = linter::decode(bytes) else {
                continue;
            };
            let (new_text, count) = crate::noqa::add_noqa(&text, path, &findings);
            if count == 0 || new_text == text {
                continue;
            }
            let written = encoding
                .encode(&new_text)
                .ok_or_else(|| io::Error::other("cannot encode"))
                .and_then(|bytes| crate::fix::write_atomically(path, &bytes));
            match written {
                Ok(()) => added += count,
                Err(error) => eprintln!("error: cannot write {}: {error}", path.display()),
            }
        }
        println!("Added {}.", output::plural(added, "noqa directive"));
        return Ok(EXIT_CLEAN);
    }
    let mut write_failed = false;
    for report in &reports {
        for error in &report.fix_errors {
            eprintln!("warning: {}: {error}", report.filename);
            write_failed |= error.starts_with("cannot write");
        }
    }

    let stdout = io::stdout();
    let mut out: Box<dyn Write> = match &args.output_file {
        Some(path) => Box::new(io::BufWriter::new(
            std::fs::File::create(path)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(io::BufWriter::new(stdout.lock())),
    };
    let fixed: usize = reports
        .iter()
        .flat_map(|report| &report.fixed)
        .map(|(_, count)| count)
        .sum();
    let printed = (|| -> io::Result<()> {
        if let FixMode::Diff(_) = mode {
            for report in &reports {
                if let Some(diff) = &report.diff {
                    write!(out, "{diff}")?;
                }
            }
            if !args.quiet {
                eprintln!("Would fix {}.", output::plural(fixed, "finding"));
            }
            return out.flush();
        }
        if read_stdin && matches!(mode, FixMode::Apply(_)) {
            // Fixed text goes to standard output, as formatters do.
            if let Some(report) = reports.first() {
                match &report.fixed_source {
                    Some(source) => write!(out, "{source}")?,
                    None => {
                        // Nothing changed: echo the input unchanged.
                        if let Some(source) = &report.source {
                            write!(out, "{source}")?;
                        }
                    }
                }
            }
            return out.flush();
        }
        if args.fix_only {
            if !args.quiet {
                writeln!(out, "Fixed {}.", output::plural(fixed, "finding"))?;
            }
            return out.flush();
        }
        if args.statistics {
            output::print_statistics(&reports, args.output_format, &mut out)?;
            return out.flush();
        }
        let color = args.output_format == OutputFormat::Full
            && args.output_file.is_none()
            && io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
        let options = PrintOptions {
            format: args.output_format,
            color,
            quiet: args.quiet,
            unsafe_fixes: args.unsafe_fixes,
        };
        output::print(&reports, options, &mut out)?;
        out.flush()
    })();
    if let Err(error) = printed
        && error.kind() != io::ErrorKind::BrokenPipe
    {
        return Err(error)
            .into_diagnostic()
            .wrap_err("cannot write the report");
    }

    let io_failed = !path_errors.is_empty()
        || write_failed
        || reports
            .iter()
            .any(|r| r.io_error.is_some() || r.internal_error.is_some());
    let has_findings = reports.iter().any(|report| !report.messages.is_empty());
    let would_change = matches!(mode, FixMode::Diff(_)) && reports.iter().any(|r| r.diff.is_some());
    Ok(if io_failed {
        EXIT_ERROR
    } else if would_change {
        EXIT_FINDINGS
    } else if matches!(mode, FixMode::Diff(_)) || args.fix_only {
        EXIT_CLEAN
    } else if has_findings && !args.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

/// Checks (and, as `mode` says, fixes) files, directories and standard input: the parallel
/// per-module phase, then the project phase that links the modules, then the fixes only the
/// project can decide, then the diffs. Call it inside the rayon pool that should do the work.
pub fn run_pipeline(
    paths: &[PathBuf],
    stdin: Option<(PathBuf, Vec<u8>)>,
    settings: &Settings,
    mode: FixMode,
) -> (Vec<FileReport>, Vec<Discovered>) {
    let (files, errors) = discover_files(paths, settings);
    let mut settings = settings.clone();
    let mut errors = errors;
    // Source roots and module names are computed once and shared by every phase.
    let roots = crate::project::source_roots(paths);
    let module_names = crate::project::ModuleNames::new(&files, &roots);
    settings.project_modules = std::sync::Arc::new(module_names.top_level());
    let environment = if settings.rules.contains(Rule::InstalledExtensionEnablesGil) {
        match crate::environment::find_python(settings.python.as_deref(), &roots) {
            Some(python) => match crate::environment::probe(&python) {
                Ok(interpreter) => {
                    settings.inspect_environment = true;
                    Some((python, interpreter))
                }
                Err(message) => {
                    errors.push(Discovered::Error {
                        path: python,
                        message,
                    });
                    None
                }
            },
            None => None,
        }
    } else {
        None
    };
    if settings.rules.contains(Rule::ExtensionEnablesGil) {
        settings.build = crate::checkers::ng203_extension_enables_gil::build_context(&roots);
    }
    let settings = &settings;
    let mut reports = Vec::with_capacity(files.len() + 1);
    if let Some((name, bytes)) = stdin {
        let stdin_mode = match mode {
            FixMode::Apply(threshold) => FixMode::ApplyToOutput(threshold),
            other => other,
        };
        let report = crate::isolation::isolated(|| {
            linter::check_and_fix(
                display_name(&name),
                &name,
                Origin::Stdin,
                bytes,
                settings,
                stdin_mode,
            )
        })
        .unwrap_or_else(|description| {
            FileReport::internal_error(display_name(&name), None, description)
        });
        reports.push(report);
    }
    reports.extend(check_files(&files, settings, mode));

    // The project phase: link the modules so that workers started from another module count
    // as reached from a thread, and decide NG301 with every worker in view.
    // A bug in the project phase loses its cross-module findings, not the per-file ones.
    if let Err(description) = crate::isolation::isolated(|| {
        crate::project::link(&mut reports, &module_names, &settings.rules);
    }) {
        reports.push(FileReport::internal_error(
            Arc::from("<project phase>"),
            None,
            description,
        ));
    }
    if let Some((python, interpreter)) = &environment {
        check_environment(&mut reports, python, interpreter, settings);
    }
    if settings.rules.contains(Rule::PinnedBelowFreeThreading) {
        let imported: rustc_hash::FxHashSet<String> = reports
            .iter()
            .filter_map(|report| report.facts.as_ref())
            .flat_map(|facts| facts.imported_modules.iter().cloned())
            .collect();
        let base = std::env::current_dir()
            .and_then(std::fs::canonicalize)
            .unwrap_or_default();
        let mut requirement_reports =
            crate::requirements::check(&roots, &base, &imported, settings.model.target_version);
        if let FixMode::Diff(_) = mode {
            for report in &mut requirement_reports {
                report.diff_base = report
                    .source
                    .as_ref()
                    .map(|text| (text.to_string(), text.to_string()));
            }
        }
        reports.extend(requirement_reports);
        reports.sort_by(|a, b| a.filename.cmp(&b.filename));
    }
    for report in &mut reports {
        report.facts = None;
    }
    apply_project_fixes(&mut reports, mode);
    if !settings.per_file_ignores.is_empty() {
        for report in &mut reports {
            // Standard input is matched by its --stdin-filename.
            let path = report
                .path
                .clone()
                .unwrap_or_else(|| PathBuf::from(report.filename.as_ref()));
            report
                .messages
                .retain(|message| !settings.ignores_for_file(&path, message.diagnostic.rule));
        }
    }
    for report in &mut reports {
        if let Some((original, fixed)) = report.diff_base.take()
            && original != fixed
        {
            report.diff = Some(crate::fix::unified_diff(
                &report.filename,
                &original,
                &fixed,
            ));
        }
    }
    (reports, errors)
}

/// The files a run checks: Python files (and, with NG203, extension sources) under `paths`,
/// without the excluded ones (a file named explicitly is kept unless `--force-exclude`).
pub fn discover_files(paths: &[PathBuf], settings: &Settings) -> (Vec<PathBuf>, Vec<Discovered>) {
    let with_sources = settings.rules.contains(Rule::ExtensionEnablesGil);
    let (files, errors) = discovery::discover_with(paths, |path| {
        discovery::is_python_file(path)
            || (with_sources
                && crate::checkers::ng203_extension_enables_gil::is_extension_source(path))
    });
    let files = files
        .into_iter()
        .filter(|file| {
            let named = paths.iter().any(|path| path == file);
            (named && !settings.force_exclude) || !settings.is_excluded(file)
        })
        .collect();
    (files, errors)
}

/// `--show-settings`.
fn describe_settings(settings: &Settings, mode: FixMode) -> String {
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

/// Applies the fixes only the project phase can decide (NG301: the workers may live in other
/// modules). Their edits were computed on the text the first phase analysed, which is the
/// file as the first phase left it.
fn apply_project_fixes(reports: &mut [FileReport], mode: FixMode) {
    let threshold = match mode {
        FixMode::Apply(threshold) | FixMode::Diff(threshold) => threshold,
        FixMode::Report | FixMode::ApplyToOutput(_) => return,
    };
    for report in reports.iter_mut() {
        let fixable: Vec<usize> = report
            .messages
            .iter()
            .enumerate()
            .filter(|(_, message)| {
                matches!(
                    message.diagnostic.rule,
                    Rule::ProcessPoolConvertible | Rule::PinnedBelowFreeThreading
                ) && message
                    .diagnostic
                    .fix
                    .as_ref()
                    .is_some_and(|fix| fix.applicability >= threshold)
            })
            .map(|(index, _)| index)
            .collect();
        if fixable.is_empty() {
            continue;
        }
        let fixed_rule = report.messages[fixable[0]].diagnostic.rule;
        let fixes: Vec<&crate::diagnostic::Fix> = fixable
            .iter()
            .filter_map(|&index| report.messages[index].diagnostic.fix.as_ref())
            .collect();
        let Some(path) = report.path.clone() else {
            continue;
        };
        let applied = match mode {
            FixMode::Diff(_) => match &mut report.diff_base {
                Some((_, fixed)) => {
                    let candidate = crate::fix::apply_fixes(fixed, &fixes);
                    let ok = still_valid(&path, &candidate);
                    if ok {
                        *fixed = candidate;
                    }
                    ok
                }
                None => false,
            },
            _ => {
                let result = std::fs::read(&path)
                    .map_err(|error| error.to_string())
                    .and_then(|bytes| match linter::decode(bytes) {
                        linter::Decoded::Text(text, encoding) => Ok((text, encoding)),
                        linter::Decoded::Undecodable(..) => {
                            Err("the file no longer decodes".into())
                        }
                    })
                    .and_then(|(text, encoding)| {
                        let candidate = crate::fix::apply_fixes(&text, &fixes);
                        if !still_valid(&path, &candidate) {
                            return Err("the fix would not parse".to_string());
                        }
                        let bytes = encoding
                            .encode(&candidate)
                            .ok_or_else(|| "the fixed text cannot be encoded".to_string())?;
                        crate::fix::write_atomically(&path, &bytes)
                            .map_err(|error| error.to_string())
                    });
                match result {
                    Ok(()) => true,
                    Err(error) => {
                        report
                            .fix_errors
                            .push(format!("NG301 fix not applied: {error}"));
                        false
                    }
                }
            }
        };
        if applied {
            let count = fixable.len();
            for index in fixable.into_iter().rev() {
                report.messages.remove(index);
            }
            report.fixed.push((fixed_rule, count));
        }
    }
}

/// NG204: imports of installed packages built for the GIL ABI or that re-enable the GIL.
fn check_environment(
    reports: &mut [FileReport],
    python: &Path,
    interpreter: &crate::environment::Interpreter,
    settings: &Settings,
) {
    use crate::environment;
    let installed = environment::installed(&interpreter.site_packages);
    if !interpreter.gil_disabled {
        eprintln!(
            "warning: {} (Python {}) is not a free-threaded build: NG204 checks only packages known to re-enable the GIL{}",
            python.display(),
            interpreter.version,
            if settings.import_check {
                " and what --import-check observes"
            } else {
                ""
            }
        );
    }
    let mut by_import: FxHashMap<&str, &environment::InstalledDistribution> = FxHashMap::default();
    for distribution in &installed {
        for name in &distribution.imports {
            by_import.entry(name.as_str()).or_insert(distribution);
        }
    }
    // What to import for --import-check: the top-level modules of imported extension packages.
    let mut imported_tops: Vec<String> = reports
        .iter()
        .filter_map(|report| report.facts.as_ref())
        .flat_map(|facts| facts.imports_at.iter())
        .map(|import| import.module.split('.').next().unwrap_or("").to_string())
        .filter(|top| by_import.contains_key(top.as_str()))
        .collect();
    imported_tops.sort();
    imported_tops.dedup();
    let observed = if settings.import_check {
        environment::import_check(python, &imported_tops)
    } else {
        Default::default()
    };
    let table = crate::data::extensions();
    for report in reports.iter_mut() {
        let Some(facts) = &report.facts else { continue };
        let mut added = Vec::new();
        for import in &facts.imports_at {
            if facts
                .suppressions
                .silences(Rule::InstalledExtensionEnablesGil, import.start.row)
            {
                continue;
            }
            let top = import.module.split('.').next().unwrap_or("");
            let Some(distribution) = by_import.get(top) else {
                continue;
            };
            let gil_abi = distribution.gil_abi_extensions();
            let reason = if interpreter.gil_disabled && !gil_abi.is_empty() {
                Some(format!(
                    "installs extension modules built for the GIL ABI (`{}`), which this free-threaded interpreter cannot load",
                    gil_abi[0].rsplit('/').next().unwrap_or(gil_abi[0])
                ))
            } else if let Some(detail) = observed.get(top) {
                Some(format!("re-enabled the GIL when imported ({detail})"))
            } else {
                table
                    .by_name(&distribution.name)
                    .filter(|package| package.status == crate::data::ExtensionStatus::GilEnabled)
                    .map(|_| "is known to re-enable the GIL when imported".to_string())
            };
            let Some(reason) = reason else { continue };
            let diagnostic = crate::diagnostic::Diagnostic::new(
                Rule::InstalledExtensionEnablesGil,
                format!(
                    "`{}` comes from {} {} installed in {}, which {reason}",
                    import.module,
                    distribution.name,
                    distribution.version,
                    python.display()
                ),
                import.range,
            )
            .with_severity(crate::diagnostic::Severity::Warning)
            .with_label("installed build keeps the GIL")
            .with_help("reinstall it from free-threaded wheels, or upgrade to a release that declares free-threading support");
            added.push(linter::Message {
                filename: report.filename.clone(),
                noqa_row: import.start.row,
                start: import.start,
                end: import.end,
                fix_edits: Vec::new(),
                diagnostic,
            });
        }
        if !added.is_empty() {
            report.messages.extend(added);
            report.sort_messages();
        }
    }
}

/// A fixed text still parses as what the file is: Python, or TOML for `pyproject.toml`.
fn still_valid(path: &Path, text: &str) -> bool {
    match path.extension().and_then(|ext| ext.to_str()) {
        Some("py" | "pyi") => crate::fix::parses(text, path),
        Some("toml") => toml::from_str::<toml::Value>(text).is_ok(),
        _ => true,
    }
}

fn check_files(files: &[PathBuf], settings: &Settings, mode: FixMode) -> Vec<FileReport> {
    files
        .par_iter()
        .map(|path| {
            crate::isolation::isolated(|| check_path_with(path, settings, mode)).unwrap_or_else(
                |description| {
                    FileReport::internal_error(display_name(path), Some(path.clone()), description)
                },
            )
        })
        .collect()
}

fn run_parity_command(args: ParityArgs) -> Result<u8> {
    if args.threads == 0 || args.iterations == 0 {
        return Err(miette!("--threads and --iterations must be at least 1"));
    }
    let options = crate::parity::ParityOptions {
        python: args.python.clone(),
        threads: args.threads,
        iterations: args.iterations,
        only: args.only.clone(),
        scaling: true,
    };
    let report = crate::parity::run_parity(&options).map_err(|error| miette!("{error}"))?;
    let text = match args.output_format {
        RuleFormat::Text => crate::parity::render_text(&report),
        RuleFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
    };
    print!("{text}");
    Ok(if crate::parity::all_parity(&report) {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}

fn run_extensions(args: ExtensionsArgs) -> Result<u8> {
    let table = crate::data::extensions();
    let packages: Vec<&crate::data::ExtensionPackage> = match &args.name {
        Some(name) => {
            let found = table.by_name(name).or_else(|| table.by_import(name));
            match found {
                Some(package) => vec![package],
                None => {
                    let names: Vec<&str> = table.packages.iter().map(|p| p.name.as_str()).collect();
                    let suggestion = names
                        .iter()
                        .map(|candidate| {
                            (
                                strsim::levenshtein(&name.to_ascii_lowercase(), candidate),
                                *candidate,
                            )
                        })
                        .filter(|(distance, _)| *distance <= 2)
                        .min()
                        .map(|(_, candidate)| format!("; did you mean `{candidate}`?"))
                        .unwrap_or_default();
                    return Err(miette!(
                        "no package or import named `{name}` in the extension table{suggestion}"
                    ));
                }
            }
        }
        None => table.packages.iter().collect(),
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let written = match args.output_format {
        RuleFormat::Json => {
            let value = serde_json::to_value(&packages).unwrap_or_default();
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            )
        }
        RuleFormat::Text => packages.iter().try_for_each(|package| {
            let status = match package.status {
                crate::data::ExtensionStatus::Supported => "supported",
                crate::data::ExtensionStatus::GilEnabled => "re-enables the GIL at import",
                crate::data::ExtensionStatus::Unsupported => "no free-threaded build",
                crate::data::ExtensionStatus::Unknown => "unknown",
            };
            writeln!(out, "{} ({})", package.name, status)?;
            writeln!(out, "  imports: {}", package.imports.join(", "))?;
            for (label, value) in [
                ("3.13t wheels since", &package.cp313t),
                ("3.14t wheels since", &package.cp314t),
                ("GIL-free since", &package.gil_free_since),
                ("alternative", &package.alternative),
            ] {
                if let Some(value) = value {
                    writeln!(out, "  {label}: {value}")?;
                }
            }
            if !package.source.is_empty() {
                writeln!(out, "  source: {}", package.source)?;
            }
            Ok(())
        }),
    };
    match written {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => Err(error)
            .into_diagnostic()
            .wrap_err("cannot write the table"),
        _ => Ok(EXIT_CLEAN),
    }
}

fn run_rule(args: RuleArgs) -> Result<u8> {
    let rules: Vec<Rule> = if args.all {
        Rule::ALL.to_vec()
    } else {
        let code = args.code.unwrap_or_default();
        match Rule::from_code(&code) {
            Some(rule) => vec![rule],
            None => {
                let error = code
                    .parse::<RuleSelector>()
                    .err()
                    .map(|error| error.to_string())
                    .unwrap_or_else(|| format!("`{code}` is a prefix, not one rule's code"));
                return Err(miette!("{error}"));
            }
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let written = match args.output_format {
        RuleFormat::Text => rules.iter().try_for_each(|rule| {
            writeln!(out, "{}", rule.documentation().trim_end())?;
            writeln!(out)
        }),
        RuleFormat::Json => {
            let entries: Vec<serde_json::Value> = rules
                .iter()
                .map(|rule| {
                    serde_json::json!({
                        "code": rule.code(),
                        "name": rule.name(),
                        "summary": rule.summary(),
                        "explanation": rule.documentation(),
                        "fix": rule.fix_availability(),
                        "url": rule.url(),
                    })
                })
                .collect();
            let value = if args.all {
                serde_json::Value::Array(entries)
            } else {
                entries.into_iter().next().unwrap_or_default()
            };
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            )
        }
    };
    match written {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => Err(error)
            .into_diagnostic()
            .wrap_err("cannot write the documentation"),
        _ => Ok(EXIT_CLEAN),
    }
}
