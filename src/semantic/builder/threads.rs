//! Where functions run: calls that start threads (`Thread`, `Timer`, executors, thread pools,
//! `to_thread`, …) and the callables they run, and handlers registered to run in a forked child.

use ruff_python_ast::visitor::Visitor;
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

use super::syntax::CallFinder;
use super::syntax::last_segment;
use super::{Builder, PendingEntry, PendingRef, PendingSubmission};
use crate::semantic::ThreadEntryKind;
use crate::semantic::values::PoolKind;

impl<'a> Builder<'a> {
    /// Handlers that run apart from the program's threads, so their writes race with
    /// nothing: `os.register_at_fork(after_in_child=f)` and
    /// `multiprocessing.util.register_after_fork(obj, f)` run `f` in the child right after a
    /// fork, when the forking thread is the only one; `atexit.register(f, …)` runs it once, at
    /// interpreter exit.
    pub(super) fn record_lone_handler(&mut self, call: &'a ast::ExprCall) {
        // Nearly every call is neither: decide by the callee's last name (or the name it was
        // imported as) before resolving it.
        let last_name = match &*call.func {
            Expr::Name(name) => match self.imports.get(name.id.as_str()) {
                Some(qualified) => last_segment(qualified),
                None => return,
            },
            Expr::Attribute(attribute) => attribute.attr.as_str(),
            _ => return,
        };
        if !matches!(
            last_name,
            "register" | "register_at_fork" | "register_after_fork"
        ) {
            return;
        }
        // `multiprocessing.util.register_after_fork(obj, func)` (and billiard's copy, or a
        // project's re-export of it) runs `func(obj)` in each new child process.
        if last_name == "register_after_fork" {
            if let Some(handler) = call.arguments.args.get(1) {
                let handler = self.pending_ref(handler);
                self.pending_lone_handlers.push(handler);
            }
            return;
        }
        let handler = match self.qualified_name(&call.func).as_deref() {
            Some("atexit.register") => call.arguments.args.first(),
            Some("os.register_at_fork") => call
                .arguments
                .keywords
                .iter()
                .find(|keyword| {
                    keyword
                        .arg
                        .as_ref()
                        .is_some_and(|arg| arg.as_str() == "after_in_child")
                })
                .map(|keyword| &keyword.value),
            _ => None,
        };
        if let Some(handler) = handler {
            let handler = self.pending_ref(handler);
            self.pending_lone_handlers.push(handler);
        }
    }

    pub(super) fn record_thread_entry(&mut self, call: &'a ast::ExprCall) {
        // Most calls start no thread: decide by the callee's last name before resolving it.
        let last_name = match &*call.func {
            Expr::Name(name) => name.id.as_str(),
            Expr::Attribute(attribute) => attribute.attr.as_str(),
            _ => return,
        };
        // For an imported name, what counts is the name it was imported as.
        let imported_as = match &*call.func {
            Expr::Name(name) => self
                .imports
                .get(name.id.as_str())
                .map(|qualified| last_segment(qualified)),
            _ => None,
        };
        let last_name = imported_as.unwrap_or(last_name);
        let may_start_thread = matches!(
            last_name,
            "Thread"
                | "Timer"
                | "start_new_thread"
                | "start_new"
                | "_start_new_thread"
                | "to_thread"
                | "ThreadPoolExecutor"
                | "ThreadPool"
                | "Pool"
                | "submit"
                | "run_in_executor"
                | "map"
                | "imap"
                | "imap_unordered"
                | "starmap"
                | "apply_async"
                | "apply"
                | "map_async"
                | "starmap_async"
                | "deferToThread"
                | "deferToThreadPool"
                | "callInThread"
                | "callInThreadWithCallback"
        ) || (last_name == "execute" && names_eventlet_tpool(&call.func))
            || matches!(&*call.func, Expr::Name(name) if self.module_class(name.id.as_str()).is_some());
        if !may_start_thread {
            return;
        }
        let arguments = &call.arguments;
        let keyword = |name: &str| {
            arguments
                .keywords
                .iter()
                .find(|keyword| keyword.arg.as_ref().is_some_and(|arg| arg.as_str() == name))
                .map(|keyword| &keyword.value)
        };
        let positional = |index: usize| arguments.args.get(index);
        let qualified = self.qualified_name(&call.func);
        let thread_class = match &*call.func {
            Expr::Name(name) => self
                .module_class(name.id.as_str())
                .is_some_and(|class| self.classes[class].is_thread_subclass),
            _ => false,
        };
        let (kind, target) = match qualified.as_deref() {
            Some("threading.Thread") => {
                (ThreadEntryKind::Thread, keyword("target").or(positional(1)))
            }
            _ if thread_class => (ThreadEntryKind::Thread, keyword("target")),
            Some("threading.Timer") => (
                ThreadEntryKind::Timer,
                keyword("function").or(positional(1)),
            ),
            Some(
                "_thread.start_new_thread" | "_thread.start_new" | "threading._start_new_thread",
            ) => (ThreadEntryKind::StartNewThread, positional(0)),
            Some("asyncio.to_thread") => (ThreadEntryKind::ToThread, positional(0)),
            Some("eventlet.tpool.execute") => (ThreadEntryKind::ReactorThreadPool, positional(0)),
            Some("twisted.internet.threads.deferToThread") => {
                (ThreadEntryKind::ReactorThreadPool, positional(0))
            }
            Some("twisted.internet.threads.deferToThreadPool") => {
                (ThreadEntryKind::ReactorThreadPool, positional(2))
            }
            Some(
                "concurrent.futures.ThreadPoolExecutor"
                | "concurrent.futures.thread.ThreadPoolExecutor"
                | "multiprocessing.pool.ThreadPool"
                | "multiprocessing.dummy.Pool",
            ) => (ThreadEntryKind::Initializer, keyword("initializer")),
            _ => {
                let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &*call.func else {
                    return;
                };
                self.record_pool_callbacks(call, attr.as_str());
                let pool = self.pool_kind(value);
                if pool == Some(PoolKind::Process) {
                    if matches!(
                        attr.as_str(),
                        "submit"
                            | "map"
                            | "imap"
                            | "imap_unordered"
                            | "starmap"
                            | "apply"
                            | "apply_async"
                            | "map_async"
                            | "starmap_async"
                    ) {
                        self.pending_submissions.push(PendingSubmission {
                            receiver: value,
                            worker: call.arguments.args.first(),
                            scope: self.current_function(),
                            class: self.current_class(),
                        });
                    }
                    return;
                }
                match attr.as_str() {
                    "submit" => (ThreadEntryKind::ExecutorSubmit, positional(0)),
                    // `reactor.callInThread(f, …)`, `threadpool.callInThread(f, …)`,
                    // `threads.deferToThread(f, …)` through the module.
                    "callInThread" | "deferToThread" => {
                        (ThreadEntryKind::ReactorThreadPool, positional(0))
                    }
                    "callInThreadWithCallback" => {
                        (ThreadEntryKind::ReactorThreadPool, positional(1))
                    }
                    "deferToThreadPool" => (ThreadEntryKind::ReactorThreadPool, positional(2)),
                    "run_in_executor" => {
                        // `loop.run_in_executor(executor, fn, …)`: the executor decides.
                        if let Some(executor) = positional(0)
                            && self.pool_kind(executor) == Some(PoolKind::Process)
                        {
                            self.pending_submissions.push(PendingSubmission {
                                receiver: executor,
                                worker: positional(1),
                                scope: self.current_function(),
                                class: self.current_class(),
                            });
                            return;
                        }
                        (ThreadEntryKind::RunInExecutor, positional(1))
                    }
                    "map" | "imap" | "imap_unordered" | "starmap" | "apply_async" | "apply"
                    | "map_async" | "starmap_async" => {
                        let receiver = self.text(value.range()).to_ascii_lowercase();
                        let looks_like_pool = receiver.contains("executor")
                            || receiver.contains("pool")
                            || receiver.contains("thread");
                        if pool == Some(PoolKind::Thread) || (pool.is_none() && looks_like_pool) {
                            (ThreadEntryKind::PoolMethod, positional(0))
                        } else {
                            return;
                        }
                    }
                    _ => return,
                }
            }
        };
        let Some(target) = target else {
            return;
        };
        let targets = self.callable_targets(target);
        if targets.is_empty() {
            return;
        }
        self.pending_entries.push(PendingEntry {
            kind,
            range: call.range(),
            targets,
        });
    }

