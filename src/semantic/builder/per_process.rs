//! Per-process behaviour: code that reads or sets what each process has its own copy of
//! (`os.getpid()`, `os.environ`, a reseeded random generator, a `threading.local`, resource
//! limits), and a module's explicit choice of how pool processes start. Work handed to a process
//! pool that does these things was put in processes on purpose (NG301).

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

use super::Builder;
use super::syntax::last_segment;
use crate::semantic::PerProcessUse;

/// Calls, by qualified name, whose result or effect belongs to the calling process.
const PER_PROCESS_CALLS: &[&str] = &[
    "os.getpid",
    "os.getppid",
    "os.getenv",
    "os.getenvb",
    "multiprocessing.current_process",
    "multiprocessing.parent_process",
    "multiprocessing.process.current_process",
    "multiprocessing.process.parent_process",
    "resource.setrlimit",
    "threading.local",
    "_threading_local.local",
];

/// Methods that reseed a random generator, whatever the generator (`random.seed`,
/// `numpy.random.seed`, `rng.seed`, `torch.manual_seed`): reseeding in each worker gives each
/// process its own stream.
fn reseeds(name: &str) -> bool {
    matches!(
        name,
        "seed" | "manual_seed" | "manual_seed_all" | "set_seed"
    )
}

impl<'a> Builder<'a> {
    /// A call that behaves per process, or that chooses the start method of the module's pools.
    pub(super) fn record_per_process_call(&mut self, call: &'a ast::ExprCall) {
        // Decide by the callee's last name (or the name it was imported as) before resolving it.
        let last = match &*call.func {
            Expr::Attribute(attribute) => attribute.attr.as_str(),
            Expr::Name(name) => match self.imports.get(name.id.as_str()) {
                Some(qualified) => last_segment(qualified),
                None => {
                    // An instance of this module's `threading.local` subclass.
                    if self.is_thread_local_factory(call) {
                        self.push_per_process_use(call.range(), "threading.local".to_string());
                    }
                    return;
                }
            },
            _ => return,
        };
        if matches!(last, "set_start_method" | "set_forkserver_preload") {
            self.sets_start_method = true;
            return;
        }
        let name = if reseeds(last) {
            self.qualified_name(&call.func)
                .unwrap_or_else(|| self.text(call.func.range()).to_string())
        } else if matches!(
            last,
            "getpid"
                | "getppid"
                | "getenv"
                | "getenvb"
                | "current_process"
                | "parent_process"
                | "setrlimit"
                | "local"
        ) {
            match self.qualified_name(&call.func) {
                Some(qualified) if PER_PROCESS_CALLS.contains(&qualified.as_str()) => qualified,
                _ => return,
            }
        } else {
            return;
        };
        self.push_per_process_use(call.range(), name);
    }

    /// A reference that reads per-process state: `os.environ` (also imported as `environ`), or
    /// a module-level `threading.local`.
    pub(super) fn record_per_process_reference(&mut self, expr: &'a Expr) {
        if self.current_function().is_none() {
            return;
        }
        let name = match expr {
            Expr::Attribute(attribute) => {
                if !matches!(attribute.attr.as_str(), "environ" | "environb") {
                    return;
                }
                match self.qualified_name(expr) {
                    Some(qualified)
                        if matches!(qualified.as_str(), "os.environ" | "os.environb") =>
                    {
                        qualified
                    }
                    _ => return,
                }
            }
            Expr::Name(name) => {
                // Most names are neither: two emptiness checks keep this off the hot path.
                if self.environ_aliases.is_empty() && self.thread_local_names.is_empty() {
                    return;
                }
                let id = name.id.as_str();
                if self.environ_aliases.contains(&id)
                    && let Some(qualified) = self.imports.get(id)
                {
                    qualified.clone()
                } else if self.thread_local_names.contains(id) && !self.is_enclosing_local(id) {
                    "threading.local".to_string()
                } else {
                    return;
                }
            }
            _ => return,
        };
        self.push_per_process_use(expr.range(), name);
    }

    /// `_local = threading.local()` at module level: later uses of `_local` are per process
    /// (per worker thread of a process pool's worker, which is the process).
    pub(super) fn scan_thread_local_binding(&mut self, target: &'a Expr, value: &'a Expr) {
        if let (Expr::Name(name), Expr::Call(call)) = (target, value)
            && self.is_thread_local_factory(call)
        {
            self.thread_local_names.insert(name.id.as_str());
        }
    }

    /// `threading.local()`, or an instance of a class of this module derived from it.
    fn is_thread_local_factory(&self, call: &ast::ExprCall) -> bool {
        let is_thread_local = |qualified: &str| self.is_thread_local_class(qualified);
        if let Expr::Name(name) = &*call.func
            && let Some(class) = self.module_class(name.id.as_str())
        {
            return self.classes[class]
                .bases
                .iter()
                .any(|base| is_thread_local(base));
        }
        self.qualified_name(&call.func)
            .is_some_and(|qualified| is_thread_local(&qualified))
    }

    fn push_per_process_use(&mut self, range: ruff_text_size::TextRange, name: String) {
        self.per_process_uses.push(PerProcessUse {
            function: self.current_function(),
            range,
            name,
        });
    }
}
