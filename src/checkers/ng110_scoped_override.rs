//! NG110 scoped-override: shared or process-wide state saved, set to a temporary value and
//! restored later (`try`/`finally`, `__enter__`/`__exit__`, a `@contextmanager` around its
//! `yield`, `with redirect_stdout(…)`): every other thread sees the temporary value in between.
//!
//! The rule's documentation is `rules/NG110.md` (`nogil-lint rule NG110` prints it).

use ruff_text_size::TextSize;
use rustc_hash::FxHashMap as HashMap;

use crate::diagnostic::{Diagnostic, Harm};
use crate::registry::Rule;
use crate::semantic::{
    AccessTarget, Execution, NameIndex, OverriddenState, OverrideShape, ScopedOverride,
    SemanticModel, StateKey,
};

use super::Context;

pub fn check(context: &mut Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    let model = context.model;
    if model.scoped_overrides.is_empty() {
        return;
    }
    // Where other code mentions each piece of state, found once per state.
    let mut mentions: HashMap<(String, bool), Vec<TextSize>> = HashMap::default();
    let mut names = None;
    // The writes by statement, to claim those of an override.
    let mut writes: Vec<(TextSize, usize)> = model
        .accesses
        .iter()
        .enumerate()
        .map(|(index, access)| (access.stmt.start(), index))
        .collect();
    writes.sort_unstable();
    for item in &model.scoped_overrides {
        // The writes of an override are this rule's, not NG107's or NG101's, also when a lock
        // makes it quiet: the lock is held from the set to the restore, even where the restore
        // (in `__exit__`) does not show it.
        if let OverriddenState::Shared { .. } = item.state {
            let statements = item
                .sets
                .iter()
                .chain(std::iter::once(&item.restore))
                .chain(&item.others);
            for statement in statements {
                let first = writes.partition_point(|(start, _)| *start < statement.start());
                for &(_, index) in writes[first..]
                    .iter()
                    .take_while(|(start, _)| *start < statement.end())
                {
                    if statement.contains_range(model.accesses[index].stmt) {
                        context.claimed.insert(index);
                    }
                }
            }
        }
        let function = item.function;
        let may_race = match &item.state {
            OverriddenState::Shared { key, .. } => context.may_race_in(function, *key),
            // An API Python allows only in the main thread (`signal.signal`): outside a thread
            // in view the override is main-thread code by construction, and no other thread
            // can overlap it; reached from a thread, the set itself raises.
            OverriddenState::Process { name, .. } if crate::data::is_main_thread_only(name) => {
                matches!(model.execution(function), Execution::Thread(_))
            }
            // Every thread of the process sees process-wide state, so an override on an event
            // loop is seen by the loop's executor threads and the application's own.
            OverriddenState::Process { .. } => model.execution(function).meets_other_threads(),
        };
        if !may_race || model.override_is_locked(item) {
            continue;
        }
        // A program's own command line, or main-thread set-up (a function that installs
        // signal handlers): no library user calls it from several threads.
        if model.execution(function) == Execution::LibraryApi
            && (model.is_command_line(function) || model.is_main_thread_setup(function))
        {
            continue;
        }
        let Some(&first) = item.sets.first() else {
            continue;
        };
        let harm = if item.state.is_process_wide()
            || read_elsewhere(model, item, &mut names, &mut mentions)
        {
            Harm::Hazard
        } else {
            Harm::Uncertain
        };
        let (severity, note) = context.judge(harm, function);
        let set = context.snippet(first);
        let main_thread_only = matches!(&item.state, OverriddenState::Process { name, .. }
            if crate::data::is_main_thread_only(name));
        let message = match item.shape {
            // Only reported on a thread, where the set fails before any other thread sees it.
            _ if main_thread_only => format!(
                "`{set}` runs on a thread, but {}{note}",
                item.reason
                    .as_deref()
                    .unwrap_or("Python allows it only in the main thread")
            ),
            OverrideShape::With => format!(
                "`{set}` {}; another thread running during the block sees the temporary value{note}",
                item.reason
                    .as_deref()
                    .unwrap_or("swaps process-wide state for its block")
            ),
            OverrideShape::InFunction | OverrideShape::EnterExit { .. } => {
                let shared = if item.state.is_process_wide() {
                    "which the whole process shares"
                } else {
                    "which every thread shares"
                };
                // `previous = signal.signal(…)` saves and sets in one statement.
                let saved = item
                    .save
                    .filter(|&save| save != first)
                    .map(|save| format!(" (saved at line {})", context.line(save)))
                    .unwrap_or_default();
                let restored_in = match item.shape {
                    OverrideShape::EnterExit { .. } => " in `__exit__`",
                    _ => "",
                };
                format!(
                    "scoped override of {}, {shared}: `{set}` sets a temporary value{saved} that line {}{restored_in} restores; \
                     another thread running in between sees it, and two overlapping overrides can leave it set for good{note}",
                    describe(model, &item.state),
                    context.line(item.restore),
                )
            }
        };
        diagnostics.push(
            Diagnostic::new(Rule::ScopedOverride, message, first)
                .with_severity(severity)
                .with_harm(harm)
                .with_label("temporary value seen by every thread")
                .with_help(help(&item.state))
                .with_functions(item.functions()),
        );
    }
}

