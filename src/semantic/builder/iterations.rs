//! Loops over shared state: `for` loops, comprehensions and consuming calls (`sum(D.values())`,
//! `min(D)`, `",".join(D)`) over a module- or class-level container, `sys.modules`, or
//! `os.environ`'s items, recorded as [`StateIteration`]s and [`MappingIteration`]s.
//!
//! A copy that free-threaded CPython takes atomically is a snapshot, not an iteration, and is
//! not recorded: `list(D)`, `sorted(D)`, `set(D)`, `dict(D)` of a dict; `list(S)`/`sorted(S)`
//! of a set; `list(L)`/`tuple(L)` of a list; `list(D.items())` of any dict whose views are
//! the built-in ones (defaultdict, Counter); `D.copy()` of any of them. (Measured on 3.14t: a
//! deque, an `OrderedDict`, a defaultdict's keys and `tuple(D)` of a dict raise `RuntimeError`
//! under concurrent changes; the calls above never do.)

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange};

use super::Builder;
use crate::semantic::values::ValueKind;
use crate::semantic::{
    ContainerKind, IterationKind, MappingIteration, ProcessMapping, StateIteration,
};

/// Calls that walk an iterable to build their result (the iterable is their first argument).
const CONSUMERS: &[&str] = &[
    "sum",
    "min",
    "max",
    "any",
    "all",
    "sorted",
    "list",
    "tuple",
    "set",
    "frozenset",
    "dict",
];

/// Calls that wrap iterables lazily: a loop over them walks the wrapped ones.
const WRAPPERS: &[&str] = &["enumerate", "reversed", "zip", "map", "filter", "iter"];

impl<'a> Builder<'a> {
    /// The iterable of a `for` statement or a comprehension's generator (`stmt` is the loop).
    pub(super) fn record_loop_iteration(
        &mut self,
        iter: &'a Expr,
        kind: IterationKind<'a>,
        stmt: TextRange,
    ) {
        if self.current_function().is_none() {
            return;
        }
        self.record_iterated(iter, kind, stmt, None);
    }

    /// A call that walks its argument item by item: `sum(D.values())`, `min(D)`, `tuple(D)`,
    /// `",".join(D)`, and `list(…)`/`sorted(…)`/`set(…)`/`dict(…)` where they do not copy the
    /// container atomically.
    pub(super) fn record_consuming_call(&mut self, call: &'a ast::ExprCall) {
        if self.current_function().is_none() {
            return;
        }
        let [argument] = &*call.arguments.args else {
            return;
        };
        let consumer = match &*call.func {
            // `",".join(D)`, `sep.join(D)`.
            Expr::Attribute(ast::ExprAttribute { attr, value, .. })
                if attr.as_str() == "join"
                    && matches!(&**value, Expr::StringLiteral(_) | Expr::Name(_)) =>
            {
                "join"
            }
            Expr::Name(name) if CONSUMERS.contains(&name.id.as_str()) => {
                match self.builtin_name(&call.func) {
                    Some(name) => name,
                    None => return,
                }
            }
            _ => return,
        };
        self.record_iterated(
            argument,
            IterationKind::Call(consumer),
            call.range(),
            Some(consumer),
        );
    }

