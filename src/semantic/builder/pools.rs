//! Pools: which expressions are thread or process pools, process pool constructors and the
//! names they are bound to, and the worker functions handed to a process pool.

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextSize};

use super::syntax::last_segment;
use super::{Builder, PendingPool, PendingRef};
use crate::semantic::values::{PoolKind, ValueKind};
use crate::semantic::{ClassId, FunctionId, ModuleBinding, PoolFactory, WorkerRef};

impl<'a> Builder<'a> {
    /// A process pool constructor: `ProcessPoolExecutor(…)`, `multiprocessing.Pool(…)`,
    /// `multiprocessing.get_context(…).Pool(…)` (also through a name bound to the context).
    pub(super) fn process_pool_factory(&self, call: &ast::ExprCall) -> Option<PoolFactory> {
        let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &*call.func else {
            // A bare name: only an import of `Pool`/`ProcessPoolExecutor` can be a pool.
            let Expr::Name(name) = &*call.func else {
                return None;
            };
            // Most modules import no pool class by name: every bare call is skipped unlooked.
            if !self.imports_pool_class {
                return None;
            }
            let imported = self.imports.get(name.id.as_str())?;
            if !matches!(last_segment(imported), "Pool" | "ProcessPoolExecutor") {
                return None;
            }
            return self.process_pool_by_name(&call.func);
        };
        if attr.as_str() == "Pool" && self.is_context(value) {
            return Some(PoolFactory::Multiprocessing);
        }
        if matches!(attr.as_str(), "Pool" | "ProcessPoolExecutor") {
            return self.process_pool_by_name(&call.func);
        }
        None
    }

    /// `ctx.Pool(…)` / `multiprocessing.get_context(…).Pool(…)`: a pool from a context.
    fn made_by_context(&self, call: &ast::ExprCall) -> bool {
        matches!(
            &*call.func,
            Expr::Attribute(ast::ExprAttribute { value, .. }) if self.is_context(value)
        )
    }

