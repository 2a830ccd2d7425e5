//! The command line: `nogil-lint check` and `nogil-lint rule`.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use miette::{IntoDiagnostic, Result, WrapErr, miette};

use crate::data::TargetVersion;
use crate::diagnostic::{FixApplicability, Severity};
use crate::discovery::Discovered;
use crate::output::{self, OutputFormat, PrintOptions};
use crate::pipeline;
use crate::registry::{Rule, RuleSelector};
use crate::settings::{ConfigSource, FixMode, Overrides, Settings};

const CHECK_EXAMPLES: &str = "\
Examples:
  nogil-lint check src/                         check a tree
  nogil-lint check --select NG1 src/            only the shared-state rules
  nogil-lint check --ignore NG105,NG106 .       everything but two rules
  nogil-lint check --output-format json src/    machine-readable output
  cat app.py | nogil-lint check --stdin-filename app.py -

Exit status: 0 no findings (or --exit-zero), 1 findings, 2 usage, configuration or I/O error.
Only the findings shown count: those at or above --min-severity (default: warning).";

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
    /// Serve diagnostics, hover and code actions to an editor (Language Server Protocol over
    /// standard input and output).
    Server,
}

const PARITY_HELP: &str = "\
Each race workload is a program nogil-lint flags (it checks that it does), and the program its
fix produces; both run serially and on threads, and the outcomes are compared. The scaling
workloads time CPU-bound work serially, on a thread pool and on a process pool.

A racy program that kills its interpreter (a signal such as SIGSEGV, or a \"Fatal Python
error\") shows the race: it is reported as a result, not as an error.

Exit status: 0 every fixed program has parity, 1 one does not (or crashes), 2 an error (no
interpreter, a scaling workload that fails, a workload past its timeout).";

#[derive(Debug, Args)]
pub struct ParityArgs {
    /// The interpreter (default: python3.14t, python3.13t, then python3 on PATH).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Threads of each race workload.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub threads: usize,
    /// Iterations per thread in one try of a race workload.
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    pub iterations: usize,
    /// Seconds a racy program may keep trying before "no race seen" [default: 3, --quick 0.3].
    #[arg(long, value_name = "SECONDS")]
    pub budget: Option<f64>,
    /// Most pool workers in the scaling table: 1, 2, 4, … up to N [default: the CPUs, at least 2].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// CPU seconds each scaling workload's serial run is sized to [default: 1, --quick 0.05].
    #[arg(long, value_name = "SECONDS")]
    pub scale_seconds: Option<f64>,
    /// A quick run (for tests and a first look): short budgets and small scaling workloads,
    /// whose speedups mostly measure start-up costs.
    #[arg(long)]
    pub quick: bool,
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
    /// The least severe findings to show, count in the exit status and fix (default: warning,
    /// or the configuration's `min-severity`).
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_severity: Option<Severity>,
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
        Command::Server => crate::server::run(),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The settings the command line asks for: the configuration it names (or the nearest one),
/// with its flags on top.
pub fn settings_from_args(args: &CheckArgs) -> Result<Settings> {
    let source = if args.isolated {
        ConfigSource::Isolated
    } else if let Some(path) = &args.config {
        ConfigSource::File(path.clone())
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
        ConfigSource::Discover(from_stdin.unwrap_or_else(|| {
            args.paths
                .iter()
                .find(|path| path.as_os_str() != "-")
                .cloned()
                .unwrap_or_else(|| PathBuf::from("."))
        }))
    };
    let overrides = Overrides {
        select: args.select.clone(),
        extend_select: args.extend_select.clone(),
        ignore: args.ignore.clone(),
        target_version: args.target_version,
        python: args.python.clone(),
        import_check: args.import_check,
        fix: args.fix,
        unsafe_fixes: args.unsafe_fixes,
        force_exclude: args.force_exclude,
        min_severity: args.min_severity,
    };
    Settings::resolve(&source, &overrides)
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
        println!("{}", settings.describe(mode));
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
        let (files, errors) = pipeline::discover_files(&paths, &settings);
        for file in &files {
            println!("{}", pipeline::display_name(file));
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
    let (reports, path_errors) = pool.install(|| pipeline::run(&paths, stdin, &settings, mode));

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
        let (added, errors) = pipeline::add_noqa(&reports);
        for error in &errors {
            eprintln!("error: {error}");
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

fn run_parity_command(args: ParityArgs) -> Result<u8> {
    if args.threads == 0 || args.iterations == 0 || args.workers == Some(0) {
        return Err(miette!(
            "--threads, --iterations and --workers must be at least 1"
        ));
    }
    let seconds = |value: Option<f64>, flag: &str, default: f64, quick: f64| {
        let value = value.unwrap_or(if args.quick { quick } else { default });
        if value.is_finite() && (0.0..=3600.0).contains(&value) {
            Ok(value)
        } else {
            Err(miette!(
                "{flag} must be a number of seconds from 0 to 3600, not {value}"
            ))
        }
    };
    let budget = seconds(args.budget, "--budget", 3.0, 0.3)?;
    let scale_seconds = seconds(args.scale_seconds, "--scale-seconds", 1.0, 0.05)?;
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map_or(2, std::num::NonZeroUsize::get)
            .max(2)
    });
    let options = crate::parity::ParityOptions {
        python: args.python.clone(),
        threads: args.threads,
        iterations: args.iterations,
        budget: std::time::Duration::from_secs_f64(budget),
        workers,
        scale_seconds,
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
    warn_if_stale(table);
    let json = args.output_format == RuleFormat::Json;
    let written = output::catalogue::extensions(&packages, json, &mut io::stdout().lock());
    match written {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => Err(error)
            .into_diagnostic()
            .wrap_err("cannot write the table"),
        _ => Ok(EXIT_CLEAN),
    }
}

/// Facts older than this many days are likely out of date: projects publish free-threaded
/// wheels release by release.
const STALE_AFTER_DAYS: i64 = 120;

/// Warns on standard error when the table's facts are older than a few months.
fn warn_if_stale(table: &crate::data::ExtensionTable) {
    let Some(gathered) = table.gathered_on() else {
        eprintln!(
            "warning: the extension table has no dated facts; run scripts/refresh-extensions.py"
        );
        return;
    };
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| (elapsed.as_secs() / 86_400) as i64)
        .unwrap_or_default();
    let age = crate::data::days_since_epoch(gathered).map(|day| today - day);
    if let Some(age) = age.filter(|age| *age > STALE_AFTER_DAYS) {
        eprintln!(
            "warning: the extension table's facts were gathered on {gathered}, {age} days ago: newer releases may have added (or dropped) free-threaded wheels; check the index, or run scripts/refresh-extensions.py"
        );
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
    let json = args.output_format == RuleFormat::Json;
    let written = output::catalogue::rules(&rules, json, args.all, &mut io::stdout().lock());
    match written {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => Err(error)
            .into_diagnostic()
            .wrap_err("cannot write the documentation"),
        _ => Ok(EXIT_CLEAN),
    }
}