/// Whether code other than the override's own functions reads the state: then it can read
/// the temporary value. For process-wide state every thread is such a reader.
fn read_elsewhere<'a>(
    model: &SemanticModel<'a>,
    item: &ScopedOverride<'_>,
    names: &mut Option<NameIndex<'a>>,
    mentions: &mut HashMap<(String, bool), Vec<TextSize>>,
) -> bool {
    let OverriddenState::Shared { key, target } = &item.state else {
        return true;
    };
    let needle = match (key, target) {
        (StateKey::Global(name), AccessTarget::Attr(attr)) => (format!("{name}.{attr}"), false),
        (StateKey::Global(name), _) => ((*name).to_string(), false),
        (StateKey::ClassAttr(_, attr), _) => ((*attr).to_string(), true),
        _ => return false,
    };
    let found = mentions
        .entry(needle)
        .or_insert_with_key(|(needle, attribute)| {
            let index = names.get_or_insert_with(|| model.name_index());
            model.mentions_in_functions(index, needle, *attribute)
        });
    model.mentioned_outside(found, &item.functions())
}

/// The state as a message names it.
fn describe(model: &SemanticModel<'_>, state: &OverriddenState<'_>) -> String {
    match state {
        OverriddenState::Shared { key, target } => match (key, target) {
            (StateKey::Global(name), AccessTarget::Whole) => format!("the module global `{name}`"),
            (StateKey::Global(name), AccessTarget::Attr(attr)) => format!("`{name}.{attr}`"),
            (StateKey::Global(name), AccessTarget::Item(item)) => format!("`{name}[{item}]`"),
            (StateKey::ClassAttr(class, attr), _) => {
                format!("the class attribute `{}.{attr}`", model.class(*class).name)
            }
            _ => "shared state".to_string(),
        },
        OverriddenState::Process { name, part } => match name.as_str() {
            "os.environ" if !part.is_empty() => format!("`os.environ[{part}]`"),
            "os.chdir" => "the working directory".to_string(),
            "sys.setrecursionlimit" => "the recursion limit".to_string(),
            "signal.signal" => format!("the handler of `{part}`"),
            "locale.setlocale" => "the locale".to_string(),
            "os.umask" => "the file-creation mask".to_string(),
            "socket.setdefaulttimeout" => "the default socket timeout".to_string(),
            "random.seed" => "the state of the shared `random` generator".to_string(),
            _ => format!("`{name}`"),
        },
    }
}

/// What to do instead, for the state overridden.
fn help(state: &OverriddenState<'_>) -> &'static str {
    let OverriddenState::Process { name, .. } = state else {
        return "keep the value in a `contextvars.ContextVar` (`token = var.set(value)` … `var.reset(token)`) or a \
                `threading.local`, or pass it as an argument; or hold one lock across the whole override";
    };
    if let Some(advice) = crate::data::process_global_advice(name) {
        return advice;
    }
    match name.as_str() {
        "os.environ" => {
            "give the child its own environment instead: `subprocess.run(…, env={**os.environ, \"KEY\": value})`; \
             read settings through arguments or a `contextvars.ContextVar`"
        }
        "os.chdir" | "contextlib.chdir" => {
            "pass `cwd=` to `subprocess.run` and build absolute paths (`pathlib.Path(base) / name`) instead of \
             changing the working directory"
        }
        "sys.stdout"
        | "sys.stderr"
        | "sys.stdin"
        | "contextlib.redirect_stdout"
        | "contextlib.redirect_stderr" => {
            "pass the stream explicitly (`print(…, file=out)`, a `file=` parameter, a `logging` handler) instead of \
             swapping it for the whole process"
        }
        "warnings.catch_warnings" => {
            "on 3.14t `warnings.catch_warnings` is context-local (`sys.flags.context_aware_warnings`); on 3.13t set \
             the filters once at start-up (`-W`, `PYTHONWARNINGS`)"
        }
        "sys.path" => {
            "add the directory once at start-up, or load the module from its file \
             (`importlib.util.spec_from_file_location`) without touching `sys.path`"
        }
        _ => {
            "set it once at start-up in the main thread; a value per thread or task belongs in a \
             `contextvars.ContextVar` or a `threading.local`"
        }
    }
}
