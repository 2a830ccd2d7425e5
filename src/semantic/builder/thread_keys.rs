//! Keys that name the running thread: `cache[threading.get_ident()]`, or a key built from it
//! (`(os.getpid(), threading.get_ident())`, directly, through a local or returned by a helper
//! of the module). Each thread only reaches its own entry, so a check of that entry and the
//! store after it are one thread's: no other thread acts on the same key. The entry is that
//! thread's, like an attribute of a `threading.local`.

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

use super::Builder;
use super::syntax::last_segment;

/// How deep locals and helpers are followed (`key = _key()`, `_key` returning
/// `(pid, get_ident())`).
const MAX_DEPTH: usize = 3;

impl<'a> Builder<'a> {
    /// Whether a container key names the running thread (see the module documentation).
    pub(super) fn is_per_thread_key(&self, key: &'a Expr) -> bool {
        self.names_running_thread(key, self.current_function(), 0)
    }

    fn names_running_thread(
        &self,
        expr: &'a Expr,
        function: Option<crate::semantic::FunctionId>,
        depth: usize,
    ) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match expr {
            // `(os.getpid(), threading.get_ident())`: a part that differs per thread makes the
            // whole key differ.
            Expr::Tuple(ast::ExprTuple { elts, .. }) => elts
                .iter()
                .any(|element| self.names_running_thread(element, function, depth)),
            // `f"{threading.get_ident()}:{name}"`
            Expr::FString(fstring) => fstring.value.elements().any(|element| {
                matches!(
                    element,
                    ast::InterpolatedStringElement::Interpolation(interpolation)
                        if self.names_running_thread(&interpolation.expression, function, depth)
                )
            }),
            // `threading.current_thread().ident`
            Expr::Attribute(ast::ExprAttribute { value, attr, .. }) => {
                matches!(attr.as_str(), "ident" | "native_id")
                    && self.names_running_thread(value, function, depth)
            }
            Expr::Call(ast::ExprCall {
                func, arguments, ..
            }) => {
                let callee = self.text(func.range());
                match last_segment(callee) {
                    "get_ident" | "get_native_id" | "current_thread" | "currentThread"
                    | "getcurrent" => true,
                    // `id(threading.current_thread())`, `str(threading.get_ident())`
                    "id" | "str" | "hash" => arguments
                        .args
                        .iter()
                        .any(|argument| self.names_running_thread(argument, function, depth + 1)),
                    // A helper of this module that returns such a key.
                    _ => {
                        let helper = self.resolve(&super::PendingRef {
                            scope: function,
                            ..self.pending_ref(func)
                        });
                        helper.is_some_and(|helper| {
                            self.return_values.get(&helper).is_some_and(|values| {
                                !values.is_empty()
                                    && values.iter().all(|value| {
                                        self.names_running_thread(value, Some(helper), depth + 1)
                                    })
                            })
                        })
                    }
                }
            }
            // `key = (os.getpid(), threading.get_ident())` earlier in the function.
            Expr::Name(ast::ExprName { id, .. }) => function
                .and_then(|function| self.local_values.get(&(function, id.as_str())))
                .is_some_and(|value| self.names_running_thread(value, function, depth + 1)),
            _ => false,
        }
    }
}
