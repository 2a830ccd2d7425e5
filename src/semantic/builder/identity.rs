//! Whether a written value is the same every time it is computed: what decides if two threads
//! that both run a check-then-act store equal values (a benign duplicate computation) or two
//! different objects where one was meant (a hazard).

use ruff_python_ast::{self as ast, Expr};

use super::Builder;
use crate::semantic::values::{ContainerKind, ValueKind, classify_factory, classify_literal};
use crate::semantic::{FunctionId, ValueIdentity};

/// Standard-library callables whose result is a new object with an identity of its own: two
/// calls give two locks, two threads, two connections, two different random values.
const UNIQUE_CALLS: &[(&str, &str)] = &[
    ("builtins.object", "a new `object()`"),
    ("builtins.open", "an open file"),
    ("builtins.next", "the next value of an iterator"),
    ("io.open", "an open file"),
    ("uuid.uuid1", "a new UUID"),
    ("uuid.uuid4", "a new UUID"),
    ("os.urandom", "random bytes"),
    ("itertools.count", "a new counter"),
    ("socket.socket", "a new socket"),
    ("socket.create_connection", "a new connection"),
    ("socket.socketpair", "new sockets"),
    ("sqlite3.connect", "a new connection"),
    ("subprocess.Popen", "a new process"),
    ("tempfile.mkdtemp", "a new temporary directory"),
    ("tempfile.mkstemp", "a new temporary file"),
    ("tempfile.TemporaryDirectory", "a new temporary directory"),
    ("tempfile.NamedTemporaryFile", "a new temporary file"),
    ("tempfile.TemporaryFile", "a new temporary file"),
    ("asyncio.new_event_loop", "a new event loop"),
    ("asyncio.Future", "a new future"),
    ("concurrent.futures.Future", "a new future"),
    ("concurrent.futures.ThreadPoolExecutor", "a new thread pool"),
    (
        "concurrent.futures.ProcessPoolExecutor",
        "a new process pool",
    ),
    ("multiprocessing.Pool", "a new process pool"),
    ("multiprocessing.Manager", "a new manager process"),
    ("multiprocessing.Process", "a new process"),
    ("multiprocessing.Queue", "a new queue"),
    ("threading.Thread", "a new thread"),
    ("threading.Timer", "a new timer thread"),
    ("threading.Event", "a new event"),
    ("threading.Barrier", "a new barrier"),
    ("threading.local", "a new thread-local object"),
    ("queue.Queue", "a new queue"),
    ("queue.SimpleQueue", "a new queue"),
    ("queue.LifoQueue", "a new queue"),
    ("queue.PriorityQueue", "a new queue"),
];

/// Module prefixes whose every call returns a fresh value (`random.random()`, `secrets.token_hex()`).
const UNIQUE_MODULES: &[(&str, &str)] = &[
    ("random.", "a random value"),
    ("secrets.", "a random value"),
];

/// Standard-library callables that give equal results for equal arguments (or return a cached,
/// shared object), so computing them twice is harmless.
const EQUAL_CALLS: &[&str] = &[
    "importlib.import_module",
    "builtins.__import__",
    "builtins.getattr",
    "builtins.hasattr",
    "builtins.isinstance",
    "builtins.issubclass",
    "builtins.frozenset",
    "builtins.tuple",
    "builtins.str",
    "builtins.repr",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.bytes",
    "builtins.len",
    "builtins.min",
    "builtins.max",
    "builtins.sum",
    "builtins.abs",
    "builtins.round",
    "builtins.hash",
    "builtins.type",
    "builtins.format",
    "builtins.sorted",
    "builtins.pow",
    "builtins.divmod",
    "builtins.chr",
    "builtins.ord",
    "builtins.hex",
    "builtins.oct",
    "builtins.bin",
    "builtins.any",
    "builtins.all",
    "builtins.callable",
    "re.compile",
    "re.escape",
    "logging.getLogger",
    "os.getenv",
    "os.cpu_count",
    "os.getcwd",
    "os.fspath",
    "os.environ.get",
    "shutil.which",
    "socket.gethostname",
    "socket.getfqdn",
    "platform.system",
    "platform.machine",
    "platform.python_implementation",
    "platform.platform",
    "sys.getfilesystemencoding",
    "sys.getdefaultencoding",
    "locale.getpreferredencoding",
    "locale.getlocale",
    "functools.partial",
    "functools.reduce",
    "collections.namedtuple",
    "typing.NamedTuple",
    "typing.TypeVar",
    "pathlib.Path",
    "pathlib.PurePath",
    "importlib.metadata.version",
    "importlib.metadata.entry_points",
    "importlib.util.find_spec",
    "sysconfig.get_config_var",
    "sysconfig.get_path",
    "inspect.signature",
    "inspect.getmodule",
    "codecs.lookup",
    "operator.attrgetter",
    "operator.itemgetter",
    "string.Template",
];

