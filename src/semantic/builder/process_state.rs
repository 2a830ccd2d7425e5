//! Process-wide state and GIL APIs: calls and assignments that change state shared by the whole
//! process (from the data tables and `thread-unsafe-functions`), and uses of APIs that assume or
//! query the GIL, with their replacements.

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

use super::Builder;
use super::syntax::last_segment;
use crate::semantic::{GilApiUse, ProcessGlobalUse};

impl<'a> Builder<'a> {
    /// The table's entry for a call (or, with `assignment`, an assignment target) named
    /// `qualified` that applies to the target version: its name and reason.
    pub(super) fn process_global_entry(
        &self,
        assignment: bool,
        qualified: &str,
    ) -> Option<(String, String)> {
        let target = self.options.target_version;
        crate::data::process_global()
            .entries(assignment, qualified)
            .find(|entry| {
                entry
                    .below
                    .as_deref()
                    .is_none_or(|version| target.is_below(version))
            })
            .map(|entry| (entry.name.clone(), entry.reason.clone()))
    }

    pub(super) fn record_process_global_call(&mut self, call: &'a ast::ExprCall) {
        // Only dotted or imported names can be on the list.
        let listed = match &*call.func {
            Expr::Attribute(attribute) => {
                crate::data::is_listed_last_segment(attribute.attr.as_str())
                    || !self.options.thread_unsafe_functions.is_empty()
            }
            // Listed under the name it was imported as (`from os import chdir`).
            Expr::Name(name) => self.imports.get(name.id.as_str()).is_some_and(|qualified| {
                crate::data::is_listed_last_segment(last_segment(qualified))
                    || !self.options.thread_unsafe_functions.is_empty()
            }),
            _ => false,
        };
        if !listed {
            return;
        }
        let Some(qualified) = self.qualified_name(&call.func) else {
            return;
        };
        let found = self.process_global_entry(false, &qualified).or_else(|| {
            self.options
                .thread_unsafe_functions
                .contains(&qualified)
                .then(|| {
                    (
                        qualified.clone(),
                        "is configured as changing process-wide state (`thread-unsafe-functions`)"
                            .to_string(),
                    )
                })
        });
        // `locale.setlocale(category)` (or with `None`) only asks for the current setting.
        let query = qualified == "locale.setlocale"
            && call
                .arguments
                .args
                .get(1)
                .is_none_or(Expr::is_none_literal_expr)
            && call.arguments.find_keyword("locale").is_none();
        if let Some((name, reason)) = found.filter(|_| !query) {
            // Called outside any `try` and any main-thread-only branch, a main-thread-only
            // API (`signal.signal`) makes its function fail on any other thread: the function
            // is written for the main thread, and so is what calls it.
            if crate::data::is_main_thread_only(&name)
                && self.caught_lookup_errors.is_empty()
                && !self
                    .main_thread_ranges
                    .iter()
                    .any(|range| range.contains_range(call.range()))
                && let Some(function) = self.current_function()
            {
                self.requires_main_thread.push(function);
            }
            self.process_global_uses.push(ProcessGlobalUse {
                function: self.current_function(),
                range: call.range(),
                name,
                reason,
                scoped: false,
            });
        }
    }

    pub(super) fn record_process_global_assignment(&mut self, target: &'a Expr) {
        let assigned = match target {
            Expr::Attribute(_) => target,
            Expr::Subscript(ast::ExprSubscript { value, .. }) => &**value,
            _ => return,
        };
        let Expr::Attribute(attribute) = assigned else {
            return;
        };
        if !crate::data::is_listed_last_segment(attribute.attr.as_str()) {
            return;
        }
        let Some(qualified) = self.qualified_name(assigned) else {
            return;
        };
        if let Some((name, reason)) = self.process_global_entry(true, &qualified) {
            self.process_global_uses.push(ProcessGlobalUse {
                function: self.current_function(),
                range: target.range(),
                name,
                reason,
                scoped: false,
            });
        }
    }

