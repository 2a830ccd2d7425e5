//! Where code may run, and what a racing write does: the facts that decide whether a finding
//! is a hazard worth an error, a likely race worth a warning, or a benign race worth a note.

use std::path::Path;

/// What a module is for, from its path: code its users import, or the project's tests.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum ModuleRole {
    /// Importable code: its public functions may be called from any thread of its users.
    #[default]
    Library,
    /// A test module (`test_*.py`, `*_test.py`, `testing.py`, `conftest.py`, or under the
    /// project's `tests/`, `test/` or `testing/`): its functions run on the test runner's thread
    /// unless the test starts threads itself.
    Test,
    /// Code for a platform whose Python runs no threads in parallel (a module, or a module of a
    /// package, named `emscripten`, `pyodide` or `wasi`): nothing in it can race.
    NoThreads,
    /// A module that imports a standard module only Python 2 has (`import hotshot`, `import
    /// urllib2`) at its top level: it cannot even be imported where free threading exists.
    Python2Only,
}

impl ModuleRole {
    /// The role a file's name alone gives it (`test_*.py`, `*_test.py`, `conftest.py`), or a
    /// module or package of its path named for a platform without threads. Test directories
    /// are judged by the pipeline, which knows where the project starts: a checkout under
    /// `~/test/` is not a test suite.
    pub fn of_file_name(path: &Path) -> Self {
        // The module itself or its package (`urllib3/contrib/emscripten/fetch.py`); not the
        // directories further up, which may be anyone's.
        let platform_name = |name: Option<&std::ffi::OsStr>| {
            matches!(
                name.and_then(|name| name.to_str()),
                Some("emscripten" | "pyodide" | "wasi")
            )
        };
        let for_platform_without_threads = platform_name(path.file_stem())
            || platform_name(path.parent().and_then(Path::file_name));
        if for_platform_without_threads {
            return ModuleRole::NoThreads;
        }
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        let stem = name
            .strip_suffix(".py")
            .or_else(|| name.strip_suffix(".pyi"))
            .unwrap_or(name);
        if stem.starts_with("test_")
            || stem.ends_with("_test")
            || stem.ends_with("_tests")
            || stem == "tests"
            || stem == "testing"
            || stem == "conftest"
        {
            ModuleRole::Test
        } else {
            ModuleRole::Library
        }
    }
}

/// Whether a file is a program's command line rather than library code: `__main__.py` (run by
/// `python -m package`) or `cli.py`, whose functions are console entry points, or a module in
/// a package's directory of programs (`bin/`, `cli/`, `script/`, `scripts/`, `commands/`:
/// `celery/bin`, `rpyc/cli`, `execnet/script`, Django's `management/commands`).
pub fn is_command_line_file(path: &Path) -> bool {
    let programs_directory = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .is_some_and(|name| matches!(name, "bin" | "cli" | "script" | "scripts" | "commands"));
    programs_directory
        || matches!(
            path.file_name().and_then(|name| name.to_str()),
            Some("__main__.py" | "cli.py")
        )
}

/// Whether a file belongs to the asynchronous twin of a library: a package directory on its
/// path named `aio`, `_aio`, `asyncio`, `_async` or `async_` (`kubernetes/aio/`,
/// `redis/asyncio/`, `elasticsearch/_async/`). Such a package is written for an event loop:
/// its plain functions are helpers of its coroutines and run on the loop's thread, and the
/// library's synchronous twin is what threads use. Work it hands to threads (`to_thread`,
/// `run_in_executor`) is still thread code.
pub fn is_async_package_path(path: &Path) -> bool {
    let Some(parent) = path.parent() else {
        return false;
    };
    parent.components().any(|component| {
        matches!(
            component.as_os_str().to_str(),
            Some("aio" | "_aio" | "asyncio" | "_async" | "async_")
        )
    })
}

