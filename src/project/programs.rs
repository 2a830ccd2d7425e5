//! Stand-alone programs: a module in a directory of examples, demos or scripts that runs as a
//! program (it has an `if __name__ == "__main__":` block), that no module of the project
//! imports and that starts no thread runs as its own single-threaded process (`python
//! examples/scrollingPlots.py`). A module there without that block is left alone: it may be a
//! plugin the project loads by name (`ntlmrelayx/attacks/ldapattack.py`). Its module state has one thread: what would race in
//! a library is that program's own business, shown as information only.

use rustc_hash::FxHashSet;

use super::Linker;
use crate::diagnostic::Severity;
use crate::registry::Rule;
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
    let imported = imported_names(linker);
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

/// Every module name some module of the project imports, with the packages above it (importing
/// `pkg.examples.demo` imports `pkg` and `pkg.examples` too). A name imported from a module
/// (`from pkg.examples import demo`) counts as well: it may be a submodule.
fn imported_names(linker: &Linker<'_>) -> FxHashSet<String> {
    let mut imported: FxHashSet<String> = FxHashSet::default();
    for (index, module) in linker.modules.iter().enumerate() {
        let written = module
            .facts
            .imports
            .values()
            .chain(&module.facts.imported_modules);
        for qualified in written {
            let Some(absolute) = linker.absolute(index, qualified) else {
                continue;
            };
            let mut prefix_end = absolute.len();
            loop {
                // Each prefix once: when it is there, its own prefixes are too.
                if !imported.insert(absolute[..prefix_end].to_string()) {
                    break;
                }
                match absolute[..prefix_end].rfind('.') {
                    Some(dot) => prefix_end = dot,
                    None => break,
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
        let keeps_severity = matches!(
            diagnostic.rule,
            Rule::SyntaxError
                | Rule::UnusedNoqa
                | Rule::ExtensionWithoutFreeThreading
                | Rule::PinnedBelowFreeThreading
                | Rule::ExtensionEnablesGil
                | Rule::InstalledExtensionEnablesGil
        );
        if !keeps_severity {
            diagnostic.severity = Severity::Info;
        }
    }
}