    /// `multiprocessing.get_context(…)`, or a name or attribute bound to one.
    fn is_context(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Call(inner) => matches!(
                self.qualified_name(&inner.func).as_deref(),
                Some("multiprocessing.get_context")
            ),
            Expr::Name(_) | Expr::Attribute(_) => {
                self.context_names.contains(self.text(expr.range()))
            }
            _ => false,
        }
    }

    fn process_pool_by_name(&self, func: &Expr) -> Option<PoolFactory> {
        match self.qualified_name(func).as_deref() {
            Some(
                "concurrent.futures.ProcessPoolExecutor"
                | "concurrent.futures.process.ProcessPoolExecutor",
            ) => Some(PoolFactory::Executor),
            Some("multiprocessing.Pool" | "multiprocessing.pool.Pool") => {
                Some(PoolFactory::Multiprocessing)
            }
            _ => None,
        }
    }

    pub(super) fn record_process_pool(&mut self, call: &'a ast::ExprCall) {
        let Some(factory) = self.process_pool_factory(call) else {
            return;
        };
        let keyword = |name: &str| {
            call.arguments
                .keywords
                .iter()
                .find(|keyword| keyword.arg.as_ref().is_some_and(|arg| arg.as_str() == name))
                .map(|keyword| &keyword.value)
        };
        // `ProcessPoolExecutor(max_workers, mp_context, initializer, …)`,
        // `Pool(processes, initializer, initargs, maxtasksperchild, context)`.
        let (initializer_at, context_at) = match factory {
            PoolFactory::Executor => (2, 1),
            PoolFactory::Multiprocessing => (1, 4),
        };
        let positional = |index: usize| call.arguments.args.get(index);
        let initializer = keyword("initializer").or(positional(initializer_at));
        // `ProcessPoolExecutor(mp_context=…)`, `multiprocessing.Pool(context=…)`,
        // `get_context("spawn").Pool(…)`: whatever the value, processes were chosen.
        let explicit_start_method = keyword("mp_context").is_some()
            || keyword("context").is_some()
            || positional(context_at).is_some()
            || self.made_by_context(call);
        self.pending_pools.push(PendingPool {
            call,
            factory,
            function: self.current_function(),
            bound: Vec::new(),
            initializer,
            explicit_start_method,
            escapes: false,
        });
    }

    /// The pool bound to the name `text` in `scope` most recently before `offset`, as an index
    /// into the pending pools.
    pub(super) fn pool_bound_to(
        &self,
        text: &str,
        scope: Option<FunctionId>,
        offset: TextSize,
    ) -> Option<usize> {
        self.pending_pools
            .iter()
            .enumerate()
            .filter(|(_, pool)| {
                pool.function == scope
                    && pool.call.range().start() < offset
                    && pool.bound.iter().any(|bound| bound == text)
            })
            .max_by_key(|(_, pool)| pool.call.range().start())
            .map(|(index, _)| index)
    }

    /// A pool handed on (`return pool`, `yield pool`, `register(pool)`): work may reach it
    /// where this module's analysis cannot see, so the work seen here does not describe it.
    pub(super) fn record_pool_escape(&mut self, expr: &'a Expr) {
        if self.pending_pools.is_empty() {
            return;
        }
        match expr {
            Expr::Name(_) | Expr::Attribute(_) => {
                let text = self.text(expr.range());
                if let Some(index) =
                    self.pool_bound_to(text, self.current_function(), expr.range().start())
                {
                    self.pending_pools[index].escapes = true;
                }
            }
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                for elt in elts {
                    self.record_pool_escape(elt);
                }
            }
            Expr::Starred(ast::ExprStarred { value, .. }) => self.record_pool_escape(value),
            _ => {}
        }
    }

    /// A pool passed to a call, other than a builtin that only looks at it (`print(pool)`) or
    /// as the executor of `loop.run_in_executor(pool, f)` (a submission): see
    /// [`Self::record_pool_escape`].
    pub(super) fn record_pool_handoff(&mut self, call: &'a ast::ExprCall) {
        if self.pending_pools.is_empty() {
            return;
        }
        if let Expr::Name(name) = &*call.func {
            let id = name.id.as_str();
            let inspects = matches!(
                id,
                "print" | "repr" | "str" | "id" | "type" | "isinstance" | "hasattr" | "getattr"
            );
            if inspects && !self.bindings.contains_key(id) && !self.is_enclosing_local(id) {
                return;
            }
        }
        let submits = matches!(
            &*call.func,
            Expr::Attribute(attribute) if attribute.attr.as_str() == "run_in_executor"
        );
        for (index, argument) in call.arguments.args.iter().enumerate() {
            if !(submits && index == 0) {
                self.record_pool_escape(argument);
            }
        }
        for keyword in &call.arguments.keywords {
            self.record_pool_escape(&keyword.value);
        }
    }

    /// `pool = Pool(…)` / `with Pool(…) as pool`: remembers the name the pool is bound to.
    pub(super) fn bind_process_pool(&mut self, value: &'a Expr, target: &'a Expr) {
        // Made only when the target is bound to a pool or a context, which few assignments are.
        let source = self.source;
        let target_range = target.range();
        let text = move || source[target_range].to_string();
        // `self._pool = …`: stored where other methods submit to it.
        let stored = !matches!(target, Expr::Name(_));
        // `executor = pool` / `with pool as executor`: another name for the same pool.
        if matches!(value, Expr::Name(_) | Expr::Attribute(_)) {
            let source = self.text(value.range());
            if let Some(kind) = self.pool_names.get(source).copied() {
                self.pool_names.insert(text(), kind);
            }
            if let Some(index) =
                self.pool_bound_to(source, self.current_function(), value.range().start())
            {
                let pool = &mut self.pending_pools[index];
                pool.bound.push(text());
                pool.escapes |= stored;
            }
            return;
        }
        let Expr::Call(call) = value else { return };
        if let Some(pool) = self
            .pending_pools
            .iter_mut()
            .rev()
            .find(|pool| pool.call.range() == call.range())
        {
            pool.bound.push(text());
            pool.escapes |= stored;
        } else if matches!(
            self.qualified_name(&call.func).as_deref(),
            Some("multiprocessing.get_context")
        ) {
            self.context_names.insert(text());
        }
    }

    pub(super) fn pool_kind(&self, receiver: &'a Expr) -> Option<PoolKind> {
        if let Expr::Call(_) = receiver
            && let ValueKind::Pool(kind) = self.classify(receiver)
        {
            return Some(kind);
        }
        if let Some(kind) = self.pool_names.get(self.text(receiver.range())) {
            return Some(*kind);
        }
        if let Expr::Name(name) = receiver
            && let Some(ModuleBinding {
                kind: ValueKind::Pool(kind),
                ..
            }) = self.bindings.get(name.id.as_str())
        {
            return Some(*kind);
        }
        None
    }

    /// The function a worker expression denotes: a function of this module, one imported from
    /// another, or `functools.partial` of either. `None` for anything else (a lambda, a
    /// callable object) — NG301 says nothing about pools with such workers.
    pub(super) fn worker_ref(
        &self,
        worker: &'a Expr,
        scope: Option<FunctionId>,
        class: Option<ClassId>,
    ) -> Option<WorkerRef> {
        // `work = functools.partial(f, …)` earlier in the same function.
        if let Expr::Name(name) = worker
            && let Some(scope) = scope
            && let Some(bound) = self.partial_bindings.get(&(scope, name.id.as_str()))
        {
            return self.worker_ref(bound, Some(scope), class);
        }
        match worker {
            Expr::Name(_) | Expr::Attribute(_) => {
                let reference = PendingRef {
                    expr: worker,
                    scope,
                    class,
                    instantiates: false,
                    invokes: None,
                };
                if let Some(function) = self.resolve(&reference) {
                    return Some(WorkerRef::Local(function));
                }
                if self.imported_head(worker) {
                    return self
                        .qualified_name(worker)
                        .filter(|qualified| !qualified.starts_with("builtins."))
                        .map(WorkerRef::External);
                }
                None
            }
            Expr::Call(ast::ExprCall {
                func, arguments, ..
            }) if matches!(
                self.qualified_name(func).as_deref(),
                Some("functools.partial")
            ) =>
            {
                self.worker_ref(arguments.args.first()?, scope, class)
            }
            _ => None,
        }
    }
}