/// A built-in exception or type, by its name.
fn is_builtin_class(name: &str) -> bool {
    let exception = name.starts_with(|c: char| c.is_ascii_uppercase())
        && [
            "Error",
            "Exception",
            "Exit",
            "Warning",
            "Interrupt",
            "Iteration",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix));
    exception
        || matches!(
            name,
            "int"
                | "float"
                | "complex"
                | "str"
                | "bytes"
                | "bool"
                | "tuple"
                | "frozenset"
                | "type"
                | "object"
                | "list"
                | "dict"
                | "set"
                | "bytearray"
        )
}

/// Function names (the callee's last name, whatever module it comes from) that import or look
/// up a name: equal for equal arguments.
fn imports_by_name(last: &str) -> bool {
    matches!(
        last,
        "import_module"
            | "import_string"
            | "import_object"
            | "symbol_by_name"
            | "import_from_string"
    ) || last.starts_with("import_")
        || last.starts_with("load_entry_point")
}

/// Callee names that read like they open a connection or create a resource of their own.
/// A name that says it picks an existing one (`resolve_http_client`, `find_pool`,
/// `lookup_session`) does not.
fn resource_by_name(last: &str) -> Option<&'static str> {
    let lower = last.to_ascii_lowercase();
    let picks_existing = ["resolve", "find", "lookup", "select", "choose", "pick"]
        .iter()
        .any(|verb| {
            lower
                .trim_start_matches('_')
                .strip_prefix(verb)
                .is_some_and(|rest| rest.starts_with('_'))
        });
    if picks_existing {
        return None;
    }
    let description = if lower.contains("connect") {
        "a new connection"
    } else if lower.ends_with("session") {
        "a new session"
    } else if lower.ends_with("client") {
        "a new client"
    } else if lower.ends_with("pool") || lower.ends_with("executor") {
        "a new pool"
    } else if lower.ends_with("thread") {
        "a new thread"
    } else if lower.ends_with("lock") || lower.ends_with("semaphore") {
        "a new lock"
    } else if lower.ends_with("socket") {
        "a new socket"
    } else if lower.ends_with("queue") {
        "a new queue"
    } else {
        return None;
    };
    Some(description)
}

impl<'a> Builder<'a> {
    /// Remembers a function's `return` value, judged later if a write's value comes from it.
    pub(super) fn record_return_value(&mut self, value: &'a Expr) {
        if let Some(function) = self.current_function() {
            self.return_values.entry(function).or_default().push(value);
        }
    }

    /// What `function` returns, as far as identity goes: unique when any `return` gives a
    /// unique value, equal when every one gives an equal value; `None` when it returns nothing.
    pub(super) fn return_identity(&self, function: FunctionId) -> Option<ValueIdentity> {
        let values = self.return_values.get(&function)?;
        let parts = values
            .iter()
            .map(|value| self.identity_within(value, Some(function), 0));
        Some(combine(parts))
    }

