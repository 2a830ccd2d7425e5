//! Pools: which expressions are thread or process pools, process pool constructors and the
//! names they are bound to, and the worker functions handed to a process pool.

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

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
            let imported = self.imports.get(name.id.as_str())?;
            if !matches!(
                imported.rsplit('.').next(),
                Some("Pool" | "ProcessPoolExecutor")
            ) {
                return None;
            }
            return self.process_pool_by_name(&call.func);
        };
        if attr.as_str() == "Pool" {
            let is_context = match &**value {
                Expr::Call(inner) => matches!(
                    self.qualified_name(&inner.func).as_deref(),
                    Some("multiprocessing.get_context")
                ),
                Expr::Name(name) => self.context_names.contains(name.id.as_str()),
                _ => false,
            };
            if is_context {
                return Some(PoolFactory::Multiprocessing);
            }
        }
        if matches!(attr.as_str(), "Pool" | "ProcessPoolExecutor") {
            return self.process_pool_by_name(&call.func);
        }
        None
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
        let initializer = call
            .arguments
            .keywords
            .iter()
            .find(|keyword| {
                keyword
                    .arg
                    .as_ref()
                    .is_some_and(|arg| arg.as_str() == "initializer")
            })
            .map(|keyword| &keyword.value);
        self.pending_pools.push(PendingPool {
            call,
            factory,
            function: self.current_function(),
            bound: Vec::new(),
            initializer,
        });
    }

    /// `pool = Pool(…)` / `with Pool(…) as pool`: remembers the name the pool is bound to.
    pub(super) fn bind_process_pool(&mut self, value: &'a Expr, target: &'a Expr) {
        let text = self.text(target.range()).to_string();
        // `executor = pool` / `with pool as executor`: another name for the same pool.
        if matches!(value, Expr::Name(_) | Expr::Attribute(_)) {
            let source = self.text(value.range());
            if let Some(kind) = self.pool_names.get(source).copied() {
                self.pool_names.insert(text.clone(), kind);
            }
            let function = self.current_function();
            if let Some(pool) = self.pending_pools.iter_mut().rev().find(|pool| {
                pool.function == function && pool.bound.iter().any(|name| name == source)
            }) {
                pool.bound.push(text);
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
            pool.bound.push(text);
        } else if matches!(
            self.qualified_name(&call.func).as_deref(),
            Some("multiprocessing.get_context")
        ) {
            self.context_names.insert(text);
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
