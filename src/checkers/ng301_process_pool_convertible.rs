//! NG301 process-pool-convertible: a process pool whose workers would run just as well on
//! threads of a free-threaded interpreter, without pickling and with shared memory.
//!
//! Whether the workers are safe on threads is decided by the project phase
//! ([`crate::project`]), which can follow workers and what they call into other modules; this
//! module builds the finding and its fix.
//!
//! The rule's documentation is `rules/NG301.md` (`nogil-lint rule NG301` prints it).

use ruff_text_size::TextRange;

use crate::diagnostic::{Diagnostic, Edit, Fix, FixApplicability, Severity};
use crate::fix::builders::FixBuilder;
use crate::registry::Rule;
use crate::semantic::{PoolFactory, ProcessPool};

/// The finding, at the pool's constructor call, naming the work submitted to it.
pub fn diagnostic(
    pool_text: &str,
    factory: PoolFactory,
    work: &[String],
    range: TextRange,
) -> Diagnostic {
    let names: Vec<String> = work.iter().map(|name| format!("`{name}`")).collect();
    let thread_pool = match factory {
        PoolFactory::Executor => "`ThreadPoolExecutor`",
        PoolFactory::Multiprocessing => "`multiprocessing.pool.ThreadPool`",
    };
    Diagnostic::new(
        Rule::ProcessPoolConvertible,
        format!(
            "the work submitted to `{pool_text}` ({}) touches no process-wide state, keeps \
             nothing per process and writes no module state without a lock; on a free-threaded \
             interpreter a {thread_pool} would do the same work without pickling arguments and \
             results, with shared memory and a faster start",
            names.join(", ")
        ),
        range,
    )
    .with_severity(Severity::Warning)
    .with_label("could be a thread pool")
    .with_help(
        "measure with `nogil-lint parity` on your interpreter: on a build with the GIL, CPU-bound threads do not run in parallel",
    )
}

/// `ProcessPoolExecutor(…)` → `ThreadPoolExecutor(…)` (keeping `max_workers`, `initializer`,
/// `initargs`); `multiprocessing.Pool(…)` → `ThreadPool(…)`. A pool given a start method
/// (`mp_context=`, a context) is never reported, so there is no such argument to drop. Unsafe:
/// workers then share memory and module state with the caller, and lose process isolation.
pub fn fix(builder: &FixBuilder<'_, '_>, pool: &ProcessPool) -> Option<Fix> {
    let (allowed_keywords, max_positional, qualified, name, module): (&[&str], usize, _, _, _) =
        match pool.factory {
            PoolFactory::Executor => (
                &["max_workers", "initializer", "initargs"],
                1,
                "concurrent.futures.ThreadPoolExecutor",
                "ThreadPoolExecutor",
                "concurrent.futures",
            ),
            PoolFactory::Multiprocessing => (
                &["processes", "initializer", "initargs"],
                3,
                "multiprocessing.pool.ThreadPool",
                "ThreadPool",
                "multiprocessing.pool",
            ),
        };
    if pool.positional > max_positional
        || pool
            .keywords
            .iter()
            .any(|(keyword, _)| !allowed_keywords.contains(&keyword.as_str()))
    {
        return None;
    }
    let callee_text = builder.locator.slice(pool.callee);
    let mut edits = Vec::new();
    let replacement = match (pool.factory, callee_text.rsplit_once('.')) {
        // `cf.ProcessPoolExecutor` → `cf.ThreadPoolExecutor`: the same module object.
        (PoolFactory::Executor, Some((prefix, "ProcessPoolExecutor"))) if !prefix.contains('(') => {
            format!("{prefix}.ThreadPoolExecutor")
        }
        // `multiprocessing.pool.Pool` → `multiprocessing.pool.ThreadPool`: the module is imported.
        (PoolFactory::Multiprocessing, Some((prefix, "Pool"))) if prefix.ends_with("pool") => {
            format!("{prefix}.ThreadPool")
        }
        _ => {
            let (local, import) = builder.imported_name(qualified, module, name)?;
            edits.extend(import);
            local
        }
    };
    edits.push(Edit {
        range: pool.callee,
        content: replacement.clone(),
    });
    Some(crate::fix::fix(
        FixApplicability::Unsafe,
        format!("Use `{replacement}`"),
        edits,
    ))
}