    /// The call of one of this module's functions that a written value comes from (directly
    /// or through a local: `value = build(key); cache[key] = value`), judged once every
    /// function has been walked.
    pub(super) fn value_call(&self, value: &'a Expr) -> Option<&'a Expr> {
        let value = match value {
            Expr::Name(ast::ExprName { id, .. }) => {
                let function = self.current_function()?;
                *self.local_values.get(&(function, id.as_str()))?
            }
            other => other,
        };
        match value {
            Expr::Call(ast::ExprCall { func, .. })
                if self.may_denote_function(func) || self.names_module_class(func) =>
            {
                Some(func)
            }
            _ => None,
        }
    }

    /// `Route` in `Route(key)`: a class of this module (from the first scan, so classes defined
    /// further down count too), unless a local of the same name hides it.
    fn names_module_class(&self, func: &Expr) -> bool {
        let Expr::Name(ast::ExprName { id, .. }) = func else {
            return false;
        };
        matches!(
            self.bindings.get(id.as_str()).map(|binding| binding.kind),
            Some(ValueKind::Class)
        ) && self
            .current_function()
            .is_none_or(|function| !self.functions[function].is_local(id.as_str()))
    }

    /// Whether the value written is the same every time it is computed.
    pub(super) fn value_identity(&self, value: &Expr) -> ValueIdentity {
        self.identity_within(value, self.current_function(), 0)
    }

    /// As [`Builder::value_identity`], following locals to what they were assigned at most a
    /// few steps deep.
    fn identity_within(
        &self,
        value: &Expr,
        scope: Option<FunctionId>,
        depth: usize,
    ) -> ValueIdentity {
        if depth > 4 {
            return ValueIdentity::Unknown;
        }
        match value {
            Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_)
            | Expr::FString(_)
            | Expr::Lambda(_)
            | Expr::Compare(_) => ValueIdentity::Equal,
            Expr::List(_)
            | Expr::ListComp(_)
            | Expr::Dict(_)
            | Expr::DictComp(_)
            | Expr::Set(_)
            | Expr::SetComp(_) => ValueIdentity::Unique("a new container"),
            Expr::Tuple(ast::ExprTuple { elts, .. }) => self.combined(elts.iter(), scope, depth),
            Expr::BoolOp(ast::ExprBoolOp { values, .. }) => {
                self.combined(values.iter(), scope, depth)
            }
            Expr::If(ast::ExprIf { body, orelse, .. }) => {
                self.combined([&**body, &**orelse].into_iter(), scope, depth)
            }
            // Arithmetic on the inputs (`n * n`, `-offset`): equal inputs give equal results.
            Expr::BinOp(ast::ExprBinOp { left, right, .. }) => {
                match (
                    self.operand_identity(left, scope, depth),
                    self.operand_identity(right, scope, depth),
                ) {
                    (unique @ ValueIdentity::Unique(_), _)
                    | (_, unique @ ValueIdentity::Unique(_)) => unique,
                    (ValueIdentity::Equal, ValueIdentity::Equal) => ValueIdentity::Equal,
                    // `get_option("size") * 1e6`: arithmetic with a number gives a number,
                    // whose identity no caller observes.
                    _ if self.is_number(left, scope) || self.is_number(right, scope) => {
                        ValueIdentity::Equal
                    }
                    _ => ValueIdentity::Unknown,
                }
            }
            Expr::UnaryOp(ast::ExprUnaryOp { operand, .. }) => {
                self.operand_identity(operand, scope, depth)
            }
            Expr::Name(ast::ExprName { id, .. }) => {
                if let Some(function) = scope
                    && self.functions[function].is_local(id.as_str())
                {
                    return match self.local_values.get(&(function, id.as_str())) {
                        Some(assigned) => self.identity_within(assigned, scope, depth + 1),
                        // `from opentelemetry import trace` in the function: the module (or
                        // name) every import of it gives.
                        None if self.imports.contains_key(id.as_str()) => ValueIdentity::Equal,
                        None => ValueIdentity::Unknown,
                    };
                }
                // A module, class, function or constant bound once is the same object for
                // every thread; a local computed earlier in the function is not known.
                match self.bindings.get(id.as_str()).map(|binding| binding.kind) {
                    Some(
                        ValueKind::Import
                        | ValueKind::Class
                        | ValueKind::Function
                        | ValueKind::Constant
                        | ValueKind::None,
                    ) => ValueIdentity::Equal,
                    _ if self.imports.contains_key(id.as_str()) => ValueIdentity::Equal,
                    // `GeneratorExit`, `ValueError`: a built-in class is one object.
                    None if is_builtin_class(id.as_str()) && self.is_builtin_here(id, scope) => {
                        ValueIdentity::Equal
                    }
                    _ => ValueIdentity::Unknown,
                }
            }
            // A part of a value is as unique as the value (`uuid4().hex`, `settings.NAME`).
            Expr::Attribute(ast::ExprAttribute { value: base, .. })
            | Expr::Subscript(ast::ExprSubscript { value: base, .. }) => {
                self.identity_within(base, scope, depth + 1)
            }
            Expr::Await(ast::ExprAwait { value: awaited, .. }) => {
                self.identity_within(awaited, scope, depth + 1)
            }
            Expr::Call(call) => self.call_identity(call, scope),
            _ => ValueIdentity::Unknown,
        }
    }

    /// An operand of arithmetic: a parameter (a local never assigned in the function) is an
    /// input, equal for equal calls.
    fn operand_identity(
        &self,
        operand: &Expr,
        scope: Option<FunctionId>,
        depth: usize,
    ) -> ValueIdentity {
        if let Expr::Name(ast::ExprName { id, .. }) = operand
            && let Some(function) = scope
            && self.functions[function].is_local(id.as_str())
            && !self.local_values.contains_key(&(function, id.as_str()))
        {
            return ValueIdentity::Equal;
        }
        self.identity_within(operand, scope, depth + 1)
    }