    /// The builtin a name denotes (`sum`), when no import, module binding or local variable
    /// shadows it. (`qualified_name` knows only the builtins other rules ask about.)
    fn builtin_name(&self, func: &'a Expr) -> Option<&'a str> {
        let Expr::Name(name) = func else { return None };
        let id = name.id.as_str();
        self.is_unshadowed_builtin(id).then_some(id)
    }

    /// Records `expr` when it denotes shared state iterated by `kind`; `snapshot` is the
    /// consuming call when it may copy the state atomically.
    fn record_iterated(
        &mut self,
        expr: &'a Expr,
        kind: IterationKind<'a>,
        stmt: TextRange,
        snapshot: Option<&str>,
    ) {
        if let Expr::Call(call) = expr
            && let Expr::Name(name) = &*call.func
            && WRAPPERS.contains(&name.id.as_str())
            && let Some(wrapper) = self.builtin_name(&call.func)
        {
            // `enumerate(D)`, `zip(A, B)`, `map(f, D)`: the wrapper walks what it wraps, and a
            // consumer of the wrapper copies nothing atomically.
            let wrapped: &[Expr] = match wrapper {
                "map" => call.arguments.args.get(1..).unwrap_or_default(),
                "filter" => call.arguments.args.get(1..2).unwrap_or_default(),
                "zip" => &call.arguments.args,
                _ => call.arguments.args.get(..1).unwrap_or_default(),
            };
            for inner in wrapped {
                // Wrappers nest as deep as the code does.
                super::visitor::with_stack(|| self.record_iterated(inner, kind, stmt, None));
            }
            return;
        }
        let (object, view) = match expr {
            Expr::Call(ast::ExprCall {
                func, arguments, ..
            }) if arguments.is_empty() => match &**func {
                Expr::Attribute(ast::ExprAttribute { value, attr, .. })
                    if matches!(attr.as_str(), "items" | "keys" | "values") =>
                {
                    (&**value, Some(attr.as_str()))
                }
                _ => return,
            },
            other => (other, None),
        };
        let Some(function) = self.current_function() else {
            return;
        };
        if let Some(mapping) = self.process_mapping(object) {
            let copied = match mapping {
                // An exact dict: copied atomically like any dict.
                ProcessMapping::SysModules => snapshot
                    .is_some_and(|consumer| is_snapshot(consumer, ContainerKind::Dict, view)),
                // `os.environ` lists its keys atomically (`_Environ.__iter__` copies them), then
                // looks each value up: only its items and values can miss a deleted variable.
                ProcessMapping::Environ => !matches!(view, Some("items" | "values")),
            };
            if !copied {
                self.mapping_iterations.push(MappingIteration {
                    mapping,
                    range: expr.range(),
                    view,
                    kind,
                    stmt,
                    function,
                    locks: self.locks_now(),
                });
            }
            return;
        }
        let Some(key) = self.state_key_of(object) else {
            return;
        };
        let Some(ValueKind::Container(container)) = self.state_value_kind(key) else {
            return;
        };
        // A ChainMap iterates a dict it builds from its maps, each copied atomically.
        if container == ContainerKind::ChainMap
            || snapshot.is_some_and(|consumer| is_snapshot(consumer, container, view))
        {
            return;
        }
        self.iterations.push(StateIteration {
            key,
            container,
            range: expr.range(),
            object: object.range(),
            view,
            kind,
            stmt,
            function,
            locks: self.locks_now(),
        });
    }

    /// `sys.modules` or `os.environ` (also imported by name).
    fn process_mapping(&self, expr: &'a Expr) -> Option<ProcessMapping> {
        let last = match expr {
            Expr::Attribute(attribute) => attribute.attr.as_str(),
            Expr::Name(name) => name.id.as_str(),
            _ => return None,
        };
        if !matches!(last, "modules" | "environ") {
            return None;
        }
        if let Expr::Name(name) = expr
            && self.current_function().is_some()
            && self.is_enclosing_local(name.id.as_str())
        {
            return None;
        }
        match self.qualified_name(expr).as_deref() {
            Some("sys.modules") => Some(ProcessMapping::SysModules),
            Some("os.environ") => Some(ProcessMapping::Environ),
            _ => None,
        }
    }
}

/// Whether `consumer(state)` (or `consumer(state.view())`) copies the state atomically on
/// free-threaded CPython: `list`/`sorted` extend a list under the source's lock when it is a
/// list, set, dict or a view of a dict (also of a defaultdict or Counter, whose views are the
/// built-in ones); `set`/`frozenset` and `dict` merge a set or an exact dict under its lock;
/// `tuple` copies only a list atomically.
fn is_snapshot(consumer: &str, container: ContainerKind, view: Option<&str>) -> bool {
    match consumer {
        "list" | "sorted" => match container {
            ContainerKind::List | ContainerKind::Dict | ContainerKind::Set => true,
            ContainerKind::DefaultDict | ContainerKind::Counter => view.is_some(),
            _ => false,
        },
        "tuple" => container == ContainerKind::List && view.is_none(),
        "set" | "frozenset" => {
            matches!(container, ContainerKind::Dict | ContainerKind::Set) && view.is_none()
        }
        "dict" => {
            matches!(container, ContainerKind::Dict | ContainerKind::DefaultDict) && view.is_none()
        }
        _ => false,
    }
}