/// Where a function may run, the most telling fact first.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Execution {
    /// Only while the module is imported or a class is created (module-level calls, decorators
    /// applied at import, `__init_subclass__`, metaclass `__new__`/`__init__`), or in a freshly
    /// forked child: one thread at a time, never concurrently with itself.
    ImportTime,
    /// Under `if __name__ == "__main__":`, which runs once on the main thread.
    MainScript,
    /// Reached from a thread entry of the module (the entry's index).
    Thread(usize),
    /// Only on an event loop: a coroutine, code only coroutines call, or code of a module
    /// driven by Twisted's reactor. Code on one loop interleaves only where it yields control
    /// (`await`, a callback's return), so it races only with threads.
    EventLoop,
    /// One-time set-up: a module-level `init`/`initialize`/`setup`/`configure`/`install` (or
    /// `unpatch`/`uninstall`), an
    /// extension's `init_app`, an application factory (`create_app`, `make_app`, `*app_factory`), an instrumentor's `instrument`/`uninstrument`, a Django
    /// `AppConfig.ready()`, that nothing in
    /// the module calls but set-up itself, and what only they call. Programs call these once,
    /// at start-up, before their threads: set-up races with nothing of its own, only with code
    /// that may run on threads while it runs. (A `setup()` the module calls lazily from its
    /// other functions runs on whatever thread calls them first, and is not set-up.)
    Setup,
    /// A test module's code that no thread reaches: it runs on the test runner's one thread.
    TestOnly,
    /// Code for a platform without parallel threads (Emscripten, Pyodide, WASI).
    NoThreads,
    /// Part of a library's public surface (a public function or method, or what one calls):
    /// its callers may run it on several threads at once.
    LibraryApi,
    /// Called after import from code this module does not show.
    Unknown,
}

impl Execution {
    /// Whether two calls of this code can overlap, so that it races with itself.
    pub fn runs_concurrently(self) -> bool {
        matches!(
            self,
            Execution::Thread(_) | Execution::LibraryApi | Execution::Unknown
        )
    }

    /// Whether the code runs while other threads of the process may run: process-wide state
    /// (the working directory, the environment, the standard streams) is shared with every
    /// thread, so code on an event loop or a reactor meets the threads of its executor, its
    /// thread pool and the application, and set-up meets the threads an application started
    /// before calling it, even though neither races with itself.
    pub fn meets_other_threads(self) -> bool {
        self.runs_concurrently() || matches!(self, Execution::EventLoop | Execution::Setup)
    }

    /// Whether the code runs after import at all (in some context that can meet a thread).
    pub fn is_runtime(self) -> bool {
        !matches!(self, Execution::ImportTime | Execution::MainScript)
    }
}

/// Whether a function's name says it is one-time set-up (see [`Execution::Setup`]):
/// `module_level` for a function of the module, not a method. Only module-level functions
/// count for `setup` and its kin: a request handler's `setup()` method runs per request.
pub fn names_one_time_setup(name: &str, module_level: bool) -> bool {
    let name = name.trim_start_matches('_');
    if matches!(name, "init_app" | "instrument" | "uninstrument") {
        return true;
    }
    // An application factory (Flask's `create_app`, a PasteDeploy `app_factory` or
    // `filter_app_factory`) builds the application once, when the server starts.
    let application_factory =
        matches!(name, "create_app" | "make_app") || name.ends_with("app_factory");
    module_level
        && (application_factory
            || matches!(
                name,
                "init"
                    | "initialize"
                    | "initialise"
                    | "setup"
                    | "configure"
                    | "install"
                    | "bootstrap"
                    // Integration hooks a tracer or agent calls once, to take its patches
                    // off (`patch` is also an HTTP verb, so only the undoing side counts).
                    | "unpatch"
                    | "uninstall"
            ))
}

/// Whether two threads that both compute the value written get the same thing, which decides
/// whether a check-then-act race is a hazard or a benign duplicate computation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ValueIdentity {
    /// Equal every time: a constant, an imported module or name, a pure function of its
    /// arguments (`re.compile(p)`, `import_module(name)`). Two threads store equal values.
    Equal,
    /// A new object each time whose identity callers can observe: a lock, a thread, a
    /// connection, `object()`, `uuid4()`, a random number, a counter's next value, or a
    /// container that is filled in afterwards. Two threads end up with different objects.
    Unique(&'static str),
    /// Nothing is known about the value.
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_from_file_names() {
        let role = |path: &str| ModuleRole::of_file_name(Path::new(path));
        assert_eq!(role("pkg/tests/test_app.py"), ModuleRole::Test);
        assert_eq!(role("conftest.py"), ModuleRole::Test);
        assert_eq!(role("pkg/app_test.py"), ModuleRole::Test);
        assert_eq!(role("keyboard/_keyboard_tests.py"), ModuleRole::Test);
        assert_eq!(role("polls/tests.py"), ModuleRole::Test);
        assert_eq!(role("ZEO/asyncio/testing.py"), ModuleRole::Test);
        assert_eq!(role("pkg/contests.py"), ModuleRole::Library);
        assert_eq!(
            role("pkg/contrib/emscripten/fetch.py"),
            ModuleRole::NoThreads
        );
        assert_eq!(role("pkg/backends/pyodide.py"), ModuleRole::NoThreads);
        // Directories further up are not the module's.
        assert_eq!(role("/home/u/pyodide/work/pkg/app.py"), ModuleRole::Library);
        assert_eq!(role("pkg/testing_utils.py"), ModuleRole::Library);
    }
}
