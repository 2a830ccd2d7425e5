//! NG303 gil-assumption: APIs that tune a GIL that is gone, or that do not exist.
//!
//! The rule's documentation is `rules/NG303.md` (`nogil-lint rule NG303` prints it).

use crate::diagnostic::{Diagnostic, Edit, FixApplicability};
use crate::registry::Rule;

use super::Context;

pub fn check(context: &Context<'_, '_>, diagnostics: &mut Vec<Diagnostic>) {
    for use_ in &context.model.gil_api_uses {
        let fix = use_.replacement.as_ref().map(|(range, content)| {
            crate::fix::fix(
                FixApplicability::Safe,
                format!("Replace with `{content}`"),
                vec![Edit {
                    range: *range,
                    content: content.clone(),
                }],
            )
        });
        diagnostics.push(
            Diagnostic::new(
                Rule::GilAssumption,
                format!("`{}` {}", use_.name, use_.reason),
                use_.range,
            )
            .with_label("assumes a GIL")
            .with_fix(fix),
        );
    }
}