    /// A GIL API called: `sys._is_gil_disabled()`, or `getattr(sys, "_is_gil_disabled", …)()`.
    pub(super) fn record_gil_api_call(&mut self, call: &'a ast::ExprCall) {
        // Cheap filters first: a `getattr(…)()` call, or a listed attribute name.
        let candidate = match &*call.func {
            Expr::Call(_) => true,
            Expr::Attribute(attribute) => {
                crate::data::is_listed_last_segment(attribute.attr.as_str())
            }
            _ => false,
        };
        if !candidate {
            return;
        }
        let table = &crate::data::gil_apis().api;
        let condition = self.condition_slots.contains(&call.range());
        let wrap = |replacement: &str| {
            if replacement.starts_with("not ") && !condition {
                format!("({replacement})")
            } else {
                replacement.to_string()
            }
        };
        // `getattr(sys, "name", default)()`
        if let Expr::Call(inner) = &*call.func
            && let Some((name, literal)) = self.getattr_of_module(inner)
        {
            let qualified = format!("{name}.{literal}");
            if let Some(entry) = table.iter().find(|entry| entry.name == qualified) {
                let replacement = entry.replacement.as_deref().and_then(|replacement| {
                    // Keep the fallback for interpreters without the real API.
                    let real = replacement
                        .trim_start_matches("not ")
                        .trim_end_matches("()");
                    let (_, attr) = real.rsplit_once('.')?;
                    let module = self.text(inner.arguments.args[0].range());
                    let negated = replacement.starts_with("not ");
                    // Interpreters without the API (before 3.13) always have a GIL.
                    let call_text = format!("getattr({module}, \"{attr}\", lambda: True)()");
                    Some(if negated {
                        wrap(&format!("not {call_text}"))
                    } else {
                        call_text
                    })
                });
                self.gil_api_uses.push(GilApiUse {
                    range: inner.range(),
                    name: entry.name.clone(),
                    reason: entry.reason.clone(),
                    replacement: replacement.map(|text| (call.range(), text)),
                });
            }
            return;
        }
        let Expr::Attribute(attribute) = &*call.func else {
            return;
        };
        if !crate::data::is_listed_last_segment(attribute.attr.as_str()) {
            return;
        }
        let Some(qualified) = self.qualified_name(&call.func) else {
            return;
        };
        if let Some(entry) = table.iter().find(|entry| entry.name == qualified) {
            // Keep the module as this code names it (`import sys as system`).
            let receiver = self.text(attribute.value.range());
            let module = entry.name.rsplit_once('.').map_or("", |(module, _)| module);
            let replacement = entry
                .replacement
                .as_deref()
                .filter(|_| call.arguments.args.is_empty() && call.arguments.keywords.is_empty())
                .map(|replacement| {
                    let renamed =
                        replacement.replace(&format!("{module}."), &format!("{receiver}."));
                    (call.range(), wrap(&renamed))
                });
            self.gil_api_uses.push(GilApiUse {
                range: call.func.range(),
                name: entry.name.clone(),
                reason: entry.reason.clone(),
                replacement,
            });
        }
    }

    /// `sys._is_gil_disabled` referenced without calling it.
    pub(super) fn record_gil_api_reference(&mut self, expr: &'a Expr) {
        let Expr::Attribute(attribute) = expr else {
            return;
        };
        if !crate::data::is_listed_last_segment(attribute.attr.as_str()) {
            return;
        }
        let Some(qualified) = self.qualified_name(expr) else {
            return;
        };
        if let Some(entry) = crate::data::gil_apis()
            .api
            .iter()
            .find(|entry| entry.name == qualified)
        {
            self.gil_api_uses.push(GilApiUse {
                range: expr.range(),
                name: entry.name.clone(),
                reason: entry.reason.clone(),
                replacement: None,
            });
        }
    }

    /// `getattr(<module>, "<literal>", …)`: the module's qualified name and the literal.
    fn getattr_of_module(&self, call: &'a ast::ExprCall) -> Option<(String, String)> {
        let Expr::Name(name) = &*call.func else {
            return None;
        };
        if name.id.as_str() != "getattr" || self.bindings.contains_key("getattr") {
            return None;
        }
        let module = self.qualified_name(call.arguments.args.first()?)?;
        let Expr::StringLiteral(literal) = call.arguments.args.get(1)? else {
            return None;
        };
        Some((module, literal.value.to_str().to_string()))
    }
}
