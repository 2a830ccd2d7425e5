//! `threading.local` subclasses across modules. pony's `core.py` declares
//! `class Local(localbase)`, and `localbase` is `threading.local`, bound in `pony/utils`
//! (`from threading import local as localbase`) and re-exported with `import *`: the module
//! alone cannot see that `Local`'s attributes are per thread. The project phase finds such
//! bases, and the pipeline checks the modules that use them again, knowing.

use rustc_hash::FxHashSet;

use super::{Linker, ModuleNames};
use crate::report::FileReport;
use crate::semantic::{is_threading_local, last_segment};

/// For each report whose module uses a class of another module that derives from
/// `threading.local` (as a base, or called to make an instance), the qualified names by which
/// it refers to such classes.
pub fn cross_module_thread_locals(
    reports: &[FileReport],
    names: &ModuleNames,
) -> Vec<(usize, Vec<String>)> {
    // Nothing derives from `threading.local` anywhere: the common case costs one scan.
    let any_thread_local = reports
        .iter()
        .filter_map(|report| report.facts.as_ref())
        .any(|facts| {
            facts.classes.values().any(|(_, known)| *known)
                || facts
                    .imports
                    .values()
                    .any(|qualified| is_threading_local(qualified))
        });
    if !any_thread_local {
        return Vec::new();
    }
    let (linker, index_of_report) = Linker::new(reports, names);
    let modules = &linker.modules;
    // The last names a thread-local class can be reached by: `local`, the classes modules
    // know as thread-local, and (to a fixpoint) the names imports bind them to and the classes
    // deriving from them. Only an import or base ending in one of these is resolved: most
    // projects import thousands of names and none of them is thread-local.
    let mut last_names: FxHashSet<&str> = FxHashSet::default();
    last_names.insert("local");
    for module in modules {
        for (name, (_, known)) in &module.facts.classes {
            if *known {
                last_names.insert(name);
            }
        }
    }
    let mut changed = true;
    while changed {
        changed = false;
        for module in modules {
            let facts = module.facts;
            for (local, qualified) in &facts.imports {
                if last_names.contains(last_segment(qualified)) && last_names.insert(local) {
                    changed = true;
                }
            }
            for (name, (bases, _)) in &facts.classes {
                if !last_names.contains(name.as_str())
                    && bases
                        .iter()
                        .any(|base| last_names.contains(last_segment(base)))
                {
                    last_names.insert(name);
                    changed = true;
                }
            }
        }
    }
    let mut found = Vec::new();
    for (module_index, module) in linker.modules.iter().enumerate() {
        let facts = module.facts;
        let mut names: FxHashSet<&str> = FxHashSet::default();
        let imported_bases = facts
            .classes
            .values()
            .filter(|(_, known)| !known)
            .flat_map(|(bases, _)| bases.iter())
            .filter(|base| !facts.classes.contains_key(base.as_str()));
        for qualified in imported_bases.chain(facts.imports.values()) {
            if last_names.contains(last_segment(qualified))
                && !is_threading_local(qualified)
                && linker.is_thread_local(module_index, qualified, 0)
            {
                names.insert(qualified);
            }
        }
        if !names.is_empty() {
            let mut names: Vec<String> = names.into_iter().map(str::to_string).collect();
            names.sort_unstable();
            found.push((index_of_report[module_index], names));
        }
    }
    found
}

impl Linker<'_> {
    /// Whether `qualified`, as module `from` spells it, is a `threading.local` class: the
    /// class itself, a class of the project deriving from it, or a re-export of either
    /// (through `from … import …` or `import *`).
    fn is_thread_local(&self, from: usize, qualified: &str, depth: usize) -> bool {
        if is_threading_local(qualified) {
            return true;
        }
        if depth > 6 {
            return false;
        }
        let Some(absolute) = self.absolute(from, qualified) else {
            return false;
        };
        if is_threading_local(&absolute) {
            return true;
        }
        let Some((module_name, name)) = absolute.rsplit_once('.') else {
            return false;
        };
        let Some(&module) = self.by_name.get(module_name) else {
            return false;
        };
        let facts = self.modules[module].facts;
        // An import first: a class of the same name is the fallback of `try: from threading
        // import local` / `except ImportError: class local(object): ...`.
        if let Some(reexport) = facts.imports.get(name)
            && self.is_thread_local(module, reexport, depth + 1)
        {
            return true;
        }
        if facts.classes.contains_key(name) {
            return self.class_is_thread_local(module, name, depth + 1);
        }
        if facts.imports.contains_key(name) {
            return false;
        }
        facts
            .star_imports
            .iter()
            .any(|star| self.is_thread_local(module, &format!("{star}{name}"), depth + 1))
    }

    /// Whether class `name` of `module` derives from `threading.local`, through its bases in
    /// the module or in others.
    fn class_is_thread_local(&self, module: usize, name: &str, depth: usize) -> bool {
        let facts = self.modules[module].facts;
        let Some((bases, known)) = facts.classes.get(name) else {
            return false;
        };
        *known
            || (depth <= 6
                && bases.iter().any(|base| {
                    if facts.classes.contains_key(base.as_str()) {
                        base != name && self.class_is_thread_local(module, base, depth + 1)
                    } else {
                        self.is_thread_local(module, base, depth + 1)
                    }
                }))
    }
}