    /// A number: a literal, or what `int(…)`, `float(…)`, `len(…)` and the like return.
    fn is_number(&self, expr: &Expr, scope: Option<FunctionId>) -> bool {
        match expr {
            Expr::NumberLiteral(_) => true,
            Expr::UnaryOp(ast::ExprUnaryOp { operand, .. }) => self.is_number(operand, scope),
            Expr::Call(ast::ExprCall { func, .. }) => matches!(&**func,
                Expr::Name(ast::ExprName { id, .. })
                    if matches!(id.as_str(), "int" | "float" | "len" | "abs" | "round" | "pow")
                        && self.is_builtin_here(id, scope)),
            _ => false,
        }
    }

    /// Whether `name` means the builtin in `scope`: also not a local of the function whose
    /// value is judged (identity is also judged once the walk has left it).
    fn is_builtin_here(&self, name: &str, scope: Option<FunctionId>) -> bool {
        self.is_unshadowed_builtin(name)
            && scope.is_none_or(|function| !self.functions[function].is_local(name))
    }

    /// Several parts: unique if any part is, equal if all are.
    fn combined<'e>(
        &self,
        parts: impl Iterator<Item = &'e Expr>,
        scope: Option<FunctionId>,
        depth: usize,
    ) -> ValueIdentity {
        combine(parts.map(|part| self.identity_within(part, scope, depth + 1)))
    }

    fn call_identity(&self, call: &ast::ExprCall, scope: Option<FunctionId>) -> ValueIdentity {
        if classify_literal(&call.func).is_some() {
            return ValueIdentity::Unknown;
        }
        // `super().__call__(…)` in a metaclass, `object.__new__(cls)`: an explicit new instance,
        // made where a registry keeps one per key.
        if let Expr::Attribute(ast::ExprAttribute { value, attr, .. }) = &*call.func
            && matches!(attr.as_str(), "__call__" | "__new__")
            && match &**value {
                Expr::Call(ast::ExprCall { func, .. }) => {
                    matches!(&**func, Expr::Name(name) if name.id.as_str() == "super")
                }
                Expr::Name(name) => matches!(name.id.as_str(), "object" | "type"),
                _ => false,
            }
        {
            return ValueIdentity::Unique("a new instance");
        }
        // `len(…)`, `open(…)`: a built-in function unless a binding hides it (the qualified
        // names only know the built-in containers, which other checks construct).
        let qualified = self
            .qualified_name(&call.func)
            .or_else(|| match &*call.func {
                Expr::Name(ast::ExprName { id, .. }) if self.is_builtin_here(id, scope) => {
                    Some(format!("builtins.{id}"))
                }
                _ => None,
            });
        if let Some(qualified) = qualified.as_deref() {
            if let Some((_, description)) = UNIQUE_CALLS.iter().find(|(name, _)| *name == qualified)
            {
                return ValueIdentity::Unique(description);
            }
            if let Some((_, description)) = UNIQUE_MODULES
                .iter()
                .find(|(prefix, _)| qualified.starts_with(prefix))
            {
                return ValueIdentity::Unique(description);
            }
            if EQUAL_CALLS.contains(&qualified) {
                return ValueIdentity::Equal;
            }
            match classify_factory(qualified) {
                Some(ValueKind::Lock) => return ValueIdentity::Unique("a new lock"),
                Some(ValueKind::Container(ContainerKind::WeakContainer))
                | Some(ValueKind::Container(_)) => {
                    return ValueIdentity::Unique("a new container");
                }
                Some(ValueKind::ThreadSafe) => {
                    return ValueIdentity::Unique("a new synchronisation object");
                }
                Some(ValueKind::Pool(_)) => return ValueIdentity::Unique("a new pool"),
                _ => {}
            }
        }
        let last = match &*call.func {
            Expr::Name(name) => name.id.as_str(),
            Expr::Attribute(attribute) => attribute.attr.as_str(),
            _ => return ValueIdentity::Unknown,
        };
        if imports_by_name(last) {
            return ValueIdentity::Equal;
        }
        if let Some(description) = resource_by_name(last) {
            return ValueIdentity::Unique(description);
        }
        // An instance of any other class may be an equal object built from the same inputs (a
        // value object, a stateless wrapper) or one that must be unique: not known.
        ValueIdentity::Unknown
    }
}

/// Several values: unique if any is, equal if all are.
fn combine(parts: impl Iterator<Item = ValueIdentity>) -> ValueIdentity {
    let mut all_equal = true;
    for part in parts {
        match part {
            unique @ ValueIdentity::Unique(_) => return unique,
            ValueIdentity::Unknown => all_equal = false,
            ValueIdentity::Equal => {}
        }
    }
    if all_equal {
        ValueIdentity::Equal
    } else {
        ValueIdentity::Unknown
    }
}
