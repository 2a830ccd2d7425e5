//! Stand-alone programs: a module in a directory of examples, demos or scripts that runs as a
//! program (it has an `if __name__ == "__main__":` block), that no module of the project
//! imports and that starts no thread runs as its own single-threaded process (`python
//! examples/scrollingPlots.py`). Its module state has one thread: what would race in a library
//! is that program's own business, shown as information only. A module there without that
//! block is left alone: it may be a plugin the project loads by name
//! (`ntlmrelayx/attacks/ldapattack.py`).

use rustc_hash::FxHashSet;

use super::Linker;
use crate::report::FileReport;

/// For each module of the linker, whether it is a stand-alone program.
///
/// `reached` tells, per function in the flat numbering from `offsets`, whether a thread entry
/// of the project reaches it: a module another module's thread calls into is not alone.
pub(super) fn stand_alone_programs(
    linker: &Linker<'_>,
    offsets: &[usize],
    reached: &[Option<usize>],
) -> Vec<bool> {
    let candidates: Vec<bool> = linker
        .modules
        .iter()
        .enumerate()
        .map(|(index, module)| {
            let functions = offsets[index]..offsets[index] + module.facts.functions.len();
            module.in_program_directory
                && module.facts.main_guard
                && !module.is_test
                && module.facts.entries.is_empty()
                && reached[functions].iter().all(Option::is_none)
        })
        .collect();
    if !candidates.contains(&true) {
        return candidates;
    }
    let candidate_names: FxHashSet<&str> = linker
        .modules
        .iter()
        .zip(&candidates)
        .filter(|(_, candidate)| **candidate)
        .flat_map(|(module, _)| module.names.iter().map(String::as_str))
        .collect();
    let imported = imported_candidates(linker, &candidate_names);
    linker
        .modules
        .iter()
        .zip(candidates)
        .map(|(module, candidate)| {
            candidate
                && !module
                    .names
                    .iter()
                    .any(|name| imported.contains(name.as_str()))
        })
        .collect()
}

/// Which of `candidates` (module names) some module of the project imports, itself or a
/// module below it (importing `pkg.examples.demo` imports `pkg.examples` too). A name imported
/// from a module (`from pkg.examples import demo`) counts as well: it may be a submodule.
fn imported_candidates<'n>(
    linker: &Linker<'_>,
    candidates: &FxHashSet<&'n str>,
) -> FxHashSet<&'n str> {
    let mut imported: FxHashSet<&'n str> = FxHashSet::default();
    for (index, module) in linker.modules.iter().enumerate() {
        let written = module
            .facts
            .imports
            .values()
            .chain(&module.facts.imported_modules);
        for qualified in written {
            // Most imports are absolute: they are their own absolute name.
            let relative;
            let absolute = if qualified.starts_with('.') {
                match linker.absolute(index, qualified) {
                    Some(name) => {
                        relative = name;
                        relative.as_str()
                    }
                    None => continue,
                }
            } else {
                qualified.as_str()
            };
            let prefixes = absolute
                .match_indices('.')
                .map(|(dot, _)| &absolute[..dot])
                .chain(std::iter::once(absolute));
            for prefix in prefixes {
                if let Some(&name) = candidates.get(prefix) {
                    imported.insert(name);
                }
            }
        }
    }
    imported
}

/// Lowers a stand-alone program's findings to information, except those about the extensions
/// it imports (they re-enable the GIL for that program too) and syntax errors.
pub(super) fn lower_program_findings(report: &mut FileReport) {
    for message in &mut report.messages {
        let diagnostic = &mut message.diagnostic;
        if !diagnostic.rule.code().starts_with("NG2") {
            crate::checkers::lower_to_information(std::slice::from_mut(diagnostic));
        }
    }
}