    /// `pool.apply_async(work, args, callback=on_done, error_callback=on_error)` (also
    /// `map_async`, `starmap_async`): a `multiprocessing` pool calls these on its
    /// result-handler thread, while the caller goes on; a process pool's too, in this process.
    fn record_pool_callbacks(&mut self, call: &'a ast::ExprCall, method: &str) {
        if !matches!(method, "apply_async" | "map_async" | "starmap_async") {
            return;
        }
        let targets: Vec<PendingRef<'a>> = call
            .arguments
            .keywords
            .iter()
            .filter(|keyword| {
                keyword
                    .arg
                    .as_ref()
                    .is_some_and(|arg| matches!(arg.as_str(), "callback" | "error_callback"))
            })
            .flat_map(|keyword| self.callable_targets(&keyword.value))
            .collect();
        if !targets.is_empty() {
            self.pending_entries.push(PendingEntry {
                kind: ThreadEntryKind::PoolCallback,
                range: call.range(),
                targets,
            });
        }
    }

    /// The function references a callable expression stands for: a name, a bound method,
    /// `functools.partial(f, …)`, an instance of a class of this module with `__call__`
    /// (`callback=CallBack(…)`), or the calls a lambda makes.
    fn callable_targets(&self, expr: &'a Expr) -> Vec<PendingRef<'a>> {
        match expr {
            Expr::Name(_) | Expr::Attribute(_) => vec![self.pending_ref(expr)],
            Expr::Call(ast::ExprCall {
                func, arguments, ..
            }) => {
                let is_partial = matches!(
                    self.qualified_name(func).as_deref(),
                    Some("functools.partial")
                );
                if let Expr::Name(class_name) = &**func
                    && !is_partial
                    && self.module_class(class_name.id.as_str()).is_some()
                {
                    // Resolved once every method is known: a class without `__call__` adds
                    // no target.
                    return vec![PendingRef {
                        invokes: Some("__call__"),
                        ..self.pending_ref(func)
                    }];
                }
                match (is_partial, arguments.args.first()) {
                    (true, Some(first)) => self.callable_targets(first),
                    _ => Vec::new(),
                }
            }
            Expr::Lambda(ast::ExprLambda { body, .. }) => {
                let mut finder = CallFinder::default();
                finder.visit_expr(body);
                finder
                    .callees
                    .into_iter()
                    .map(|callee| self.pending_ref(callee))
                    .collect()
            }
            _ => Vec::new(),
        }
    }
}

/// `tpool.execute` (or `execute` imported from `eventlet.tpool`), told apart from the many
/// other `execute` calls (database cursors) before anything is resolved.
fn names_eventlet_tpool(func: &Expr) -> bool {
    match func {
        Expr::Attribute(attribute) => {
            matches!(&*attribute.value, Expr::Name(module) if module.id.as_str() == "tpool")
                || matches!(&*attribute.value, Expr::Attribute(inner) if inner.attr.as_str() == "tpool")
        }
        Expr::Name(_) => true,
        _ => false,
    }
}
